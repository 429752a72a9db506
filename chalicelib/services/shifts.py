"""Shifts: the people on shift in a department are given its new cases, the one with the
fewest of its waiting cases first (then the one given a case longest ago: round robin among
equals), never someone already holding their capacity, and a case in a language only to those
who answer in it (or who named no languages); each case is theirs alone for ASSIGNMENT_MINUTES
or the department's own (a take, as `switchboard take` makes), so two people never start on the
same customer and nobody has to share out the queue by hand. A follow-up stays with whoever has
its case. Ending a shift frees the waiting cases its person still had; every minute the top-up
gives the cases nobody has (and those whose take ran out unanswered, to someone else) to those
with room."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from chalicelib.errors import NotFound
from chalicelib.models import (
    GIVEN,
    MentionRecord,
    NextCase,
    Roster,
    RoutedMention,
    Shift,
    ShiftEnded,
)
from chalicelib.observability import logger
from chalicelib.services.alerts import agent_alert, refresh_alerts, tell_agent
from chalicelib.services.cases import CaseService, send_to
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.queues import Queues
from chalicelib.stores.shifts import ShiftStore

NEVER = datetime.min.replace(tzinfo=UTC)
HELD_LIMIT = 200
"""How many of a department's waiting cases (the soonest due) are read for who has which."""


def holdings(waiting: Iterable[MentionRecord], now: datetime) -> Counter[str]:
    """How many of the `waiting` cases each person has taken at `now`."""
    takers = (record.taker(now) for record in waiting)
    return Counter(taker for taker in takers if taker is not None)


def turn(shift: Shift, holding: Mapping[str, int]) -> tuple[int, datetime, str]:
    """Where someone on shift stands in the turn: the fewest waiting cases held first, then
    the one given a case longest ago (never, first), then by name."""
    return holding.get(shift.agent, 0), shift.last_assigned_at or NEVER, shift.agent


def next_on_shift(
    shifts: list[Shift],
    holding: Mapping[str, int],
    lang: str | None = None,
    excluding: Container[str] = (),
) -> Shift | None:
    """Who is given the next new case, in `lang` (see `turn`): nobody away, already full, who
    does not answer in it or is one of `excluding`."""
    free = [
        shift
        for shift in shifts
        if shift.agent not in excluding and shift.takes_cases(holding.get(shift.agent, 0), lang)
    ]
    return min(free, key=lambda shift: turn(shift, holding), default=None)


def continued_case(mentions: MentionStore, message: RoutedMention) -> MentionRecord | None:
    """The case a follow-up continues, when the same customer wrote it and it stays in the
    case's department (someone else joining the thread is not the customer the case is for);
    best effort: None when the case cannot be read."""
    conversation = message.routing.conversation
    if conversation is None or conversation.department != message.routing.department:
        return None
    try:
        case = mentions.get(conversation.mention_id)
    except Exception:
        logger.warning("could not read the case a follow-up continues", exc_info=True)
        return None
    author = message.mention.author.id
    if case is None or author is None or case.message.mention.author.id != author:
        return None
    return case


def back_to_answerer(
    mentions: MentionStore,
    message: RoutedMention,
    rosters: Rosters,
    now: datetime,
    excluding: Container[str] = (),
) -> str | None:
    """Who sent the first response to the case a follow-up continues (`continued_case`), when
    nobody has that case taken and they are on shift in its department and not away (full or
    not: the conversation is theirs) nor one of `excluding`, counted as holding one more."""
    case = continued_case(mentions, message)
    if case is None or case.taker(now) is not None or case.first_response_by is None:
        return None  # a take of it is the follow-up's take
    answerer, department = case.first_response_by, message.routing.department
    if answerer in excluding or not rosters.at_work(department, answerer):
        return None
    rosters.holds(department, answerer)
    return answerer


class Given(NamedTuple):
    """A waiting case the top-up gave to someone on shift."""

    case: str
    to: str
    passed_from: str | None = None
    """Whose take of it ran out unanswered."""

    def __str__(self) -> str:
        passed = f" (passed on from {self.passed_from})" if self.passed_from else ""
        return f"{self.case} to {self.to}{passed}"


TURN_TRIES = 3
"""Times a routing worker tries for a turn another worker took first, reading the roster again
each time, before it gives the case all the same."""


class Rosters:
    """The shifts of each department, and how many of its waiting cases each person on shift
    has, read once for a delivery's mentions (best effort: a roster that cannot be read shares
    out nothing, and the cases wait for anyone; waiting cases that cannot be read count as
    none). Each turn is taken conditionally, so routing workers running at once take turns too,
    rather than all giving their cases to the same person. `capped_only`: only those on shift
    with a capacity (the ones kept topped up)."""

    def __init__(
        self, store: ShiftStore, mentions: MentionStore, now: datetime, capped_only: bool = False
    ) -> None:
        self._store = store
        self._mentions = mentions
        self._now = now
        self._capped_only = capped_only
        self._read: dict[str, list[Shift]] = {}
        self._waiting: dict[str, list[MentionRecord]] = {}
        self._holding: dict[str, Counter[str]] = {}
        self._given = 0

    def share_out(
        self, department: str, lang: str | None = None, excluding: Container[str] = ()
    ) -> str | None:
        """The person on shift in `department` given its next new case, in `lang`, if anyone
        on (but those `excluding`) answers in it and is not full."""
        shifts, holding = self._load(department)
        chosen = None
        for _ in range(TURN_TRIES):
            chosen = next_on_shift(shifts, holding, lang, excluding)
            if chosen is None or self._took_turn(department, chosen):
                break
            shifts = self._roster(department)  # another worker took that turn: read again
        if chosen is None:
            return None
        self.holds(department, chosen.agent)
        return chosen.agent

    def at_work(self, department: str, agent: str) -> bool:
        """Whether `agent` is on shift in `department` and not away (full or not)."""
        shifts, _ = self._load(department)
        return any(shift.agent == agent and not shift.away for shift in shifts)

    def holds(self, department: str, agent: str) -> None:
        """Count one more of `department`'s waiting cases as `agent`'s."""
        self._load(department)[1][agent] += 1

    def waiting_cases(self, department: str) -> list[MentionRecord]:
        """`department`'s waiting cases, the soonest due first (none read when nobody is on
        shift)."""
        self._load(department)
        return self._waiting[department]

    def _load(self, department: str) -> tuple[list[Shift], Counter[str]]:
        """Who is on shift in `department`, and how many of its waiting cases each has."""
        shifts = self._read.get(department)
        if shifts is None:
            shifts = self._roster(department)
        holding = self._holding.get(department)
        if holding is None:
            waiting = self._waiting[department] = self._cases(department) if shifts else []
            holding = self._holding[department] = holdings(waiting, self._now)
        return shifts, holding

    def _cases(self, department: str) -> list[MentionRecord]:
        """`department`'s waiting cases, the soonest due first (none when they cannot be
        read)."""
        try:
            return self._mentions.waiting(department, HELD_LIMIT)
        except Exception:
            logger.warning("could not read who has which waiting case", exc_info=True)
            return []

    def _roster(self, department: str) -> list[Shift]:
        """Who is on shift in `department` now, as the store says (none when it cannot)."""
        try:
            shifts = self._store.on_shift(department, self._now)
        except Exception:
            logger.warning("could not read who is on shift", exc_info=True)
            shifts = []
        if self._capped_only:
            shifts = [shift for shift in shifts if shift.capacity is not None]
        self._read[department] = shifts
        return shifts

    def _took_turn(self, department: str, chosen: Shift) -> bool:
        """Whether `chosen`'s turn was still theirs to take, noting it if so (a store that
        cannot say: taken, for this delivery; the next may repeat it)."""
        # a microsecond apart: the order of a delivery's cases is kept for the next turn
        self._given += 1
        at = self._now + timedelta(microseconds=self._given)
        try:
            took = self._store.assigned(department, chosen.agent, at, chosen.last_assigned_at)
        except Exception:
            logger.warning("could not note who was given a case", exc_info=True)
            took = True
        if took:
            given = chosen.model_copy(update={"last_assigned_at": at})
            shifts = self._read[department]
            self._read[department] = [given if each is chosen else each for each in shifts]
        return took


@dataclass
class ShiftService:
    """Starting, ending and listing shifts (the API's side)."""

    shifts: ShiftStore
    mentions: MentionStore
    queues: Queues
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def start(
        self,
        department: str,
        agent: str,
        hours: float,
        capacity: int | None = None,
        languages: Sequence[str] = (),
    ) -> Shift:
        """`agent` is on shift in `department` for `hours` from now, given at most `capacity`
        waiting cases at once, in `languages` (none: any); started again, the shift is
        extended or cut short."""
        until = self.clock() + timedelta(hours=hours)
        shift = Shift(
            department=department,
            agent=agent,
            until=until,
            capacity=capacity,
            languages=sorted(set(languages)),
        )
        self.shifts.start(shift)
        logger.info("on shift", extra={"department": department, "agent": agent})
        return self._listed(department, agent) or shift

    def take_next(
        self,
        cases: CaseService,
        department: str,
        who: str,
        minutes: int,
        awaiting: Container[str],
        caller: str,
    ) -> NextCase:
        """`who` takes `department`'s next case nobody has (`CaseService.next_case`), in a
        language of their shift there if it names some; asked by `caller` (another: a lead
        giving it). Asking for a case oneself ends one's break."""
        shift = self.shift_of(department, who)
        back = shift is not None and shift.away and who == caller
        if back:
            self.away(department, who, False)
        record = cases.next_case(department, who, minutes, shift, awaiting, caller)
        languages = shift.languages if shift is not None else []
        return NextCase(department=department, next=record, languages=languages, back=back)

    def shift_of(self, department: str, agent: str) -> Shift | None:
        """`agent`'s shift in `department`, if they are on one."""
        on = self.shifts.on_shift(department, self.clock())
        return next((shift for shift in on if shift.agent == agent), None)

    def away(self, department: str, agent: str, away: bool) -> Shift:
        """`agent` steps away from their shift in `department` (given no new case, keeping the
        cases they have) or comes back; NotFound when they are not on shift."""
        # the shift's item may be there after it ran out: the roster says whether it is on
        shift = (
            self._listed(department, agent) if self.shifts.away(department, agent, away) else None
        )
        if shift is None:
            raise NotFound(f"{agent} is not on shift in {department}")
        logger.info("away" if away else "back", extra={"department": department, "agent": agent})
        return shift

    def _listed(self, department: str, agent: str) -> Shift | None:
        """`agent`'s shift as the roster lists it (with what they hold), if they are on."""
        return next((s for s in self.roster(department).on_shift if s.agent == agent), None)

    def end(self, department: str, agent: str) -> ShiftEnded:
        """`agent`'s shift ends now: no new case is theirs, and the waiting cases they still
        had are let go, free for anyone to take (their alerts say so; not marked given back
        by them: the top-up may give one back to them on their next shift)."""
        ended = self.shifts.end(department, agent)
        now = self.clock()
        released = [
            record.id
            for record in self.mentions.waiting(department, HELD_LIMIT)
            if record.taker(now) == agent
            and self.mentions.leave(record.id, agent, given_back=False)
        ]
        for mention_id in released:
            refresh_alerts(self.mentions, self.queues, self.settings, mention_id)
        logger.info("shift ended", extra={"department": department, "agent": agent})
        return ShiftEnded(department=department, agent=agent, ended=ended, released=released)

    def roster(self, department: str, awaiting: Container[str] = ()) -> Roster:
        """Who is on shift in `department`, next to be given a case first, each with how many
        of its waiting cases they have now, and how many of them nobody has (those whose
        answer is `awaiting` approval counted apart)."""
        now = self.clock()
        waiting = self.mentions.waiting(department, HELD_LIMIT)
        holding = holdings(waiting, now)
        on = sorted(self.shifts.on_shift(department, now), key=lambda shift: turn(shift, holding))
        answered = sum(case.taker(now) is None and case.id in awaiting for case in waiting)
        return Roster(
            department=department,
            on_shift=[shift.model_copy(update={"holding": holding[shift.agent]}) for shift in on],
            unassigned=len(waiting) - holding.total() - answered,
            awaiting_approval=answered,
        )

    def top_up(self, awaiting: Callable[[], Container[str]] = tuple) -> list[Given]:
        """In each department, its waiting cases nobody has (the soonest due first: those that
        came while everyone on shift was full or nobody was on, those given back, and those
        whose take ran out unanswered) are given to the people on shift with a capacity and
        room for more who answer in its language, the least busy first, each a take of the
        department's assignment time (`Settings.assignment_for`): a case whose take ran out
        goes to someone else than whoever let it run out (one given back, than whoever gave it
        back), a follow-up or chase to whoever has its customer's earlier case, and none whose
        answer is `awaiting` approval (read only once a case nobody has comes up). Best effort:
        a department that cannot be read is left for the next run."""
        now = self.clock()
        rosters = Rosters(self.shifts, self.mentions, now, capped_only=True)
        given: list[Given] = []
        for department in self.settings.departments:
            try:
                given += self._give_out(department, rosters, awaiting, now)
            except Exception:
                logger.warning("could not give out waiting cases", exc_info=True)
        return given

    def _give_out(
        self,
        department: str,
        rosters: Rosters,
        awaiting: Callable[[], Container[str]],
        now: datetime,
    ) -> list[Given]:
        """Give out `department`'s waiting cases nobody has (see `top_up`), the soonest due
        first, but a customer's earlier case before what follows it up or chases it, so that
        both go to the same person (one answer answers both)."""
        until = now + self.settings.assignment_for(department)
        waiting = {case.id: case for case in rosters.waiting_cases(department)}
        holders = {case.id: taker for case in waiting.values() if (taker := case.taker(now))}
        given: list[Given] = []
        for latest in waiting.values():
            chain = _chain(latest, waiting)
            for earlier, case in zip([None, *chain[:-1]], chain, strict=True):
                if case.id in holders or case.id in awaiting():
                    continue
                agent = holders.get(earlier.id) if earlier is not None else None
                passed_from = case.taken_by or case.given_back_by  # who let it go last
                let_go = {*case.passed_over, *([passed_from] if passed_from else [])}
                if agent is not None:
                    rosters.holds(department, agent)  # the customer's case is theirs: full or not
                elif case.message.routing.conversation is not None:
                    agent = back_to_answerer(self.mentions, case.message, rosters, now, let_go)
                if agent is None:
                    lang = case.message.routing.language()
                    agent = rosters.share_out(department, lang, let_go)
                if agent is not None and self.mentions.take(
                    case.id, agent, now, until, passed_from
                ):
                    holders[case.id] = agent
                    given.append(Given(case.id, agent, case.taken_by))
                    self._passed_on(case, agent, now)
                    logger.info(
                        "waiting case given out",
                        extra={"mention_id": case.id, "by": agent, "passed_from": case.taken_by},
                    )
                    self._announce(case, agent)
        return given

    def _passed_on(self, case: MentionRecord, agent: str, now: datetime) -> None:
        """Count, for its department's report, a take of `case` that ran out unanswered and
        was passed on to `agent` (best effort: the case is theirs all the same)."""
        if case.taken_by is None or case.taken_by == agent:
            return
        department = case.message.routing.department
        expires = now + timedelta(days=self.settings.mention_ttl_days)
        try:
            self.mentions.mark_passed_on(case.id, department, case.taken_by, now, expires)
        except Exception:
            logger.warning("could not count a take that was passed on", exc_info=True)

    def _announce(self, case: MentionRecord, agent: str) -> None:
        """Tell the case's department, through its queue and its alerts, who was given it
        (the copy tagged GIVEN), and them in their own chat (AGENT_CHANNELS); best effort: the
        waiting list says it all the same."""
        copy = case.message.tagged(GIVEN, assigned_to=agent)
        try:
            send_to(self.queues, copy.routing.department, copy)
        except Exception:
            logger.warning("could not tell the department who was given a case", exc_info=True)
        tell_agent(self.queues, agent_alert(copy, agent, self.settings, case.taken_by))
        refresh_alerts(self.mentions, self.queues, self.settings, case.id)


def _chain(case: MentionRecord, waiting: Mapping[str, MentionRecord]) -> list[MentionRecord]:
    """`case` after the same customer's earlier cases among `waiting` that an answer to it
    answers too (the one it follows up in its conversation, else the latest it chases, and so
    on back), the earliest first."""
    chain = [case]
    while (earlier := _earlier(chain[-1], waiting)) is not None:
        if any(each.id == earlier.id for each in chain):
            break
        chain.append(earlier)
    return chain[::-1]


def _earlier(case: MentionRecord, waiting: Mapping[str, MentionRecord]) -> MentionRecord | None:
    """The same customer's case among `waiting` that `case` follows up in its conversation,
    else the latest one it chases."""
    routing = case.message.routing
    conversation = routing.conversation
    earlier = waiting.get(conversation.mention_id) if conversation is not None else None
    author = case.message.mention.author.id
    if author is not None and earlier is not None and earlier.message.mention.author.id == author:
        return earlier  # not someone else joining the thread
    chased = (waiting.get(each.id) for each in routing.history.cases) if routing.history else ()
    return next((each for each in chased if each is not None), None)
