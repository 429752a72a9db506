"""A customer writing in a direct conversation while the department is closed gets the away
message (AWAY_MESSAGE) at once, saying when it opens; the case stays on the clock."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.settings import Settings
from tests.helpers import sample_bytes
from tests.integration.test_native_answers import deliver, messenger
from tests.integration.test_replies import drain_outbox, get

AWAY = "Hi {name}, thanks for writing! We're closed now and answer from {opens}."
CUSTOMER, PAGE = "7010000000000001", "448242228374517"
SENT_TO = "/graph/v25.0/448242228374517/messages"


def opening_in_three_days() -> tuple[str, datetime]:
    """Support's hours (UTC): one day a week, three days from today, so it is closed now
    whenever the test runs; and when it opens next."""
    today = datetime.now(UTC)
    day = today + timedelta(days=3)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    opens = day.replace(hour=9, minute=0, second=0, microsecond=0)
    return f"{weekday} 09:00-17:00", opens


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch, fakes: FakePlatforms) -> datetime:
    """Support closed until three days from now, with an away message; when it opens."""
    hours, opens = opening_in_three_days()
    monkeypatch.setenv("SLA_DEPARTMENT_HOURS", f'{{"support": "{hours}"}}')
    monkeypatch.setenv("AWAY_MESSAGE", AWAY)
    wiring.reset()
    return opens


def away_messages(fakes: FakePlatforms) -> list[str]:
    return [
        r.body["message"]["text"]
        for r in fakes.accepted("graph")
        if r.path == SENT_TO and r.body["recipient"] == {"id": CUSTOMER}
    ]


def test_a_message_while_closed_is_answered_at_once_and_stays_on_the_clock(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, closed: datetime
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 55))
    drain_outbox(stack)
    when = f"{closed:%A} {closed.day} {closed:%B} at 09:00"
    assert away_messages(fakes) == [
        f"Hi there, thanks for writing! We're closed now and answer from {when}."
    ]
    [said] = get(client, "/mentions/messenger:m1/replies")["replies"]
    assert (said["author"], said["automatic"], said["status"]) == ("away-message", True, "sent")
    assert said["answered"] == []
    case = get(client, "/mentions/messenger:m1")
    assert case["first_response_at"] is None  # nobody has answered yet
    assert [r["id"] for r in get(client, "/departments/support/waiting")["waiting"]] == [
        "messenger:m1"
    ]
    deliver(client, stack, "meta", messenger("m2", "hello??", 56))  # before the opening
    drain_outbox(stack)
    assert len(away_messages(fakes)) == 1  # one a closed spell


def test_the_away_message_answers_in_the_customers_language_where_it_has_a_text_in_it(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    closed: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    by_language = {
        "en": AWAY,
        "es": "Hola {name}, gracias por escribir. Estamos cerrados; respondemos desde el {opens}.",
    }
    monkeypatch.setenv("AWAY_MESSAGE", json.dumps(by_language))
    wiring.reset()
    spanish = "Hola, mi paquete se perdió y nadie me responde. ¿Dónde está mi pedido 5521?"
    deliver(client, stack, "meta", messenger("m1", spanish, 55))
    drain_outbox(stack)
    from chalicelib.services.away import opening  # its written forms: tests/unit/test_away.py

    assert away_messages(fakes) == [
        "Hola, gracias por escribir. Estamos cerrados; respondemos desde el"  # nameless
        f" {opening(closed, 'es')}."
    ]


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            '{"en": "Closed until {opens}", "spanish": "Cerrado"}',
            "AWAY_MESSAGE spanish: a language",
        ),
        ('{"en": "Closed until {opens}", "es": " "}', "AWAY_MESSAGE es is empty"),
        ('{"es": "Cerrado hasta {abre}"}', "AWAY_MESSAGE es: unknown placeholder {abre}"),
        ('{"en": "Closed"', "AWAY_MESSAGE is not JSON (Expecting ',' delimiter"),
    ],
)
def test_an_away_message_by_language_that_cannot_be_sent_stops_the_app(
    given: str, problem: str
) -> None:
    with pytest.raises(ValueError, match="away_message") as raised:
        Settings.from_env({"AWAY_MESSAGE": given})
    assert problem in str(raised.value)


def test_the_echo_of_the_away_message_in_flight_answers_nothing(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, closed: datetime
) -> None:
    """Messenger echoes the Page's message, maybe before the worker has linked its post."""
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 55))
    [reply] = wiring.replies().to_mention("messenger:m1")
    assert wiring.replies().start_sending(reply.reply_id, datetime.now(UTC), timedelta(minutes=1))
    deliver(client, stack, "meta", page_message("m_echo", reply.text, time.time()))
    assert get(client, "/mentions/messenger:m1")["first_response_at"] is None


def test_an_answer_written_before_the_away_message_is_an_answer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, closed: datetime
) -> None:
    """The agent on call answered in Meta's inbox a minute before Switchboard routed the
    message: a delivery that comes while the away message is being posted is still theirs."""
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 55))
    [reply] = wiring.replies().to_mention("messenger:m1")
    assert wiring.replies().start_sending(reply.reply_id, datetime.now(UTC), timedelta(minutes=1))
    deliver(client, stack, "meta", page_message("m_agent", "On it, Dana", time.time() - 60))
    assert get(client, "/mentions/messenger:m1")["first_response_at"] is not None


def page_message(mid: str, text: str, at: float) -> bytes:
    """The Page's message to the customer (Messenger's echo of it), sent at `at` (epoch s)."""
    delivery = json.loads(messenger(mid, text, 0, echo=True))
    moment = int(at * 1000)
    delivery["entry"][0]["time"] = delivery["entry"][0]["messaging"][0]["timestamp"] = moment
    return json.dumps(delivery).encode()


@pytest.mark.usefixtures("closed")
@pytest.mark.parametrize(
    ("sample", "mention_id"),
    [
        # X's DM from Sunday morning, delivered now: "we're closed" would be news to no one
        ("x_dm_refund.json", "x:1992000000000000100"),
        ("x_late_delivery.json", "x:1992000000000000001"),  # a public post
    ],
    ids=["delivered late", "public"],
)
def test_late_messages_and_public_posts_get_no_away_message(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, sample: str, mention_id: str
) -> None:
    deliver(client, stack, "x", sample_bytes(sample))
    drain_outbox(stack)
    assert fakes.accepted("x") == [] and wiring.replies().to_mention(mention_id) == []


def test_an_urgent_message_gets_no_away_message_however_closed(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Urgent cases keep their round-the-clock deadline: telling that customer "we're closed
    until Monday" would be wrong, and someone is paged instead."""
    hours, _ = opening_in_three_days()
    monkeypatch.setenv("SLA_BUSINESS_HOURS", hours)  # every department closed now
    monkeypatch.setenv("AWAY_MESSAGE", AWAY)
    wiring.reset()
    harm = "Your chicken put my son in hospital with food poisoning"
    deliver(client, stack, "meta", messenger("m1", harm, 55))
    drain_outbox(stack)
    record = get(client, "/mentions/messenger:m1")["message"]["routing"]
    assert (record["department"], record["priority"]) == ("pr", "urgent")
    assert away_messages(fakes) == []


def test_a_department_open_around_the_clock_sends_none(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWAY_MESSAGE", AWAY)  # and no business hours
    wiring.reset()
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 55))
    drain_outbox(stack)
    assert away_messages(fakes) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Back at {open}", "unknown placeholder {open}; use {name}, {handle}, {opens}"),
        ("Thanks ^{agent}", "unknown placeholder {agent}"),
        ("Closed {", "Single '{' encountered"),
    ],
)
def test_an_away_message_that_cannot_be_filled_stops_the_app(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="AWAY_MESSAGE") as raised:
        Settings.from_env({"AWAY_MESSAGE": text})
    assert problem in str(raised.value)


def test_forgetting_the_customer_drops_the_hold_that_names_them(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, closed: datetime
) -> None:
    from chalicelib.services.away import away_key
    from tests.integration.test_forgetting_authors import forget

    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 55))
    key, now = away_key(f"messenger:dm/{CUSTOMER}"), datetime.now(UTC)
    assert wiring.mentions().held(key, now) is not None
    assert forget(client, f"messenger:{CUSTOMER}", {"reason": "request #7"})[0] == 200
    assert wiring.mentions().held(key, now) is None
