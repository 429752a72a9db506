"""Dead-letter queues for the operator: what is in one and why, and moving it back when fixed.

A message reaches `<queue>-dlq` with the reason in its `error` attribute when a worker found it
can never succeed (a poison record) or it failed on its fifth receive (the last failure's); one
whose worker never returned (stopped by its timeout) is moved there by SQS's redrive policy,
without a reason (the worker's logs have it).
Moving messages back is safe: routing and replies are idempotent per mention and per reply.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from chalicelib.models import RawDelivery, RoutedMention
from chalicelib.stores.queues import move

POISON_ATTRIBUTES = ("error", "message_id")  # set by services.batches, dropped when moved back


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, as an operator reads it."""

    message_id: str
    reason: str
    sent_at: datetime
    summary: str
    body: str
    attributes: dict[str, Any] = field(default_factory=dict)
    receipt_handle: str = ""


def read_dead_letter(message: dict[str, Any]) -> DeadLetter:
    """A received SQS message of a dead-letter queue, with its reason and what it carries."""
    attributes = message.get("MessageAttributes", {})
    error = attributes.get("error", {}).get("StringValue")
    reason = error or (
        "moved by the redrive policy (its worker never returned: a timeout?); the worker's"
        " logs have the error"
    )
    sent = int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
    return DeadLetter(
        message_id=message["MessageId"],
        reason=reason,
        sent_at=datetime.fromtimestamp(sent, tz=UTC),
        summary=summarise(message["Body"]),
        body=message["Body"],
        attributes=attributes,
        receipt_handle=message.get("ReceiptHandle", ""),
    )


def summarise(body: str) -> str:
    """What a queued body is: a platform delivery, a routed mention, a reply, a rule's hide,
    an alert, or raw text."""
    with contextlib.suppress(ValidationError):
        delivery = RawDelivery.model_validate_json(body)
        summary = f"{delivery.platform} delivery received {delivery.received_at.isoformat()}"
        if delivery.body_key:
            summary += f" (its body in the payload bucket: {delivery.body_key})"
        return summary
    with contextlib.suppress(ValidationError):
        routed = RoutedMention.model_validate_json(body)
        return f"mention {routed.mention.id} routed to {routed.routing.department}"
    with contextlib.suppress(ValueError):
        payload = json.loads(body)
        if isinstance(payload, dict) and isinstance(payload.get("reply_id"), str):
            return f"reply {payload['reply_id']}"
        job = payload if isinstance(payload, dict) else {}
        if isinstance(job.get("hide"), dict):
            return f"hide {job['hide'].get('mention_id')} (rule {job['hide'].get('rule')})"
        if isinstance(job.get("alert"), dict):
            return f"alert to {job['alert'].get('channel')}: {job['alert'].get('heading')}"
    return f"unreadable body: {body[:80]!r}"


def move_back(client: Any, dead_letter_url: str, source_url: str, letter: DeadLetter) -> None:
    """Send the message to its source queue without the poison attributes, then delete it from
    the dead-letter queue (a failure in between leaves a copy in both, never none)."""
    received = {
        "Body": letter.body,
        "MessageAttributes": letter.attributes,
        "ReceiptHandle": letter.receipt_handle,
    }
    move(client, received, dead_letter_url, source_url, POISON_ATTRIBUTES)
