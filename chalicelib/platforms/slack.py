"""Slack Events API: v0 request signatures, url_verification, app mentions and channel messages;
replies in the message's thread with `chat.postMessage`.

Slack mention ids are `slack:<channel>/<ts>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.errors import BadSignature, MalformedRequest, PoisonRecord
from chalicelib.models import Attachment, Author, Mention, RawDelivery, Reply
from chalicelib.platforms.base import (
    Answer,
    Change,
    HandshakeReply,
    echo_challenge,
    from_epoch,
    json_body,
    load_body,
    no_handshake,
    require_object,
    signing_keys,
)
from chalicelib.platforms.signatures import hex_signature, lower_headers, require_match
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.platforms.outbound import PostedReply

NAME = "slack"
KEPT_HEADERS: tuple[str, ...] = (
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-slack-retry-num",
    "content-type",
)
decode = json_body
_MESSAGE_EVENTS = {"app_mention": "mention", "message": "post"}
_SAID = frozenset({None, "file_share", "thread_broadcast", "me_message"})
"""Message subtypes a person writes (plain, with a file, a thread reply sent to the channel too,
a /me): the others are bots, joins, topics, edits and deletions."""
TOKEN_REFUSED = frozenset(
    {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
)
"""Slack errors that refuse the bot token itself, not the message."""


def handshake(
    query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """Slack verifies URLs with a signed POST (url_verification), not a GET."""
    return no_handshake(NAME)


def verify(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """`X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}"))`, with the
    timestamp within the tolerance (replays are refused)."""
    keys = signing_keys(
        settings.slack_signing_secret,
        settings.slack_signing_secret_previous,
        "SLACK_SIGNING_SECRET",
    )
    found = lower_headers(headers)
    stamp = found.get("x-slack-request-timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):  # epoch seconds
        raise BadSignature("missing or unreadable X-Slack-Request-Timestamp")
    if abs(now - int(stamp)) > settings.webhook_tolerance_seconds:
        raise BadSignature("X-Slack-Request-Timestamp is more than five minutes from now")
    signed = b"v0:" + stamp.encode() + b":" + body
    expected = [hex_signature(key, signed, prefix="v0=") for key in keys]
    require_match(expected, found.get("x-slack-signature"), "X-Slack-Signature")


def check(payload: Any) -> HandshakeReply | None:
    """url_verification is answered at once with its challenge; events are queued."""
    envelope = require_object(payload, NAME)
    if not isinstance(envelope.get("type"), str):
        raise MalformedRequest("a Slack delivery needs a 'type'")
    if envelope["type"] == "url_verification":
        challenge = echo_challenge(envelope.get("challenge"), "the url_verification challenge").body
        return HandshakeReply(json.dumps({"challenge": challenge}), "application/json")
    return None


def parse(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
    """An app mention or channel message from a person (bots, including ours, are dropped)."""
    payload = load_body(delivery)
    try:
        event = payload.get("event") or {}
        kind = _MESSAGE_EVENTS.get(event.get("type", ""))
        if payload.get("type") != "event_callback" or kind is None:
            return []
        if event.get("bot_id") or event.get("subtype") not in _SAID:
            return []
        if event.get("user") in brand_accounts:
            return []
        channel, ts = event["channel"], event["ts"]
        thread = event.get("thread_ts")
        files = [f for f in event.get("files", []) if f.get("permalink")]
        return [
            Mention(
                id=f"slack:{channel}/{ts}",
                platform=NAME,
                kind="reply" if thread and thread != ts else kind,
                text=event.get("text", ""),
                created_at=from_epoch(ts),
                author=Author(id=event.get("user")),
                in_reply_to=f"slack:{channel}/{thread}" if thread and thread != ts else None,
                brand_account=payload.get("team_id"),
                urls=[f["permalink"] for f in files],
                attachments=[
                    Attachment(
                        kind=_file_kind(f.get("mimetype")),
                        url=f["permalink"],
                        mime_type=f.get("mimetype"),
                        filename=f.get("name"),
                    )
                    for f in files
                ],
            )
        ]
    except (KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise PoisonRecord(f"unreadable Slack event: {exc!r}") from exc


def _file_kind(mime_type: str | None) -> str:
    """What a Slack file is, from its MIME type: image, video, audio, else file."""
    kind = (mime_type or "").partition("/")[0]
    return kind if kind in ("image", "video", "audio") else "file"


def answers(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
    """A message of one of the brand's people (`BRAND_ACCOUNTS` user ids) in a thread answers
    the thread's first message (Switchboard's own bot replies are recorded when sent)."""
    payload = load_body(delivery)
    try:
        event = payload.get("event") or {}
        channel, ts, thread = event.get("channel"), event.get("ts"), event.get("thread_ts")
        if (
            payload.get("type") != "event_callback"
            or event.get("type") not in _MESSAGE_EVENTS
            or event.get("subtype") not in _SAID
            or event.get("user") not in brand_accounts
            or not (channel and ts and thread)
            or thread == ts
        ):
            return []
        return [Answer(f"slack:{channel}/{thread}", f"slack:{channel}/{ts}", from_epoch(ts))]
    except (TypeError, AttributeError) as exc:
        raise PoisonRecord(f"unreadable Slack event: {exc!r}") from exc


def changes(delivery: RawDelivery) -> list[Change]:
    """`message_changed` carries the edited message (`message.ts`, `message.text`);
    `message_deleted` names the deleted one by `deleted_ts`."""
    payload = load_body(delivery)
    try:
        event = payload.get("event") or {}
        subtype = event.get("subtype")
        if subtype == "message_deleted":
            return [Change(f"slack:{event['channel']}/{event['deleted_ts']}")]
        if subtype == "message_changed":
            message = event["message"]
            return [Change(f"slack:{event['channel']}/{message['ts']}", str(message["text"]))]
        return []
    except (KeyError, TypeError, AttributeError) as exc:
        raise PoisonRecord(f"unreadable Slack event: {exc!r}") from exc


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """A reply in the mention's thread (`post_message` with its `thread_ts`)."""
    from chalicelib.platforms.outbound import PostedReply  # requests: off the webhook path

    channel, _, ts = mention.native_id.partition("/")
    return PostedReply(f"{channel}/{post_message(channel, reply.text, settings, ts)}")


def post_message(channel: str, text: str, settings: Settings, thread_ts: str | None = None) -> str:
    """`POST chat.postMessage` (bot token), in a thread with `thread_ts`; returns the message's
    `ts`. Slack says `ok: false` on errors: raised as Platform* errors."""
    from chalicelib.platforms.outbound import (  # requests: off the webhook path
        PlatformRejected,
        PlatformRetryLater,
        PlatformUnauthorized,
        call,
    )

    body = {"channel": channel, "text": text}
    if thread_ts is not None:
        body["thread_ts"] = thread_ts
    answer = call(
        "POST",
        f"{settings.slack_api_base_url.rstrip('/')}/chat.postMessage",
        settings.platform_timeout_seconds,
        headers={"Authorization": f"Bearer {settings.slack_bot_token}"},
        json=body,
    )
    if not answer.get("ok"):
        error = str(answer.get("error"))
        if error == "ratelimited":
            raise PlatformRetryLater("rate limited")
        if error in TOKEN_REFUSED:
            raise PlatformUnauthorized(error)
        raise PlatformRejected(error)
    return str(answer["ts"])
