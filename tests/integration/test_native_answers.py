"""The brand answering on the platform itself (X's app, the Page inbox, another tool), not
through Switchboard: the SLA clock stops, the departments hear of it, conversations continue.
And, either way, one answer answers everything the customer wrote before it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.devstack import scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.stores.provision import create_queues
from tests.helpers import food_safety_thread, sample_bytes
from tests.integration.conftest import bodies, post_signed, receive_all
from tests.integration.test_replies import AUTH, drain_outbox, get, reply
from tests.integration.test_routing_flow import drain_intake

CASE = "x:1992000000000000002"  # the food-safety post: pr, copied to support
BRAND_X = "2244994945"


def deliver(client: Client, stack: dict[str, str], platform: str, body: bytes) -> None:
    assert post_signed(client, platform, body).status_code == 200
    drain_intake(stack)


def brand_post(post_id: str, replying_to: str, text: str, at: str = "08:30") -> bytes:
    """An Account Activity delivery of the brand's own reply, posted `at` on 22 November."""
    tweet = {
        "created_at": f"Sun Nov 22 {at}:00 +0000 2026",
        "id_str": post_id,
        "text": text,
        "in_reply_to_status_id_str": replying_to,
        "user": {"id_str": BRAND_X, "screen_name": "AcmeHelp"},
    }
    return json.dumps({"for_user_id": BRAND_X, "tweet_create_events": [tweet]}).encode()


def test_an_answer_posted_on_x_stops_the_sla_clock_and_tells_the_departments(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    deliver(client, stack, "x", food_safety_thread(0))
    assert len(receive_all(stack["pr"])) == len(receive_all(stack["support"])) == 1
    for _ in range(2):  # X retried the brand's post: one copy each
        deliver(client, stack, "x", food_safety_thread(1))
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["mention"]["id"] == CASE and "answered" in copy["routing"]["tags"]
        assert copy["routing"]["department"] == "pr"  # the case, unchanged
    record = get(client, f"/mentions/{CASE}")
    assert record["first_response_at"] == "2026-11-22T08:06:00Z"  # when the brand posted
    assert record["response_seconds"] == 60
    assert record["first_response_post"] == "x:1992000000000000003"  # and which post it was
    # posted hours ago, so overdue by now, but answered: nothing to escalate
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }


def test_a_customer_answering_the_brands_post_continues_the_case(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(
        client, stack, "x", food_safety_thread(0, 1)
    )  # the post and the brand's answer, one delivery
    follow_up = json.loads(sample_bytes("x_late_delivery.json"))
    tweet = follow_up["tweet_create_events"][0]
    tweet |= {
        "id_str": "1992000000000000888",
        "text": "@AcmeHelp sent you the receipt. Who pays the hospital bill?",
        "in_reply_to_status_id_str": "1992000000000000003",  # the brand's answer
        "in_reply_to_user_id_str": BRAND_X,
    }
    deliver(client, stack, "x", json.dumps(follow_up).encode())
    routing = get(client, "/mentions/x:1992000000000000888")["message"]["routing"]
    assert routing["conversation"] == {"mention_id": CASE, "department": "pr"}
    assert routing["department"] == "pr"


def test_answering_someone_who_joined_a_thread_leaves_the_first_customer_waiting(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "x", food_safety_thread(0))
    joined = json.loads(sample_bytes("x_late_delivery.json"))  # danakim, not samortega_news
    joined["tweet_create_events"][0] |= {
        "id_str": "1992000000000000889",
        "text": "@samortega_news @AcmeHelp same here after the Leeds store, awful",
        "in_reply_to_status_id_str": CASE[2:],
    }
    deliver(client, stack, "x", json.dumps(joined).encode())
    joiner = get(client, "/mentions/x:1992000000000000889")
    assert joiner["message"]["routing"]["conversation"]["mention_id"] == CASE
    deliver(client, stack, "x", brand_post("1992000000000000890", "1992000000000000889", "DM us"))
    assert get(client, "/mentions/x:1992000000000000889")["first_response_at"] is not None
    assert get(client, f"/mentions/{CASE}")["first_response_at"] is None  # Sam still waits


def test_the_echo_of_a_reply_sent_through_switchboard_is_no_news(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "x", food_safety_thread(0))
    receive_all(stack["pr"])
    _, queued = reply(client, {"mention_id": CASE, "text": "So sorry. Please DM us."})
    drain_outbox(stack)
    sent = get(client, f"/replies/{queued['reply_id']}")
    first = get(client, f"/mentions/{CASE}")["first_response_at"]
    deliver(client, stack, "x", brand_post(sent["platform_reply_id"], CASE[2:], "So sorry."))
    assert bodies(stack["pr"]) == []  # the department sent it: no "answered" copy
    assert get(client, f"/mentions/{CASE}")["first_response_at"] == first


def test_an_answer_to_anything_else_changes_nothing(client: Client, stack: dict[str, str]) -> None:
    """The brand replying to a post Switchboard never routed (a friend's, its own)."""
    deliver(client, stack, "x", brand_post("1992000000000000901", "1234", "Thanks Jo!"))
    headers = {"Authorization": "Bearer test-admin-token"}
    for post in ("x:1234", "x:1992000000000000901"):
        assert client.http.get(f"/mentions/{post}", headers=headers).status_code == 404
    assert all(bodies(stack[d]) == [] for d in ("pr", "support", "marketing", "triage"))


AN_HOUR_AGO = int(time.time() - 3600) * 1000  # one moment for every message of the module
"""Epoch milliseconds the test conversations start at (inside Messenger's reply window)."""


def messenger(mid: str, text: str, minutes: int, echo: bool = False, app: int = 1) -> bytes:
    """A Messenger delivery: a customer's message, or (echo) the Page's message to them, sent
    `minutes` after AN_HOUR_AGO (with `app`, the app that sent it)."""
    at = AN_HOUR_AGO + minutes * 60_000
    customer, page = {"id": "7010000000000001"}, {"id": "448242228374517"}
    message = {"mid": mid, "text": text} | ({"is_echo": True, "app_id": app} if echo else {})
    event = {
        "sender": page if echo else customer,
        "recipient": customer if echo else page,
        "timestamp": at,
        "message": message,
    }
    entry = {"id": page["id"], "time": at, "messaging": [event]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def test_one_message_from_the_page_answers_everything_the_customer_wrote_before_it(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 0))
    deliver(client, stack, "meta", messenger("m2", "hello?? anyone there", 20))
    deliver(client, stack, "meta", messenger("m3", "Sorry! Looking now", 30, echo=True))
    for mid, seconds in (("m1", 1800), ("m2", 600)):
        record = get(client, f"/mentions/messenger:{mid}")
        assert record["response_seconds"] == seconds
    copies = bodies(stack["support"])[-2:]  # the latest first, back along the conversation
    assert [m["mention"]["id"] for m in copies] == ["messenger:m2", "messenger:m1"]
    assert all(m["routing"]["tags"][-1] == "answered" for m in copies)


def test_a_reply_through_switchboard_to_the_last_message_answers_the_earlier_ones_too(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 0))
    deliver(client, stack, "meta", messenger("m2", "hello?? anyone there", 20))
    _, queued = reply(client, {"mention_id": "messenger:m2", "text": "Sorry! Looking now."})
    drain_outbox(stack)
    answered = get(client, f"/replies/{queued['reply_id']}")["answered"]
    assert answered == ["messenger:m2", "messenger:m1"]
    assert len(fakes.accepted("graph")) == 1
    for mid in ("m1", "m2"):
        assert get(client, f"/mentions/messenger:{mid}")["first_response_at"] is not None
    assert all("answered" not in m["routing"]["tags"] for m in bodies(stack["support"]))


PRIYA = "whatsapp:wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhggQkQ3RjE0MkE1QjQ2RjlDMzA5QTk1RkE2OTdDNTZEMEEA"


def business_app_echoes(*echoes: dict[str, Any]) -> bytes:
    """A WhatsApp `smb_message_echoes` delivery: what the business wrote in the WhatsApp
    Business app on the number it also uses through the Cloud API (as Meta documents it)."""
    number = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    value = {"messaging_product": "whatsapp", "metadata": number, "message_echoes": list(echoes)}
    change = {"field": "smb_message_echoes", "value": value}
    entry = {"id": "102290129340398", "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def test_a_whatsapp_answer_written_in_the_business_app_stops_the_clock(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", sample_bytes("meta_whatsapp.json"))  # Priya's lost order
    receive_all(stack["support"])
    sent: dict[str, Any] = {"from": "15550783881", "to": "+44 7700 900123"}  # as typed
    unsent = {**sent, "id": "wamid.E1", "timestamp": "1795336400", "type": "revoke"}
    unsent["revoke"] = {"original_message_id": "wamid.E0"}
    liked = {**sent, "id": "wamid.E3", "timestamp": "1795336500", "type": "reaction"}
    liked["reaction"] = {"message_id": PRIYA.removeprefix("whatsapp:"), "emoji": "\U0001f44d"}
    sent["type"] = "text"
    answer = {**sent, "id": "wamid.E2", "timestamp": "1795336700", "text": {"body": "On it!"}}
    deliver(client, stack, "meta", business_app_echoes(unsent, liked, answer))
    record = get(client, f"/mentions/{PRIYA}")
    assert (record["response_seconds"], record["first_response_post"]) == (600, "whatsapp:wamid.E2")
    [copy] = bodies(stack["support"])
    assert copy["mention"]["id"] == PRIYA and copy["routing"]["tags"][-1] == "answered"


DANA, CHASE = "x:1992000000000000001", "x:1992000000000000005"  # her late order, chased


@pytest.fixture
def chased(client: Client, stack: dict[str, str]) -> None:
    """Dana's late order (support), then her new post chasing it before anyone answered."""
    for sample in ("x_late_delivery.json", "x_chasing.json"):
        deliver(client, stack, "x", sample_bytes(sample))
    receive_all(stack["support"])


@pytest.mark.usefixtures("chased")
def test_answering_a_customer_who_chased_answers_the_case_she_chased(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    _, queued = reply(client, {"mention_id": CHASE, "text": "Sorry Dana, order 88213 ships today."})
    drain_outbox(stack)
    assert get(client, f"/replies/{queued['reply_id']}")["answered"] == [CHASE, DANA]
    [posted] = fakes.accepted("x")
    assert posted.body["reply"] == {"in_reply_to_tweet_id": CHASE[2:]}  # one answer, to the chase
    [answer] = {get(client, f"/mentions/{case}")["first_response_post"] for case in (DANA, CHASE)}
    assert answer is not None and answer.startswith("x:")
    assert get(client, "/departments/support/waiting")["waiting"] == []


@pytest.mark.usefixtures("chased", "fakes")
def test_answering_the_earlier_case_leaves_the_later_one_waiting(
    client: Client, stack: dict[str, str]
) -> None:
    """Whoever answers the earlier case has not read the later post, which may ask something
    new: it keeps its own place on the clock (nothing a customer asked is dropped unread)."""
    _, queued = reply(client, {"mention_id": DANA, "text": "Sorry Dana, it ships today."})
    drain_outbox(stack)
    assert get(client, f"/replies/{queued['reply_id']}")["answered"] == [DANA]
    [waiting] = get(client, "/departments/support/waiting")["waiting"]
    assert waiting["id"] == CHASE


@pytest.mark.usefixtures("chased")
def test_the_brands_answer_on_x_to_the_chase_tells_support_both_are_answered(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "x", brand_post("1992000000000000950", CHASE[2:], "On it!", "09:50"))
    copies = bodies(stack["support"])
    assert [m["mention"]["id"] for m in copies] == [CHASE, DANA]
    assert all(m["routing"]["tags"][-1] == "answered" for m in copies)
    assert get(client, f"/mentions/{DANA}")["first_response_at"] == "2026-11-22T09:50:00Z"


def test_a_chased_case_in_another_department_still_waits_for_its_own_answer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    handover = json.dumps({"to": "pr", "reason": "she is a journalist"}).encode()
    assert (
        client.http.post(f"/mentions/{DANA}/transfer", headers=AUTH, body=handover).status_code
        == 200
    )
    deliver(client, stack, "x", sample_bytes("x_chasing.json"))
    assert (
        get(client, f"/mentions/{CHASE}")["message"]["routing"]["history"]["cases"][0]["department"]
        == "pr"
    )
    reply(client, {"mention_id": CHASE, "text": "Sorry Dana, order 88213 ships today."})
    drain_outbox(stack)
    assert get(client, f"/mentions/{DANA}")["first_response_at"] is None  # PR still answers hers
    [waiting] = get(client, "/departments/pr/waiting")["waiting"]
    assert waiting["id"] == DANA


@pytest.mark.usefixtures("chased")
def test_a_chased_case_someone_took_is_not_answered_by_someone_else(client: Client) -> None:
    headers = {**AUTH, "X-Switchboard-Author": "maya"}
    assert (
        client.http.post(f"/mentions/{DANA}/take", headers=headers, body=b"{}").status_code == 200
    )
    body = json.dumps({"mention_id": CHASE, "text": "On it"}).encode()
    response = client.http.post(
        "/replies", headers={**AUTH, "X-Switchboard-Author": "sam"}, body=body
    )
    assert response.status_code == 409
    assert json.loads(response.body)["message"].startswith(f"{DANA} is taken by maya until ")


def test_an_answer_whose_copy_cannot_be_sent_is_retried_before_anything_is_recorded(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    deliver(client, stack, "x", food_safety_thread(0))
    aws.sqs().delete_queue(QueueUrl=stack["support"])
    handler = app.handler_map["route_mentions"]
    body = json.dumps(
        {
            "platform": "x",
            "body": food_safety_thread(1).decode(),
            "received_at": datetime.now(UTC).isoformat(),
        }
    )
    event = {"Records": [{"messageId": "a1", "receiptHandle": "r1", "body": body}]}
    assert handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "a1"}]}
    assert get(client, f"/mentions/{CASE}")["first_response_at"] is None  # still on the clock

    stack.update(create_queues(aws.sqs(), wiring.get_settings()))
    wiring.reset()
    assert handler(event, None) == {"batchItemFailures": []}
    assert "answered" in bodies(stack["support"])[-1]["routing"]["tags"]
    assert get(client, f"/mentions/{CASE}")["response_seconds"] == 60


LEE = "122131676912594941_1213590066982748"
PAGE = {"id": "448242228374517", "name": "Acme"}


def page_comment(comment_id: str, author: dict[str, str], text: str, minutes: int) -> bytes:
    """A Page feed delivery: a comment under Lee's comment on the Page's post (Facebook threads
    are two levels deep: every reply names the first comment as its parent)."""
    sample = json.loads(sample_bytes("meta_page_comments.json"))
    entry = sample["entry"][0]
    value = {
        **entry["changes"][0]["value"],
        "from": author,
        "comment_id": comment_id,
        "message": text,
        "parent_id": LEE,
        "created_time": entry["changes"][0]["value"]["created_time"] + minutes * 60,
    }
    change = {"field": "feed", "value": value}
    return json.dumps({"object": "page", "entry": [{**entry, "changes": [change]}]}).encode()


def test_the_pages_second_answer_in_a_thread_answers_the_customers_follow_up(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", sample_bytes("meta_page_comments.json"))  # Lee: pr, support
    lee = {"id": "6543210987654321", "name": "Lee Brennan"}
    deliver(client, stack, "meta", page_comment("122_1", PAGE, "So sorry Lee, DM us?", 5))
    deliver(client, stack, "meta", page_comment("122_2", lee, "Sent. Still no answer!", 30))
    follow_up = get(client, "/mentions/facebook:122_2")
    assert follow_up["message"]["routing"]["conversation"]["mention_id"] == f"facebook:{LEE}"
    assert follow_up["first_response_at"] is None
    deliver(client, stack, "meta", page_comment("122_3", PAGE, "Got it, refund on its way", 40))
    assert get(client, "/mentions/facebook:122_2")["response_seconds"] == 600
    assert get(client, f"/mentions/facebook:{LEE}")["response_seconds"] == 300  # the first one


def test_an_answer_handled_before_its_case_was_routed_answers_it_when_it_is(
    client: Client, stack: dict[str, str]
) -> None:
    """The customer's delivery came late (retried, or the X poller caught it up): the brand's
    answer, handled first, waits for it."""
    deliver(client, stack, "x", food_safety_thread(1))
    deliver(client, stack, "x", food_safety_thread(0))
    record = get(client, f"/mentions/{CASE}")
    assert record["response_seconds"] == 60
    assert record["first_response_post"] == "x:1992000000000000003"
    assert "answered" in bodies(stack["pr"])[-1]["routing"]["tags"]


def test_a_message_sent_before_the_customers_does_not_answer_it(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", messenger("m9", "Your refund is on its way", 0, echo=True))
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 5))
    assert get(client, "/mentions/messenger:m1")["first_response_at"] is None
    deliver(client, stack, "meta", messenger("m10", "Sorry! Looking now", 9, echo=True))
    deliver(client, stack, "meta", messenger("m2", "and the tracking page is down", 8))
    assert get(client, "/mentions/messenger:m1")["response_seconds"] == 9 * 60 - 5 * 60


def worker_environment(**settings: str) -> Iterator[None]:
    """The routing worker reads these settings; the next test's worker reads its own."""
    os.environ.update(settings)
    wiring.reset()
    yield


@pytest.fixture
def a_chatbot() -> Iterator[None]:
    """The Page runs a chatbot, app 909 (AUTOMATED_APPS), beside its people in the inbox."""
    yield from worker_environment(AUTOMATED_APPS="909")


@pytest.mark.usefixtures("a_chatbot")
def test_a_chatbots_greeting_is_no_answer_but_a_persons_message_is(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 0))
    greeting = "Thanks for your message! We usually reply within a few hours."
    deliver(client, stack, "meta", messenger("m2", greeting, 0, echo=True, app=909))
    case = get(client, "/mentions/messenger:m1")
    assert case["first_response_at"] is None  # still waiting for a person
    assert [m["routing"]["tags"] for m in bodies(stack["support"])] == [["problem"]]  # no news
    waiting = get(client, "/departments/support/waiting")["waiting"]
    assert [r["id"] for r in waiting] == ["messenger:m1"]  # on the clock
    deliver(client, stack, "meta", messenger("m3", "So sorry! Checking now", 70, echo=True))
    assert get(client, "/mentions/messenger:m1")["first_response_post"] == "messenger:m3"
    assert get(client, "/departments/support/waiting")["waiting"] == []


@pytest.fixture
def slack_staff() -> Iterator[None]:
    """U0ACMESTAFF answers for the brand on Slack (BRAND_ACCOUNTS)."""
    yield from worker_environment(BRAND_ACCOUNTS="U0ACMESTAFF")


@pytest.mark.usefixtures("slack_staff")
def test_a_thread_reply_of_one_of_the_brands_people_on_slack_answers_the_message(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "slack", sample_bytes("slack_app_mention.json"))
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    payload["event_id"] = "Ev0SLACK0002"
    payload["event"] |= {
        "type": "message",
        "user": "U0ACMESTAFF",
        "text": "Looking at it now, sorry! Which browser?",
        "ts": "1795336300.000400",
        "thread_ts": "1795336000.000200",
    }
    deliver(client, stack, "slack", json.dumps(payload).encode())
    record = wiring.mentions().get("slack:C0COMMUNITY/1795336000.000200")
    assert record is not None and round(record.response_seconds or 0) == 300  # five minutes
    assert record.first_response_post == "slack:C0COMMUNITY/1795336300.000400"
    assert wiring.mentions().get("slack:C0COMMUNITY/1795336300.000400") is None  # not a mention
