"""X (Twitter) Account Activity webhooks: CRC handshake, signature, tweets and DMs."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.errors import MalformedRequest, PoisonRecord
from chalicelib.models import (
    Attachment,
    Author,
    Mention,
    MentionKind,
    Quoted,
    RawDelivery,
    Reply,
)
from chalicelib.observability import logger, metrics
from chalicelib.platforms.base import (
    UNREADABLE,
    Answer,
    Change,
    HandshakeReply,
    engagement,
    from_epoch,
    json_body,
    load_body,
    read_each,
    read_skipping,
    require_object,
    signing_keys,
)
from chalicelib.platforms.signatures import b64_signature, lower_headers, require_match
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.platforms.outbound import PostedReply

NAME = "x"
_ENGAGEMENT_V1 = ("retweet_count", "quote_count", "reply_count", "favorite_count")
_ENGAGEMENT_V2 = ("retweet_count", "quote_count", "reply_count", "like_count")  # public_metrics
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
KEPT_HEADERS: tuple[str, ...] = (SIGNATURE_HEADER, "content-type")
decode = json_body
_TWEET_TIME = "%a %b %d %H:%M:%S %z %Y"
X_EPOCH_MS = 1288834974657
"""X ids (posts, direct message events) begin with the milliseconds since this moment (in
November 2010), shifted left by 22 bits."""


def handshake(
    query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """Answer the CRC: `{"response_token": "sha256=" + b64(HMAC(consumer_secret, crc_token))}`.

    When X signs the GET (over `crc_token=…&nonce=…`), that signature must match too.
    """
    token = query.get("crc_token")
    if not token:
        raise MalformedRequest("crc_token is required")
    keys = _keys(settings)
    received = lower_headers(headers).get(SIGNATURE_HEADER)
    if received is not None:
        signed = f"crc_token={token}" + (f"&nonce={query['nonce']}" if "nonce" in query else "")
        expected = [b64_signature(key, signed.encode(), prefix="sha256=") for key in keys]
        require_match(expected, received, SIGNATURE_HEADER)
    current = keys[0]  # the CRC proves the secret X holds now
    body = json.dumps({"response_token": b64_signature(current, token.encode(), prefix="sha256=")})
    return HandshakeReply(body=body, content_type="application/json")


def verify(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """`x-twitter-webhooks-signature: sha256=<b64 HMAC-SHA256(consumer_secret, raw body)>`."""
    expected = [b64_signature(key, body, prefix="sha256=") for key in _keys(settings)]
    require_match(expected, lower_headers(headers).get(SIGNATURE_HEADER), SIGNATURE_HEADER)


def _keys(settings: Settings) -> list[bytes]:
    return signing_keys(
        settings.x_consumer_secret, settings.x_consumer_secret_previous, "X_CONSUMER_SECRET"
    )


def check(payload: Any) -> HandshakeReply | None:
    """An Account Activity delivery is an object naming the subscribed account."""
    envelope = require_object(payload, NAME)
    if not isinstance(envelope.get("for_user_id"), str):
        raise MalformedRequest("for_user_id (string) is required in an X delivery")
    return None


def parse(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
    """Mentions from tweet_create_events and direct_message_events; other events are ignored,
    except a revoked authorisation (`user_event.revoke`), which stops every delivery and is
    raised as an alarm."""
    payload = load_body(delivery)
    _alarm_if_revoked(payload)
    try:
        own = brand_accounts | {payload.get("for_user_id", "")}
        users = payload.get("users", {})
        events = [
            *((True, tweet) for tweet in payload.get("tweet_create_events", [])),
            *((False, event) for event in payload.get("direct_message_events", [])),
        ]
    except UNREADABLE as exc:
        raise PoisonRecord(f"unreadable X delivery: {exc!r}") from exc

    def read(item: tuple[bool, dict[str, Any]]) -> list[Mention]:
        is_tweet, event = item
        if is_tweet:
            if _author_id(event) in own or "retweeted_status" in event:
                return []
            return [_tweet(event, payload["for_user_id"], own)]
        if event.get("type") != "message_create":
            return []
        if event["message_create"].get("sender_id") in own:
            return []
        return [_direct_message(event, users, payload["for_user_id"])]

    return read_each(events, read, "X")


def _alarm_if_revoked(payload: Any) -> None:
    revoke = (payload.get("user_event") or {}).get("revoke") if isinstance(payload, dict) else None
    if not revoke:
        return
    logger.error(
        "X access revoked: the account removed the app, so X sends no more of its activity",
        extra={"for_user_id": payload.get("for_user_id"), "revoke": revoke},
    )
    metrics.add_metric(name="PlatformAccessRevoked", unit="Count", value=1)


def changes(delivery: RawDelivery) -> list[Change]:
    """The posts of `tweet_delete_events` (`{"status": {"id", "user_id"}, "timestamp_ms"}`):
    X's developer terms ask that deleted posts be removed from what an app keeps. (An edited
    post is a new post on X, with its own id: a mention whose `edit_of` names the first.) And
    a customer reading the account's direct messages (`direct_message_mark_read_events`)."""
    payload = load_body(delivery)
    try:
        deletions = list(payload.get("tweet_delete_events", []))
        reads = list(payload.get("direct_message_mark_read_events", []))
        account = payload.get("for_user_id")
    except UNREADABLE as exc:
        raise PoisonRecord(f"unreadable X delivery: {exc!r}") from exc
    deleted = read_each(deletions, lambda event: [Change(f"x:{event['status']['id']}")], "X")
    return deleted + read_each(reads, lambda event: _read(event, account), "X")


def _read(event: dict[str, Any], account: Any) -> list[Change]:
    """Someone read a direct conversation up to a message (`last_read_event_id`, whose id
    says when it was sent): the customer the account writes to, not the account itself (a
    receipt without them is no news)."""
    reader, last = event.get("sender_id"), str(event.get("last_read_event_id"))
    if reader is None or str(reader) == str(account) or not last.isdecimal():
        return []
    upto = from_epoch((int(last) >> 22) + X_EPOCH_MS, millis=True)
    at = from_epoch(event.get("created_timestamp"), millis=True)
    return [Change(f"x:dm/{reader}", seen="read", at=at or upto, upto=upto)]


def answers(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
    """The brand's replies (X sends the subscribed account's own posts back through the
    webhook) and the direct messages it sent, each answering the post it replies to or the
    customer it writes to, with the app that sent it (a post's `source`, a message's
    `source_app_id` and its name in `apps`)."""
    payload = load_body(delivery)
    try:
        own = brand_accounts | {payload["for_user_id"]}
        tweets, events = payload.get("tweet_create_events"), payload.get("direct_message_events")
    except (KeyError, TypeError, AttributeError) as exc:
        raise PoisonRecord(f"unreadable X delivery: {exc!r}") from exc

    def reply(tweet: dict[str, Any]) -> Answer | None:
        to = tweet.get("in_reply_to_status_id_str")
        if _author_id(tweet) not in own or not to:
            return None
        via = _source_app(tweet.get("source"))
        return Answer(f"x:{to}", f"x:{tweet['id_str']}", _x_time(tweet, "timestamp_ms"), via)

    def sent(event: dict[str, Any]) -> Answer | None:
        create = event["message_create"] if event.get("type") == "message_create" else {}
        if create.get("sender_id") not in own:
            return None
        at = from_epoch(event.get("created_timestamp"), millis=True)
        app = create.get("source_app_id")
        name = ((payload.get("apps") or {}).get(app) or {}).get("name") if app else None
        via = tuple(str(v) for v in (app, name) if v)
        return Answer(f"x:dm/{create['target']['recipient_id']}", f"x:{event['id']}", at, via)

    return read_skipping(tweets or [], reply, NAME) + read_skipping(events or [], sent, NAME)


def brand_posts(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Quoted]:
    """The brand's own posts X sends back through the webhook (`tweet_create_events` by the
    subscribed account or the brand's other accounts): the replies to them carry them without
    a read of X."""
    payload = load_body(delivery)
    try:
        own = brand_accounts | {payload["for_user_id"]}
        tweets = payload.get("tweet_create_events") or []
    except (KeyError, TypeError, AttributeError):
        return []  # `answers` dead-letters a delivery this unreadable
    return read_skipping(
        tweets, lambda tweet: _quoted(tweet) if _author_id(tweet) in own else None, NAME
    )


_SOURCE_NAME = re.compile(r">([^<]+)</a>")


def _source_app(source: Any) -> tuple[str, ...]:
    """The app a post was written with, from its `source` (an HTML link: `<a href="…"
    rel="nofollow">Sprout Social</a>`, or the bare name)."""
    if not isinstance(source, str) or not source.strip():
        return ()
    named = _SOURCE_NAME.search(source)
    return ((named.group(1) if named else source).strip(),)


def _author_id(tweet: dict[str, Any]) -> str:
    return str(tweet.get("user", {}).get("id_str", ""))


def _tweet(tweet: dict[str, Any], brand: str, own: frozenset[str]) -> Mention:
    extended = tweet.get("extended_tweet") or {}
    text = extended.get("full_text") or tweet.get("full_text") or tweet.get("text", "")
    entities = extended.get("entities") or tweet.get("entities") or {}
    hashtags, mentions, urls = _entities(entities)
    tweet_id = tweet["id_str"]
    reply_to = tweet.get("in_reply_to_status_id_str")
    kind = _tweet_kind(tweet, brand)
    tagged_along = _tagged_along(
        tweet.get("in_reply_to_user_id_str"),
        _author_id(tweet),
        own,
        _first_int((extended or tweet).get("display_text_range")),
        [
            _first_int(mention.get("indices"))
            for mention in entities.get("user_mentions", [])
            if mention.get("id_str") in own
        ],
    )
    return Mention(
        id=f"x:{tweet_id}",
        platform=NAME,
        kind=kind,
        text=text,
        lang=None if tweet.get("lang") in (None, "und") else tweet["lang"],
        url=f"https://x.com/i/status/{tweet_id}",
        created_at=_x_time(tweet, "timestamp_ms"),
        author=_author(tweet.get("user", {}), tweet.get("user", {}).get("id_str")),
        in_reply_to=f"x:{reply_to}" if reply_to else None,
        brand_account=brand,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        engagement=engagement(tweet, *_ENGAGEMENT_V1),
        tagged_along=kind == "mention" and tagged_along,
        edit_of=_first_version(tweet_id, _dict(tweet.get("edit_history")).get("edit_tweet_ids")),
        quoted=_quoted(tweet.get("quoted_status")) if tweet.get("is_quote_status") else None,
        attachments=_media(extended.get("extended_entities") or tweet.get("extended_entities")),
    )


_MEDIA_KINDS = {"photo": "image", "animated_gif": "gif", "video": "video"}


def _media(entities: Any) -> list[Attachment]:
    """The photos, videos and GIFs of a v1.1 post (`extended_entities.media`)."""
    return [
        _medium(m.get("type"), m.get("media_url_https"), m.get("video_info"), "bitrate",
                m.get("expanded_url"))
        for m in _dict(entities).get("media", [])
    ]  # fmt: skip


def _medium(kind: Any, photo: Any, video: Any, rate: str, page: Any = None) -> Attachment:
    """A photo where X serves it, a video or GIF as its best MP4 (of `video["variants"]`, by
    `rate`: v1.1's `bitrate`, v2's `bit_rate`), else the `page` X shows it on, if named."""
    name = _MEDIA_KINDS.get(kind, "video")
    if name == "image" and _str(photo):
        return Attachment(kind=name, url=photo)
    mp4 = [
        v
        for v in _dict(video).get("variants", [])
        if v.get("content_type") == "video/mp4" and _str(v.get("url"))
    ]
    if mp4 and name != "image":
        best = max(mp4, key=lambda v: v.get(rate) or 0)["url"]
        return Attachment(kind=name, url=best, mime_type="video/mp4")
    return Attachment(kind=name, url=_str(page))


def _quoted(status: Any) -> Quoted | None:
    """The quoted post of a v1.1 quote (`quoted_status`, a whole post); None when X left it out
    (deleted, protected). What cannot be read of it is left empty: context is no reason to lose
    the mention."""
    if not isinstance(status, dict) or not isinstance(status.get("id_str"), str):
        return None
    text = _dict(status.get("extended_tweet")).get("full_text") or status.get("full_text")
    return Quoted(
        id=f"x:{status['id_str']}",
        text=_str(text or status.get("text")) or "",
        author=_str(_dict(status.get("user")).get("screen_name")),
    )


def _dict(value: Any) -> dict[str, Any]:
    """An object of the payload, or an empty one where it is something else."""
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    """A string of the payload, or None where it is something else."""
    return value if isinstance(value, str) else None


def _first_version(tweet_id: str, versions: Any) -> str | None:
    """The post an edit was made from: an edited post is a new post on X, whose edit history
    (v1.1 `edit_history.edit_tweet_ids`, v2 `edit_history_tweet_ids`) lists every version,
    oldest first. None for a post never edited, or an unreadable history."""
    if not isinstance(versions, list) or not versions or not isinstance(versions[0], str | int):
        return None
    first = str(versions[0])
    return f"x:{first}" if first and first != tweet_id else None


def _tagged_along(
    replying_to: str | None,
    author: str,
    own: frozenset[str],
    displayed_from: int | None,
    brand_at: list[int | None],
) -> bool:
    """Whether a reply to someone else names the brand only among the @names X put in front of
    it: those come before the post's `display_text_range` (`displayed_from`), what the author
    typed after it (`brand_at`: where the handles of the brand's accounts, `own`, are, as the
    entities say). Without that range nobody can tell, and the brand counts as named; an author
    continuing their own thread, or answering another of the brand's accounts, is not replying
    to someone else."""
    if not replying_to or replying_to == author or replying_to in own:
        return False
    if displayed_from is None or not brand_at:
        return False
    return all(start is not None and start < displayed_from for start in brand_at)


def _first_int(values: Any) -> int | None:
    """The first number of an X range (`display_text_range`, `indices`), None when unreadable."""
    return _int(values[0]) if isinstance(values, list) and values else None


def _int(value: Any) -> int | None:
    """An X position, None when it is not one."""
    return value if type(value) is int else None


def _author(user: dict[str, Any], user_id: str | None) -> Author:
    return Author(
        id=user_id,
        handle=user.get("screen_name"),
        name=user.get("name"),
        followers=int(user.get("followers_count") or 0),
        verified=bool(user.get("verified")),
        created_at=_account_time(user),
    )


def _account_time(user: dict[str, Any]) -> datetime | None:
    """When a v1.1 user (a tweet's) or a DM event's user was created; None when unreadable (an
    account's age is a spam hint, not worth losing the mention over)."""
    with contextlib.suppress(TypeError, ValueError):
        return _x_time(user, "created_timestamp")
    return None


def _entities(entities: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Hashtags, mentioned handles and expanded URLs of a v1.1 entities object."""
    return (
        [tag["text"] for tag in entities.get("hashtags", [])],
        [user_mention["screen_name"] for user_mention in entities.get("user_mentions", [])],
        [url.get("expanded_url") or url["url"] for url in entities.get("urls", [])],
    )


def _tweet_kind(tweet: dict[str, Any], brand: str) -> MentionKind:
    if tweet.get("in_reply_to_user_id_str") == brand:
        return "reply"
    quoted = _dict(tweet.get("quoted_status"))
    if tweet.get("is_quote_status") and _dict(quoted.get("user")).get("id_str") == brand:
        return "quote"
    return "mention"


def _x_time(item: dict[str, Any], millis_key: str) -> datetime | None:
    """An X v1.1 object's time: epoch milliseconds under `millis_key`, else its `created_at`
    string (raises ValueError when that is unreadable)."""
    if millis_key in item:
        return from_epoch(item[millis_key], millis=True)
    if "created_at" in item:
        return datetime.strptime(item["created_at"], _TWEET_TIME)
    return None


def v2_mention(
    tweet: dict[str, Any],
    users: dict[str, Any],
    account: str,
    brand_accounts: frozenset[str] = frozenset(),
    posts: dict[str, Any] | None = None,
    media: dict[str, Any] | None = None,
) -> Mention | None:
    """A post of `GET /2/users/:id/mentions` (v2 shape, authors from `includes.users`, the
    post it quotes or, for a reply to the brand, answers from `includes.tweets`: `posts`, its
    photos and videos from `includes.media`: `media`, by key) as the same mention its webhook
    delivery would give (same id, so the two are routed once; the webhook's reply has its
    answered post read by the routing worker); None for the account's own posts.
    `brand_accounts`: the brand's other accounts on X."""
    author_id = str(tweet.get("author_id", ""))
    if author_id == account:
        return None
    user = users.get(author_id, {})
    entities = tweet.get("entities") or {}
    referenced = {ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets", [])}
    kind: MentionKind = "mention"
    if str(tweet.get("in_reply_to_user_id")) == account:
        kind = "reply"
    elif "quoted" in referenced:
        kind = "quote"
    replying_to = tweet.get("in_reply_to_user_id")
    own = brand_accounts | {account}
    tagged_along = _tagged_along(
        str(replying_to) if replying_to else None,
        author_id,
        own,
        _first_int(tweet.get("display_text_range")),
        [
            _int(mention.get("start"))
            for mention in entities.get("mentions", [])
            if str(mention.get("id")) in own
        ],
    )
    created = tweet.get("created_at")
    return Mention(
        id=f"x:{tweet['id']}",
        platform=NAME,
        kind=kind,
        text=(tweet.get("note_tweet") or {}).get("text") or tweet.get("text", ""),
        lang=None if tweet.get("lang") in (None, "und") else tweet["lang"],
        url=f"https://x.com/i/status/{tweet['id']}",
        created_at=datetime.fromisoformat(created) if created else None,
        author=Author(
            id=author_id or None,
            handle=user.get("username"),
            name=user.get("name"),
            followers=int((user.get("public_metrics") or {}).get("followers_count") or 0),
            verified=bool(user.get("verified")),
            created_at=datetime.fromisoformat(user["created_at"]) if "created_at" in user else None,
        ),
        in_reply_to=f"x:{referenced['replied_to']}" if "replied_to" in referenced else None,
        brand_account=account,
        hashtags=[tag["tag"] for tag in entities.get("hashtags", [])],
        mentions=[handle["username"] for handle in entities.get("mentions", [])],
        urls=[url.get("expanded_url") or url["url"] for url in entities.get("urls", [])],
        engagement=engagement(tweet.get("public_metrics"), *_ENGAGEMENT_V2),
        tagged_along=kind == "mention" and tagged_along,
        edit_of=_first_version(str(tweet["id"]), tweet.get("edit_history_tweet_ids")),
        quoted=_v2_quoted(referenced.get("quoted"), posts or {}, users),
        replied_post=(
            _v2_quoted(referenced["replied_to"], posts, users)
            if kind == "reply" and posts and referenced.get("replied_to") in posts
            else None  # the routing worker reads it (services/replied_posts.py)
        ),
        attachments=[
            _medium(item.get("type"), item.get("url"), item, "bit_rate")
            for item in (_dict((media or {}).get(key)) for key in _media_keys(tweet))
            if item
        ],
    )


def _media_keys(tweet: dict[str, Any]) -> list[Any]:
    """The keys of a v2 post's photos and videos (`attachments.media_keys`)."""
    keys = _dict(tweet.get("attachments")).get("media_keys")
    return keys if isinstance(keys, list) else []


def _v2_quoted(post_id: str | None, posts: dict[str, Any], users: dict[str, Any]) -> Quoted | None:
    """The quoted post of a v2 quote, as far as the response's includes tell."""
    if post_id is None:
        return None
    post = _dict(posts.get(post_id))
    text = _dict(post.get("note_tweet")).get("text") or post.get("text")
    author = _dict(users.get(str(post.get("author_id"))))
    return Quoted(id=f"x:{post_id}", text=_str(text) or "", author=_str(author.get("username")))


def _direct_message(event: dict[str, Any], users: dict[str, Any], brand: str) -> Mention:
    create = event["message_create"]
    sender = users.get(create["sender_id"], {})
    data = create.get("message_data", {})
    hashtags, mentions, urls = _entities(data.get("entities", {}))
    return Mention(
        id=f"x:{event['id']}",
        platform=NAME,
        kind="dm",
        text=data.get("text", ""),
        created_at=from_epoch(event.get("created_timestamp"), millis=True),
        public=False,
        author=_author(sender, create["sender_id"]),
        brand_account=brand,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
    )


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """Reply through X API v2 (see `chalicelib.platforms.xapi`; imported here, off the webhook
    path, because tweepy and requests are heavy)."""
    from chalicelib.platforms.xapi import post_reply as post

    return post(reply, mention, settings)


def hide_reply(mention: Mention, hidden: bool, settings: Settings) -> None:
    """Hide (or show again) a reply in the brand's conversation (see `xapi.hide_reply`)."""
    from chalicelib.platforms.xapi import hide_reply as hide

    hide(mention, hidden, settings)
