"""Shifts: the people on shift in a department are given its new cases, the one with the
fewest of its waiting cases first (then the one given a case longest ago: round robin among
equals), never someone already holding their capacity, and a case in a language only to those
who answer in it (or who named no languages); each case is theirs alone for
ASSIGNMENT_MINUTES (a take, as `switchboard take` makes), so two people never start on the same
customer and nobody has to share out the queue by hand. A follow-up stays with whoever has its
case. Ending a shift frees the waiting cases its person still had."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.errors import NotFound
from chalicelib.models import MentionRecord, Roster, Shift, ShiftEnded
from chalicelib.observability import logger
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore
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
    shifts: list[Shift], holding: Mapping[str, int], lang: str | None = None
) -> Shift | None:
    """Who is given the next new case, in `lang` (see `turn`): nobody away, already full or
    who does not answer in it."""
    free = [shift for shift in shifts if shift.takes_cases(holding.get(shift.agent, 0), lang)]
    return min(free, key=lambda shift: turn(shift, holding), default=None)


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

    def share_out(self, department: str, lang: str | None = None) -> str | None:
        """The person on shift in `department` given its next new case, in `lang`, if anyone
        on answers in it and is not full."""
        shifts, holding = self._load(department)
        chosen = None
        for _ in range(TURN_TRIES):
            chosen = next_on_shift(shifts, holding, lang)
            if chosen is None or self._took_turn(department, chosen):
                break
            shifts = self._roster(department)  # another worker took that turn: read again
        if chosen is None:
            return None
        holding[chosen.agent] += 1
        return chosen.agent

    def untaken_cases(self, department: str) -> list[MentionRecord]:
        """`department`'s waiting cases nobody took (or whoever took one gave it back), the
        soonest due first (none read when nobody is on shift)."""
        self._load(department)
        return [case for case in self._waiting[department] if case.taken_by is None]

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
        had are given back, free for anyone to take."""
        ended = self.shifts.end(department, agent)
        now = self.clock()
        released = [
            record.id
            for record in self.mentions.waiting(department, HELD_LIMIT)
            if record.taker(now) == agent and self.mentions.leave(record.id, agent)
        ]
        logger.info("shift ended", extra={"department": department, "agent": agent})
        return ShiftEnded(department=department, agent=agent, ended=ended, released=released)

    def roster(self, department: str) -> Roster:
        """Who is on shift in `department`, next to be given a case first, each with how many
        of its waiting cases they have now, and how many of them nobody has."""
        now = self.clock()
        waiting = self.mentions.waiting(department, HELD_LIMIT)
        holding = holdings(waiting, now)
        on = sorted(self.shifts.on_shift(department, now), key=lambda shift: turn(shift, holding))
        return Roster(
            department=department,
            on_shift=[shift.model_copy(update={"holding": holding[shift.agent]}) for shift in on],
            unassigned=len(waiting) - holding.total(),
        )

    def top_up(self) -> list[tuple[str, str]]:
        """In each department, its waiting cases nobody took (the soonest due first: those that
        came while everyone on shift was full or nobody was on, and those given back) are given
        to the people on shift with a capacity and room for more who answer in its language,
        the least busy first, each a take of ASSIGNMENT_MINUTES; returns (case, person) pairs.
        A case whose take ran out unanswered stays free for anyone rather than going round
        again to someone who may have left. Best effort: a department that cannot be read is
        left for the next run."""
        now = self.clock()
        until = now + timedelta(minutes=self.settings.assignment_minutes)
        rosters = Rosters(self.shifts, self.mentions, now, capped_only=True)
        given: list[tuple[str, str]] = []
        for department in self.settings.departments:
            try:
                for case in rosters.untaken_cases(department):
                    agent = rosters.share_out(department, case.message.routing.language())
                    if agent is not None and self.mentions.take(case.id, agent, now, until):
                        logger.info(
                            "waiting case given out", extra={"mention_id": case.id, "by": agent}
                        )
                        given.append((case.id, agent))
            except Exception:
                logger.warning("could not give out waiting cases", exc_info=True)
        return given
