"""The routing worker's service on the in-memory twins: what it does when another worker, or a
best-effort store, gets in the way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.errors import PoisonRecord
from chalicelib.models import EarlierCase
from chalicelib.services.routing import EngineCache, MentionBusy, RoutingService
from chalicelib.services.sla import SlaCheck
from chalicelib.settings import Settings
from chalicelib.stores.mentions import Claim
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.payloads import MemoryPayloads
from chalicelib.stores.queues import MemoryQueues, OutgoingMessage, QueueSendError
from chalicelib.stores.rules import MemoryRulesStore
from chalicelib.stores.traffic import MemoryTrafficStore, Observed
from tests.helpers import RECEIVED, delivery, emitted_by_department, food_safety_thread

CONFIG = Settings()
FRIEND, BRAND_NAMED = "x:1992000000000000201", "x:1992000000000000202"
FOOD = "x:1992000000000000002"


def service(
    mentions: MemoryMentionStore, queues: MemoryQueues, traffic: MemoryTrafficStore | None = None
) -> RoutingService:
    engines = EngineCache(MemoryRulesStore(), CONFIG)
    return RoutingService(queues, mentions, engines, CONFIG, traffic, payloads=MemoryPayloads())


def test_a_mention_another_worker_is_routing_sends_the_delivery_back_for_a_retry() -> None:
    mentions = MemoryMentionStore()
    now = datetime.now(UTC)
    assert mentions.claim(BRAND_NAMED, now, timedelta(minutes=5))[0] is Claim.CLAIMED  # elsewhere
    queues = MemoryQueues(CONFIG.all_queues)
    with pytest.raises(MentionBusy):
        service(mentions, queues).route_delivery(
            delivery("x", "x_reply_to_a_friend.json").to_json()
        )
    assert not any(queues.messages.values())  # nothing sent before the retry
    assert mentions.claim(FRIEND, now, timedelta(minutes=5)) == (Claim.CLAIMED, None)  # released


class BrokenTraffic(MemoryTrafficStore):
    def record(self, observed: list[Observed], keep: timedelta) -> None:
        raise RuntimeError("traffic table throttled")


def test_a_dry_run_sample_that_cannot_be_kept_never_fails_or_repeats_routing() -> None:
    mentions = MemoryMentionStore()
    queues = MemoryQueues(CONFIG.all_queues)
    outcome = service(mentions, queues, BrokenTraffic()).route_delivery(
        delivery("x", "x_reply_to_a_friend.json").to_json()
    )
    assert {m.mention.id for m in outcome.routed} == {FRIEND, BRAND_NAMED}
    assert mentions.get(BRAND_NAMED) is not None and len(queues.messages["support"]) == 1


def test_the_escalation_target_of_an_escalated_case_hears_that_it_was_answered() -> None:
    settings = Settings(escalations={"pr": "triage"})
    mentions, queues = MemoryMentionStore(), MemoryQueues(settings.all_queues)
    engines = EngineCache(MemoryRulesStore(), settings)
    routing = RoutingService(queues, mentions, engines, settings, payloads=MemoryPayloads())
    post, answer = (json.loads(food_safety_thread(i)) for i in (0, 1))
    routing.route_delivery(delivery("x", post).to_json())
    SlaCheck(mentions, queues, settings).run()  # posted long ago: overdue, copied to triage
    routing.route_delivery(delivery("x", answer).to_json())
    breach, answered = queues.messages["triage"]
    assert json.loads(breach.body)["routing"]["tags"][-1] == "sla-breach"
    assert json.loads(answered.body)["routing"]["tags"][-1] == "answered"
    assert answered.attributes == {
        "department": "triage",
        "priority": "urgent",
        "platform": "x",
        "escalated_from": "pr",
    }
    assert [len(queues.messages[d]) for d in ("pr", "support")] == [2, 2]  # case, answered


class FlakyQueues(MemoryQueues):
    """Refuses the send numbered `fail_at` (counting from 1), once."""

    def __init__(self, names: list[str], fail_at: int) -> None:
        super().__init__(names)
        self.sends, self.fail_at = 0, fail_at

    def send(self, queue: str, message: OutgoingMessage) -> str:
        self.sends += 1
        if self.sends == self.fail_at:
            raise QueueSendError(f"{queue} throttled")
        return super().send(queue, message)


def test_an_answer_to_two_messages_whose_second_copy_fails_is_recorded_whole_on_the_retry() -> None:
    def messenger(mid: str, minutes: int, echo: bool = False) -> str:
        customer, page = {"id": "7010000000000001"}, {"id": "448242228374517"}
        event = {
            "sender": page if echo else customer,
            "recipient": customer if echo else page,
            "timestamp": 1795335000000 + minutes * 60_000,
            "message": {"mid": mid, "text": "My parcel is lost", "is_echo": echo},
        }
        entry = {"id": page["id"], "messaging": [event]}
        return delivery("meta", {"object": "page", "entry": [entry]}).to_json()

    mentions, queues = MemoryMentionStore(), FlakyQueues(CONFIG.all_queues, fail_at=2)
    routing = service(mentions, queues)
    routing.route_delivery(messenger("m1", 0))
    routing.route_delivery(messenger("m2", 10))
    with pytest.raises(QueueSendError):  # the copy of m1 could not be sent
        routing.route_delivery(messenger("m3", 20, echo=True))
    for mid in ("m1", "m2"):  # neither recorded: the retry finds both still waiting
        record = mentions.get(f"messenger:{mid}")
        assert record is not None and record.first_response_at is None
    routing.route_delivery(messenger("m3", 20, echo=True))  # the retry
    for mid, minutes in (("m1", 20), ("m2", 10)):
        record = mentions.get(f"messenger:{mid}")
        assert record is not None and record.response_seconds == minutes * 60


def test_breaches_and_first_responses_are_counted_by_department(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    routing = service(mentions, queues)
    post, answer = (json.loads(food_safety_thread(i)) for i in (0, 1))
    routing.route_delivery(delivery("x", post).to_json())
    capsys.readouterr()
    SlaCheck(mentions, queues, CONFIG).run()  # posted long ago: pr missed its deadline
    assert emitted_by_department(capsys.readouterr().out, "SlaBreaches") == {"pr": [1.0]}
    routing.route_delivery(delivery("x", answer).to_json())  # answered a minute after it
    responses = emitted_by_department(capsys.readouterr().out, "FirstResponseSeconds")
    assert responses == {"pr": [60.0]}


def test_each_departments_volume_is_counted_for_its_surge_alarm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    capsys.readouterr()
    post = json.loads(food_safety_thread(0))
    service(mentions, queues).route_delivery(delivery("x", post).to_json())
    out = capsys.readouterr().out
    volumes = emitted_by_department(out, "QueuedMentions")
    assert volumes == {"pr": [1.0], "support": [1.0]}  # routed to pr, copied to support
    [blob] = [json.loads(line) for line in out.splitlines() if '"department":"pr"' in line]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "department"]]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Switchboard"


class IndexBeingBuilt(MemoryMentionStore):
    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        raise RuntimeError("Cannot read from backfilling global secondary index")


class LabelsUnreadable(MemoryMentionStore):
    def labels_of(self, author: str) -> list[str]:
        raise RuntimeError("ProvisionedThroughputExceededException")


@pytest.mark.parametrize("store", [IndexBeingBuilt, LabelsUnreadable], ids=["history", "labels"])
def test_a_mention_whose_authors_history_or_labels_cannot_be_read_still_reaches_its_department(
    store: type[MemoryMentionStore],
) -> None:
    mentions, queues = store(), MemoryQueues(CONFIG.all_queues)
    outcome = service(mentions, queues).route_delivery(
        delivery("x", "x_late_delivery.json").to_json()
    )
    [message] = outcome.routed
    assert message.routing.department == "support"
    assert message.routing.history is None and message.mention.author.labels == []
    assert len(queues.messages["support"]) == 1


def test_a_delivery_with_more_mentions_than_one_run_routes_is_fanned_out_then_routed_once() -> None:
    """A Meta batch can carry 1,000 changes: routed in one go it would outlast its function. Its
    mentions go back on the intake in deliveries of 50, which later invocations route."""
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    routing = service(mentions, queues)
    many = [
        {"id": f"generic:{n}", "platform": "generic", "text": f"my order {n} never came"}
        for n in range(120)
    ]
    outcome = routing.route_delivery(delivery("generic", many).to_json())
    assert (outcome.fanned_out, outcome.routed) == (120, [])
    assert not mentions.records  # nothing routed, nothing claimed yet
    fanned = queues.messages["intake"]
    assert [m.attributes for m in fanned] == [{"platform": "fan-out"}] * 3
    assert [len(json.loads(json.loads(m.body)["body"])) for m in fanned] == [50, 50, 20]
    for message in list(fanned):
        assert routing.route_delivery(message.body).fanned_out == 0
    assert len(mentions.records) == 120 and len(queues.messages["support"]) == 120
    again = routing.route_delivery(fanned[0].body)  # a redelivery: nothing routed twice
    assert len(again.duplicates) == 50 and len(queues.messages["support"]) == 120


def test_a_delivery_is_not_started_without_time_to_route_it() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    routing = service(mentions, queues)
    routing.time_left = lambda: CONFIG.platform_call_reserve - 1
    body = delivery("x", "x_reply_to_a_friend.json").to_json()
    assert routing.route_delivery(body).deferred
    assert not mentions.records
    [again] = queues.messages["intake"]  # queued anew, not failed: no receive counted against it
    assert again.body == body and not any(queues.messages[d] for d in CONFIG.departments)
    routing.time_left = None
    assert len(routing.route_delivery(again.body).routed) == 2


def test_a_mention_sqs_could_never_carry_is_dead_lettered_with_the_reason_not_retried() -> None:
    """The generic webhook refuses such a text; a delivery queued before that check, or any
    other way to a department message over 256 KiB, must not loop through retries."""
    mentions, queues = MemoryMentionStore(), MemoryQueues(CONFIG.all_queues)
    huge = {"id": "news:1", "platform": "news", "text": "my order never came " * 15_000}
    with pytest.raises(PoisonRecord, match=r"news:1: its department message would be 3\d\d,"):
        service(mentions, queues).route_delivery(delivery("generic", [huge]).to_json())
    assert not any(queues.messages.values()) and not mentions.records
    assert mentions.claim("news:1", datetime.now(UTC), timedelta(minutes=1))[0] is Claim.CLAIMED


class OutboxDown(MemoryQueues):
    """The outbox refuses batches while `down`."""

    down = True

    def send_batch(self, queue: str, messages: list[OutgoingMessage]) -> None:
        if queue == "outbox" and self.down:
            raise QueueSendError("outbox throttled")
        super().send_batch(queue, messages)


def test_what_the_outbox_could_not_take_goes_there_with_the_retry_and_only_there() -> None:
    rules = MemoryRulesStore()
    hide_harm = {"route_to": "pr", "hide": True, "priority": "urgent"}
    when = {"text": {"contains_any": ["hospital"]}}
    rules.publish([{"id": "hide-harm", "when": when, "then": hide_harm}], "ana", "t", RECEIVED)
    settings = CONFIG.model_copy(update={"alert_channels": {"pr": "C0PR"}})
    mentions, queues = MemoryMentionStore(), OutboxDown(settings.all_queues)
    routing = RoutingService(
        queues, mentions, EngineCache(rules, settings), settings, payloads=MemoryPayloads()
    )
    body = delivery("x", json.loads(food_safety_thread(0))).to_json()
    with pytest.raises(QueueSendError):
        routing.route_delivery(body)
    assert len(queues.messages["pr"]) == 1 and queues.messages["outbox"] == []
    queues.down = False
    routing.route_delivery(body)  # the retry
    assert len(queues.messages["pr"]) == 1  # not sent twice
    hide, alert = (json.loads(m.body) for m in queues.messages["outbox"])
    assert hide == {"hide": {"mention_id": FOOD, "rule": "hide-harm"}}
    assert alert["alert"]["channel"] == "C0PR"
    record = mentions.get(FOOD)
    assert record is not None and record.message.routing.hide == "hide-harm"
