"""The YouTube poller's cursor (newest second seen, plus the threads seen within that second)
and the threads it follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.models import Mention
from chalicelib.platforms import youtube
from chalicelib.services.polling import (
    FOLLOWED_PER_RUN,
    Cursor,
    Poller,
    YouTubeReplies,
    follow_thread,
    followed_threads,
    replies_cursor,
)
from chalicelib.settings import Settings
from chalicelib.stores.cursors import MemoryCursorStore
from chalicelib.stores.payloads import MemoryPayloads
from chalicelib.stores.queues import MemoryQueues

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


def test_followed_threads_are_read_in_turn_from_the_first_answer() -> None:
    cursors = MemoryCursorStore()
    settings = Settings()
    for n in range(60):
        mention = Mention(
            id=f"youtube:t{n:02}", platform="youtube", kind="comment", text="?", brand_account="UC1"
        )
        follow_thread(cursors, mention, AT - timedelta(hours=1))
    again = Mention(
        id="youtube:r1", platform="youtube", kind="reply", text="?", in_reply_to="youtube:t00"
    )
    follow_thread(cursors, again, AT)  # answered again: one thread, read from the first answer

    turns = [
        followed_threads(settings, cursors, AT + timedelta(minutes=5 * run)) for run in range(3)
    ]
    assert all(len(turn) == FOLLOWED_PER_RUN for turn in turns)
    seen = [source.name for turn in turns for source in turn]
    assert len(set(seen)) == 60  # three runs of 25 cover all 60 threads
    first = next(s for turn in turns for s in turn if s.name == replies_cursor("t00"))
    assert isinstance(first, YouTubeReplies)
    assert (first.thread, first.channel, first.since) == ("t00", "UC1", AT - timedelta(hours=1))


def test_youtube_threads_are_one_level_deep() -> None:
    comment = Mention(id="youtube:Ugc1", platform="youtube", kind="comment", text="?")
    follow_up = Mention(
        id="youtube:Ugc1.r2", platform="youtube", kind="reply", text="?", in_reply_to="youtube:Ugc1"
    )
    assert youtube.thread_of(comment) == youtube.thread_of(follow_up) == "Ugc1"


class Broken:
    """A source whose answer the poller cannot read."""

    name = "broken:1"

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        raise KeyError("items")

    def commit(self) -> None:
        raise AssertionError("nothing fetched: nothing to keep")


class OneComment:
    """A source with one new mention."""

    name = "fine:1"

    committed = False

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        return [Mention(id="youtube:Ug1", platform="youtube", text="hello")], "cursor-1"

    def commit(self) -> None:
        self.committed = True


def test_an_unexpected_failure_of_one_source_does_not_stop_the_run() -> None:
    queues, cursors = MemoryQueues(["intake"]), MemoryCursorStore()
    fine = OneComment()
    poller = Poller(queues, cursors, [Broken(), fine], clock=lambda: AT, payloads=MemoryPayloads())
    assert poller.run() == 1
    assert fine.committed  # after its mentions were queued
    assert len(queues.messages["intake"]) == 1
    assert cursors.get("fine:1") == "cursor-1" and cursors.get("broken:1") is None
