"""Closing many of a department's waiting cases at once: those a condition in the rules'
language matches, as when a status page has answered an outage's hundred "is it down?" or a
wave of spam slipped past the rules.

Each case is closed as `switchboard close` closes one (a copy tagged `closed` to the
departments that have it, off the SLA clock, the reason and who closed it on the record); a case
someone has taken to answer is left to them.
"""

from __future__ import annotations

from chalicelib.errors import MalformedRequest
from chalicelib.models import CloseMatchingRequest, CloseMatchingResult, MentionRecord, SweptCase
from chalicelib.rules.conditions import ConditionError, compile_condition
from chalicelib.rules.engine import MentionContext
from chalicelib.services.cases import CaseService
from chalicelib.services.time_budget import TimeLeft, short_of_time

MAX_READ = 2000
"""Waiting cases one call reads (soonest deadline first): a few MB, well within the API's time."""
RESERVE_SECONDS = 2.0
"""No case is closed with less time left than this (reads and writes to finish, the answer)."""


def close_matching(
    cases: CaseService,
    department: str,
    ask: CloseMatchingRequest,
    by: str,
    time_left: TimeLeft | None = None,
) -> CloseMatchingResult:
    """Close (with `dry_run`, only list) up to `ask.limit` of `department`'s waiting cases that
    `ask.when` matches and nobody has taken, as many as `time_left` allows (the rest are
    `more`); MalformedRequest for a condition rules would refuse, saying where."""
    try:
        condition = compile_condition(ask.when)
    except ConditionError as exc:
        raise MalformedRequest(str(exc)) from None
    waiting = cases.mentions.waiting(department, MAX_READ + 1)
    now = cases.clock()
    free: list[SweptCase] = []
    taken: list[SweptCase] = []
    for record in waiting[:MAX_READ]:
        why = condition.test(_context(record, cases))
        if why is not None:
            taker = record.taker(now)
            swept = SweptCase(mention=record.message.mention, why=why, taken_by=taker)
            (free if taker is None else taken).append(swept)
    chosen = free[: ask.limit]
    if not ask.dry_run:
        for done, swept in enumerate(chosen):
            if short_of_time(time_left, RESERVE_SECONDS):  # the rest: the next call's
                chosen = chosen[:done]
                break
            cases.close(swept.mention.id, ask.reason, by)
    return CloseMatchingResult(
        department=department,
        dry_run=ask.dry_run,
        reason=ask.reason,
        waiting=min(len(waiting), MAX_READ),
        all_read=len(waiting) <= MAX_READ,
        closed=chosen,
        taken=taken,
        more=len(free) > len(chosen),
    )


def _context(record: MentionRecord, cases: CaseService) -> MentionContext:
    """What the condition reads of a waiting case: the mention, its signals, conversation and
    history as routing saw them, its time in the business time zone."""
    routing = record.message.routing
    return MentionContext(
        record.message.mention,
        routing.numeric_signals(),
        cases.settings.timezone,
        record.routed_at,
        routing.conversation,
        routing.history,
    )
