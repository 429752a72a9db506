"""The daily digest: each department's report of the last day, posted to its alert channel once
a day within DIGEST_HOUR (in BUSINESS_TIMEZONE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.services.digest import post_digests
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.queues import MemoryQueues
from chalicelib.stores.replies import OUTBOX

MORNING = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)  # 09:30 in Madrid
SETTINGS = Settings(
    alert_channels={"support": "C0SUP", "pr": "teams:pr-leads"},
    teams_webhooks={"pr-leads": "https://example.test/hook"},
    digest_hour=9,
    business_timezone="Europe/Madrid",
)


def alerts(queues: MemoryQueues) -> list[dict[str, Any]]:
    return [json.loads(message.body)["alert"] for message in queues.messages[OUTBOX]]


def test_each_department_with_a_channel_is_posted_its_day_once_within_the_hour() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues([OUTBOX])
    assert post_digests(mentions, queues, SETTINGS, MORNING) == ["support", "pr"]
    support, pr = alerts(queues)
    assert (support["channel"], support["heading"]) == ("C0SUP", "support: the last day")
    assert support["text"].startswith(
        "*support: the last day*\n```\nsupport, the last day (since 2026-11-23 08:30"
    )
    assert "  mentions        0" in support["text"] and support["text"].endswith("\n```")
    assert pr["channel"] == "teams:pr-leads" and "card" in pr and "text" not in pr
    assert post_digests(mentions, queues, SETTINGS, MORNING + timedelta(minutes=20)) == []
    tomorrow = MORNING + timedelta(days=1)
    assert post_digests(mentions, queues, SETTINGS, tomorrow) == ["support", "pr"]


def test_no_digest_outside_its_hour_or_without_one() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues([OUTBOX])
    assert post_digests(mentions, queues, SETTINGS, MORNING + timedelta(hours=1)) == []
    off = SETTINGS.model_copy(update={"digest_hour": None})
    assert post_digests(mentions, queues, off, MORNING) == []
    assert queues.messages[OUTBOX] == []


def test_a_digest_the_outbox_could_not_take_is_posted_the_next_minute() -> None:
    mentions = MemoryMentionStore()
    assert post_digests(mentions, MemoryQueues([]), SETTINGS, MORNING) == []  # no outbox
    queues = MemoryQueues([OUTBOX])
    later = MORNING + timedelta(minutes=1)
    assert post_digests(mentions, queues, SETTINGS, later) == ["support", "pr"]
