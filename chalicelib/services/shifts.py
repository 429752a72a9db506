"""Shifts: the people on shift in a department are given its new cases in turn (round robin:
the one given a case longest ago is next), each theirs alone for ASSIGNMENT_MINUTES (a take, as
`switchboard take` makes), so two people never start on the same customer and nobody has to
share out the queue by hand. A follow-up stays with whoever has its case. Ending a shift frees
the waiting cases its person still had."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.models import Shift, ShiftEnded
from chalicelib.observability import logger
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.shifts import ShiftStore

NEVER = datetime.min.replace(tzinfo=UTC)
HELD_LIMIT = 200
"""How many of a department's waiting cases a shift's end (and a listing) reads for theirs."""


def turn(shift: Shift) -> tuple[datetime, str]:
    """Where someone on shift stands in the turn: the one given a case longest ago (never,
    first), by name when that ties."""
    return shift.last_assigned_at or NEVER, shift.agent


def next_on_shift(shifts: list[Shift]) -> Shift | None:
    """Who is given the next new case (see `turn`)."""
    return min(shifts, key=turn, default=None)


TURN_TRIES = 3
"""Times a routing worker tries for a turn another worker took first, reading the roster again
each time, before it gives the case all the same."""


class Rosters:
    """The shifts of each department, read once for a delivery's mentions (best effort: a
    roster that cannot be read shares out nothing, and the cases wait for anyone). Each turn is
    taken conditionally, so routing workers running at once take turns too, rather than all
    giving their cases to the same person."""

    def __init__(self, store: ShiftStore, now: datetime) -> None:
        self._store = store
        self._now = now
        self._read: dict[str, list[Shift]] = {}
        self._given = 0

    def share_out(self, department: str) -> str | None:
        """The person on shift in `department` given its next new case, if anyone is on."""
        shifts = self._read.get(department)
        if shifts is None:
            shifts = self._roster(department)
        chosen = None
        for _ in range(TURN_TRIES):
            chosen = next_on_shift(shifts)
            if chosen is None:
                return None
            # a microsecond apart: the order of a delivery's cases is kept for the next turn
            self._given += 1
            at = self._now + timedelta(microseconds=self._given)
            if self._took_turn(department, chosen, at):
                given = chosen.model_copy(update={"last_assigned_at": at})
                self._read[department] = [given if each is chosen else each for each in shifts]
                return chosen.agent
            shifts = self._roster(department)  # another worker took that turn: read again
        return chosen.agent if chosen is not None else None

    def _roster(self, department: str) -> list[Shift]:
        """Who is on shift in `department` now, as the store says (none when it cannot)."""
        try:
            shifts = self._store.on_shift(department, self._now)
        except Exception:
            logger.warning("could not read who is on shift", exc_info=True)
            shifts = []
        self._read[department] = shifts
        return shifts

    def _took_turn(self, department: str, chosen: Shift, at: datetime) -> bool:
        """Whether `chosen`'s turn was still theirs to take (a store that cannot say: taken,
        for this delivery; the next may repeat it)."""
        try:
            return self._store.assigned(department, chosen.agent, at, chosen.last_assigned_at)
        except Exception:
            logger.warning("could not note who was given a case", exc_info=True)
            return True


@dataclass
class ShiftService:
    """Starting, ending and listing shifts (the API's side)."""

    shifts: ShiftStore
    mentions: MentionStore
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def start(self, department: str, agent: str, hours: float) -> Shift:
        """`agent` is on shift in `department` for `hours` from now (started again, the shift
        is extended or cut short)."""
        until = self.clock() + timedelta(hours=hours)
        self.shifts.start(department, agent, until)
        logger.info("on shift", extra={"department": department, "agent": agent})
        return next(
            (s for s in self.roster(department) if s.agent == agent),
            Shift(department=department, agent=agent, until=until),
        )

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

    def roster(self, department: str) -> list[Shift]:
        """Who is on shift in `department`, next to be given a case first, each with how many
        of its waiting cases they have now."""
        now = self.clock()
        holders = [record.taker(now) for record in self.mentions.waiting(department, HELD_LIMIT)]
        on = sorted(self.shifts.on_shift(department, now), key=turn)
        return [shift.model_copy(update={"holding": holders.count(shift.agent)}) for shift in on]
