"""The operator's dead letters: `switchboard dlq QUEUE` shows why, `--redrive` moves them back."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib import aws
from chalicelib.cli import main
from chalicelib.settings import get_settings
from chalicelib.stores.provision import create_queues
from chalicelib.stores.queues import receive_each
from tests.helpers import sample_bytes
from tests.integration.conftest import bodies, receive_all
from tests.integration.test_routing_flow import drain_intake, raw


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


@pytest.fixture
def dead_letters(stack: dict[str, str]) -> dict[str, str]:
    """intake-dlq holds a poison record (sent there by the worker with its reason), a good
    delivery that failed a fifth time while the support queue was gone (sent there by the worker
    with that failure), and one SQS moved there itself (its worker timed out)."""
    from app import app

    handler = app.handler_map["route_mentions"]
    poison = {"messageId": "m-poison", "receiptHandle": "r1", "body": raw("myspace", "{}")}
    assert handler({"Records": [poison]}, None) == {"batchItemFailures": []}
    good = raw("x", sample_bytes("x_late_delivery.json").decode())
    for receives in (4, 5):
        failing = {
            "messageId": "m-good",
            "receiptHandle": "r2",
            "body": good,
            "attributes": {"ApproximateReceiveCount": str(receives)},
        }
        aws.sqs().delete_queue(QueueUrl=stack["support"])
        failed = handler({"Records": [failing]}, None)["batchItemFailures"]
        assert failed == ([{"itemIdentifier": "m-good"}] if receives == 4 else [])
        stack.update(create_queues(aws.sqs(), get_settings()))  # the same URLs
    aws.sqs().send_message(
        QueueUrl=stack["intake-dlq"],
        MessageBody=raw("x", sample_bytes("x_praise_quote.json").decode()),
        MessageAttributes={"platform": {"DataType": "String", "StringValue": "x"}},
    )
    return stack


def test_dlq_shows_each_message_with_what_it_is_and_why(dead_letters: dict[str, str]) -> None:
    code, out = run("dlq", "intake")
    assert code == 0
    assert "why: unknown platform 'myspace'" in out
    assert "myspace delivery received 2026-11-22T09:00:00+00:00" in out
    assert "why: failed 5 times, the last: cannot send to support" in out
    assert "why: moved by the redrive policy (its worker never returned: a timeout?)" in out
    assert out.count("x delivery received") == 2
    assert out.rstrip().endswith("3 message(s) in switchboard-intake-dlq")
    assert len(receive_all(dead_letters["intake-dlq"])) == 3  # reading leaves them there


def test_dlq_json_prints_each_dead_letter_for_scripts(
    dead_letters: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("dlq", "intake", "--json")
    letters = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(letters) == 3
    assert {"message_id", "dead_lettered_at", "what", "why", "body", "moved_back"} == set(
        letters[0]
    )
    assert any(letter["why"].startswith("unknown platform 'myspace'") for letter in letters)
    assert not any(letter["moved_back"] for letter in letters)
    assert capsys.readouterr().err == "3 message(s) in switchboard-intake-dlq\n"


def test_redrive_routes_what_can_be_routed_and_the_poison_comes_back_with_its_reason(
    dead_letters: dict[str, str],
) -> None:
    code, out = run("dlq", "intake", "--redrive")
    assert code == 0 and "moved 3 message(s) from switchboard-intake-dlq" in out
    moved = list(receive_each(aws.sqs(), dead_letters["intake"], limit=5, visibility=0))
    assert len(moved) == 3
    assert all("error" not in m.get("MessageAttributes", {}) for m in moved)
    assert receive_all(dead_letters["intake-dlq"]) == []
    drain_intake(dead_letters)
    [routed] = bodies(dead_letters["support"])
    assert routed["mention"]["id"] == "x:1992000000000000001"
    code, out = run("dlq", "intake")
    assert "why: unknown platform 'myspace'" in out and "1 message(s)" in out


def test_dlq_of_an_unknown_queue_names_the_known_ones(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("dlq", "sales", "--json") == (2, "")  # an error, never in what a script reads
    said = capsys.readouterr().err
    assert said.startswith("error: unknown queue 'sales'") and "'intake'" in said
    assert "'outbox'" in said


def test_dlq_says_what_a_department_or_outbox_message_is(stack: dict[str, str]) -> None:
    from chalicelib.models import RoutedMention

    routed = RoutedMention.model_validate(
        {
            "mention": {"id": "x:7", "platform": "x", "text": "where is my order"},
            "routing": {"department": "support"},
            "reply": {"mention_id": "x:7"},
        }
    )
    for queue, body in (
        ("support-dlq", routed.to_json()),
        ("outbox-dlq", '{"reply_id": "r_42"}'),
        ("outbox-dlq", "not json at all"),
    ):
        aws.sqs().send_message(QueueUrl=stack[queue], MessageBody=body)
    assert "mention x:7 routed to support" in run("dlq", "support")[1]
    out = run("dlq", "outbox")[1]
    assert "reply r_42" in out and "unreadable body: 'not json at all'" in out


def test_queues_shows_each_queues_depth_and_exits_1_while_a_dead_letter_queue_holds_any(
    stack: dict[str, str],
) -> None:
    assert run("queues") == (
        0,
        "queue      waiting  in flight  delayed  dead-lettered\n"
        "intake           0          0        0              0\n"
        "support          0          0        0              0\n"
        "pr               0          0        0              0\n"
        "marketing        0          0        0              0\n"
        "triage           0          0        0              0\n"
        "outbox           0          0        0              0\n",
    )
    sqs = aws.sqs()
    sqs.send_message(QueueUrl=stack["support"], MessageBody="{}")
    sqs.send_message(QueueUrl=stack["support"], MessageBody="{}")
    sqs.send_message(QueueUrl=stack["outbox"], MessageBody="{}", DelaySeconds=600)
    sqs.send_message(QueueUrl=stack["outbox-dlq"], MessageBody="{}")
    code, out = run("queues")
    lines = out.splitlines()
    assert code == 1
    assert lines[2] == "support          2          0        0              0"
    assert lines[6] == "outbox           0          0        1              1"
    assert lines[-1] == "dead-lettered in outbox: `switchboard dlq QUEUE` says why (--redrive)"
    code, out = run("queues", "--json")
    depths = json.loads(out)["queues"]
    assert code == 1  # the same exit status for a health check
    assert depths["support"] == {"waiting": 2, "in_flight": 0, "delayed": 0, "dead_lettered": 0}
    assert depths["outbox"] == {"waiting": 0, "in_flight": 0, "delayed": 1, "dead_lettered": 1}
