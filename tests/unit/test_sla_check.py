"""The SLA check in a surge: thousands overdue are escalated in one run while there is time,
not a hundred a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.models import Mention, MentionRecord, ReplyPointer, RoutedMention, Routing
from chalicelib.services.sla import SlaCheck
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.queues import MemoryQueues

CONFIG = Settings()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def overdue(mentions: MemoryMentionStore, count: int) -> None:
    for n in range(count):
        mention = Mention(id=f"x:{n}", platform="x", text="still waiting")
        routing = Routing(department="support", sla_due_at=NOW - timedelta(minutes=1 + n % 50))
        message = RoutedMention(
            mention=mention, routing=routing, reply=ReplyPointer(mention_id=mention.id)
        )
        mentions.claim(mention.id, NOW, timedelta(minutes=1))
        record = MentionRecord(id=mention.id, status="routed", routed_at=NOW, message=message)
        mentions.complete(record, NOW + timedelta(days=1))


def test_a_surge_of_overdue_cases_is_escalated_in_one_run() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    overdue(mentions, 250)
    check = SlaCheck(mentions, queues, CONFIG, clock=lambda: NOW)
    assert len(check.run(limit=100)) == 250
    assert len(queues.messages["support"]) == 250  # support escalates to itself by default
    assert check.run(limit=100) == []


def test_a_run_short_of_time_leaves_the_rest_for_the_next() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    overdue(mentions, 250)
    check = SlaCheck(mentions, queues, CONFIG, clock=lambda: NOW)
    check.time_left = lambda: CONFIG.platform_call_reserve - 1
    assert len(check.run(limit=100)) == 100
    check.time_left = None
    assert len(check.run(limit=100)) == 150
