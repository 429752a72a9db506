"""The acknowledgement path: verify, then put the raw delivery on the intake queue, then 200.

Nothing else happens before the acknowledgement; parsing and routing run in the worker. A body
too large for an SQS message (a Meta batch of up to 1,000 changes) is kept in the payload bucket
first and the intake message carries its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import uuid4

from chalicelib.errors import BadSignature, IntakeUnavailable, MalformedRequest, PayloadTooLarge
from chalicelib.models import Mention, RawDelivery
from chalicelib.observability import logger, metrics
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
MENTIONS_PER_MESSAGE = 50
MESSAGE_BUDGET_BYTES = SQS_MAX_MESSAGE_BYTES // 2
"""A generic delivery Switchboard queues itself takes up to 50 mentions and, counting each twice
for the escaping of the delivery body, half the SQS size limit (a YouTube comment can be 10,000
characters)."""


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

    Raises NotFound (unknown platform), PayloadTooLarge, BadSignature (metric
    DeliveriesRefused), MalformedRequest, or IntakeUnavailable when a write fails, so the
    platform retries.
    """
    adapter = get_platform(platform)
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}")
    try:
        adapter.verify(body, headers, settings, now.timestamp())
    except BadSignature:  # counted: a secret rotated on the platform alone refuses them all
        metrics.add_metric(name="DeliveriesRefused", unit="Count", value=1)
        raise
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
    try:
        message = intake_message(delivery, payloads)
    except PayloadUnavailable as exc:
        logger.exception("payload write failed", extra={"platform": platform})
        raise IntakeUnavailable("the delivery could not be kept; retry later") from exc
    try:
        return queues.send(INTAKE_QUEUE, OutgoingMessage(message, {"platform": platform}))
    except QueueSendError as exc:
        logger.exception("intake write failed", extra={"platform": platform})
        raise IntakeUnavailable("the delivery could not be queued; retry later") from exc


def intake_message(delivery: RawDelivery, payloads: Payloads) -> str:
    """The intake message of a delivery: the delivery itself or, too large for SQS, a pointer
    (`body_key`) to its body, kept in `payloads` first. Raises PayloadUnavailable."""
    message = delivery.to_json()
    if len(message.encode()) <= SQS_MAX_MESSAGE_BYTES:
        return message
    key = f"intake/{delivery.received_at:%Y/%m/%d}/{delivery.platform}-{uuid4().hex}"
    payloads.put(key, delivery.body)
    return delivery.model_copy(update={"body": "", "body_key": key}).to_json()


def queue_mentions(
    queues: Queues,
    payloads: Payloads,
    mentions: Iterable[Mention],
    received_at: datetime,
    origin: str,
) -> None:
    """Put mentions on the intake queue, in this order, as generic deliveries of up to
    MENTIONS_PER_MESSAGE within MESSAGE_BUDGET_BYTES, received at `received_at` (their attribute
    `platform` is `origin`). They come from Switchboard itself, so nothing verifies them again.
    Raises QueueSendError or PayloadUnavailable."""
    chunk: list[str] = []
    size = 0
    for mention in mentions:
        encoded = mention.model_dump_json(exclude_none=True)
        cost = 2 * len(encoded.encode())
        if chunk and (len(chunk) == MENTIONS_PER_MESSAGE or size + cost > MESSAGE_BUDGET_BYTES):
            _send_generic(queues, payloads, chunk, received_at, origin)
            chunk, size = [], 0
        chunk.append(encoded)
        size += cost
    if chunk:
        _send_generic(queues, payloads, chunk, received_at, origin)


def _send_generic(
    queues: Queues, payloads: Payloads, encoded: list[str], received_at: datetime, origin: str
) -> None:
    body = "[" + ",".join(encoded) + "]"
    delivery = RawDelivery(platform="generic", body=body, received_at=received_at)
    queues.send(
        INTAKE_QUEUE, OutgoingMessage(intake_message(delivery, payloads), {"platform": origin})
    )
