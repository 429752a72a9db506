"""Meta webhooks: Facebook Page feed, Instagram comments and mentions, Messenger and IG DMs,
WhatsApp Cloud API messages."""

from __future__ import annotations

import contextlib
import functools
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from chalicelib.errors import BadSignature, Forbidden, MalformedRequest, PoisonRecord
from chalicelib.models import (
    Attachment,
    Author,
    Mention,
    MentionKind,
    Quoted,
    RawDelivery,
    Reply,
    native_id,
)
from chalicelib.platforms.base import (
    UNREADABLE,
    Answer,
    Change,
    HandshakeReply,
    echo_challenge,
    engagement,
    from_epoch,
    json_body,
    load_body,
    read_each,
    read_skipping,
    require_object,
    signing_keys,
)
from chalicelib.platforms.signatures import hex_signature, lower_headers, require_match
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.platforms.outbound import PostedReply

NAME = "meta"
KEPT_HEADERS: tuple[str, ...] = ("x-hub-signature-256", "x-hub-signature", "content-type")
decode = json_body
_FEED_ITEMS = {
    "comment": "comment",
    "post": "post",
    "status": "post",
    "photo": "post",
    "video": "post",  # a visitor's video on the Page, its words in `message`
}
STANDBY = "standby"
_CHANNELS = ("messaging", STANDBY)
"""Where an entry carries Messenger and Instagram messaging events: `messaging` while
Switchboard's app owns the conversation, `standby` while another app does (Meta's handover
protocol and conversation routing: a chatbot, Meta's inbox or its business agent)."""
TOKEN_REFUSED = 190
"""Graph error code of an access token that is invalid, expired or revoked (said with HTTP 400)."""
WHATSAPP = "whatsapp_business_account"
_WHATSAPP_MEDIA = ("image", "video", "document", "audio", "sticker")
THREAD_HELD = 2018300
"""Send API error subcode: "another app is controlling this thread now"."""


def handshake(
    query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """`hub.mode=subscribe` with the configured `hub.verify_token` → echo `hub.challenge`."""
    token = query.get("hub.verify_token", "")
    expected = settings.meta_verify_token
    if (
        query.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise Forbidden("hub.mode must be subscribe and hub.verify_token must match")
    return echo_challenge(query.get("hub.challenge"))


def verify(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """`X-Hub-Signature-256: sha256=<hex HMAC(app_secret, raw body)>`; legacy sha1 as fallback."""
    keys = signing_keys(
        settings.meta_app_secret, settings.meta_app_secret_previous, "META_APP_SECRET"
    )
    found = lower_headers(headers)
    if "x-hub-signature-256" in found:
        expected = [hex_signature(key, body, "sha256", prefix="sha256=") for key in keys]
        require_match(expected, found["x-hub-signature-256"], "X-Hub-Signature-256")
    elif "x-hub-signature" in found:
        expected = [hex_signature(key, body, "sha1", prefix="sha1=") for key in keys]
        require_match(expected, found["x-hub-signature"], "X-Hub-Signature")
    else:
        raise BadSignature("missing X-Hub-Signature-256")


def check(payload: Any) -> HandshakeReply | None:
    """A Graph webhook delivery is `{"object": …, "entry": [...]}`."""
    envelope = require_object(payload, NAME)
    if not isinstance(envelope.get("object"), str) or not isinstance(envelope.get("entry"), list):
        raise MalformedRequest("a Meta delivery needs 'object' (string) and 'entry' (list)")
    return None


def parse(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
    """Every entry, every change and every messaging event; echoes and non-mentions dropped.
    An entry that cannot be read holds back none of the others (PartlyUnreadable)."""
    obj, entries = _entries(delivery)

    def read(entry: dict[str, Any]) -> list[Mention]:
        return list(_entry(obj, entry, brand_accounts | {str(entry["id"])}))

    return read_each(entries, read, "Meta")


def changes(delivery: RawDelivery) -> list[Change]:
    """Page feed comments and posts edited (`verb: edited`, with the new `message`), removed
    (`verb: remove`, by their author or a moderator) or hidden and shown again by the Page's
    moderators or filters (`verb: hide`, `unhide`); Messenger and Instagram messages edited
    (`message_edit: {mid, text, num_edit}`, the `message_edits` field) or unsent (`message:
    {mid, is_deleted: true}`, as Instagram says it)."""
    obj, entries = _entries(delivery)
    page = obj == "page"

    def read(entry: dict[str, Any]) -> list[Change]:
        if obj == WHATSAPP:
            return _reply_statuses(entry)
        found = []
        for change in entry.get("changes", []) if page else []:
            value = change["value"] if change.get("field") == "feed" else {}
            verb = value.get("verb")
            if value.get("item") not in _FEED_ITEMS:
                continue
            if verb in ("edited", "remove"):
                text = None if verb == "remove" else str(value.get("message", ""))
                found.append(Change(f"facebook:{_feed_id(value)}", text))
            elif verb in ("hide", "unhide"):
                found.append(Change(f"facebook:{_feed_id(value)}", hidden=verb == "hide"))
        platform = _dm_platform(obj)
        for event, _ in _messaging(entry):
            if receipt := _receipt(event, platform):
                found.append(receipt)
            if edit := event.get("message_edit"):
                found.append(Change(f"{platform}:{edit['mid']}", str(edit.get("text", ""))))
            if _unsent(event.get("message")):
                found.append(Change(f"{platform}:{event['message']['mid']}"))
        return found

    return read_each(entries, read, "Meta")


_RECEIPTS: tuple[tuple[Literal["delivered", "read"], str], ...] = (
    ("read", "read"),
    ("delivered", "delivery"),
)
"""A messaging event's receipt of what the account sent, and the event's field for it."""


def _receipt(event: dict[str, Any], platform: str) -> Change | None:
    """A customer's receipt of a direct conversation: Messenger's `read` and `delivery`
    (`message_reads`, `message_deliveries`: what the Page sent until the `watermark`),
    Instagram's `read` of a message (`messaging_seen`: what was sent until they saw it)."""
    sender, at = _sender(event), from_epoch(event.get("timestamp"), millis=True)
    if sender is None:
        return None
    for receipt, field in _RECEIPTS:
        said = event.get(field)
        if not isinstance(said, dict):
            continue
        upto = from_epoch(said.get("watermark"), millis=True) or at
        if upto is not None:
            return Change(f"{platform}:dm/{sender}", seen=receipt, at=at or upto, upto=upto)
    return None


def _reply_statuses(entry: dict[str, Any]) -> list[Change]:
    """What became of the business's WhatsApp messages (`statuses[]`): delivered to the
    customer's phone, read (blue ticks, where they allow read receipts), or accepted by the
    Cloud API and then not delivered (`failed`, with its `errors`: blocked, not on WhatsApp…)."""
    found = []
    for change in entry.get("changes", []):
        for status in (change.get("value") or {}).get("statuses", []):
            post, state = f"whatsapp:{status['id']}", status.get("status")
            if state in ("delivered", "read"):
                at = from_epoch(status.get("timestamp"))
                found.append(Change(post, seen=state, at=at))
            if state != "failed":
                continue
            errors = status.get("errors") or [{}]
            why = "; ".join(
                f"{e.get('code', '?')} {e.get('title') or e.get('message') or ''}".strip()
                for e in errors
            )
            found.append(Change(post, undelivered=why))
    return found


def _entries(delivery: RawDelivery) -> tuple[str, list[dict[str, Any]]]:
    """A delivery's `object` and its entries; PoisonRecord when it has neither."""
    payload = load_body(delivery)
    try:
        return str(payload["object"]), list(payload["entry"])
    except UNREADABLE as exc:
        raise PoisonRecord(f"unreadable Meta delivery: {exc!r}") from exc


def answers(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
    """The Page's or the Instagram account's own comments that reply to one (`parent_id`; on
    Facebook a comment on a visitor's post names the post), and the messages it sent (echoes,
    the `message_echoes` field; for a WhatsApp number also used in the WhatsApp Business app,
    what the business wrote there, the `smb_message_echoes` field), each answering the customer
    it writes to."""
    obj, entries = _entries(delivery)
    page, platform = obj == "page", _dm_platform(obj)
    found = []
    try:
        for entry in entries:
            if obj == WHATSAPP:
                found += read_skipping(_whatsapp_echoes(entry), _whatsapp_echo, NAME)
                continue
            own = brand_accounts | {str(entry["id"])}
            comment = functools.partial(_own_comment, page=page, own=own)
            found += read_skipping(entry.get("changes", []), comment, NAME)
            events = [event for event, _ in _messaging(entry)]
            found += read_skipping(events, lambda event: _echo(event, platform), NAME)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PoisonRecord(f"unreadable Meta delivery: {exc!r}") from exc
    return found


def brand_posts(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Quoted]:
    """The Page's own posts on its feed (a `feed` change adding a status, photo, video or post
    from the Page): the comments on them carry them without a read of the Graph API."""
    obj, entries = _entries(delivery)
    if obj != "page":
        return []

    def post(change: dict[str, Any], own: frozenset[str]) -> Quoted | None:
        value = change.get("value") or {}
        author = value.get("from") or {}
        if (
            change.get("field") != "feed"
            or _FEED_ITEMS.get(str(value.get("item"))) != "post"
            or value.get("verb") != "add"
            or str(author.get("id")) not in own
        ):
            return None
        text, name = value.get("message"), author.get("name")
        return Quoted(id=f"facebook:{value['post_id']}", text=str(text or ""), author=name)

    found: list[Quoted] = []
    for entry in entries:
        own = brand_accounts | {str(entry.get("id"))}
        read = functools.partial(post, own=own)
        found += read_skipping(entry.get("changes") or [], read, NAME)
    return found


def _echo(event: dict[str, Any], platform: str) -> Answer | None:
    """A message the brand's account sent (`is_echo`), answering its recipient, with the app
    that sent it (`app_id`)."""
    message = event.get("message") or {}
    if not message.get("is_echo") or _unsent(message):
        return None
    at = from_epoch(event.get("timestamp"), millis=True)
    app = message.get("app_id")
    return Answer(
        f"{platform}:dm/{event['recipient']['id']}",
        f"{platform}:{message['mid']}",
        at,
        (str(app),) if app is not None else (),
    )


def _whatsapp_echoes(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The messages of an entry's `smb_message_echoes` changes."""
    for change in entry.get("changes", []):
        if change.get("field") == "smb_message_echoes":
            yield from (change.get("value") or {}).get("message_echoes", [])


def _whatsapp_echo(echo: dict[str, Any]) -> Answer | None:
    """A message the business sent from the WhatsApp Business app (or a linked device),
    answering the customer it was sent to (`to`: their number, as the business typed it, so
    `+44 7700…` is read as the `447700…` their own messages come from); deleting a message
    (`revoke`) or reacting to one answers nothing."""
    if echo.get("type") in ("revoke", "reaction"):
        return None
    customer = "".join(ch for ch in str(echo["to"]) if ch.isdigit())
    at = from_epoch(echo.get("timestamp"))
    return Answer(f"whatsapp:dm/{customer}", f"whatsapp:{echo['id']}", at)


def _own_comment(change: dict[str, Any], page: bool, own: frozenset[str]) -> Answer | None:
    """A comment the brand's account added under another (or under a visitor's post)."""
    value = change.get("value") or {}
    if not value.get("parent_id") or str((value.get("from") or {}).get("id")) not in own:
        return None
    if page and change.get("field") == "feed" and value.get("item") == "comment":
        if value.get("verb") != "add":
            return None
        at = from_epoch(value.get("created_time"))
        return Answer(f"facebook:{value['parent_id']}", f"facebook:{value['comment_id']}", at)
    if not page and change.get("field") in ("comments", "live_comments"):
        comment = value.get("id") or value["comment_id"]
        return Answer(f"instagram:{value['parent_id']}", f"instagram:{comment}", None)
    return None


def _unsent(message: Any) -> bool:
    """Whether a messaging event says its author unsent the message (Instagram)."""
    return isinstance(message, dict) and message.get("is_deleted") is True


def _feed_id(value: dict[str, Any]) -> str:
    """A feed item's own id: the comment's for a comment, else the post's."""
    return str(value["comment_id"] if _FEED_ITEMS[value["item"]] == "comment" else value["post_id"])


def _entry(obj: str, entry: dict[str, Any], own: frozenset[str]) -> Iterator[Mention]:
    account = str(entry["id"])
    for change in entry.get("changes", []):
        value, field = change.get("value", {}), change.get("field")
        if obj == WHATSAPP:
            if field == "messages":  # also delivery statuses of what the brand sent: no mentions
                yield from _whatsapp(value, own)
            continue
        if obj == "page" and field == "feed":
            mention = _feed(value, account)
        elif obj == "instagram" and field in ("comments", "live_comments"):
            mention = _instagram_comment(value, account)
        elif obj == "instagram" and field == "mentions":
            mention = _instagram_mention(value, account)
        else:
            continue
        if mention is not None and mention.author.id not in own:
            yield mention
    platform = _dm_platform(obj)
    for event, standby in _messaging(entry):
        message = _said(event)
        if not message or message.get("is_echo") or _unsent(message) or _sender(event) in own:
            continue
        yield _message(platform, event, message, account, standby)


def _dm_platform(obj: str) -> str:
    """The platform of an entry's messaging events: Messenger for a Page, else Instagram."""
    return "messenger" if obj == "page" else "instagram"


def _messaging(entry: dict[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
    """Each messaging event of an entry, and whether it came on the standby channel."""
    for channel in _CHANNELS:
        for event in entry.get(channel, []):
            yield event, channel == STANDBY


def _sender(event: dict[str, Any]) -> str | None:
    """The id of who sent a messaging event; None where Meta names them otherwise (a plugin's
    `user_ref`): the message is still routed, with no author to answer."""
    found = (event.get("sender") or {}).get("id")
    return str(found) if found is not None else None


def _said(event: dict[str, Any]) -> dict[str, Any] | None:
    """What the person sent: a message, or the button they tapped (a postback: Get Started, a
    persistent-menu item, a button the brand sent), as a message with the button's title."""
    if event.get("message"):
        return event["message"]
    postback = event.get("postback")
    if isinstance(postback, dict) and postback.get("mid"):
        return {"mid": postback["mid"], "text": str(postback.get("title") or "")}
    return None


def _feed(value: dict[str, Any], page: str) -> Mention | None:
    kind = _FEED_ITEMS.get(value.get("item", ""))
    if kind is None or value.get("verb") != "add":
        return None
    native = _feed_id(value)
    sender = value.get("from") or {}
    parent = value.get("parent_id") if kind == "comment" else None
    return Mention(
        id=f"facebook:{native}",
        platform="facebook",
        kind=_kind(kind),
        text=value.get("message", ""),
        url=f"https://www.facebook.com/{native}",
        created_at=from_epoch(value.get("created_time")),
        author=Author(id=sender.get("id"), name=sender.get("name")),
        in_reply_to=f"facebook:{parent}" if parent else None,
        brand_account=page,
    )


def _instagram_comment(value: dict[str, Any], account: str) -> Mention:
    native = value.get("id") or value["comment_id"]
    sender = value.get("from") or {}
    parent = value.get("parent_id") or (value.get("media") or {}).get("id")
    return Mention(
        id=f"instagram:{native}",
        platform="instagram",
        kind="comment",
        text=value.get("text", ""),
        author=Author(id=sender.get("id"), handle=sender.get("username")),
        in_reply_to=f"instagram:{parent}" if parent else None,
        brand_account=account,
    )


def _instagram_mention(value: dict[str, Any], account: str) -> Mention:
    """An @mention carries ids only; the routing worker fetches the text (`with_text`)."""
    native = value.get("comment_id") or value["media_id"]
    return Mention(
        id=f"instagram:{native}",
        platform="instagram",
        kind="mention",
        text="",
        in_reply_to=f"instagram:{value['media_id']}" if value.get("comment_id") else None,
        brand_account=account,
    )


def _message(
    platform: str, event: dict[str, Any], message: dict[str, Any], account: str, standby: bool
) -> Mention:
    files = [
        Attachment(kind=str(a.get("type", "file")), url=a["payload"]["url"])
        for a in message.get("attachments") or []
        if (a.get("payload") or {}).get("url")
    ]
    return Mention(
        id=f"{platform}:{message['mid']}",
        platform=platform,
        kind="dm",
        text=message.get("text", ""),
        created_at=from_epoch(event.get("timestamp"), millis=True),
        public=False,
        author=Author(id=_sender(event)),
        brand_account=str(event.get("recipient", {}).get("id", account)),
        urls=[str(f.url) for f in files],
        attachments=files,
        standby=standby,
    )


def _whatsapp(value: dict[str, Any], own: frozenset[str]) -> Iterator[Mention]:
    """The customers' messages of a WhatsApp `messages` change, to the business phone number
    (`metadata.phone_number_id`, the account replies are sent from), with each sender's
    profile name from `contacts`; reactions are no messages."""
    account = str(value["metadata"]["phone_number_id"])
    contacts = value.get("contacts", [])
    names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in contacts}
    for message in value.get("messages", []):
        sender = str(message["from"])
        if message.get("type") == "reaction" or sender in own:
            continue
        yield Mention(
            id=f"whatsapp:{message['id']}",
            platform="whatsapp",
            kind="dm",
            text=_whatsapp_text(message),
            created_at=from_epoch(message.get("timestamp")),
            public=False,
            author=Author(id=sender, name=names.get(sender)),
            brand_account=account,
            attachments=_whatsapp_media(message),
        )


def _whatsapp_media(message: dict[str, Any]) -> list[Attachment]:
    """The file a WhatsApp message carries, kept by WhatsApp under its media id (for 30 days)."""
    kind = message.get("type")
    media = message.get(kind) if kind in _WHATSAPP_MEDIA else None
    if not isinstance(media, dict) or not media.get("id"):
        return []
    return [
        Attachment(
            kind="voice" if kind == "audio" and media.get("voice") else str(kind),
            media_id=str(media["id"]),
            mime_type=media.get("mime_type"),
            filename=media.get("filename"),
        )
    ]


def _whatsapp_text(message: dict[str, Any]) -> str:
    """What a WhatsApp message says: its text, the title of the button or list item tapped,
    a media file's caption, a shared location's name and address, a cart sent from the
    business's catalog (with the customer's note), a contact card shared, what WhatsApp says
    changed (a new number); else nothing."""
    kind = message.get("type")
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "button":
        return str(message["button"].get("text", ""))
    if kind == "interactive":
        tapped = message["interactive"]
        return str((tapped.get("button_reply") or tapped.get("list_reply") or {}).get("title", ""))
    if kind in _WHATSAPP_MEDIA:
        return str(message[kind].get("caption", ""))
    if kind == "location":
        place = message["location"]
        return " ".join(str(place[k]) for k in ("name", "address") if place.get(k))
    if kind == "order":
        return _whatsapp_order(message["order"])
    if kind == "contacts":
        cards = [
            " ".join([(c.get("name") or {}).get("formatted_name", "")]
                     + [str(p.get("phone")) for p in c.get("phones", []) if p.get("phone")]).strip()
            for c in message["contacts"]
        ]  # fmt: skip
        return f"shared a contact: {'; '.join(cards)}"
    if kind == "system":
        return str(message["system"].get("body", ""))
    return ""


def _whatsapp_order(order: dict[str, Any]) -> str:
    """A cart sent from the catalog: the customer's note, then each product, its quantity and
    price."""
    items = "; ".join(
        f"{i.get('quantity', 1)} × {i.get('product_retailer_id')} at {i.get('item_price')}"
        f" {i.get('currency', '')}".rstrip()
        for i in order.get("product_items", [])
    )
    return f"{order.get('text', '')} (order from the catalog: {items})".strip()


def _mention_ids(mention: Mention) -> tuple[str, str | None]:
    """(media id, comment id) of an Instagram @mention: in a comment, or in a caption."""
    if mention.in_reply_to:
        return native_id(mention.in_reply_to), mention.native_id
    return mention.native_id, None


def lacks_text(mention: Mention, settings: Settings) -> bool:
    """An Instagram @mention whose webhook left its text out, and a Page token to read it."""
    return (
        mention.platform == "instagram"
        and mention.kind == "mention"
        and not mention.text
        and bool(settings.meta_page_access_token)
    )


def with_text(mention: Mention, settings: Settings) -> Mention:
    """The mention with the text its webhook left out (`lacks_text`), read from the Graph API
    (`mentioned_comment` or `mentioned_media` of the brand's IG user); any other mention as it
    is. Raises Platform* errors."""
    if not lacks_text(mention, settings):
        return mention
    media, comment = _mention_ids(mention)
    if comment is not None:
        edge, fields = "mentioned_comment", f"mentioned_comment.comment_id({comment})"
        wanted = "{text,timestamp,like_count}"
    else:
        edge, fields = "mentioned_media", f"mentioned_media.media_id({media})"
        wanted = "{caption,timestamp,username,permalink}"
    answer = _graph("GET", str(mention.brand_account), settings, {"fields": fields + wanted})
    found = answer.get(edge) or {}
    update: dict[str, Any] = {"text": found.get("text") or found.get("caption") or ""}
    with contextlib.suppress(KeyError, TypeError, ValueError):  # 2026-11-20T09:30:00+0000
        update["created_at"] = datetime.strptime(found["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
    if found.get("username"):
        update["author"] = mention.author.model_copy(update={"handle": found["username"]})
    update["engagement"] = engagement(found, "like_count")
    if found.get("permalink"):
        update["urls"] = [*mention.urls, found["permalink"]]
    return mention.model_copy(update=update)


POST_FIELDS = {"facebook": ("message", "from"), "instagram": ("caption", "username")}
"""What `read_post` asks the Graph API for: a Facebook post's or comment's text and author, an
Instagram media's caption and its account's username."""


def read_post(post: str, settings: Settings) -> Quoted:
    """`GET /{id}?fields=…` of a Facebook post or comment, or an Instagram media, `post` being
    `facebook:<id>` or `instagram:<id>` (POST_FIELDS); raises Platform* errors."""
    platform, _, native = post.partition(":")
    text, author = POST_FIELDS[platform]
    found = _graph("GET", native, settings, {"fields": f"{text},{author}"})
    by = found.get(author)  # Facebook: {"name", "id"}; Instagram: the username itself
    name = by.get("name") if isinstance(by, dict) else by
    return Quoted(id=post, text=str(found.get(text) or ""), author=str(name) if name else None)


THROTTLING_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006, 80007, 130429, 131056})
"""Graph error codes of the app, user, Page, custom and business-use-case (Pages, Instagram,
Messenger, WhatsApp) rate limits and WhatsApp's throughput and per-recipient limits: answered
with HTTP 400/403/429, they mean "later", not "never"."""
DEFAULT_THROTTLE_SECONDS = 300


def graph_throttled(headers: Mapping[str, str], body: Any) -> int | None:
    """Seconds to wait when a Graph error is a rate limit, else None: the longest
    `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`, or 5 minutes."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") not in THROTTLING_CODES:
        return None
    found = {name.lower(): value for name, value in headers.items()}
    try:
        usage = json.loads(found.get("x-business-use-case-usage") or "{}")
        minutes = max(
            (
                int(entry.get("estimated_time_to_regain_access") or 0)
                for entries in usage.values()
                for entry in entries
            ),
            default=0,
        )
    except UNREADABLE:
        minutes = 0
    return minutes * 60 if minutes else DEFAULT_THROTTLE_SECONDS


def _graph(
    method: str,
    path: str,
    settings: Settings,
    params: Mapping[str, str] | None = None,
    token: str | None = None,
    **body: Any,
) -> dict[str, Any]:
    """One Graph API call with the Page token (or `token`) and its `appsecret_proof`, the hex
    HMAC-SHA256 of the token keyed with the app secret (which an app that "Requires App
    Secret", as Meta recommends, demands of every call); rate-limit errors become
    PlatformRetryLater, a refused token (code 190) PlatformUnauthorized."""
    from chalicelib.platforms.outbound import (  # requests: off the webhook path
        PlatformRejected,
        PlatformUnauthorized,
        call,
    )

    which = "the token" if token else "the Page token"
    token = token or settings.meta_page_access_token
    auth = {"access_token": token}
    if settings.meta_app_secret:
        auth["appsecret_proof"] = hex_signature(settings.meta_app_secret.encode(), token.encode())
    try:
        return call(
            method,
            f"{settings.graph_api_base_url.rstrip('/')}/{settings.graph_api_version}/{path}",
            settings.platform_timeout_seconds,
            params={**(params or {}), **auth},
            throttled=graph_throttled,
            **body,
        )
    except PlatformRejected as exc:
        if _graph_error(exc.answer).get("code") == TOKEN_REFUSED:
            raise PlatformUnauthorized(f"{which}: {exc}", exc.answer) from exc
        raise


def _graph_error(answer: Any) -> dict[str, Any]:
    """The `error` object of a Graph answer (empty when there is none)."""
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, dict) else {}


def _send(account: str, body: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A Send API call. Where another app holds the conversation (its messages came on the
    standby channel), Switchboard takes it over (`take_thread_control`, what "take over" in an
    inbox does) and sends again; if it may not, the reply fails saying where to answer."""
    from chalicelib.platforms.outbound import PlatformRejected  # requests: off the webhook path

    try:
        return _graph("POST", f"{account}/messages", settings, json=body)
    except PlatformRejected as exc:
        held = _graph_error(exc.answer).get("error_subcode") == THREAD_HELD
        if not held or "id" not in body["recipient"]:
            raise
    take = {"recipient": body["recipient"], "metadata": "a person answers through Switchboard"}
    try:
        _graph("POST", f"{account}/take_thread_control", settings, json=take)
    except PlatformRejected as exc:
        raise PlatformRejected(
            f"another app holds this conversation and Switchboard may not take it over ({exc}):"
            " answer it in that app, or give Switchboard's app control of the Page's"
            " conversations (Meta Business Suite, conversation routing)",
            exc.answer,
        ) from exc
    return _graph("POST", f"{account}/messages", settings, json=body)


def _whatsapp_token(settings: Settings) -> str:
    """The system user's token every Cloud API call takes; PlatformUnauthorized when unset."""
    from chalicelib.platforms.outbound import PlatformUnauthorized

    if not settings.whatsapp_access_token:
        raise PlatformUnauthorized("WHATSAPP_ACCESS_TOKEN is not set")
    return settings.whatsapp_access_token


@dataclass(frozen=True)
class ApprovedTemplate:
    """A message template WhatsApp approved: its name, language and body text, whose
    variables `{{1}}`, `{{2}}`… the values sent with it fill in."""

    name: str
    language: str
    body: str

    @property
    def variables(self) -> int:
        """How many values it takes."""
        return len(set(re.findall(r"\{\{(\d+)\}\}", self.body)))


def approved_templates(settings: Settings) -> list[ApprovedTemplate]:
    """The first 100 approved message templates of WHATSAPP_BUSINESS_ACCOUNT_ID with numbered
    variables (`GET /{waba-id}/message_templates`; named ones, which Switchboard does not fill
    in, left out); PlatformError when they cannot be read."""
    answer = _graph(
        "GET",
        f"{settings.whatsapp_business_account_id}/message_templates",
        settings,
        {
            "fields": "name,language,status,parameter_format,components",
            "status": "APPROVED",
            "limit": "100",
        },
        token=_whatsapp_token(settings),
    )
    found = []
    for template in answer.get("data") or []:
        if not isinstance(template, dict) or template.get("status") != "APPROVED":
            continue
        if template.get("parameter_format", "POSITIONAL") != "POSITIONAL":
            continue
        parts = template.get("components") or []
        body = next((str(c.get("text", "")) for c in parts if c.get("type") == "BODY"), "")
        found.append(ApprovedTemplate(str(template["name"]), str(template["language"]), body))
    return found


WHATSAPP_LIST_BODY = 1024
"""The longest text an interactive list message carries (a longer one goes as plain text)."""
WHATSAPP_LIST_BUTTON = "\u2b50"
"""The button that opens the list: a star, in no language."""


def _whatsapp_list(reply: Reply) -> dict[str, Any]:
    """An interactive list message offering the reply's quick replies as rows: the customer
    taps the button, then a row, and WhatsApp sends the row's title as their answer."""
    rows = [{"id": f"SWITCHBOARD_{title}", "title": title} for title in reply.quick_replies]
    return {
        "type": "list",
        "body": {"text": reply.text},
        "action": {"button": WHATSAPP_LIST_BUTTON, "sections": [{"rows": rows}]},
    }


def _whatsapp_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """Cloud API `POST /{phone-number-id}/messages`, a text message to the customer (or the
    message template the reply names), with the system user's token (WHATSAPP_ACCESS_TOKEN)."""
    from chalicelib.platforms.outbound import (  # requests: off the webhook path
        PlatformRejected,
        PostedReply,
    )

    token = _whatsapp_token(settings)
    if not mention.brand_account:
        raise PlatformRejected("the message names no business phone number to answer from")
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": mention.author.id,
    }
    if template := reply.whatsapp_template:
        values = [{"type": "text", "text": value} for value in template.parameters]
        body["type"] = "template"
        body["template"] = {
            "name": template.name,
            "language": {"policy": "deterministic", "code": template.language},
            "components": [{"type": "body", "parameters": values}] if values else [],
        }
    elif reply.quick_replies and len(reply.text) <= WHATSAPP_LIST_BODY:
        body |= {"type": "interactive", "interactive": _whatsapp_list(reply)}
    else:
        body |= {"type": "text", "text": {"body": reply.text}}
    path = f"{mention.brand_account}/messages"
    answer = _graph("POST", path, settings, token=token, json=body)
    return PostedReply(str(answer["messages"][0]["id"]))


def open_whatsapp_media(media_id: str, settings: Settings) -> tuple[BinaryIO, str | None]:
    """A customer's file WhatsApp keeps (30 days): Cloud API `GET /{media-id}` gives the URL
    it serves the file from for five minutes, fetched with the same token; the open stream of
    its bytes and their MIME type. PlatformRejected when WhatsApp no longer has it."""
    from chalicelib.platforms.outbound import open_stream

    token = _whatsapp_token(settings)
    found = _graph("GET", media_id, settings, token=token)
    auth = {"Authorization": f"Bearer {token}"}
    return open_stream(str(found["url"]), settings.platform_timeout_seconds, auth), found.get(
        "mime_type"
    )


def hide_comment(mention: Mention, hidden: bool, settings: Settings) -> None:
    """Graph API `POST /{comment-id}`: `is_hidden` for a Facebook comment, `hide` for an
    Instagram one (the Page token; both answer `{"success": true}`)."""
    from chalicelib.platforms.outbound import PlatformRejected  # requests: off the webhook path

    field = "hide" if mention.platform == "instagram" else "is_hidden"
    form = {field: "true" if hidden else "false"}
    answer = _graph("POST", mention.native_id, settings, data=form)
    if answer.get("success") is not True:
        raise PlatformRejected(f"Graph did not confirm it: {answer}", answer)


def _kind(kind: str) -> MentionKind:
    return "comment" if kind == "comment" else "post"


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """Graph API: public comment replies on Facebook (`/{id}/comments`) and Instagram
    (`/{id}/replies`), private replies to comments, and Messenger / Instagram messages
    (`/{account}/messages`, with the HUMAN_AGENT tag after the 24-hour window)."""
    from chalicelib.platforms.outbound import PostedReply  # requests: off the webhook path

    if mention.platform == "whatsapp":
        return _whatsapp_reply(reply, mention, settings)
    native = mention.native_id
    account = mention.brand_account or "me"
    if mention.kind == "dm" or reply.private:
        recipient = {"id": mention.author.id} if mention.kind == "dm" else {"comment_id": native}
        body: dict[str, Any] = {"recipient": recipient, "message": {"text": reply.text}}
        if mention.kind == "dm":
            body["messaging_type"] = "MESSAGE_TAG" if reply.messaging_tag else "RESPONSE"
            if reply.quick_replies:  # a tap posts the title as the customer's message
                body["message"]["quick_replies"] = [
                    {"content_type": "text", "title": title, "payload": f"SWITCHBOARD_{title}"}
                    for title in reply.quick_replies
                ]
            if reply.messaging_tag:
                body["tag"] = reply.messaging_tag
        answer = _send(account, body, settings)
        return PostedReply(str(answer.get("message_id") or answer.get("id")))
    if mention.platform == "instagram" and mention.kind == "mention":
        # The brand does not own a comment or caption it is @mentioned in: reply through its
        # own IG user's `mentions` edge.
        media, comment = _mention_ids(mention)
        form = {"media_id": media, "message": reply.text}
        if comment is not None:
            form["comment_id"] = comment
        answer = _graph("POST", f"{account}/mentions", settings, data=form)
        return PostedReply(str(answer["id"]))
    edge = "replies" if mention.platform == "instagram" else "comments"
    answer = _graph("POST", f"{native}/{edge}", settings, data={"message": reply.text})
    url = f"https://www.facebook.com/{answer['id']}" if mention.platform == "facebook" else None
    return PostedReply(str(answer["id"]), url)
