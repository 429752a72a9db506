"""SQS batch handling shared by the workers: partial batch failures and poison records.

A record whose handler raises PoisonRecord can never succeed: it is sent to the queue's
dead-letter queue with the reason and counts as handled. Any other exception reports the record
as a batch item failure, so SQS retries it (and its redrive policy dead-letters it in the end,
after MAX_RECEIVE_COUNT receives: a worker can say what that leaves undone); RetryLater also sets
when.
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
    A record that fails on its last receive is next moved to the dead-letter queue by SQS:
    `gave_up(body, reason)` is told first (best effort).
    """
    dead_letter_queue = f"{queue}-dlq"

    def last_receive(record: SQSRecord, exc: Exception) -> None:
        if gave_up is None:
            return
        if int(record.attributes.get("ApproximateReceiveCount") or 1) < MAX_RECEIVE_COUNT:
            return
        try:
            gave_up(record.body, str(exc)[:MAX_REASON_CHARS])
        except Exception:
            logger.warning("could not tell of a record about to be dead-lettered", exc_info=True)

    def record_handler(record: SQSRecord) -> None:
        try:
            handle(record.body)
        except RetryLater as exc:
            queues.delay_retry(queue, record.receipt_handle, exc.delay)
            last_receive(record, exc)
            raise
        except PoisonRecord as exc:
            reason = str(exc)[:MAX_REASON_CHARS]
            logger.error("dead-lettered a poison record", extra={"reason": reason})
            metrics.add_metric(name="PoisonRecords", unit="Count", value=1)
            queues.send(
                dead_letter_queue,
                OutgoingMessage(record.body, {"error": reason, "message_id": record.message_id}),
            )
        except Exception as exc:
            last_receive(record, exc)
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
