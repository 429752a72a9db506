"""A department's workflow from the shell: `switchboard inbox` and `switchboard reply`."""

from __future__ import annotations

import json
import threading

import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import Mention, ReplyPointer, RoutedMention, Routing
from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed, receive_all
from tests.integration.test_replies import drain_outbox
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

LATE = "x:1992000000000000001"


def test_inbox_shows_what_waits_and_ack_takes_it_off_the_queue(
    client: Client, stack: dict[str, str]
) -> None:
    assert post_signed(client, "x", sample_bytes("x_late_delivery.json")).status_code == 200
    drain_intake(stack)
    code, out = run("inbox", "support")
    assert code == 0 and out.startswith(f"[NORMAL] {LATE}  x/mention in en  by danakim")
    assert out.rstrip().endswith("1 mention(s) in switchboard-support")
    assert "1 mention(s)" in run("inbox", "support")[1]  # reading leaves it there
    assert "1 mention(s)" in run("inbox", "support", "--ack")[1]
    assert run("inbox", "support")[1].strip() == "0 mention(s) in switchboard-support"


def test_inbox_json_prints_each_department_message_as_queued(
    client: Client, stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert post_signed(client, "x", sample_bytes("x_late_delivery.json")).status_code == 200
    drain_intake(stack)
    code, out = run("inbox", "support", "--json")
    [message] = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and message["schema"] == "switchboard.routed-mention/v1"
    assert (message["mention"]["id"], message["routing"]["department"]) == (LATE, "support")
    assert capsys.readouterr().err == "1 mention(s) in switchboard-support\n"  # not in the JSON


def test_reading_an_inbox_shows_all_of_it_and_never_dead_letters_it(
    client: Client, stack: dict[str, str]
) -> None:
    """A receive counts towards the queue's redrive policy (5): a lead who looked at the inbox
    five times used to send every waiting mention to the dead-letter queue; and a queue read
    without holding what it showed returned the same ten messages each time."""
    sqs = aws.sqs()
    message = RoutedMention(
        mention=Mention(id="x:1", platform="x", text="where is my order?"),
        routing=Routing(department="support"),
        reply=ReplyPointer(mention_id="x:1"),
    )
    for n in range(25):
        copy = message.model_copy(
            update={"mention": message.mention.model_copy(update={"id": f"x:{n}"})}
        )
        sqs.send_message(QueueUrl=stack["support"], MessageBody=copy.model_dump_json())
    for _ in range(7):
        assert run("inbox", "support")[1].rstrip().endswith("25 mention(s) in switchboard-support")
    assert receive_all(stack["support-dlq"]) == []
    shown = run("inbox", "support", "--ack")[1]
    assert len({line.split()[1] for line in shown.splitlines() if line.startswith("[")}) == 25
    assert run("inbox", "support")[1].strip() == "0 mention(s) in switchboard-support"


def notes(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The notes the CLI printed on stderr (the local server logs its requests there too)."""
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]


def outbox_worker(stack: dict[str, str]) -> threading.Thread:
    """What `make run` runs beside the API: sends what the outbox gets within 10 seconds."""

    def send() -> None:
        drain_outbox(stack, patience=10)

    worker = threading.Thread(target=send)
    worker.start()
    return worker


def test_reply_waits_for_the_send_and_says_where_it_went(
    api_url: str,
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert post_signed(client, "x", sample_bytes("x_late_delivery.json")).status_code == 200
    drain_intake(stack)
    worker = outbox_worker(stack)
    code, out = run("reply", LATE, "Sorry Dana! DM us your order number.", "--url", api_url)
    worker.join()
    assert code == 0
    queued, sent = out.splitlines()
    assert queued.startswith("r_") and queued.endswith(": queued")
    assert sent.startswith("sent to x: https://x.com/i/status/")
    assert [r.body["text"] for r in fakes.accepted("x")] == ["Sorry Dana! DM us your order number."]
    assert notes(capsys) == []  # the first answer: nothing to say

    worker = outbox_worker(stack)  # a colleague, a minute later
    code, out = run("reply", LATE, "Hi Dana, any news?", "--url", api_url)
    worker.join()
    [note] = notes(capsys)
    assert code == 0 and out.splitlines()[1].startswith("sent to x: ")  # sent all the same
    assert note.startswith(f"note: {LATE} was answered at ") and " by admin (x:" in note
    assert note.endswith("this reply is sent as well")

    code, _ = run("reply", "x:404", "hi", "--url", api_url)
    assert code == 1 and "no routed mention 'x:404'" in capsys.readouterr().err


def test_a_reply_the_platform_refuses_says_why_and_exits_1(
    api_url: str, client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert post_signed(client, "x", sample_bytes("x_late_delivery.json")).status_code == 200
    drain_intake(stack)
    fakes.fail_next(403, {"title": "Forbidden", "detail": "You are not allowed to reply"})
    worker = outbox_worker(stack)
    code, out = run(
        "reply", LATE, "Sorry Dana!", "--idempotency-key", "ticket-881", "--url", api_url
    )
    worker.join()
    queued, failed = out.splitlines()
    assert code == 1 and queued.endswith(": queued")
    assert failed == "failed: 403 Forbidden: You are not allowed to reply"  # X's words, one line
    tried = len(fakes.requests)
    code, out = run(
        "reply", LATE, "Sorry Dana!", "--idempotency-key", "ticket-881", "--url", api_url
    )
    assert code == 1  # the same key names the same reply, which is not tried again
    assert out.splitlines() == [queued.replace("queued", "failed"), failed]
    assert len(fakes.requests) == tried and fakes.accepted("x") == []


def test_a_reply_to_a_customer_chasing_says_it_answered_her_earlier_case_too(
    api_url: str, client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    for sample in ("x_late_delivery.json", "x_chasing.json"):
        assert post_signed(client, "x", sample_bytes(sample)).status_code == 200
        drain_intake(stack)
    worker = outbox_worker(stack)
    code, out = run("reply", "x:1992000000000000005", "Sorry Dana, it ships", "--url", api_url)
    worker.join()
    _, sent, *also = out.splitlines()
    assert code == 0 and sent.startswith("sent to x: ")
    assert also == [  # with what she said there, in case it was something else
        "answered with it (off the SLA clock too):",
        f"  {LATE}  @AcmeHelp my order #88213 never arrived and nobody answers my emails."
        " Where is it?",
    ]
    code, out = run("mention", "x:1992000000000000005", "--url", api_url)
    [said] = [line for line in out.splitlines() if line.startswith("  reply: ")]
    assert code == 0 and said.endswith(" by admin: sent: Sorry Dana, it ships)")  # what she read


def test_reply_sends_a_whatsapp_template_after_24_hours(
    api_url: str, client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert post_signed(client, "meta", sample_bytes("meta_whatsapp.json")).status_code == 200
    drain_intake(stack)
    [message] = receive_all(stack["support"])
    mention_id = json.loads(message["Body"])["mention"]["id"]
    code, _ = run("reply", mention_id, "--whatsapp-template", "order_update", "--url", api_url)
    assert code == 2  # no language: nothing sent
    worker = outbox_worker(stack)
    template = ("--whatsapp-template", "order_update", "--language", "en_US")
    code, out = run(
        "reply", mention_id, *template, "--param", "Priya", "--param", "1182", "--url", api_url
    )
    worker.join()
    assert code == 0 and out.splitlines()[1].startswith("sent to whatsapp: wamid.")
    [sent] = fakes.accepted("graph")
    assert sent.body["template"]["name"] == "order_update"
    assert [p["text"] for p in sent.body["template"]["components"][0]["parameters"]] == [
        "Priya",
        "1182",
    ]


def test_cases_lists_what_an_author_opened(
    api_url: str, client: Client, stack: dict[str, str]
) -> None:
    for sample in ("x_late_delivery.json", "x_chasing.json"):  # Dana, twice
        assert post_signed(client, "x", sample_bytes(sample)).status_code == 200
        drain_intake(stack)
    code, out = run("cases", "x:1158276305785221121", "--url", api_url)
    assert code == 0
    title, newest, first = out.splitlines()
    assert title == "2 case(s) opened by x:1158276305785221121"
    assert newest.startswith("x:1992000000000000005  support  waiting  routed ")
    assert first.startswith(f"{LATE}  support  waiting  routed ")
