"""Deliveries end to end on moto: webhook → intake → route_mentions worker → department queues."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.demo import load_samples
from chalicelib.devstack import QueueWorker
from chalicelib.models import SIGNALS, RawDelivery
from chalicelib.services.routing import EngineCache, RoutingService
from chalicelib.settings import get_settings
from tests.helpers import RECEIVED, food_safety_thread, sample_bytes
from tests.integration.conftest import bodies, post_signed, receive_all

SAMPLES = load_samples()


def drain_intake(stack: dict[str, str]) -> None:
    """Run the app's route_mentions handler, as Lambda would, until the intake queue is empty."""
    from app import app

    worker = QueueWorker(
        aws.sqs(), stack["intake"], app.handler_map["route_mentions"], "us-east-1", wait=0
    )
    while worker.poll_once():
        pass


def department_bodies(stack: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {d: bodies(stack[d]) for d in get_settings().departments}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_reaches_its_department(client: Client, stack: dict[str, str], sample: Any) -> None:
    assert post_signed(client, sample.platform, sample.body).status_code == 200
    drain_intake(stack)
    queued = department_bodies(stack)
    decided = {
        m["mention"]["id"]: m["routing"]["department"]
        for department, messages in queued.items()
        for m in messages
        if m["routing"]["department"] == department
    }
    routed = {mid: d for mid, d in sample.expect.items() if d != "ignore"}
    assert decided == routed  # each in its own department's queue, echoes and ignored in none


def test_department_message_follows_the_contract(client: Client, stack: dict[str, str]) -> None:
    post_signed(client, "x", food_safety_thread(0))  # without the brand's answer
    drain_intake(stack)
    [pr] = receive_all(stack["pr"])
    [support] = receive_all(stack["support"])
    assert pr["Body"] == support["Body"]  # the copy is the same message
    body = json.loads(pr["Body"])
    assert body["schema"] == "switchboard.routed-mention/v1"
    mention, routing = body["mention"], body["routing"]
    assert mention["id"] == "x:1992000000000000002"
    assert {
        "platform",
        "kind",
        "text",
        "lang",
        "url",
        "created_at",
        "public",
        "author",
        "in_reply_to",
        "brand_account",
    } <= set(mention)
    assert set(mention["author"]) >= {"id", "handle", "name", "followers", "verified"}
    assert routing["department"] == "pr" and routing["also"] == ["support"]
    assert routing["priority"] == "urgent"
    assert routing["ruleset_version"] == 1
    # the author's 15,400 followers, verified, make it criticism with a large audience too
    assert [rule["id"] for rule in routing["matched_rules"]] == [
        "high-reach-criticism",
        "health-and-safety",
    ]
    assert "hospital" in routing["matched_rules"][1]["why"]
    assert routing["tags"] == ["high-reach", "safety"]
    assert routing["confidence"] is None  # a rule decided, not the department model
    assert routing["decided_by"] == "health-and-safety"  # the other one only tags and raises
    assert routing["transfers"] == []  # nobody handed it over
    signals = routing["signals"]
    assert (
        set(signals)
        == {  # the contract's signals block
            *("sentiment", "complaint", "severity", "influence", "spam", "readable", "addressed"),
            *("question", "purchase", "press", "legal", "safety", "lang"),
        }
        == {*SIGNALS, "lang"}
    )  # and the names rules may read as signals.NAME
    assert signals["lang"] == mention["lang"] == "en"  # X's language field
    assert signals["sentiment"] < 0 and signals["complaint"] > 0.5 and signals["severity"] >= 1
    assert signals["safety"] == 1.0 and signals["influence"] > 0.6  # 15,400 followers, verified
    due = datetime.fromisoformat(routing["sla_due_at"])
    assert due - datetime.fromisoformat(mention["created_at"]) == timedelta(minutes=15)
    assert body["reply"] == {"route": "/replies", "mention_id": "x:1992000000000000002"}
    attributes = {k: v["StringValue"] for k, v in pr["MessageAttributes"].items()}
    assert attributes == {"department": "pr", "priority": "urgent", "platform": "x"}


def test_redelivered_delivery_routes_once(client: Client, stack: dict[str, str]) -> None:
    body = sample_bytes("x_late_delivery.json")
    post_signed(client, "x", body)
    post_signed(client, "x", body)  # the platform retried
    drain_intake(stack)
    assert len(receive_all(stack["support"])) == 1


def test_ignored_mention_goes_to_no_queue_but_keeps_its_record(
    client: Client, stack: dict[str, str]
) -> None:
    post_signed(client, "generic", sample_bytes("generic_listening.json"))
    drain_intake(stack)
    response = client.http.get(
        "/mentions/trustpilot:5f1e2d3c", headers={"Authorization": "Bearer test-admin-token"}
    )
    assert response.status_code == 200
    record = json.loads(response.body)
    assert record["status"] == "ignored"
    assert record["message"]["routing"]["matched_rules"][0]["id"] == "spam"
    assert all(m["mention"]["id"] != "trustpilot:5f1e2d3c" for m in bodies(stack["triage"]))


def test_mention_lookup_needs_the_token_and_says_when_unknown(client: Client) -> None:
    assert client.http.get("/mentions/x:1").status_code == 401
    wrong = client.http.get("/mentions/x:1", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    missing = client.http.get("/mentions/x:1", headers={"Authorization": "Bearer test-admin-token"})
    assert missing.status_code == 404


def test_a_store_failure_is_a_json_500_that_shows_no_internals(client: Client) -> None:
    aws.dynamodb().delete_table(TableName=get_settings().mentions_table)
    response = client.http.get(
        "/mentions/x:1", headers={"Authorization": "Bearer test-admin-token"}
    )
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert body == {"error": "internal", "message": "an unexpected error; it has been logged"}


def raw(platform: str, body: str) -> str:
    return RawDelivery(platform=platform, body=body, received_at=RECEIVED).to_json()


def test_an_unreadable_event_holds_back_none_of_its_deliverys_others(
    stack: dict[str, str], client: Client
) -> None:
    """One event of an odd shape in a batch (Meta sends up to 1,000 changes at once): the others
    reach their departments, and the delivery is dead-lettered saying what could not be read;
    redriven, it routes nothing twice."""
    from app import app

    tweets = json.loads(sample_bytes("x_late_delivery.json"))
    tweets["tweet_create_events"].append({"text": "no id, no user"})
    body = raw("x", json.dumps(tweets))
    record = {"messageId": "partly", "receiptHandle": "r1", "body": body, "attributes": {}}
    event = {"Records": [{**record, "messageAttributes": {}, "eventSource": "aws:sqs"}]}
    assert app.handler_map["route_mentions"](event, None) == {"batchItemFailures": []}
    assert [m["mention"]["id"] for m in bodies(stack["support"])] == ["x:1992000000000000001"]
    [dead] = receive_all(stack["intake-dlq"])
    reason = dead["MessageAttributes"]["error"]["StringValue"]
    assert "1 item(s) could not be read" in reason and "what the rest held (1)" in reason
    app.handler_map["route_mentions"](event, None)  # redriven: the readable one is done
    assert bodies(stack["support"]) == []


def test_poison_record_goes_to_the_dlq_while_its_batch_routes(
    stack: dict[str, str], client: Client
) -> None:
    from app import app

    good = raw("x", sample_bytes("x_late_delivery.json").decode())
    records = [
        {"messageId": "good-1", "receiptHandle": "r1", "body": good},
        {"messageId": "poison-1", "receiptHandle": "r2", "body": "not json at all"},
        {
            "messageId": "poison-2",
            "receiptHandle": "r3",
            "body": raw("x", '{"for_user_id":"1","tweet_create_events":[{}]}'),
        },
        {"messageId": "poison-3", "receiptHandle": "r4", "body": raw("myspace", "{}")},
        {"messageId": "poison-4", "receiptHandle": "r5", "body": raw("meta", '{"entry": [')},
        {"messageId": "poison-5", "receiptHandle": "r6", "body": raw("youtube", "<feed>")},
        # nested deeper than a parser can follow: told as such, not a crash of the batch
        {"messageId": "poison-6", "receiptHandle": "r7", "body": raw("slack", "[" * 100_000)},
    ]
    event = {
        "Records": [
            {**r, "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
            for r in records
        ]
    }
    result = app.handler_map["route_mentions"](event, None)
    assert result == {"batchItemFailures": []}
    assert [m["mention"]["id"] for m in bodies(stack["support"])] == ["x:1992000000000000001"]
    dead = receive_all(stack["intake-dlq"])
    assert sorted(m["MessageAttributes"]["message_id"]["StringValue"] for m in dead) == [
        "poison-1",
        "poison-2",
        "poison-3",
        "poison-4",
        "poison-5",
        "poison-6",
    ]
    reasons = {
        m["MessageAttributes"]["message_id"]["StringValue"]: m["MessageAttributes"]["error"][
            "StringValue"
        ]
        for m in dead
    }
    assert "not a raw delivery" in reasons["poison-1"]
    assert "unreadable X delivery" in reasons["poison-2"]
    assert "unknown platform 'myspace'" in reasons["poison-3"]
    assert "unreadable meta delivery: body is not valid JSON" in reasons["poison-4"]
    assert "unreadable youtube delivery: body is not valid XML" in reasons["poison-5"]
    assert "body is not valid JSON: nested too deeply to read" in reasons["poison-6"]


def test_transient_failure_is_retried_and_then_routes_once(
    stack: dict[str, str], client: Client
) -> None:
    from app import app

    handler = app.handler_map["route_mentions"]
    event = {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r1",
                "body": raw("x", sample_bytes("x_late_delivery.json").decode()),
                "attributes": {},
                "messageAttributes": {},
            }
        ]
    }
    aws.sqs().delete_queue(QueueUrl=stack["support"])
    assert handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    # the queue comes back; SQS redelivers the same record
    from chalicelib import wiring
    from chalicelib.stores.provision import create_queues

    stack.update(create_queues(aws.sqs(), get_settings()))
    wiring.reset()
    assert handler(event, None) == {"batchItemFailures": []}
    assert handler(event, None) == {"batchItemFailures": []}  # a third delivery: duplicate
    assert len(receive_all(stack["support"])) == 1


def test_a_retry_after_a_partial_fan_out_sends_only_the_missing_copy(
    stack: dict[str, str], client: Client
) -> None:
    """The food-safety thread goes to pr with a copy to support; support's queue is gone on the
    first attempt, so pr gets its message then, and the retry gives support its copy and pr
    nothing more."""
    from app import app

    handler = app.handler_map["route_mentions"]
    body = raw("x", food_safety_thread(0).decode())  # without the brand's answer
    event = {"Records": [{"messageId": "m1", "receiptHandle": "r1", "body": body}]}
    aws.sqs().delete_queue(QueueUrl=stack["support"])
    assert handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [first] = receive_all(stack["pr"])  # the healthy department did not wait for the retry
    headers = {"Authorization": "Bearer test-admin-token"}
    assert client.http.get("/mentions/x:1992000000000000002", headers=headers).status_code == 404

    from chalicelib.stores.provision import create_queues

    stack.update(create_queues(aws.sqs(), get_settings()))
    wiring.reset()
    assert handler(event, None) == {"batchItemFailures": []}
    assert receive_all(stack["pr"]) == []
    [copy] = receive_all(stack["support"])
    assert copy["Body"] == first["Body"]  # the decision of the first attempt, not a new one
    assert client.http.get("/mentions/x:1992000000000000002", headers=headers).status_code == 200


def test_repeated_failures_end_in_the_dlq_by_redrive(stack: dict[str, str], client: Client) -> None:
    """A record that keeps failing is moved to the DLQ by the queue's redrive policy."""
    sqs = aws.sqs()
    sqs.set_queue_attributes(QueueUrl=stack["intake"], Attributes={"VisibilityTimeout": "0"})
    sqs.delete_queue(QueueUrl=stack["support"])
    post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    from app import app

    worker = QueueWorker(
        sqs, stack["intake"], app.handler_map["route_mentions"], "us-east-1", wait=0
    )
    for _ in range(6):
        worker.poll_once()
    [dead] = receive_all(stack["intake-dlq"])
    assert json.loads(dead["Body"])["platform"] == "x"


def direct_message(number: int, sender: str, text: str) -> dict[str, Any]:
    return {"id": f"x:dm{number}", "platform": "x", "kind": "dm", "text": text,
            "author": {"id": sender}}  # fmt: skip


def test_direct_messages_from_one_sender_stay_with_their_department_for_a_while(
    stack: dict[str, str],
) -> None:
    settings = get_settings()
    service = RoutingService(
        wiring.queues(),
        wiring.mentions(),
        EngineCache(wiring.rules(), settings),
        settings,
        payloads=wiring.payloads(),
    )
    first = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def route(at: datetime, *mentions: dict[str, Any]) -> None:
        service.clock = lambda: at
        service.route_delivery(raw("generic", json.dumps(list(mentions))))

    press = "I'm a reporter at the Guardian writing about the recall, can you comment?"
    route(first, direct_message(1, "u1", press))
    route(
        first + timedelta(hours=2),
        direct_message(2, "u1", "my number is 0161 555 0100"),  # same sender
        direct_message(3, "u2", "my number is 0161 555 0100"),  # someone else
    )
    route(first + timedelta(hours=80), direct_message(4, "u1", "my number is 0161 555 0100"))

    def routing(mention_id: str) -> dict[str, Any]:
        record = wiring.mentions().get(mention_id)
        assert record is not None
        return record.message.routing.model_dump()

    assert routing("x:dm1")["department"] == "pr"
    assert routing("x:dm2")["department"] == "pr"
    assert routing("x:dm2")["matched_rules"][-1]["id"] == "follow-up-pr"
    assert "follow-up" not in routing("x:dm3")["tags"]
    assert "follow-up" not in routing("x:dm4")["tags"]  # 80 hours later: a new case


def test_a_customer_writing_again_comes_with_their_earlier_cases(
    client: Client, stack: dict[str, str]
) -> None:
    def write(number: int, author: str, text: str, **more: str) -> None:
        mention = {"id": f"reddit:t1_{number}", "platform": "reddit", "text": text,
                   "author": {"id": author, "handle": author}, **more}  # fmt: skip
        assert post_signed(client, "generic", json.dumps(mention).encode()).status_code == 200
        drain_intake(stack)

    write(501, "u7", "@Acme my order never arrived")
    write(502, "u7", "@Acme still waiting on my order, anyone there?")
    wiring.mentions().record_response("reddit:t1_501", datetime.now(UTC), "reddit:t1_900")
    write(503, "u7", "@Acme and now the replacement order is lost too")
    write(504, "u8", "@Acme my order never arrived")  # someone else: a first case
    write(505, "u7", "order 1234, sent on Monday", in_reply_to="reddit:t1_503")  # in that case
    first, again, third, other, follow_up = (m["routing"] for m in bodies(stack["support"]))
    assert first["history"] is None and other["history"] is None
    assert follow_up["history"] is None and "chasing" not in follow_up["tags"]  # part of a case
    assert (first["priority"], again["priority"], third["priority"]) == ("normal", "high", "high")
    assert again["tags"][0] == "chasing" and third["tags"][:2] == ["chasing", "repeat-contact"]
    earlier = [(c["id"], c["department"], c["state"]) for c in third["history"]["cases"]]
    assert earlier == [
        ("reddit:t1_502", "support", "waiting"),
        ("reddit:t1_501", "support", "answered"),
    ]
    assert third["history"]["days"] == 30
    response = client.http.get(
        "/mentions/reddit:t1_502", headers={"Authorization": "Bearer test-admin-token"}
    )
    assert json.loads(response.body)["message"]["routing"]["history"]["cases"][0]["state"] == (
        "waiting"
    )
    # everything the author opened, newest first (the follow-up is part of its case)
    response = client.http.get(
        "/authors/reddit:u7/cases", headers={"Authorization": "Bearer test-admin-token"}
    )
    listed = [(c["id"], c["state"]) for c in json.loads(response.body)["cases"]]
    assert listed == [
        ("reddit:t1_503", "waiting"),
        ("reddit:t1_502", "waiting"),
        ("reddit:t1_501", "answered"),
    ]
    bad = client.http.get("/authors/u7/cases", headers={"Authorization": "Bearer test-admin-token"})
    assert bad.status_code == 400 and "<platform>:<author id>" in json.loads(bad.body)["message"]
    # a dry-run replays each mention with the earlier cases it had: without the rule, the two
    # later cases would have stayed at normal priority
    rules = wiring.rules()
    live = rules.get(rules.live_version() or 0)
    assert live is not None
    candidate = [rule for rule in live.rules if rule["id"] != "chasing"]
    report = client.http.post(
        "/admin/rules/test",
        headers={"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"},
        body=json.dumps({"rules": candidate}),
    )
    changes = {c["id"]: c for c in json.loads(report.body)["changes"]}
    assert set(changes) == {"reddit:t1_502", "reddit:t1_503"}
    assert changes["reddit:t1_502"]["candidate"]["priority"] == "normal"


def test_the_demo_customer_chasing_her_late_order_is_raised(
    client: Client, stack: dict[str, str]
) -> None:
    for sample in ("x_late_delivery.json", "x_chasing.json"):  # the demo's order
        assert post_signed(client, "x", sample_bytes(sample)).status_code == 200
        drain_intake(stack)
    case, chasing = (m["routing"] for m in bodies(stack["support"]))
    assert (case["priority"], chasing["priority"]) == ("normal", "high")
    assert chasing["tags"][0] == "chasing"
    [earlier] = chasing["history"]["cases"]
    assert (earlier["id"], earlier["state"]) == ("x:1992000000000000001", "waiting")


def test_characters_sqs_refuses_are_routed_not_lost(client: Client, stack: dict[str, str]) -> None:
    """U+FFFF is a character SQS refuses in a message body, and a lone surrogate escape
    ("\\ud83d" with nothing after it) is valid JSON but no character at all: a mention with
    either is still acknowledged, queued and routed (the stack's SQS client refuses such
    bodies, as SQS does)."""
    tweet = json.loads(sample_bytes("x_late_delivery.json"))
    tweet["tweet_create_events"][0]["text"] = "@AcmeHelp where is my order \uffff\ufffe"
    body = json.dumps(tweet, ensure_ascii=False).encode()
    assert post_signed(client, "x", body).status_code == 200
    mentions = [
        {
            "id": "forum:1",
            "platform": "forum",
            "text": "my order never came \ud83d and nobody answers",
        }
    ]
    generic = json.dumps(mentions).encode()  # ASCII, the surrogate as an escape
    assert b"\\ud83d" in generic
    assert post_signed(client, "generic", generic).status_code == 200
    drain_intake(stack)
    routed = {m["mention"]["id"]: m["mention"]["text"] for m in bodies(stack["support"])}
    assert routed["x:1992000000000000001"].endswith("order \uffff\ufffe")  # as the author wrote
    assert routed["forum:1"] == "my order never came \ufffd and nobody answers"
    assert receive_all(stack["intake-dlq"]) == []
