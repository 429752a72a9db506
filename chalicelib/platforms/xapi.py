"""The X API v2 client: tweepy (OAuth 1.0a user context) sent to a configurable base URL; posts
replies, reads the brand's mentions for the poller and the brand's posts customers answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
import tweepy

from chalicelib.models import Mention, Quoted, Reply
from chalicelib.platforms.outbound import (
    PlatformGone,
    PlatformRejected,
    PlatformRetryLater,
    PlatformUnauthorized,
    PostedReply,
    retry_delay,
    translate_network_error,
)
from chalicelib.settings import Settings

TWEEPY_HOST = "https://api.twitter.com"


class _RebasedSession(requests.Session):
    """tweepy's session, sent to the configured X API base URL, with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send to the configured base URL instead of tweepy's fixed host."""
        kwargs.setdefault("timeout", self._timeout)
        target = url.decode() if isinstance(url, bytes) else url
        return super().request(
            method, target.replace(TWEEPY_HOST, self._base_url, 1), *args, **kwargs
        )


TWEET_FIELDS = [
    "created_at",
    "author_id",
    "lang",
    "entities",
    "referenced_tweets",
    "in_reply_to_user_id",
    "note_tweet",
    "public_metrics",
    "display_text_range",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified", "created_at"]
EXPANSIONS = [
    "author_id",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
    "attachments.media_keys",
]
"""The authors, the posts a page's posts quote or answer with their authors, and their photos
and videos (`includes`)."""
MEDIA_FIELDS = ["type", "url", "preview_image_url", "variants"]


def _client(settings: Settings) -> tweepy.Client:
    client = tweepy.Client(
        consumer_key=settings.x_consumer_key,
        consumer_secret=settings.x_consumer_secret,
        access_token=settings.x_access_token,
        access_token_secret=settings.x_access_token_secret,
        return_type=dict,
    )
    client.session = _RebasedSession(settings.x_api_base_url, settings.platform_timeout_seconds)
    return client


def _calling(action: Callable[[], Any]) -> Any:
    """Run one X API call, its failures as Platform* errors."""
    try:
        return action()
    except tweepy.TooManyRequests as exc:
        delay = retry_delay(exc.response.headers)
        raise PlatformRetryLater(f"rate limited: {_said(exc)}", delay) from exc
    except tweepy.TwitterServerError as exc:
        raise PlatformRetryLater(f"X server error: {_said(exc)}") from exc
    except tweepy.Unauthorized as exc:
        raise PlatformUnauthorized(_said(exc)) from exc
    except tweepy.HTTPException as exc:
        raise PlatformRejected(_said(exc)) from exc
    except requests.RequestException as exc:
        raise translate_network_error(exc) from exc


def _said(exc: tweepy.HTTPException) -> str:
    """X's answer on one line, as an agent's alert and `switchboard reply` show it: `403
    Forbidden: You are not allowed to reply` (tweepy puts each of X's messages on a line)."""
    status, *messages = str(exc).splitlines()
    return f"{status}: {'; '.join(messages)}" if messages else status


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """`POST /2/tweets` with `reply.in_reply_to_tweet_id` (OAuth 1.0a user context, tweepy), or
    a DM to the sender for direct messages."""
    client = _client(settings)
    native = mention.native_id
    if mention.kind == "dm":
        answer = _calling(
            lambda: client.create_direct_message(
                participant_id=mention.author.id, text=reply.text, user_auth=True
            )
        )
        return PostedReply(str(answer["data"]["dm_event_id"]))
    answer = _calling(
        lambda: client.create_tweet(text=reply.text, in_reply_to_tweet_id=native, user_auth=True)
    )
    tweet_id = str(answer["data"]["id"])
    return PostedReply(tweet_id, f"https://x.com/i/status/{tweet_id}")


def hide_reply(mention: Mention, hidden: bool, settings: Settings) -> None:
    """`PUT /2/tweets/:id/hidden` `{"hidden": …}` (OAuth 1.0a user context, tweepy): X hides
    replies in conversations the brand started, and says so with `{"data": {"hidden": …}}`."""
    client = _client(settings)
    native = mention.native_id
    call = client.hide_reply if hidden else client.unhide_reply
    answer = _calling(lambda: call(native, user_auth=True))
    if (answer.get("data") or {}).get("hidden") is not hidden:
        raise PlatformRejected(f"X did not confirm it: {answer}")


def read_post(post: str, settings: Settings) -> Quoted:
    """`GET /2/tweets/:id` of `post` (`x:<id>`) with its author's username; raises Platform*
    errors (PlatformGone when X finds no such post: deleted, or protected)."""
    client = _client(settings)
    native = post.partition(":")[2]
    answer: dict[str, Any] = _calling(
        lambda: client.get_tweet(
            native,
            tweet_fields=["author_id", "note_tweet"],
            expansions=["author_id"],
            user_fields=["username"],
            user_auth=True,
        )
    )
    found = answer.get("data")
    if not isinstance(found, dict):  # X answers 200 with only `errors` for a post it cannot show
        problems = "; ".join(str(e.get("detail", e)) for e in answer.get("errors") or [])
        raise PlatformGone(f"X did not return post {native}: {problems or answer}")
    users = (answer.get("includes") or {}).get("users") or []
    author = next((u.get("username") for u in users if u.get("id") == found.get("author_id")), None)
    text = (found.get("note_tweet") or {}).get("text") or found.get("text") or ""
    return Quoted(id=post, text=str(text), author=author)


def mentions_page(
    account: str, settings: Settings, since_id: str | None, token: str | None
) -> dict[str, Any]:
    """One page (newest first, up to 100) of `GET /2/users/:id/mentions` after `since_id`, with
    the authors expanded; raises Platform* errors."""
    client = _client(settings)
    answer: dict[str, Any] = _calling(
        lambda: client.get_users_mentions(
            account,
            since_id=since_id,
            pagination_token=token,
            max_results=100,
            tweet_fields=TWEET_FIELDS,
            expansions=EXPANSIONS,
            user_fields=USER_FIELDS,
            media_fields=MEDIA_FIELDS,
            user_auth=True,
        )
    )
    return answer
