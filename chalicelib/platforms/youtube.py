"""YouTube: WebSub (PubSubHubbub) intent verification and signed Atom notifications, and replies
to comments through the Data API (`comments.insert`).

YouTube pushes new and updated videos only; comments are not pushed, so the `poll_platforms`
schedule reads each channel's new comment threads (`commentThreads.list`) and, for the threads
the brand answered, the replies that follow (`comments.list` by `parentId`), and queues them as
`youtube:<comment-id>` mentions on the generic intake; it also looks, in the threads still
awaiting an answer, for the channel's own replies (`commentThreads.list` by `id`), the brand's
answers written in YouTube Studio, and for what the customer added under their comment.
Notifications are verified, queued and logged (they carry no mention to route); the videos they
announce are kept for the comments under them (`brand_posts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from chalicelib.errors import BadSignature, MalformedRequest, NotFound
from chalicelib.models import Author, Mention, MentionKind, Quoted, RawDelivery, Reply, native_id
from chalicelib.observability import logger
from chalicelib.platforms.base import (
    HandshakeReply,
    echo_challenge,
    engagement,
    no_answers,
    no_changes,
    read_skipping,
    signing_keys,
)
from chalicelib.platforms.signatures import hex_signature, lower_headers, require_match
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.platforms.outbound import PostedReply

NAME = "youtube"
KEPT_HEADERS: tuple[str, ...] = ("x-hub-signature", "content-type", "link")
TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id="
ATOM = "{http://www.w3.org/2005/Atom}"
YT = "{http://www.youtube.com/xml/schemas/2015}"
_METHODS = {"sha1", "sha256", "sha384", "sha512"}
THREADS_PER_CALL = 50
"""Thread ids per `commentThreads.list` call by `id`."""
changes = no_changes  # comments are polled: an edited or deleted one is not read again
answers = no_answers  # a notification announces a video; the poller finds the brand's answers


def handshake(
    query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """WebSub §5.3: agree only to topics of the configured channels; a subscription must say
    its lease; answer with the challenge, or 404 to refuse. A hub that denied a subscription
    (§5.2, `hub.mode=denied`) is answered 200 and the denial logged as an error: new videos are
    not pushed until someone subscribes again."""
    mode, topic = query.get("hub.mode"), query.get("hub.topic", "")
    if mode == "denied":
        reason = query.get("hub.reason") or "no reason given"
        logger.error(
            "the WebSub hub denied a subscription", extra={"topic": topic, "reason": reason}
        )
        return HandshakeReply(body="")
    if mode not in ("subscribe", "unsubscribe"):
        raise MalformedRequest("hub.mode must be subscribe, unsubscribe or denied")
    channel = topic.removeprefix(TOPIC) if topic.startswith(TOPIC) else None
    if channel is None or channel not in settings.youtube_channels:
        raise NotFound(f"not subscribed to {topic!r}")
    if mode == "subscribe" and not query.get("hub.lease_seconds", "").isdigit():
        raise MalformedRequest("hub.lease_seconds is required to subscribe")
    return echo_challenge(query.get("hub.challenge"))


def verify(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """`X-Hub-Signature: method=hex(HMAC(hub.secret, body))`; Google's hub signs with sha1."""
    keys = signing_keys(settings.websub_secret, settings.websub_secret_previous, "WEBSUB_SECRET")
    received = lower_headers(headers).get("x-hub-signature")
    method = (received or "").partition("=")[0]
    if method not in _METHODS:
        raise BadSignature("missing X-Hub-Signature (sha1=…)")
    expected = [hex_signature(key, body, method, prefix=f"{method}=") for key in keys]
    require_match(expected, received, "X-Hub-Signature")


def decode(body: str) -> Any:
    """The Atom document."""
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MalformedRequest(f"body is not valid XML: {exc}") from None


def check(payload: Any) -> HandshakeReply | None:
    """A WebSub notification from YouTube is an Atom feed."""
    if payload.tag != f"{ATOM}feed":
        raise MalformedRequest("a YouTube notification is an Atom <feed>")
    return None


def parse(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
    """New or updated videos are logged for the comment pollers; they are not mentions."""
    for entry in decode(delivery.body).iter(f"{ATOM}entry"):
        logger.info(
            "YouTube video notification",
            extra={
                "video_id": entry.findtext(f"{YT}videoId"),
                "channel_id": entry.findtext(f"{YT}channelId"),
                "updated": entry.findtext(f"{ATOM}updated"),
            },
        )
    return []


def brand_posts(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Quoted]:
    """The brand's videos a notification announces (their titles): the comments under them
    carry them without a read of the Data API."""

    def video(entry: ElementTree.Element) -> Quoted | None:
        if (
            not entry.findtext(f"{YT}videoId")
            or entry.findtext(f"{YT}channelId") not in brand_accounts
        ):
            return None
        return Quoted(
            id=f"youtube:{entry.findtext(f'{YT}videoId')}",
            text=entry.findtext(f"{ATOM}title") or "",
            author=entry.findtext(f"{ATOM}author/{ATOM}name"),
        )

    return read_skipping(decode(delivery.body).iter(f"{ATOM}entry"), video, NAME)


def read_post(post: str, settings: Settings) -> Quoted:
    """The title and channel of video `post` (`youtube:<id>`): `videos.list`, `part=snippet`
    (1 quota unit); raises Platform* errors (PlatformGone for a video YouTube does not list:
    deleted or private)."""
    from chalicelib.platforms.outbound import PlatformGone

    video = native_id(post)
    found = _data_api("GET", "videos", settings, params={"part": "snippet", "id": video})
    items = found.get("items") or []
    if not items:
        raise PlatformGone(f"YouTube lists no video {video}")
    snippet = items[0].get("snippet") or {}
    return Quoted(id=post, text=str(snippet.get("title") or ""), author=snippet.get("channelTitle"))


def _data_api(method: str, resource: str, settings: Settings, **request: Any) -> dict[str, Any]:
    """One YouTube Data API call with the OAuth bearer token (`google_oauth.bearer`); a token
    Google refuses before its time is refreshed once. Raises Platform* errors."""
    from chalicelib.platforms import google_oauth  # requests: off the webhook path
    from chalicelib.platforms.outbound import PlatformUnauthorized, call

    url = f"{settings.youtube_api_base_url.rstrip('/')}/{resource}"

    def attempt(token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        return call(method, url, settings.platform_timeout_seconds, headers=headers, **request)

    token = google_oauth.bearer(settings)  # a refresh token Google refuses raises here, once
    try:
        return attempt(token)
    except PlatformUnauthorized:
        if not settings.youtube_refresh_token:
            raise
        google_oauth.forget(settings)  # nothing was posted with a refused token
        return attempt(google_oauth.bearer(settings))


def comment_threads(channel: str, settings: Settings, page_token: str | None) -> dict[str, Any]:
    """One page of the channel's comment threads, newest first (`commentThreads.list`, 1 quota
    unit); raises Platform* errors."""
    params = {
        "part": "snippet",
        "allThreadsRelatedToChannelId": channel,
        "order": "time",
        "maxResults": "100",
        "textFormat": "plainText",
    }
    if page_token:
        params["pageToken"] = page_token
    return _data_api("GET", "commentThreads", settings, params=params)


def comment_replies(parent: str, settings: Settings, page_token: str | None) -> dict[str, Any]:
    """One page of the replies to a top-level comment (`comments.list` by `parentId`, 1 quota
    unit); raises Platform* errors."""
    params = {"part": "snippet", "parentId": parent, "maxResults": "100", "textFormat": "plainText"}
    if page_token:
        params["pageToken"] = page_token
    return _data_api("GET", "comments", settings, params=params)


def threads_by_id(threads: list[str], settings: Settings) -> dict[str, Any]:
    """These comment threads (at most THREADS_PER_CALL) with the replies YouTube includes
    (`commentThreads.list` by `id`, `part=snippet,replies`: 1 quota unit however many); a
    deleted thread is missing from the answer. Raises Platform* errors."""
    params = {"part": "snippet,replies", "id": ",".join(threads), "textFormat": "plainText"}
    return _data_api("GET", "commentThreads", settings, params=params)


def published(comment: dict[str, Any]) -> datetime:
    """When a comment was posted."""
    return datetime.fromisoformat(comment["snippet"]["publishedAt"])


def thread_published(thread: dict[str, Any]) -> datetime:
    """When a comment thread's top-level comment was posted."""
    return published(thread["snippet"]["topLevelComment"])


def thread_mention(thread: dict[str, Any], channel: str) -> Mention | None:
    """A comment thread as the mention of its top-level comment; None for the channel's own."""
    comment = thread["snippet"]["topLevelComment"]
    if comment_author(comment) == channel:
        return None
    video = comment["snippet"].get("videoId") or thread["snippet"].get("videoId")
    in_reply_to = f"youtube:{video}" if video else None
    replies = engagement(thread["snippet"], "totalReplyCount")
    return _comment_mention(comment, channel, "comment", in_reply_to, video, replies)


def reply_mention(comment: dict[str, Any], parent: str, channel: str) -> Mention | None:
    """A reply in the thread of top-level comment `parent`; None for the channel's own."""
    return None if comment_author(comment) == channel else _reply(comment, parent, channel)


def brand_answer(
    thread: dict[str, Any], channel: str, own: frozenset[str], replies: list[Any] | None = None
) -> Mention | None:
    """The first reply in a thread written by the channel or another of `own`, among
    `replies` (by default those `threads_by_id` includes): a mention by that account,
    answering the thread's top-level comment (the routing worker counts it as the brand's
    answer, not as a mention)."""
    if replies is None:
        replies = included_replies(thread)
    answers = [comment for comment in replies if comment_author(comment) in own]
    if not answers:
        return None
    return _reply(min(answers, key=published), str(thread["id"]), channel)


def included_replies(thread: dict[str, Any]) -> list[Any]:
    """The replies `commentThreads.list` included with a thread (a few of them, at most)."""
    return list((thread.get("replies") or {}).get("comments") or [])


def has_more_replies(thread: dict[str, Any]) -> bool:
    """Whether a thread has replies `commentThreads.list` left out (`comments.list` by
    `parentId` has them all)."""
    return engagement(thread["snippet"], "totalReplyCount") > len(included_replies(thread))


def comment_author(comment: dict[str, Any]) -> str | None:
    """The channel that wrote a comment."""
    return (comment["snippet"].get("authorChannelId") or {}).get("value")


def thread_author(thread: dict[str, Any]) -> str | None:
    """The channel that wrote a thread's top-level comment."""
    return comment_author(thread["snippet"]["topLevelComment"])


def _reply(comment: dict[str, Any], parent: str, channel: str) -> Mention:
    video = comment["snippet"].get("videoId")
    return _comment_mention(comment, channel, "reply", f"youtube:{parent}", video)


def _comment_mention(
    comment: dict[str, Any],
    channel: str,
    kind: MentionKind,
    in_reply_to: str | None,
    video: str | None,
    replies: int = 0,
) -> Mention:
    snippet = comment["snippet"]
    author = comment_author(comment)
    return Mention(
        id=f"youtube:{comment['id']}",
        platform="youtube",
        kind=kind,
        text=snippet.get("textOriginal") or snippet.get("textDisplay") or "",
        url=f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None,
        created_at=published(comment),
        author=Author(id=author, name=snippet.get("authorDisplayName")),
        in_reply_to=in_reply_to,
        brand_account=channel,
        engagement=engagement(snippet, "likeCount") + replies,
    )


def thread_of(mention: Mention) -> str:
    """The top-level comment whose thread a comment mention is in (YouTube threads are one
    level deep: a reply to a reply goes to the thread)."""
    if mention.kind == "reply" and mention.in_reply_to:
        return native_id(mention.in_reply_to)
    return mention.native_id


def hide_comment(mention: Mention, hidden: bool, settings: Settings) -> None:
    """`comments.setModerationStatus`: `heldForReview` takes a comment on the channel out of
    public view (YouTube Studio lists it under "Held for review"), `published` shows it again;
    answered 204, no body."""
    status = "heldForReview" if hidden else "published"
    params = {"id": mention.native_id, "moderationStatus": status}
    _data_api("POST", "comments/setModerationStatus", settings, params=params)


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """`POST /comments?part=snippet` with `snippet.parentId`, the thread's top-level comment
    (OAuth bearer token)."""
    from chalicelib.platforms.outbound import PostedReply  # requests: off the webhook path

    snippet = {"parentId": thread_of(mention), "textOriginal": reply.text}
    answer = _data_api(
        "POST", "comments", settings, params={"part": "snippet"}, json={"snippet": snippet}
    )
    return PostedReply(str(answer["id"]))
