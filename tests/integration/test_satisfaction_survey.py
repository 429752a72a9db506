"""A reply sent with `survey` is followed by SATISFACTION_SURVEY; the customer's rating goes on
the case and into the department's report, and a bare rating opens no new case."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.services.survey import rating_key, surveyed
from chalicelib.settings import Settings
from tests.helpers import emitted_by_department
from tests.integration.conftest import bodies, receive_all
from tests.integration.test_away_messages import CUSTOMER, SENT_TO, page_message
from tests.integration.test_native_answers import deliver, messenger
from tests.integration.test_replies import (
    AUTH,
    drain_outbox,
    get,
    reply,
    routed,
    two_days_old_message,
    whatsapp_message,
)
from tests.integration.test_rules_cli import run

SURVEY = "Hi {name}, how did we do? Reply with a number from 1 (poor) to 5 (great)."


@pytest.fixture
def surveying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATISFACTION_SURVEY", SURVEY)
    wiring.reset()


def sent_to_customer(fakes: FakePlatforms) -> list[str]:
    return [
        r.body["message"]["text"]
        for r in fakes.accepted("graph")
        if r.path == SENT_TO and r.body["recipient"] == {"id": CUSTOMER}
    ]


def tapped(mid: str, title: str, minutes: int) -> bytes:
    """The customer tapping the quick reply titled `title`: Messenger posts the title as their
    message, with the button's payload."""
    delivery = json.loads(messenger(mid, title, minutes))
    message = delivery["entry"][0]["messaging"][0]["message"]
    message["quick_reply"] = {"payload": f"SWITCHBOARD_{title}"}
    return json.dumps(delivery).encode()


def answered_with_survey(client: Client, stack: dict[str, str]) -> dict[str, Any]:
    """Dana's lost parcel, answered with the survey; the reply."""
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 40))
    status, queued = reply(
        client, {"mention_id": "messenger:m1", "text": "Found it, arriving today!", "survey": True}
    )
    assert status == 202, queued
    drain_outbox(stack)
    receive_all(stack["support"])
    return queued


@pytest.mark.usefixtures("surveying")
def test_the_survey_follows_the_reply_and_a_bare_rating_goes_on_the_case(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answered_with_survey(client, stack)
    assert sent_to_customer(fakes) == [
        "Found it, arriving today!",
        "Hi there, how did we do? Reply with a number from 1 (poor) to 5 (great).",
    ]
    [_, asked] = [r.body for r in fakes.accepted("graph") if r.path == SENT_TO]
    assert asked["message"]["quick_replies"] == [  # one tap answers
        {"content_type": "text", "title": str(n), "payload": f"SWITCHBOARD_{n}"}
        for n in range(1, 6)
    ]
    survey = get(client, "/mentions/messenger:m1/replies")["replies"][1]
    assert (survey["author"], survey["automatic"], survey["answered"]) == (
        "satisfaction-survey",
        True,
        [],
    )

    capsys.readouterr()
    deliver(client, stack, "meta", tapped("m2", "5", 50))
    # the dashboard's average score by department
    assert emitted_by_department(capsys.readouterr().out, "SatisfactionScore") == {"support": [5.0]}

    case = get(client, "/mentions/messenger:m1")
    assert case["rating"] == 5 and case["rated_at"] is not None
    rating = get(client, "/mentions/messenger:m2")
    assert rating["status"] == "ignored"
    assert rating["message"]["routing"]["rates"] == {
        "case": "messenger:m1",
        "score": 5,
        "department": "support",
        "agent": "admin",  # who sent the reply the survey followed
    }
    routing = rating["message"]["routing"]
    assert (routing["decided_by"], routing["tags"], routing["conversation"]) == (
        "satisfaction-survey",
        [],  # no `follow-up`: the rules' say is set aside
        None,
    )
    assert [rule["id"] for rule in routing["matched_rules"]] == ["satisfaction-survey"]
    assert receive_all(stack["support"]) == []  # nobody needs to read a "5"
    assert get(client, "/departments/support/waiting")["waiting"] == []
    assert get(client, "/ignored")["ignored"] == []  # nothing there to rescue
    report = get(client, "/departments/support/report")
    assert (report["rated"], report["satisfaction"], report["satisfied"]) == (1, 5.0, 1.0)
    assert (report["surveyed"], report["response_rate"]) == (1, 1.0)
    assert report["by_agent"] == [
        {"agent": "admin", "rated": 1, "satisfaction": 5.0, "satisfied": 1.0}
    ]


@pytest.mark.usefixtures("surveying")
def test_a_rating_with_more_to_say_reaches_the_department_and_counts(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    answered_with_survey(client, stack)
    deliver(client, stack, "meta", messenger("m2", "2, it still has not come", 50))

    [copy] = bodies(stack["support"])
    assert copy["mention"]["text"] == "2, it still has not come"
    assert copy["routing"]["rates"]["score"] == 2
    assert copy["routing"]["conversation"]["mention_id"] == "messenger:m1"
    waiting = get(client, "/departments/support/waiting")["waiting"]
    assert [w["id"] for w in waiting] == ["messenger:m2"]
    assert get(client, "/mentions/messenger:m1")["rating"] == 2
    report = get(client, "/departments/support/report")
    assert (report["rated"], report["satisfaction"], report["satisfied"]) == (1, 2.0, 0.0)
    # the survey is answered: a second number is a message like any other
    deliver(client, stack, "meta", messenger("m3", "4", 55))
    assert get(client, "/mentions/messenger:m3")["message"]["routing"]["rates"] is None
    assert get(client, "/mentions/messenger:m1")["rating"] == 2


@pytest.mark.usefixtures("surveying")
def test_a_later_reply_closes_the_survey_so_a_number_answers_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    answered_with_survey(client, stack)
    reply(client, {"mention_id": "messenger:m1", "text": "Oh, and how many were missing?"})
    drain_outbox(stack)
    deliver(client, stack, "meta", messenger("m2", "3", 50))
    assert get(client, "/mentions/messenger:m2")["message"]["routing"]["rates"] is None
    assert get(client, "/mentions/messenger:m1")["rating"] is None


@pytest.mark.usefixtures("surveying")
def test_the_echo_of_the_survey_in_flight_answers_nothing(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """Messenger echoes the Page's message, maybe before the worker has linked its post: the
    customer's question written meanwhile still waits for a person."""
    from tests.integration.test_replies import reply_service

    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 40))
    reply(client, {"mention_id": "messenger:m1", "text": "Found it!", "survey": True})
    [queued] = receive_all(stack["outbox"])
    reply_service().send(queued["Body"])  # the reply is posted; the survey waits its turn
    [survey] = [r for r in wiring.replies().to_mention("messenger:m1") if r.automatic]
    deliver(client, stack, "meta", messenger("m2", "wait, which address?", 55))
    assert wiring.replies().start_sending(survey.reply_id, datetime.now(UTC), timedelta(minutes=1))
    deliver(client, stack, "meta", page_message("m_echo", survey.text, time.time()))
    assert get(client, "/mentions/messenger:m2")["first_response_at"] is None


@pytest.mark.usefixtures("surveying")
def test_without_a_survey_a_number_is_a_message_like_any_other(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "meta", messenger("m1", "How many parcels can I send at once?", 40))
    reply(client, {"mention_id": "messenger:m1", "text": "How many do you have?"})
    drain_outbox(stack)
    deliver(client, stack, "meta", messenger("m2", "5", 50))

    assert sent_to_customer(fakes) == ["How many do you have?"]
    record = get(client, "/mentions/messenger:m2")
    assert record["status"] == "routed"
    assert record["message"]["routing"]["rates"] is None
    assert get(client, "/mentions/messenger:m1")["rating"] is None


def test_a_survey_needs_a_question_and_a_direct_conversation(
    client: Client, stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 40))
    body = {"mention_id": "messenger:m1", "text": "Found it!", "survey": True}
    status, problem = reply(client, body)
    assert (status, problem["message"]) == (
        400,
        "no SATISFACTION_SURVEY is set: there is no question to ask",
    )
    monkeypatch.setenv("SATISFACTION_SURVEY", SURVEY)
    wiring.reset()
    routed(client, stack, "x", "x_late_delivery.json")  # a public post
    body = {"mention_id": "x:1992000000000000001", "text": "Sorry!", "survey": True}
    status, problem = reply(client, body)
    assert status == 400
    assert problem["message"] == "the satisfaction survey is asked in a direct conversation only"
    assert get(client, "/mentions/x:1992000000000000001/replies")["replies"] == []


def test_a_survey_that_cannot_be_filled_stops_the_app() -> None:
    with pytest.raises(ValueError, match="SATISFACTION_SURVEY") as raised:
        Settings.from_env({"SATISFACTION_SURVEY": "How did we do? We open {opens}"})
    assert "unknown placeholder {opens}; use {name}, {handle}" in str(raised.value)


@pytest.mark.usefixtures("surveying")
def test_a_customer_over_24_hours_ago_gets_no_automatic_survey(
    client: Client, stack: dict[str, str]
) -> None:
    """Meta's HUMAN_AGENT tag carries a person's message only."""
    two_days_old_message()
    body = {"mention_id": "messenger:m_2d", "text": "Yes: it ships today.", "survey": True}
    status, problem = reply(client, body)
    assert status == 400 and "over 24 hours ago" in problem["message"]


@pytest.mark.usefixtures("surveying")
def test_forgetting_the_customer_closes_their_survey(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    from tests.integration.test_forgetting_authors import forget

    answered_with_survey(client, stack)
    key, now = rating_key(f"messenger:dm/{CUSTOMER}"), datetime.now(UTC)
    held = wiring.mentions().held(key, now)
    assert held is not None and surveyed(held[0]).case == "messenger:m1"
    assert forget(client, f"messenger:{CUSTOMER}", {"reason": "request #7"})[0] == 200
    assert wiring.mentions().held(key, now) is None


@pytest.mark.usefixtures("surveying")
def test_the_survey_from_the_shell(
    api_url: str,
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "maya")
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 40))
    code, out = run(
        "reply", "messenger:m1", "Found it!", "--survey", "--wait", "0", "--url", api_url
    )
    assert code == 0 and out.endswith(": queued\n")
    drain_outbox(stack)
    assert sent_to_customer(fakes)[1].startswith("Hi there, how did we do?")
    deliver(client, stack, "meta", messenger("m2", "4/5", 50))
    code, out = run("mention", "messenger:m1", "--url", api_url)
    [rated] = [line for line in out.splitlines() if line.startswith("  rated: ")]
    assert code == 0 and rated.endswith("(4 of 5 by the customer, asked by the survey)")
    code, out = run("report", "support", "--url", api_url)
    assert out.splitlines()[-2:] == [
        "  satisfaction    100% satisfied (4 or 5 of 5), average 4.0  (1 answer to 1 survey)",
        "    maya          100% satisfied, average 4.0  (1)",
    ]


@pytest.mark.usefixtures("surveying")
def test_on_whatsapp_the_scores_come_as_a_list_to_tap(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "meta", whatsapp_message("My order 1182 never arrived.", 1))
    [case] = bodies(stack["support"])
    case_id = case["mention"]["id"]
    body = {"mention_id": case_id, "text": "Found it, arriving today!", "survey": True}
    assert reply(client, body)[0] == 202
    drain_outbox(stack)
    [answer, survey] = [r.body for r in fakes.accepted("graph") if r.path.endswith("/messages")]
    assert answer["type"] == "text"
    assert survey["type"] == "interactive"
    assert survey["interactive"]["body"]["text"].startswith("Hi ")
    rows = survey["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == ["1", "2", "3", "4", "5"]

    tap = json.loads(whatsapp_message("", 0))
    [message] = tap["entry"][0]["changes"][0]["value"]["messages"]
    message.pop("text")
    message["id"] += "-tap"
    message |= {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": rows[3]}}
    deliver(client, stack, "meta", json.dumps(tap).encode())
    assert get(client, f"/mentions/{case_id}")["rating"] == 4
    assert bodies(stack["support"]) == []


def test_a_survey_that_is_a_saved_reply_asks_in_the_customers_language(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATISFACTION_SURVEY", "template:csat")
    wiring.reset()
    deliver(client, stack, "meta", messenger("m1", "Hola, mi paquete no ha llegado todavía", 40))
    assert get(client, "/mentions/messenger:m1")["message"]["routing"]["signals"]["lang"] == "es"
    body = {"mention_id": "messenger:m1", "text": "¡Lo encontramos!", "survey": True}
    status, problem = reply(client, body)
    assert status == 400 and "the saved reply 'csat', and there is none" in problem["message"]

    csat = {
        "text": "How did we do? 1 (poor) to 5 (great). ^{agent}",
        "language": "en",
        "translations": {"es": "¿Qué tal lo hicimos? De 1 (mal) a 5 (muy bien). ^{agent}"},
    }
    saved = client.http.put("/templates/csat", headers=AUTH, body=json.dumps(csat).encode())
    assert saved.status_code == 200, saved.body
    assert reply(client, body)[0] == 202
    drain_outbox(stack)
    assert sent_to_customer(fakes)[1] == "¿Qué tal lo hicimos? De 1 (mal) a 5 (muy bien). ^admin"


@pytest.mark.parametrize(
    ("setting", "problem"),
    [("template:", "names no template id"), ("template:CSAT!", "names no template id")],
)
def test_a_survey_naming_no_template_id_stops_the_app(setting: str, problem: str) -> None:
    with pytest.raises(ValueError, match="SATISFACTION_SURVEY") as raised:
        Settings.from_env({"SATISFACTION_SURVEY": setting})
    assert problem in str(raised.value)
