"""Business hours (`SLA_BUSINESS_HOURS`) and first-response deadlines counted within them.

The format is a `;`-separated list of days and opening hours, in the business time zone:
`mon-fri 09:00-17:00; sat 10:00-14:00`, or with a break, `mon-fri 08:00-12:00,13:00-18:00`.
Days are `mon` … `sun`, a range (`mon-fri`) or a list (`mon,wed`); `24:00` closes at midnight.
Dates override their weekday: holidays (`2026-12-25,2026-12-26 closed`, a range
`2026-12-24..2027-01-01 closed`) and special hours (`2026-12-24 09:00-13:00`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MINUTES_PER_DAY = 24 * 60
CLOSED = "closed"
LONGEST_RANGE = 366
"""The most days one date range may name (a typo in a year is not ten years of holidays)."""

Interval = tuple[int, int]  # minutes from local midnight: opening, closing


@dataclass(frozen=True)
class BusinessHours:
    """Opening intervals by weekday (Monday 0), and by date where a date has its own."""

    week: tuple[tuple[Interval, ...], ...]
    dates: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        """Read the format above; ValueError says what is wrong."""
        week: list[list[Interval]] = [[] for _ in DAYS]
        dates: dict[date, list[Interval]] = {}
        for entry in filter(None, (part.strip() for part in text.split(";"))):
            days, _, hours = entry.partition(" ")
            if not hours.strip():
                raise ValueError(f"{entry!r}: give days then hours, e.g. 'mon-fri 09:00-17:00'")
            closed = hours.strip().lower() == CLOSED
            intervals = [] if closed else [_interval(part.strip()) for part in hours.split(",")]
            if _DATE.match(days.split(",")[0].split("..")[0]):
                for day in _dates(days):
                    dates.setdefault(day, []).extend(intervals)
                continue
            if closed:
                raise ValueError(f"{entry!r}: a weekday is closed by leaving it out")
            for weekday in _days(days):
                week[weekday].extend(intervals)
        if not any(week):
            raise ValueError("business hours need at least one day with opening hours")
        named = [*((DAYS[n], hours) for n, hours in enumerate(week)), *dates.items()]
        for name, intervals in named:
            intervals.sort()
            if any(a[1] > b[0] for a, b in pairwise(intervals)):
                raise ValueError(f"opening hours overlap on {name}")
        return cls(
            tuple(tuple(intervals) for intervals in week),
            {day: tuple(intervals) for day, intervals in dates.items()},
        )

    def open_on(self, day: date) -> tuple[Interval, ...]:
        """The opening intervals of a local date: its own, else its weekday's."""
        return self.dates.get(day, self.week[day.weekday()])

    def deadline(self, start: datetime, minutes: int, tz: ZoneInfo) -> datetime:
        """`start` plus `minutes` of open time (UTC): a mention posted after hours starts its
        clock at the next opening."""
        remaining = timedelta(minutes=minutes)
        day = start.astimezone(tz).date() - timedelta(days=1)  # an interval may span midnight UTC
        while True:
            for opening, closing in self.open_on(day):
                begin = max(_at(day, opening, tz), start)
                end = _at(day, closing, tz)
                if begin >= end:
                    continue
                if begin + remaining <= end:
                    return begin + remaining
                remaining -= end - begin
            day += timedelta(days=1)


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """A local wall-clock minute of `day` (1440: the next midnight), in UTC."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _interval(text: str) -> Interval:
    found = _HOURS.match(text)
    if not found:
        raise ValueError(f"{text!r}: opening hours are HH:MM-HH:MM")
    h1, m1, h2, m2 = map(int, found.groups())
    opening, closing = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= opening < closing <= MINUTES_PER_DAY:
        raise ValueError(f"{text!r}: opening must be before closing, within 00:00-24:00")
    return opening, closing


def _dates(text: str) -> list[date]:
    """The dates of a list of dates and date ranges: `2026-12-25,2026-12-31..2027-01-01`."""
    chosen: list[date] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("..")
        try:
            start, stop = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError:
            raise ValueError(f"{part.strip()!r}: dates are YYYY-MM-DD, a range FROM..TO") from None
        if not 0 <= (stop - start).days < LONGEST_RANGE:
            raise ValueError(
                f"{part.strip()!r}: a date range runs forward, at most {LONGEST_RANGE} days"
            )
        chosen.extend(start + timedelta(days=n) for n in range((stop - start).days + 1))
    return chosen


def _days(text: str) -> list[int]:
    chosen: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{part.strip()!r}: days are {', '.join(DAYS)}, or a range mon-fri")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        if stop < start:
            raise ValueError(f"{part.strip()!r}: a day range runs forward, e.g. mon-fri")
        chosen.extend(range(start, stop + 1))
    return chosen
