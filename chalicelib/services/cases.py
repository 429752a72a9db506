"""A routed case after its routing: copies of it to the departments that have it (edited,
answered or hidden on the platform, closed, reopened), and a department closing it without a
reply or opening it again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.errors import Conflict, NotFound
from chalicelib.models import CLOSED, REOPENED, MentionRecord
from chalicelib.observability import FIRST_RESPONSE, logger, metrics, per_department
from chalicelib.services.sla import escalation_copy
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore, case_of
from chalicelib.stores.queues import OutgoingMessage, Queues


def record_first_response(
    mentions: MentionStore, record: MentionRecord, at: datetime, post: str
) -> bool:
    """Record `post`, posted `at`, as the case's first response unless it has one; with the
    response time as a metric, overall and for the case's department. False when answered
    already."""
    seconds = mentions.record_response(record.id, at, post)
    if seconds is None:
        return False
    metrics.add_metric(name=FIRST_RESPONSE, unit="Seconds", value=seconds)
    per_department(FIRST_RESPONSE, {record.message.routing.department: seconds}, MetricUnit.Seconds)
    return True


def send_copy(queues: Queues, settings: Settings, record: MentionRecord, tag: str) -> None:
    """Send a copy of a case tagged `tag` to each department queue that has it: its
    departments and, once it was escalated, the escalation target's."""
    copy = record.message.tagged(tag)
    routed_to = copy.routing.queues
    for queue in routed_to:
        queues.send(queue, OutgoingMessage(copy.to_json(), copy.queue_attributes()))
    target = settings.escalation_target(copy.routing.department)
    if record.escalated_at is not None and target not in routed_to:
        queues.send(target, escalation_copy(copy, target))


@dataclass
class CaseService:
    """What departments do to a case besides answering it."""

    mentions: MentionStore
    queues: Queues
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def reopen(self, mention_id: str, by: str) -> MentionRecord:
        """Open a closed case again (closed by mistake, or the customer still waits): back on
        the SLA clock unless answered, hidden or deleted meanwhile, and the departments that
        have it get a copy tagged `reopened`. One not closed is left as it is."""
        record = self._case(mention_id)
        if record.closed_at is not None:
            send_copy(self.queues, self.settings, record, REOPENED)
            self.mentions.reopen(record.id)
            logger.info("case reopened", extra={"mention_id": record.id, "by": by})
        return self.mentions.get(record.id) or record

    def _case(self, mention_id: str) -> MentionRecord:
        """The routed case `mention_id` names; NotFound for an unknown mention, Conflict for
        one that was ignored or deleted by its author (no case, or none left)."""
        record = case_of(self.mentions, mention_id)
        if record is None:
            raise NotFound(f"no routed mention {mention_id!r}")
        if record.status != "routed":
            raise Conflict(f"{record.id} was ignored: it is no case")
        if record.deleted_at is not None:
            raise Conflict(f"{record.id} was deleted by its author: it is off the clock for good")
        return record

    def close(self, mention_id: str, reason: str, by: str) -> MentionRecord:
        """Close a case that needs no reply (answered by phone, a duplicate, a troll): it leaves
        the SLA clock and the departments that have it get a copy tagged `closed`. Closing it
        again changes nothing (the first reason stays)."""
        record = self._case(mention_id)
        if record.closed_at is None:
            send_copy(self.queues, self.settings, record, CLOSED)  # first: a retry sends it
            self.mentions.mark_closed(record.id, self.clock(), by, reason)
            logger.info("case closed without a reply", extra={"mention_id": record.id, "by": by})
            metrics.add_metric(name="CasesClosed", unit="Count", value=1)
        return self.mentions.get(record.id) or record
