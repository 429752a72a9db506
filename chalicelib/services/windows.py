"""The messaging windows of Messenger, Instagram and WhatsApp: how long after a customer's last
message the brand may still write to them, and how (pure, and light enough for a button press)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.errors import MalformedRequest
from chalicelib.models import Mention

STANDARD_WINDOW = timedelta(hours=24)
"""Messenger, Instagram and WhatsApp take any reply within 24 hours of the customer's last
message."""
HUMAN_AGENT_WINDOW = timedelta(days=7)
"""Messenger and Instagram then take a person's reply (the HUMAN_AGENT tag) for 7 days, and a
comment a private reply."""
WHATSAPP_LATE = (
    "WhatsApp takes free-form replies within 24 hours of the customer's last message; after that"
    " only a message template approved in WhatsApp Manager"
)
META_TOO_LATE = "the message is over 7 days old: Meta allows no reply any more"


def messaging_tag(mention: Mention, now: datetime) -> str | None:
    """None inside the 24-hour window, HUMAN_AGENT within 7 days; MalformedRequest after."""
    if mention.created_at is None or now - mention.created_at <= STANDARD_WINDOW:
        return None
    if now - mention.created_at <= HUMAN_AGENT_WINDOW:
        return "HUMAN_AGENT"
    raise MalformedRequest(META_TOO_LATE)


def own_words_refused(mention: Mention, now: datetime) -> str | None:
    """Why the platform takes no reply in a person's own words (or a saved reply) to `mention`,
    the customer's last direct message, at `now` (None: it does): WhatsApp after 24 hours (only
    a template), Messenger and Instagram after 7 days (nothing)."""
    if mention.kind != "dm" or mention.created_at is None:
        return None
    age = now - mention.created_at
    if mention.platform == "whatsapp" and age > STANDARD_WINDOW:
        return WHATSAPP_LATE
    if mention.platform in ("messenger", "instagram") and age > HUMAN_AGENT_WINDOW:
        return META_TOO_LATE
    return None
