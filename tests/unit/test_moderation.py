"""What each platform lets the brand hide, and the outbox worker's hide for a rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.errors import PoisonRecord
from chalicelib.models import (
    Mention,
    MentionKind,
    MentionRecord,
    ReplyPointer,
    RoutedMention,
    Routing,
)
from chalicelib.services import moderation
from chalicelib.services.case_news import hide_of
from chalicelib.services.moderation import Moderation, hide_message, unhideable
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.queues import MemoryQueues

CONFIG = Settings()


def mention(platform: str, kind: MentionKind, native: str = "1") -> Mention:
    return Mention(id=f"{platform}:{native}", platform=platform, kind=kind, text="spam")


@pytest.mark.parametrize(
    ("platform", "kind", "why"),
    [
        ("facebook", "comment", None),
        ("instagram", "comment", None),
        ("youtube", "comment", None),
        ("youtube", "reply", None),
        ("x", "reply", None),
        ("x", "mention", "X hides replies to the brand only"),
        ("x", "quote", "X hides replies to the brand only"),
        ("x", "dm", "a direct message is seen by the brand alone"),
        ("messenger", "dm", "messenger has no way for the brand to hide a post"),
        ("instagram", "mention", "on someone else's media"),
        ("facebook", "post", "facebook lets the brand hide comments only, not a post"),
        ("slack", "mention", "slack has no way"),
        ("reddit", "post", "reddit has no way"),
    ],
)
def test_what_each_platform_lets_the_brand_hide(
    platform: str, kind: MentionKind, why: str | None
) -> None:
    said = unhideable(mention(platform, kind))
    assert said == why if why is None else (said is not None and why in said)


def stored(mentions: MentionStore, m: Mention, **fields: object) -> None:
    now = datetime.now(UTC)
    routing = Routing(department="ignore", hide="spam")
    message = RoutedMention(mention=m, routing=routing, reply=ReplyPointer(mention_id=m.id))
    record = MentionRecord(id=m.id, status="ignored", routed_at=now, message=message)
    mentions.complete(record.model_copy(update=fields), now + timedelta(days=1))


def worker(monkeypatch: pytest.MonkeyPatch) -> tuple[Moderation, list[str]]:
    asked: list[str] = []
    monkeypatch.setitem(
        moderation.HIDERS, "facebook", lambda m, hidden, settings: asked.append(m.id)
    )
    mentions = MemoryMentionStore()
    return Moderation(mentions, MemoryQueues(CONFIG.all_queues), CONFIG), asked


def test_a_hide_done_before_its_record_is_stored_is_recorded_once_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, asked = worker(monkeypatch)
    comment = mention("facebook", "comment", "1_2")
    body = hide_message(comment.id, "spam").body
    service.perform(body)  # the outbox worker was quicker than the routing worker
    assert asked == [comment.id]
    stored(service.mentions, comment)
    record = service.mentions.get(comment.id)
    assert record is not None and record.hidden_at is None  # held, not applied yet
    service.news.apply_held([record.message], datetime.now(UTC))  # as routing does
    record = service.mentions.get(comment.id)
    assert record is not None and record.hidden_at and record.hidden_by == "rule:spam"
    service.perform(body)  # redelivered: hidden already, the platform is not asked again
    assert asked == [comment.id]


def test_nothing_is_hidden_of_a_comment_its_author_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    service, asked = worker(monkeypatch)
    comment = mention("facebook", "comment", "1_3")
    stored(service.mentions, comment, deleted_at=datetime.now(UTC))
    service.perform(hide_message(comment.id, "spam").body)
    assert asked == []


def test_an_outbox_message_that_is_no_hide_is_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    service, _ = worker(monkeypatch)
    for body in (json.dumps({"hide": {"rule": "spam"}}), hide_message("slack:C1/2", "spam").body):
        with pytest.raises(PoisonRecord):
            service.perform(body)


class StoredMeanwhile(MemoryMentionStore):
    """The routing worker stores the record (and looks for held news) between the outbox
    worker's first look and its hold."""

    def __init__(self, record: MentionRecord) -> None:
        super().__init__()
        self.record = record

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        super().hold(key, what, at, expires_at)
        if key == hide_of(self.record.id):
            self.complete(self.record, expires_at)


def test_a_hide_whose_record_is_stored_while_it_is_held_is_recorded_all_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    comment = mention("facebook", "comment", "1_4")
    scratch = MemoryMentionStore()
    stored(scratch, comment)
    record = scratch.get(comment.id)
    assert record is not None
    mentions = StoredMeanwhile(record)
    monkeypatch.setitem(moderation.HIDERS, "facebook", lambda m, hidden, settings: None)
    service = Moderation(mentions, MemoryQueues(CONFIG.all_queues), CONFIG)
    service.perform(hide_message(comment.id, "spam").body)
    hidden = mentions.get(comment.id)
    assert hidden is not None and hidden.hidden_at and hidden.hidden_by == "rule:spam"
