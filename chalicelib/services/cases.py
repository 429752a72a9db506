"""A routed case after its routing: copies of it to the departments that have it (edited,
answered or hidden on the platform, closed, reopened), and what people do with it: close it
without a reply, open it again, take it to answer it, hand it over to another department (or
rescue a mention routing ignored), note something on it for colleagues."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.errors import Conflict, MalformedRequest, NotFound
from chalicelib.models import (
    CLOSED,
    HANDED_OVER,
    REOPENED,
    REPRIORITISED,
    TRANSFERRED,
    MentionRecord,
    Note,
    Priority,
    PriorityChange,
    Reply,
    RoutedMention,
    Shift,
    Transfer,
)
from chalicelib.observability import FIRST_RESPONSE, TRANSFERS, logger, metrics, per_department
from chalicelib.services.alerts import (
    agent_alert,
    handover_alerts,
    holder_closed_alert,
    holder_handover_alert,
    holder_priority_alert,
    note_alerts,
    priority_alerts,
    refresh_alerts,
    settled,
    tell_agent,
    tell_channel,
)
from chalicelib.services.sla import escalation_copy, sla_due
from chalicelib.settings import Settings
from chalicelib.stores.mentions import (
    EditConflict,
    MentionStore,
    answered_with,
    case_of,
    case_state,
    dm_sender,
    follow_up,
    unanswered,
)
from chalicelib.stores.queues import OutgoingMessage, Queues
from chalicelib.stores.replies import ReplyStore


def record_first_response(
    mentions: MentionStore,
    queues: Queues,
    settings: Settings,
    record: MentionRecord,
    at: datetime,
    post: str,
    by: str | None = None,
) -> bool:
    """Record `post`, posted `at` (through Switchboard `by` someone, else on the platform), as
    the case's first response unless it has one; with the response time as a metric, overall
    and for the case's department, and its alerts saying so. False when answered already."""
    seconds = mentions.record_response(record.id, at, post, by)
    if seconds is None:
        return False
    refresh_alerts(mentions, queues, settings, record.id)
    metrics.add_metric(name=FIRST_RESPONSE, unit="Seconds", value=seconds)
    per_department(FIRST_RESPONSE, {record.message.routing.department: seconds}, MetricUnit.Seconds)
    return True


def send_to(queues: Queues, department: str, message: RoutedMention) -> None:
    """Send a routed mention (a case, a copy of one) to a department's queue."""
    queues.send(department, OutgoingMessage(message.to_json(), message.queue_attributes()))


def send_copy(queues: Queues, settings: Settings, record: MentionRecord, tag: str) -> None:
    """Send a copy of a case tagged `tag` to each department queue that has it: its
    departments and, once it was escalated, the escalation target's."""
    copy = record.message.tagged(tag)
    routed_to = copy.routing.queues
    for queue in routed_to:
        send_to(queues, queue, copy)
    target = settings.escalation_target(copy.routing.department)
    if record.escalated_at is not None and target not in routed_to:
        queues.send(target, escalation_copy(copy, target))


NEXT_READ = 200
"""Waiting cases `next_case` looks through for one nobody has taken."""

AWAITING_READ = 200
"""Pending replies read in each department whose replies need approval."""


def awaiting_approval(
    replies: ReplyStore, mentions: MentionStore, departments: Iterable[str]
) -> dict[str, Reply]:
    """The mentions a reply waiting for approval in one of `departments` answers once posted
    (the first AWAITING_READ pending in each), each with that reply: their answer is written,
    so nobody else is given them to answer meanwhile."""
    found: dict[str, Reply] = {}
    for department in departments:
        for reply in replies.pending(department, AWAITING_READ):
            record = mentions.conversation_of(reply.mention_id)
            answers = answered_with(mentions, record) if record is not None else []
            for mention_id in [reply.mention_id, *(each.id for each in answers)]:
                found.setdefault(mention_id, reply)
    return found


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
        have it get a copy tagged `reopened`; so are the follow-ups closed with it. One not
        closed is left as it is."""
        record = self._case(mention_id)
        if record.closed_at is None:
            return record
        closed_with = [
            each
            for each in self._follow_ups(record)
            if (each.closed_at, each.closed_reason) == (record.closed_at, record.closed_reason)
        ]
        for case in [record, *closed_with]:
            send_copy(self.queues, self.settings, case, REOPENED)
            self.mentions.reopen(case.id)
            logger.info("case reopened", extra={"mention_id": case.id, "by": by})
            refresh_alerts(self.mentions, self.queues, self.settings, case.id)
        return self.mentions.get(record.id) or record

    def _case(self, mention_id: str, ignored: bool = False) -> MentionRecord:
        """The routed case `mention_id` names (or, with `ignored`, the ignored mention);
        NotFound for an unknown mention, Conflict for one that was ignored or deleted by its
        author (no case, or none left)."""
        record = case_of(self.mentions, mention_id)
        if record is None:
            raise NotFound(f"no routed mention {mention_id!r}")
        if record.status != "routed" and not ignored:
            raise Conflict(f"{record.id} was ignored: it is no case")
        if record.gone is not None:
            raise Conflict(f"{record.id} {record.gone}: it is off the clock for good")
        return record

    def close(self, mention_id: str, reason: str, by: str) -> MentionRecord:
        """Close a case that needs no reply (answered by phone, a duplicate, a troll): it leaves
        the SLA clock, with the customer's follow-ups to it that wait in the same department (as
        an answer would take them), and the departments that have each get a copy tagged
        `closed`. Closing it again keeps the first reason (and closes only follow-ups that
        came since)."""
        record = self._case(mention_id)
        now = self.clock()  # one moment for all: reopening the case finds what closed with it
        for case in [record, *self._follow_ups(record)]:
            if case.closed_at is None:
                send_copy(self.queues, self.settings, case, CLOSED)  # first: a retry sends it
                self.mentions.mark_closed(case.id, now, by, reason)
                logger.info("case closed without a reply", extra={"mention_id": case.id, "by": by})
                refresh_alerts(self.mentions, self.queues, self.settings, case.id)
                tell_agent(self.queues, holder_closed_alert(case, by, reason, self.settings, now))
                metrics.add_metric(name="CasesClosed", unit="Count", value=1)
        return self.mentions.get(record.id) or record

    def _follow_ups(self, record: MentionRecord) -> list[MentionRecord]:
        """The customer's unanswered follow-ups to `record` in its department (after it)."""
        department = record.message.routing.department
        return [
            each
            for each in self._waiting_with(record)
            if each.routed_at > record.routed_at and each.message.routing.department == department
        ]

    def reprioritise(
        self, mention_id: str, priority: Priority, reason: str, by: str
    ) -> MentionRecord:
        """`by` changes a case's priority (routing misjudged how urgent it is): while it waits
        for an answer, it is due as if routing had given it that priority (counted from when
        the customer posted, so a case raised late may be overdue at once), and an answered
        or closed one keeps its deadline (what its report counted); the departments that have
        it get a copy tagged `reprioritised`, the channels of those that alert at its new
        priority are told when it reaches it (`priority_alerts`), and whoever has it taken, in
        their own chat. The same change again (a retry) sends its copy again; the priority it
        has from routing changes nothing. Conflict when it changed meanwhile."""
        record = self._case(mention_id)
        routing = record.message.routing
        if routing.priority == priority:
            last = routing.priority_changes[-1] if routing.priority_changes else None
            if last is not None and last.to_priority == priority:
                send_copy(self.queues, self.settings, record, REPRIORITISED)
            return record
        change = PriorityChange(
            from_priority=routing.priority,
            to_priority=priority,
            by=by,
            at=self.clock(),
            reason=reason,
        )
        changed = routing.model_copy(
            update={"priority": priority, "priority_changes": [*routing.priority_changes, change]}
        )
        if case_state(lambda field: getattr(record, field) is not None) == "waiting":
            due = sla_due(changed, record.message.mention, record.routed_at, self.settings)
            changed = changed.model_copy(update={"sla_due_at": due})
        moved = record.model_copy(
            update={"message": record.message.model_copy(update={"routing": changed})}
        )
        try:
            self.mentions.reprioritise(moved, record.edited_at)
        except EditConflict:
            raise Conflict(f"{record.id} changed meanwhile: read it again") from None
        send_copy(self.queues, self.settings, moved, REPRIORITISED)
        for alert in priority_alerts(moved.message, change, self.settings).values():
            tell_channel(self.queues, alert)
        tell_agent(self.queues, holder_priority_alert(moved, change, self.settings, change.at))
        logger.info(
            "priority changed",
            extra={"mention_id": record.id, "by": by, "priority": priority},
        )
        return self.mentions.get(record.id) or moved

    def transfer(self, mention_id: str, to: str, reason: str, by: str) -> MentionRecord:
        """Hand a case over to department `to` (routed to the wrong one, or it needs another):
        `to` has it from now on, due as if routing had chosen `to` (counted from when the
        customer posted, in `to`'s business hours), and so have the mentions continuing it
        that still wait; `to`'s queue gets each tagged `transferred`, the
        department that let it go news of each tagged `handed-over`. Its author's later
        messages follow it; dry-runs count `to` as where the case should have gone. A mention
        routing ignored is rescued the same way: a case from then on, due as if `to` had had it
        from the start. Conflict for the department that has it already, unless a transfer
        brought it there: repeated (a retry), it sends the case's messages again."""
        if to not in self.settings.departments:
            known = ", ".join(self.settings.departments)
            raise MalformedRequest(f"no department {to!r} to hand it over to; departments: {known}")
        record = self._case(mention_id, ignored=True)
        routing = record.message.routing
        if routing.department == to:
            last = routing.transfers[-1] if routing.transfers else None
            if last is None or last.to_department != to:
                raise Conflict(f"{record.id} is {to}'s already")
            self._announce(record, last)
            return record
        handover = Transfer(
            from_department=routing.department,
            to_department=to,
            by=by,
            at=self.clock(),
            reason=reason,
        )
        for case in [record, *self._waiting_with(record)]:
            if case.message.routing.department == handover.from_department:
                self._hand_over(case, handover)
        return self.mentions.get(record.id) or record

    def _waiting_with(self, record: MentionRecord) -> list[MentionRecord]:
        """The other mentions of `record`'s conversation that still wait with it: its author's
        unanswered ones, from the latest that continues it back."""
        latest = self.mentions.conversation_of(follow_up(record.id)) or record
        return [r for r in unanswered(self.mentions, latest) if r.id != record.id]

    def _hand_over(self, case: MentionRecord, handover: Transfer) -> None:
        """Move one record (an ignored one becomes a case) and tell both departments."""
        moved = self._due_again(case.transferred(handover))
        try:
            if case.status == "ignored":
                moved = moved.model_copy(update={"status": "routed"})
                self.mentions.rescue(moved)
                self._open_conversation(moved)
            else:
                self.mentions.transfer(moved, handover.from_department)
        except EditConflict:
            raise Conflict(f"{case.id} changed meanwhile: read it again") from None
        self._announce(moved, handover)
        refresh_alerts(self.mentions, self.queues, self.settings, case.id)
        for alert in handover_alerts(case.message, moved.message, self.settings).values():
            tell_channel(self.queues, alert)
        tell_agent(
            self.queues, holder_handover_alert(case, moved.message, self.settings, handover.at)
        )
        metrics.add_metric(name=TRANSFERS, unit="Count", value=1)
        per_department(TRANSFERS, {handover.from_department: 1}, MetricUnit.Count)
        logger.info(
            "case handed over",
            extra={"mention_id": case.id, "from": handover.from_department, "by": handover.by},
        )

    def _due_again(self, moved: MentionRecord) -> MentionRecord:
        """The record with the deadline routing would have given it had it chosen the
        department that has it now (counted from when its author posted, in that department's
        business hours)."""
        message = moved.message
        due = sla_due(message.routing, message.mention, moved.routed_at, self.settings)
        routing = message.routing.model_copy(update={"sla_due_at": due})
        return moved.model_copy(update={"message": message.model_copy(update={"routing": routing})})

    def _open_conversation(self, rescued: MentionRecord) -> None:
        """A rescued direct message becomes its sender's open conversation, as routing would
        have made it (their next message continues it), unless a later one of theirs is."""
        key = dm_sender(rescued.message.mention)
        hours = self.settings.dm_conversation_hours
        if key is None or not hours:
            return
        current = self.mentions.conversation_of(key)
        if current is None or current.routed_at <= rescued.routed_at:
            self.mentions.link(key, rescued.id, self.clock() + timedelta(hours=hours))

    def _announce(self, record: MentionRecord, handover: Transfer) -> None:
        """The case to the department that has it now, news of it to the one that let it go
        (none for `ignore`, which has no queue)."""
        send_to(self.queues, handover.to_department, record.message.tagged(TRANSFERRED))
        if handover.from_department != "ignore":
            send_to(self.queues, handover.from_department, record.message.tagged(HANDED_OVER))

    def take(
        self,
        mention_id: str,
        by: str,
        minutes: int,
        given_by: str | None = None,
        open_only: bool = False,
    ) -> MentionRecord:
        """`by` takes a case to answer it for `minutes` (taking it again extends the take), or
        is given it by `given_by` (a lead sharing out the work): replies by others are refused
        meanwhile unless forced, and the waiting list shows who is on it. Conflict while
        someone else has it, and (`open_only`) for one answered, closed or hidden."""
        record = self._case(mention_id)
        done = settled(record) if open_only else None
        if done is not None:
            raise Conflict(f"{record.id} was {done}: nothing to take")
        now = self.clock()
        if not self.mentions.take(record.id, by, now, now + timedelta(minutes=minutes)):
            current = self.mentions.get(record.id) or record
            raise Conflict(f"{record.id} {taken_note(current, now)}")
        self._given(record, by, given_by)
        return self.mentions.get(record.id) or record

    def _given(self, record: MentionRecord, to: str, by: str | None) -> None:
        """The case's alerts say `to` has it; when `by` gave it to someone else, `to`: logged,
        and `to` told in their own chat (AGENT_CHANNELS)."""
        refresh_alerts(self.mentions, self.queues, self.settings, record.id)
        if by in (None, to):
            return
        logger.info("case given", extra={"mention_id": record.id, "to": to, "by": by})
        tell_agent(self.queues, agent_alert(record.message, to, self.settings, given_by=by))

    def next_case(
        self,
        department: str,
        by: str,
        minutes: int,
        shift: Shift | None = None,
        awaiting: Container[str] = (),
        given_by: str | None = None,
    ) -> MentionRecord | None:
        """`by` takes the department's next case nobody has taken (the soonest deadline
        first, of the first NEXT_READ waiting) for `minutes`, and gets it, or is given it by
        `given_by` (told in their own chat); None when every one is taken. On `shift` with
        languages, only a case in one of them (or in none known); never one `awaiting`
        approval of its answer (see `awaiting_approval`). Two people asking at once get two
        cases (each take is conditional)."""
        now = self.clock()
        until = now + timedelta(minutes=minutes)
        for record in self.mentions.waiting(department, NEXT_READ):
            if record.id in awaiting:
                continue
            if shift is not None and not shift.answers_in(record.message.routing.language()):
                continue
            if record.taker(now) is None and self.mentions.take(record.id, by, now, until):
                logger.info("next case taken", extra={"mention_id": record.id, "by": by})
                self._given(record, by, given_by)
                return self.mentions.get(record.id) or record
        return None

    def note(self, mention_id: str, by: str, text: str) -> MentionRecord:
        """`by` notes something on a mention for the people working it (what was done off the
        platform, what to watch for): kept on its record, never sent; those it names with @ and
        whoever has the case taken are told in their own chat (see `note_alerts`). Conflict
        once it has MAX_NOTES, or MAX_NOTES_BYTES with this one."""
        record = case_of(self.mentions, mention_id)
        if record is None:
            raise NotFound(f"no routed mention {mention_id!r}")
        now = self.clock()
        alerts = note_alerts(record, by, text, self.settings, now)
        note = Note(by=by, at=now, text=text, told=sorted(alerts))
        if not self.mentions.add_note(record.id, note):
            current = self.mentions.get(record.id) or record
            why = current.no_room_for(note) or f"{record.id} has no room for another note"
            raise Conflict(why)
        for told in alerts.values():
            tell_agent(self.queues, told)
        return self.mentions.get(record.id) or record

    def leave(self, mention_id: str, by: str) -> MentionRecord:
        """`by` gives back a case they took; one nobody has is left as it is. Conflict for one
        someone else has."""
        record = self._case(mention_id)
        now = self.clock()
        if self.mentions.leave(record.id, by):
            refresh_alerts(self.mentions, self.queues, self.settings, record.id)
        elif record.taker(now) is not None:
            raise Conflict(f"{record.id} {taken_note(record, now)}, not by {by}")
        return self.mentions.get(record.id) or record


def taken_note(record: MentionRecord, now: datetime) -> str:
    """Who has a case taken, until when."""
    taker = record.taker(now)
    if taker is None or record.taken_until is None:  # given back just now
        return "was taken and given back meanwhile: try again"
    return f"is taken by {taker} until {record.taken_until.isoformat()}"
