"""Whose turn a new case is: round robin among those on shift, even within one delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.models import Shift
from chalicelib.services.shifts import Rosters, next_on_shift
from chalicelib.stores.shifts import MemoryShiftStore

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_the_one_given_a_case_longest_ago_is_next_and_names_break_ties() -> None:
    def on(agent: str, minutes_ago: int | None) -> Shift:
        last = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
        return Shift(department="support", agent=agent, until=NOW, last_assigned_at=last)

    assert next_on_shift([]) is None
    assert next_on_shift([on("ana", 5), on("sam", 50), on("maya", 50)]) == on("maya", 50)
    assert next_on_shift([on("ana", 5), on("zoe", None)]) == on("zoe", None)


def test_a_delivery_shares_its_cases_out_in_turn_and_the_store_remembers() -> None:
    store = MemoryShiftStore()
    for agent in ("sam", "ana"):
        store.start("support", agent, NOW + timedelta(hours=8))
    store.start("support", "gone", NOW - timedelta(minutes=1))  # a shift that ran out
    rosters = Rosters(store, NOW)
    assert [rosters.share_out("support") for _ in range(3)] == ["ana", "sam", "ana"]
    assert rosters.share_out("pr") is None  # nobody on shift there
    later = Rosters(store, NOW + timedelta(minutes=1))
    assert later.share_out("support") == "sam"  # ana had the last case


class Unreadable(MemoryShiftStore):
    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        raise RuntimeError("throttled")


class Unwritable(MemoryShiftStore):
    def assigned(
        self, department: str, agent: str, at: datetime, previous: datetime | None
    ) -> bool:
        raise RuntimeError("throttled")


def test_a_roster_that_cannot_be_read_or_noted_never_stops_routing() -> None:
    assert Rosters(Unreadable(), NOW).share_out("support") is None  # the case waits for anyone
    store = Unwritable()
    for agent in ("sam", "ana"):
        store.start("support", agent, NOW + timedelta(hours=8))
    rosters = Rosters(store, NOW)
    assert [rosters.share_out("support") for _ in range(2)] == ["ana", "sam"]


class FirstReadsStale(MemoryShiftStore):
    """The first `stale` reads of the roster see it as it was before any case was given: the
    routing workers that read it at the same moment."""

    def __init__(self, stale: int) -> None:
        super().__init__()
        self.stale = stale
        self.before: list[Shift] = []

    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        self.stale -= 1
        return self.before if self.stale >= 0 else super().on_shift(department, now)


def test_routing_workers_running_at_once_take_turns_too() -> None:
    store = FirstReadsStale(stale=3)
    for agent in ("sam", "ana", "maya"):
        store.start("support", agent, NOW + timedelta(hours=8))
    store.before = MemoryShiftStore.on_shift(store, "support", NOW)
    given = [Rosters(store, NOW + timedelta(seconds=n)).share_out("support") for n in range(3)]
    assert given == ["ana", "maya", "sam"]  # not ana three times
