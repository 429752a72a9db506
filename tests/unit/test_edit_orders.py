"""However X's deliveries of an edited post arrive (late, retried, newest first), the post is
one case, and that case reads as the newest version."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import PoisonRecord, RecordFull
from chalicelib.models import MentionRecord, RawDelivery
from chalicelib.services.routing import EngineCache, RoutingService
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.payloads import MemoryPayloads
from chalicelib.stores.queues import MemoryQueues
from chalicelib.stores.rules import MemoryRulesStore
from tests.helpers import RECEIVED, sample_bytes

VERSIONS = ["1992000000000000001", "1992000000000000005", "1992000000000000007"]
CONFIG = Settings()
ENGINES = EngineCache(MemoryRulesStore(), CONFIG)  # the default rules, compiled once


def version(n: int) -> dict[str, Any]:
    """The Account Activity delivery of the post as its author left it after `n` edits."""
    tweet = json.loads(sample_bytes("x_late_delivery.json"))["tweet_create_events"][0]
    tweet |= {"id": int(VERSIONS[n]), "id_str": VERSIONS[n], "text": f"@AcmeHelp lost order, v{n}"}
    tweet["edit_history"] = {"initial_tweet_id": VERSIONS[0], "edit_tweet_ids": VERSIONS[: n + 1]}
    return {"for_user_id": "2244994945", "tweet_create_events": [tweet]}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(VERSIONS) - 1), min_size=1, max_size=6))
def test_any_order_of_versions_is_one_case_that_reads_as_the_newest(arrivals: list[int]) -> None:
    queues = MemoryQueues(CONFIG.all_queues)
    mentions = MemoryMentionStore()
    service = RoutingService(queues, mentions, ENGINES, CONFIG, payloads=MemoryPayloads())
    for n in arrivals:
        delivery = RawDelivery(platform="x", body=json.dumps(version(n)), received_at=RECEIVED)
        service.route_delivery(delivery.to_json())
    [case] = mentions.records.values()
    assert case.message.mention.text.endswith(f"v{max(arrivals)}")
    routed = [json.loads(m.body) for sent in queues.messages.values() for m in sent]
    first = [m for m in routed if "edited" not in m["routing"]["tags"]]  # not the edited copies
    assert len(first) == 1


class FullRecords(MemoryMentionStore):
    """A store whose records have reached DynamoDB's item limit: no edit fits any more."""

    def rewrite(self, record: MentionRecord, since: Any) -> None:
        raise RecordFull(f"{record.id}'s record would pass DynamoDB's 400 KB item limit")


def test_an_edit_its_case_cannot_take_in_is_dead_lettered_with_the_reason() -> None:
    queues = MemoryQueues(CONFIG.all_queues)
    service = RoutingService(queues, FullRecords(), ENGINES, CONFIG, payloads=MemoryPayloads())
    first, edit = (
        RawDelivery(platform="x", body=json.dumps(version(n)), received_at=RECEIVED).to_json()
        for n in range(2)
    )
    service.route_delivery(first)
    with pytest.raises(PoisonRecord, match="400 KB item limit"):  # not retried for ever
        service.route_delivery(edit)
