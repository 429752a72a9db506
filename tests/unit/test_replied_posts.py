"""Which replies get the brand's post they answer, when it is read, kept or left out, and that
forgetting an author takes it away with the rest (the platform reads end to end are in
tests/integration/test_replied_posts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models import (
    QUOTED_TEXT_LIMIT,
    Mention,
    MentionRecord,
    Quoted,
    ReplyPointer,
    RoutedMention,
    Routing,
)
from chalicelib.platforms.outbound import PlatformOutcomeUnknown, PlatformUnauthorized
from chalicelib.services import replied_posts
from chalicelib.services.replied_posts import RepliedPosts, answers_brand_post, paused_key
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WITH_X = Settings(x_access_token="token")
CAMPAIGN = Quoted(id="x:9", text="Win a year of free wraps!", author="AcmeHelp")


def reply(**fields: object) -> Mention:
    values: dict[str, object] = {"kind": "reply", "in_reply_to": "x:9", **fields}
    return Mention(id="x:10", platform="x", text="falafel", **values)


class Reads:
    """A stand-in for the platform's post reader: what it answers, and how often it was asked."""

    def __init__(self, answer: Quoted | Exception = CAMPAIGN) -> None:
        self.answer, self.asked = answer, 0

    def __call__(self, post: str, settings: Settings) -> Quoted:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    read = Reads()
    monkeypatch.setattr(
        replied_posts, "_readers", lambda: {"x": (read, lambda s: bool(s.x_access_token))}
    )
    return read


@pytest.mark.parametrize(
    ("platform", "kind", "answers"),
    [
        ("x", "reply", True),
        ("x", "mention", False),  # names the brand in a reply to someone else
        ("facebook", "comment", True),
        ("instagram", "comment", True),
        ("instagram", "mention", False),  # on someone else's media
        ("youtube", "comment", True),  # under one of the channel's videos
        ("youtube", "reply", False),  # in a comment's thread: that comment's case
        ("messenger", "dm", False),
    ],
)
def test_which_mentions_answer_a_post_of_the_brands(
    platform: str, kind: str, answers: bool
) -> None:
    mention = Mention(
        id=f"{platform}:1", platform=platform, kind=kind, text="hi", in_reply_to=f"{platform}:0"
    )
    assert answers_brand_post(mention) is answers
    assert answers_brand_post(mention.model_copy(update={"in_reply_to": None})) is False


def test_the_post_is_read_once_and_kept_a_week(reads: Reads) -> None:
    store = MemoryMentionStore()
    posts = RepliedPosts(store, WITH_X)
    assert posts.add_to(reply(), NOW).replied_post == CAMPAIGN
    assert posts.add_to(reply(), NOW + timedelta(days=6)).replied_post == CAMPAIGN
    assert reads.asked == 1
    assert posts.add_to(reply(), NOW + timedelta(days=8)).replied_post == CAMPAIGN
    assert reads.asked == 2


def test_a_post_the_webhook_brought_is_not_read(reads: Reads) -> None:
    store = MemoryMentionStore()
    posts = RepliedPosts(store, WITH_X)
    seen = Quoted(id="x:9", text="as X sent it back", author="AcmeHelp")
    posts.remember([seen], NOW)
    assert posts.add_to(reply(), NOW + timedelta(hours=1)).replied_post == seen
    assert reads.asked == 0


def test_nothing_is_read_without_credentials_or_time_or_for_what_has_it_already(
    reads: Reads,
) -> None:
    store = MemoryMentionStore()
    assert RepliedPosts(store, Settings()).add_to(reply(), NOW).replied_post is None
    hurried = RepliedPosts(store, WITH_X, time_left=lambda: 1.0)
    assert hurried.add_to(reply(), NOW).replied_post is None
    polled = reply(replied_post=Quoted(id="x:9", text="from the poller's includes"))
    assert RepliedPosts(store, WITH_X).add_to(polled, NOW) == polled
    assert reads.asked == 0


def test_refused_credentials_pause_the_reads_and_a_lost_answer_is_asked_again(
    reads: Reads,
) -> None:
    store = MemoryMentionStore()
    posts = RepliedPosts(store, WITH_X)
    reads.answer = PlatformUnauthorized("401 Unauthorized")
    assert posts.add_to(reply(), NOW).replied_post is None
    assert store.held(paused_key("x"), NOW + timedelta(minutes=14)) is not None
    assert posts.add_to(reply(), NOW + timedelta(minutes=14)).replied_post is None
    assert reads.asked == 1
    reads.answer = PlatformOutcomeUnknown("read timed out")
    assert posts.add_to(reply(), NOW + timedelta(minutes=16)).replied_post is None
    reads.answer = CAMPAIGN  # nothing was kept of the timed-out read
    assert posts.add_to(reply(), NOW + timedelta(minutes=17)).replied_post == CAMPAIGN
    assert reads.asked == 3


def test_a_store_that_fails_leaves_the_reply_to_be_routed_without_the_post(reads: Reads) -> None:
    class Broken(MemoryMentionStore):
        def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
            raise ConnectionError("DynamoDB is not answering")

    assert RepliedPosts(Broken(), WITH_X).add_to(reply(), NOW).replied_post is None


def test_a_long_post_is_cut_so_no_reply_to_it_outgrows_a_queue_message(reads: Reads) -> None:
    reads.answer = Quoted(id="x:9", text="🌯" * 63_206)  # as long as a Facebook post can be
    post = RepliedPosts(MemoryMentionStore(), WITH_X).add_to(reply(), NOW).replied_post
    assert post is not None and len(post.text) == QUOTED_TEXT_LIMIT
    assert post.text.endswith("🌯…")
    assert len(reply(replied_post=post).model_dump_json().encode()) < 5_000


def test_forgetting_the_author_takes_the_post_they_answered_away_too() -> None:
    mention = reply(replied_post=CAMPAIGN)
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="marketing"),
        reply=ReplyPointer(mention_id="x:10"),
    )
    record = MentionRecord(id=mention.id, status="routed", routed_at=NOW, message=message)
    assert record.forgotten(NOW).message.mention.replied_post is None
