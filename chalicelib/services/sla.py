"""First-response deadlines, and the SLA check: mentions past their deadline are escalated,
once each.

An overdue mention is copied to its department's escalation target (ESCALATIONS, default: the
same department) with the priority raised one level and the tag `sla-breach`, so it rises to the
top of a queue a department already reads. A copy that cannot be sent leaves the mention overdue
for the next run and does not hold back the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.models import SLA_BREACH, Mention, MentionRecord, Priority, RoutedMention, Routing
from chalicelib.observability import SLA_BREACHES, logger, metrics, per_department
from chalicelib.services.alerts import breach_alert
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.queues import OutgoingMessage, Queues, QueueSendError
from chalicelib.stores.replies import OUTBOX

RAISED: dict[Priority, Priority] = {
    "low": "normal",
    "normal": "high",
    "high": "urgent",
    "urgent": "urgent",
}


def sla_due(
    routing: Routing, mention: Mention, received_at: datetime, settings: Settings
) -> datetime | None:
    """First-response deadline from the platform and priority, counted from when the customer
    posted: within the department's business hours when they are set, except for urgent
    mentions."""
    if routing.department == "ignore":
        return None
    start = mention.created_at or received_at
    minutes = settings.sla(mention.platform, routing.priority)
    hours = settings.business_hours(routing.department)
    if hours is None or routing.priority == "urgent":
        return start + timedelta(minutes=minutes)
    return hours.deadline(start, minutes, settings.timezone)


def escalation_copy(copy: RoutedMention, target: str) -> OutgoingMessage:
    """A copy of a case as the escalation target's queue gets it: attributes `department` (the
    target) and `escalated_from`."""
    attributes = {
        **copy.queue_attributes(),
        "department": target,
        "escalated_from": copy.routing.department,
    }
    return OutgoingMessage(copy.to_json(), attributes)


@dataclass
class SlaCheck:
    """Finds and escalates overdue mentions."""

    mentions: MentionStore
    queues: Queues
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    time_left: TimeLeft | None = None
    """Seconds the run has left (None: no limit); another page is started only with more than
    `Settings.platform_call_reserve`."""

    def run(self, limit: int = 100) -> list[str]:
        """Escalate the overdue mentions, `limit` at a time, while every one of a page could be
        escalated and there is time for another (a surge of thousands is not left to wait
        minute after minute); returns their ids."""
        now = self.clock()
        escalated: list[str] = []
        while True:
            page = self.mentions.overdue(now, limit)
            done = self._escalate(page, now)
            escalated += done
            if len(done) < limit or short_of_time(
                self.time_left, self.settings.platform_call_reserve
            ):
                return escalated

    def _escalate(self, page: list[MentionRecord], now: datetime) -> list[str]:
        """Copy each to its escalation target (and alert its department's channel, if it has
        one) and mark it escalated; returns their ids (one whose copy could not be sent waits
        for the next run)."""
        escalated = []
        breaches: Counter[str] = Counter()  # by the department that missed the deadline
        for record in page:
            message = record.message
            routing = message.routing
            target = self.settings.escalation_target(routing.department)
            copy = message.tagged(SLA_BREACH, priority=RAISED[routing.priority])
            alert = breach_alert(record, self.settings)
            try:
                if alert is not None:  # first: the retry of a failed copy alerts again
                    self.queues.send(OUTBOX, alert)
                self.queues.send(target, escalation_copy(copy, target))
            except QueueSendError:
                logger.exception(
                    "SLA escalation not sent; tried again on the next run",
                    extra={"mention_id": record.id, "to": target},
                )
                metrics.add_metric(name="SlaEscalationFailures", unit="Count", value=1)
                continue
            self.mentions.mark_escalated(record.id, now)
            escalated.append(record.id)
            breaches[routing.department] += 1
            logger.warning(
                "SLA breached: escalated",
                extra={"mention_id": record.id, "due": str(routing.sla_due_at), "to": target},
            )
        if escalated:
            metrics.add_metric(name=SLA_BREACHES, unit="Count", value=len(escalated))
            per_department(SLA_BREACHES, breaches)
        return escalated
