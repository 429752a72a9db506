"""The acknowledgement path: verify, then put the raw delivery on the intake queue, then 200.

Nothing else happens before the acknowledgement; parsing and routing run in the worker. A body
too large for an SQS message (a Meta batch of up to 1,000 changes) is kept in the payload bucket
first and the intake message carries its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import uuid4

from chalicelib.errors import IntakeUnavailable, MalformedRequest, PayloadTooLarge
from chalicelib.models import RawDelivery
from chalicelib.observability import logger
from chalicelib.platforms import get_platform
from chalicelib.platforms.base import HandshakeReply
from chalicelib.platforms.signatures import lower_headers
from chalicelib.settings import Settings
from chalicelib.stores.payloads import Payloads, PayloadUnavailable
from chalicelib.stores.queues import (
    SQS_MAX_MESSAGE_BYTES,
    OutgoingMessage,
    Queues,
    QueueSendError,
)

INTAKE_QUEUE = "intake"


def answer_handshake(
    platform: str, query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
) -> HandshakeReply:
    """The platform's verification handshake (X CRC, Meta hub.challenge)."""
    return get_platform(platform).handshake(query, headers, settings)


def accept_delivery(
    platform: str,
    body: bytes,
    headers: Mapping[str, str],
    settings: Settings,
    queues: Queues,
    payloads: Payloads,
    now: datetime,
) -> str | HandshakeReply:
    """Verify a delivery over its raw bytes and queue it (its body in `payloads` when too large
    for SQS); returns the intake message id, or the answer a platform expects instead of an
    acknowledgement (Slack url_verification).

    Raises NotFound (unknown platform), PayloadTooLarge, BadSignature, MalformedRequest, or
    IntakeUnavailable when a write fails, so the platform retries.
    """
    adapter = get_platform(platform)
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}")
    adapter.verify(body, headers, settings, now.timestamp())
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"body is not valid UTF-8: {exc}") from None
    immediate = adapter.check(adapter.decode(text))
    if immediate is not None:
        return immediate
    found = lower_headers(headers)
    delivery = RawDelivery(
        platform=platform,
        body=text,
        headers={name: found[name] for name in adapter.KEPT_HEADERS if name in found},
        received_at=now,
    )
    message = delivery.to_json()
    if len(message.encode()) > SQS_MAX_MESSAGE_BYTES:
        key = f"intake/{now:%Y/%m/%d}/{platform}-{uuid4().hex}"
        try:
            payloads.put(key, text)
        except PayloadUnavailable as exc:
            logger.exception("payload write failed", extra={"platform": platform})
            raise IntakeUnavailable("the delivery could not be kept; retry later") from exc
        message = delivery.model_copy(update={"body": "", "body_key": key}).to_json()
    try:
        return queues.send(INTAKE_QUEUE, OutgoingMessage(message, {"platform": platform}))
    except QueueSendError as exc:
        logger.exception("intake write failed", extra={"platform": platform})
        raise IntakeUnavailable("the delivery could not be queued; retry later") from exc
