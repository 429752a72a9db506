"""Slack Events API: v0 request signatures, url_verification, app mentions and channel messages;
replies in the message's thread with `chat.postMessage`. Alerts as Block Kit, with buttons,
changed later (`chat.update`); interactivity: their buttons pressed (`block_actions`, signed
the same way), a modal opened (`views.open`) and sent (`view_submission`).

Slack mention ids are `slack:<channel>/<ts>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from chalicelib.errors import BadSignature, MalformedRequest, PayloadTooLarge, PoisonRecord
from chalicelib.models import Attachment, Author, Mention, RawDelivery, Reply
from chalicelib.platforms.base import (
    Answer,
    Change,
    HandshakeReply,
    echo_challenge,
    from_epoch,
    json_body,
    load_body,
    no_brand_posts,
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


def verify_request(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """A request Slack sends the app itself (a press, a form, a slash command): no larger
    than MAX_BODY_BYTES (PayloadTooLarge), then signed (`verify`)."""
    limit = settings.max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {limit}")
    verify(body, headers, settings, now)


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


def post_message(
    channel: str,
    text: str,
    settings: Settings,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> str:
    """`POST chat.postMessage`, in a thread with `thread_ts`, laid out as `blocks` (`text`
    then shows in notifications); returns the message's `ts`."""
    return posted(channel, text, settings, thread_ts, blocks)[1]


def posted(
    channel: str,
    text: str,
    settings: Settings,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> tuple[str, str]:
    """`post_message`, returning the channel the message is in too: to a member id, the app's
    direct messages with them (`D…`), which `chat.update` wants, and its `ts`."""
    body: dict[str, Any] = {"channel": channel, "text": text}
    if thread_ts is not None:
        body["thread_ts"] = thread_ts
    if blocks is not None:
        body["blocks"] = blocks
    answer = web_api("chat.postMessage", body, settings)
    return str(answer.get("channel") or channel), str(answer["ts"])


def update_message(
    channel: str, ts: str, text: str, blocks: list[dict[str, Any]], settings: Settings
) -> None:
    """`POST chat.update`: the app's message `ts` in `channel` now says `text`, as `blocks`."""
    web_api("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks}, settings)


def post_ephemeral(channel: str, user: str, text: str, settings: Settings) -> None:
    """`POST chat.postEphemeral`: `text` in `channel` that only `user` sees."""
    web_api("chat.postEphemeral", {"channel": channel, "user": user, "text": text}, settings)


def web_api(method: str, body: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Call a Web API `method` with the bot token and a JSON body; its answer. Slack says
    `ok: false` on errors: raised as Platform* errors (a rate limit and a refused token are
    worth retrying, the rest is not)."""
    from chalicelib.platforms.outbound import (  # requests: off the webhook path
        PlatformRejected,
        PlatformRetryLater,
        PlatformUnauthorized,
        call,
    )

    answer = call(
        "POST",
        f"{settings.slack_api_base_url.rstrip('/')}/{method}",
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
        meaning = REFUSALS.get(error)
        raise PlatformRejected(f"{error} ({meaning})" if meaning else error)
    return dict(answer)


REFUSALS = {
    "not_in_channel": "the app is not in the channel: /invite it there",
    "channel_not_found": "no such channel, or a private one the app is not in",
    "is_archived": "the channel is archived",
    "message_not_found": "the message was deleted in Slack",
    "cant_update_message": "the message is not the app's",
    "user_not_in_channel": "the person is no longer in the channel",
}
"""What Slack's refusals of a message most often mean, said with the error."""

SECTION_LIMIT = 3000
"""The most text a section block holds."""


@dataclass(frozen=True)
class Button:
    """A button on a message: what it does (`action`, its action id), on what (`value`)."""

    action: str
    label: str
    value: str
    style: str | None = None  # primary (green), danger (red)

    def block(self) -> dict[str, Any]:
        """As a Block Kit button element."""
        element = {
            "type": "button",
            "action_id": self.action,
            "text": {"type": "plain_text", "text": self.label},
            "value": self.value,
        }
        return element | ({"style": self.style} if self.style else {})


MENU = "more"
"""The action id of a message's overflow menu: which of its items was chosen says what to do."""


@dataclass(frozen=True)
class Menu:
    """A message's overflow menu ("⋯", 2 to 5 items), each item what a button would do: chosen,
    it comes back as a press of that button (`interaction`)."""

    items: tuple[Button, ...]

    def block(self) -> dict[str, Any]:
        """As a Block Kit overflow element: each item's value `<action> <value>`."""
        options = [
            {"text": {"type": "plain_text", "text": item.label[:75]}, "value": _chosen(item)}
            for item in self.items[:5]
        ]
        return {"type": "overflow", "action_id": MENU, "options": options}


def _chosen(item: Button) -> str:
    """What an overflow menu's item says when chosen: its action, then its value."""
    return f"{item.action} {item.value}"[:150]


Control = Button | Menu
"""What an alert offers to press."""


def alert_blocks(
    text: str, buttons: tuple[Control, ...] = (), footnote: str | None = None
) -> list[dict[str, Any]]:
    """An alert as Block Kit: its mrkdwn `text` as a section, then its `buttons`, or a
    `footnote` (what became of it)."""
    section = {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}
    blocks: list[dict[str, Any]] = [{"type": "section", "text": section}]
    if buttons:
        blocks.append({"type": "actions", "elements": [button.block() for button in buttons]})
    if footnote is not None:
        note = {"type": "mrkdwn", "text": footnote[:SECTION_LIMIT]}
        blocks.append({"type": "context", "elements": [note]})
    return blocks


FIELD, CHOICE, FLAGS = "text", "choice", "flags"
"""The block and action ids of the text a modal asks for, of the choice it offers instead, and
of the boxes to tick that go with either."""
FIELD_LIMIT = 3000
"""The most a modal's text field takes (Slack's own limit)."""
MAX_OPTIONS = 100
"""The most options a select offers (Slack's limit)."""
MAX_FLAGS = 10
"""The most boxes a checkbox group has (Slack's limit)."""


@dataclass(frozen=True)
class TextInput:
    """A text field of a form: the `block` (and action) id it comes back under, its `label`,
    a `hint` under it, its `initial` text, whether it takes several lines (`multiline`), may
    be left empty (`optional`), and the most characters it takes (`max_length`)."""

    block: str
    label: str
    hint: str = ""
    initial: str = ""
    multiline: bool = False
    optional: bool = False
    max_length: int = 500


def text_modal(
    callback: str,
    title: str,
    label: str,
    metadata: str,
    max_length: int = 500,
    shown: str | None = None,
    options: Sequence[tuple[str, str]] = (),
    options_label: str = "",
    flags: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A modal asking for a text (a reason, a reply: up to `max_length` characters) under what
    it is about (`shown`, mrkdwn), or (with `options`, (value, text) pairs: the first
    MAX_OPTIONS) a choice among them instead, under `options_label`, and below it boxes to tick
    (`flags`, (value, text) pairs, the first MAX_FLAGS): `callback` names it when sent,
    `metadata` (private_metadata) comes back with it."""
    about = _shown(shown)
    if options:
        about.append(_picker(CHOICE, "static_select", options, MAX_OPTIONS, options_label))
    # the choice, or the text: the sender checks
    asked = TextInput(FIELD, label, multiline=True, optional=bool(options), max_length=max_length)
    return _modal(callback, title, metadata, [*about, _text_input(asked), *_ticks(flags)])


def fields_modal(
    callback: str,
    title: str,
    metadata: str,
    shown: str,
    fields: Sequence[TextInput],
    options: Sequence[tuple[str, str]] = (),
    options_label: str = "",
    flags: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A modal asking for several texts (`fields`) under what it is about (`shown`, mrkdwn)
    and, with `options` ((value, text) pairs: the first MAX_OPTIONS), a choice among them
    above them, under `options_label`, and boxes to tick below them (`flags`, as `text_modal`'s):
    `callback` names it when sent, `metadata` (private_metadata) comes back with it, and each
    field's text under its block id (`ModalSubmission.written`)."""
    choice = [_picker(CHOICE, "static_select", options, MAX_OPTIONS, options_label)]
    blocks = [
        *_shown(shown),
        *(choice if options else []),
        *(_text_input(asked) for asked in fields),
        *_ticks(flags),
    ]
    return _modal(callback, title, metadata, blocks)


def _ticks(flags: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """The block of boxes to tick (`flags`), if there are any."""
    return [_picker(FLAGS, "checkboxes", flags, MAX_FLAGS, "Also")] if flags else []


def _modal(
    callback: str, title: str, metadata: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _shown(text: str | None) -> list[dict[str, Any]]:
    """The section a modal shows `text` (mrkdwn) in, if there is any."""
    if not text:
        return []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}]


def _text_input(asked: TextInput) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": asked.block,
        "multiline": asked.multiline,
        "max_length": min(asked.max_length, FIELD_LIMIT),
    }
    if asked.initial:
        element["initial_value"] = asked.initial
    block = {
        "type": "input",
        "block_id": asked.block,
        "label": {"type": "plain_text", "text": asked.label[:2000]},
        "element": element,
        "optional": asked.optional,
    }
    if asked.hint:
        block["hint"] = {"type": "plain_text", "text": asked.hint[:2000]}
    return block


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says `text` (mrkdwn), closed with "Done" (what a sent modal is
    updated to, to say what became of it)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": _shown(text),
    }


def _picker(
    block: str, kind: str, options: Sequence[tuple[str, str]], most: int, label: str
) -> dict[str, Any]:
    """An optional input block (`block` its block and action id) of the element `kind` (a
    select, boxes to tick) offering `options` (value, text: the first `most`)."""
    choices = [
        {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}
        for value, text in options[:most]
    ]
    return {
        "type": "input",
        "block_id": block,
        "optional": True,
        "label": {"type": "plain_text", "text": label[:2000]},
        "element": {"type": kind, "action_id": block, "options": choices},
    }


def open_modal(trigger_id: str, view: dict[str, Any], settings: Settings) -> None:
    """`POST views.open`: show `view` to the person whose press gave `trigger_id` (good for 3
    seconds, so called at once, with a shorter timeout than other calls)."""
    quick = settings.model_copy(update={"platform_timeout_seconds": 2})
    web_api("views.open", {"trigger_id": trigger_id, "view": view}, quick)


@dataclass(frozen=True)
class ButtonPress:
    """A person pressing a button on one of the app's messages (or choosing an item of its
    menu): which (`action`, `value`), who (`user`, their member id), the message (`channel`,
    `ts`, its `text`), and the `trigger_id` a modal opens with."""

    action: str
    value: str
    user: str
    channel: str
    ts: str
    text: str
    trigger_id: str = ""


@dataclass(frozen=True)
class ModalSubmission:
    """A person sending a modal: which (`callback`), who (`user`), its `metadata`, the `text`
    they wrote, the modal's id (the same if they send it again), whether it `offered` a
    choice instead, what they chose (`choice`, an option's value), the boxes they ticked
    (`flags`, their values), and what they wrote in each text field (`written`, by block id:
    `text` is FIELD's)."""

    callback: str
    user: str
    metadata: str
    text: str
    view_id: str = ""
    offered: bool = False
    choice: str | None = None
    flags: frozenset[str] = frozenset()
    written: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlashCommand:
    """A person typing the app's slash command: which (`command`), who (`user`), where
    (`channel`), and what they typed after it (`text`)."""

    command: str
    user: str
    channel: str
    text: str


def slash_command(body: bytes) -> SlashCommand:
    """The slash command a request carries (a form: `command`, `text`, `user_id`,
    `channel_id`…); MalformedRequest for one without them."""
    fields = _form(body, "a Slack slash command", 30)
    try:
        said = {name: fields[name][0] for name in ("command", "user_id", "channel_id")}
    except KeyError as missing:
        raise MalformedRequest(f"a Slack slash command needs its {missing} field") from None
    text = fields.get("text", [""])[0]
    return SlashCommand(said["command"], said["user_id"], said["channel_id"], text)


def _form(body: bytes, what: str, most: int) -> dict[str, list[str]]:
    """The fields of a form Slack posts (`what` it is, for errors; at most `most` fields)."""
    try:
        return parse_qs(body.decode("utf-8"), max_num_fields=most, errors="strict")
    except UnicodeDecodeError:  # the body, or an escape in it
        raise MalformedRequest(f"{what} is a URL-encoded form of UTF-8 text") from None
    except ValueError:
        raise MalformedRequest(f"{what} has more than {most} fields") from None


def interaction(body: bytes) -> ButtonPress | ModalSubmission:
    """What a person did, from an interaction request (a form with the JSON `payload` of a
    `block_actions` or a `view_submission`); MalformedRequest for anything else."""
    fields = _form(body, "a Slack interaction", 10)
    if "payload" not in fields:
        raise MalformedRequest("a Slack interaction needs its 'payload' field")
    try:
        payload = json.loads(fields["payload"][0])
    except ValueError:
        raise MalformedRequest("the interaction's payload is not JSON") from None
    kind = payload.get("type") if isinstance(payload, dict) else None
    try:
        if kind == "block_actions":
            action = payload["actions"][0]
            container = payload["container"]
            pressed, value = str(action["action_id"]), str(action.get("value", ""))
            if pressed == MENU:  # an overflow menu's item: what it does, then on what
                pressed, _, value = str(action["selected_option"]["value"]).partition(" ")
            return ButtonPress(
                action=pressed,
                value=value,
                user=str(payload["user"]["id"]),
                channel=str(container["channel_id"]),
                ts=str(container["message_ts"]),
                text=str((payload.get("message") or {}).get("text", "")),
                trigger_id=str(payload.get("trigger_id", "")),
            )
        if kind == "view_submission":
            view = payload["view"]
            values = view["state"]["values"]
            written = {
                block: str(state.get("value") or "")
                for block, elements in values.items()
                for state in elements.values()
                if state.get("type") == "plain_text_input"
            }
            chosen = (values.get(CHOICE, {}).get(CHOICE, {}).get("selected_option") or {}).get(
                "value"
            )
            ticked = values.get(FLAGS, {}).get(FLAGS, {}).get("selected_options") or []
            return ModalSubmission(
                callback=str(view["callback_id"]),
                user=str(payload["user"]["id"]),
                metadata=str(view.get("private_metadata", "")),
                text=written[FIELD],
                view_id=str(view.get("id", "")),
                offered=CHOICE in values,
                choice=None if chosen is None else str(chosen),
                flags=frozenset(str(box["value"]) for box in ticked),
                written=written,
            )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedRequest(f"a {kind} payload without {exc}") from None
    raise MalformedRequest(
        f"Switchboard answers button presses and its forms (block_actions, view_submission),"
        f" not {kind!r}"
    )


brand_posts = no_brand_posts  # a thread's first message is the case its replies continue
