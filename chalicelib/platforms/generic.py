"""Generic intake: Standard Webhooks signed, body = one normalised mention or a list of them.

Pollers and listening-tool bridges (Reddit, Trustpilot, Mention, …) post here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from chalicelib.errors import MalformedRequest, PoisonRecord, problems
from chalicelib.models import Mention, RawDelivery
from chalicelib.platforms.base import (
    Answer,
    HandshakeReply,
    json_body,
    load_body,
    no_brand_posts,
    no_changes,
    no_handshake,
    signing_keys,
)
from chalicelib.platforms.signatures import verify_standard_webhooks
from chalicelib.settings import Settings

NAME = "generic"
KEPT_HEADERS: tuple[str, ...] = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
)
decode = json_body
changes = no_changes
_MENTIONS = TypeAdapter(list[Mention])


def handshake(
    query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """Standard Webhooks has no GET handshake."""
    return no_handshake(NAME)


def verify(body: bytes, headers: Mapping[str, str], settings: Settings, now: float) -> None:
    """webhook-id, webhook-timestamp (±tolerance) and any matching v1 webhook-signature."""
    keys = signing_keys(settings.webhook_secret, settings.webhook_secret_previous, "WEBHOOK_SECRET")
    secrets = [key.decode() for key in keys]
    verify_standard_webhooks(secrets, headers, body, now, settings.webhook_tolerance_seconds)


MAX_TEXT_CHARS = 64_000
"""The longest text a generic mention may carry: more than any platform's longest post (a
Facebook post, 63,206 characters), and its department message still fits in SQS."""


def check(payload: Any) -> HandshakeReply | None:
    """Each mention must validate now, so the sender learns at once what is wrong."""
    try:
        mentions = _validate(payload)
    except ValidationError as exc:
        raise MalformedRequest(f"invalid mention: {problems(exc)}") from None
    for mention in mentions:
        if len(mention.text) > MAX_TEXT_CHARS:
            raise MalformedRequest(
                f"invalid mention: {mention.id}: text is {len(mention.text):,} characters; at"
                f" most {MAX_TEXT_CHARS:,}"
            )
    return None


def parse(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
    """The mentions of the body, minus those written by a brand account."""
    return [m for m in _mentions(load_body(delivery)) if m.author.id not in brand_accounts]


def answers(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
    """A listening tool's mention written by a brand account in reply to another (`in_reply_to`)
    is the brand answering it. Only those items are validated (`parse` has the others)."""
    own = [item for item in _items(load_body(delivery)) if _answering(item, brand_accounts)]
    return [Answer(m.in_reply_to, m.id, m.created_at) for m in _mentions(own) if m.in_reply_to]


def _answering(item: Any, brand_accounts: frozenset[str]) -> bool:
    """Whether a raw item is written by a brand account and replies to something."""
    author = item.get("author") if isinstance(item, dict) else None
    author_id = author.get("id") if isinstance(author, dict) else None
    replying = isinstance(item, dict) and bool(item.get("in_reply_to"))
    return replying and isinstance(author_id, str) and author_id in brand_accounts


def _mentions(payload: Any) -> list[Mention]:
    """The queued body's mentions (checked at the acknowledgement; PoisonRecord if not)."""
    try:
        return _validate(payload)
    except ValidationError as exc:
        raise PoisonRecord(f"invalid mention: {exc}") from exc


def _items(payload: Any) -> list[Any]:
    """A body of one mention or a list of them, as a list."""
    return payload if isinstance(payload, list) else [payload]


def _validate(payload: Any) -> list[Mention]:
    return _MENTIONS.validate_python(_items(payload))


brand_posts = no_brand_posts  # a listening tool sends a reply with its context, if any
