"""SQS batch handling shared by the workers: partial batch failures and poison records.

A record whose handler raises PoisonRecord can never succeed: it is sent to the queue's
dead-letter queue with the reason and counts as handled. Any other exception reports the record
as a batch item failure, so SQS retries it (RetryLater also sets when), until its last receive
(MAX_RECEIVE_COUNT, as the queue's redrive policy counts): then it is dead-lettered the same way,
with the reason of its last failure, and a worker can say what that leaves undone. (Only one
whose worker never returned, stopped by its timeout, is moved by the redrive policy itself.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.errors import PoisonRecord, RetryLater
from chalicelib.observability import logger, metrics
from chalicelib.stores.queues import MAX_RECEIVE_COUNT, OutgoingMessage, Queues

MAX_REASON_CHARS = 1000


def process_batch(
    event: dict[str, Any],
    handle: Callable[[str], object],
    queues: Queues,
    queue: str,
    context: Any = None,
    gave_up: Callable[[str, str], object] | None = None,
) -> dict[str, Any]:
    """Run `handle(body)` for every record of `queue`; returns the `batchItemFailures` response.

    A RetryLater pushes the record's next delivery back by its delay (rate limits, backoff).
    A record that fails on its last receive is dead-lettered with the reason (metric
    `RetriesExhausted`), `gave_up(body, reason)` told first (best effort).
    """
    dead_letter_queue = f"{queue}-dlq"

    def dead_letter(record: SQSRecord, reason: str) -> None:
        queues.send(
            dead_letter_queue,
            OutgoingMessage(record.body, {"error": reason, "message_id": record.message_id}),
        )

    def last_receive(record: SQSRecord, exc: Exception) -> bool:
        """Whether the record failed for the last time: then it is dead-lettered here."""
        if int(record.attributes.get("ApproximateReceiveCount") or 1) < MAX_RECEIVE_COUNT:
            return False
        reason = f"failed {MAX_RECEIVE_COUNT} times, the last: {exc}"[:MAX_REASON_CHARS]
        if gave_up is not None:
            try:
                gave_up(record.body, reason)
            except Exception:
                logger.warning("could not tell of a record given up on", exc_info=True)
        dead_letter(record, reason)  # if this fails too, the redrive policy moves it
        logger.error("dead-lettered a record whose retries ran out", extra={"reason": reason})
        metrics.add_metric(name="RetriesExhausted", unit="Count", value=1)
        return True

    def record_handler(record: SQSRecord) -> None:
        try:
            handle(record.body)
        except RetryLater as exc:
            if not last_receive(record, exc):
                queues.delay_retry(queue, record.receipt_handle, exc.delay)
                raise
        except PoisonRecord as exc:
            reason = str(exc)[:MAX_REASON_CHARS]
            logger.error("dead-lettered a poison record", extra={"reason": reason})
            metrics.add_metric(name="PoisonRecords", unit="Count", value=1)
            dead_letter(record, reason)
        except Exception as exc:
            if not last_receive(record, exc):
                raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
