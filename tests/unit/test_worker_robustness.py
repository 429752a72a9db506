"""A signed delivery with any field of any type in any place never crashes the routing worker:
it routes, or it is a poison record that goes to the DLQ with its reason (never a retry loop)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import PoisonRecord
from chalicelib.models import RawDelivery
from chalicelib.services.routing import EngineCache, RoutingService
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.payloads import MemoryPayloads
from chalicelib.stores.queues import MemoryQueues
from chalicelib.stores.rules import MemoryRulesStore
from chalicelib.stores.traffic import MemoryTrafficStore
from tests.conftest import EVENTS
from tests.helpers import RECEIVED

SAMPLES = [
    (item["platform"], json.loads((EVENTS / item["file"]).read_text()))
    for item in json.loads((EVENTS / "manifest.json").read_text())
    if item["file"].endswith(".json")
]
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.none(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.none(), max_size=2),
)


def paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document, the root included."""
    yield here
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield from paths(child, (*here, key))


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    result = copy.deepcopy(document)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return result


def mutated_delivery(data: st.DataObject, values: st.SearchStrategy[Any] = ODD) -> RawDelivery:
    """A sample delivery with one to three of its places (a field, an item, the whole) replaced
    by one of `values`."""
    platform, body = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        body = replaced(body, data.draw(st.sampled_from(list(paths(body)))), data.draw(values))
    return RawDelivery(platform=platform, body=json.dumps(body), received_at=RECEIVED)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mutated_delivery_routes_or_is_poison(data: st.DataObject) -> None:
    config = Settings()
    service = RoutingService(
        queues=MemoryQueues([*config.all_queues, *(f"{q}-dlq" for q in config.all_queues)]),
        mentions=MemoryMentionStore(),
        engines=EngineCache(MemoryRulesStore(), config),
        settings=config,
        traffic=MemoryTrafficStore(),
        payloads=MemoryPayloads(),
    )
    with contextlib.suppress(PoisonRecord):  # dead-lettered with its reason: as it should be
        service.route_delivery(mutated_delivery(data).to_json())  # anything else fails the test


def test_a_record_failing_its_last_receive_is_dead_lettered_with_why_and_told_once() -> None:
    """SQS would dead-letter a record whose last receive fails, without a word: the worker does
    it instead, with the reason of that failure, and hears of it first (not on the receives
    before, not for a poison record); a failure to tell changes nothing."""
    from chalicelib.errors import RetryLater
    from chalicelib.services.batches import process_batch
    from chalicelib.stores.queues import MAX_RECEIVE_COUNT

    def handle(body: str) -> None:
        if body == "poison":
            raise PoisonRecord("not a reply")
        if body == "later":
            raise RetryLater("rate limited", 60)
        raise ConnectionError("platform unreachable")

    def record(body: str, receives: int) -> dict[str, Any]:
        return {
            "messageId": f"{body}-{receives}",
            "receiptHandle": f"{body}-{receives}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": str(receives)},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }

    last = MAX_RECEIVE_COUNT
    event = {
        "Records": [
            record("down", last - 1),
            record("down", last),
            record("later", last),
            record("poison", last),
        ]
    }
    told: list[tuple[str, str]] = []
    queues = MemoryQueues(["outbox", "outbox-dlq"])
    answer = process_batch(event, handle, queues, "outbox", None, lambda *said: told.append(said))
    assert answer == {"batchItemFailures": [{"itemIdentifier": f"down-{last - 1}"}]}
    assert told == [
        ("down", f"failed {last} times, the last: platform unreachable"),
        ("later", f"failed {last} times, the last: rate limited"),
    ]
    dead = [(m.body, m.attributes["error"]) for m in queues.messages["outbox-dlq"]]
    assert dead == [*told, ("poison", "not a reply")]
    assert queues.delays == {}  # a last receive is not put off: there is no next one

    def broken(body: str, reason: str) -> None:
        raise RuntimeError("Slack is down too")

    assert process_batch(event, handle, queues, "outbox", None, broken) == answer
