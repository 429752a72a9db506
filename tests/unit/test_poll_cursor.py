"""The YouTube poller's cursor: newest second seen, plus the threads seen within that second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.services.polling import Cursor

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_threads_in_the_cursor_second_are_new_until_seen() -> None:
    cursor = Cursor(AT, frozenset({"a"}))
    assert not cursor.before(AT - timedelta(seconds=1), "old")
    assert not cursor.before(AT, "a")
    assert cursor.before(AT, "b")  # posted in the same second, after the last poll
    assert cursor.before(AT + timedelta(seconds=1), "c")


def test_advancing_keeps_only_the_newest_second() -> None:
    cursor = Cursor(AT, frozenset({"a"})).advanced(AT, "b")
    assert cursor == Cursor(AT, frozenset({"a", "b"}))
    later = cursor.advanced(AT + timedelta(seconds=1), "c").advanced(AT, "d")
    assert later == Cursor(AT + timedelta(seconds=1), frozenset({"c"}))
    assert Cursor.load(later.dump()) == later
