"""The buttons on Slack alerts: Slack posts the press (a signed form with a `block_actions`
payload) to /webhooks/slack/actions; "Take it" takes the case for whoever pressed it, "Approve"
approves a reply waiting for approval, "Reject…" opens a modal (`views.open`) whose reason,
sent (`view_submission`), rejects it; the alert then says what became of it (`chat.update`),
or the presser alone is told why not (`chat.postEphemeral`). The fake Slack API checks each
call, and the blocks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from app import app
from chalicelib import aws, wiring
from chalicelib.demo import signed_headers
from chalicelib.devstack import scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.settings import get_settings
from tests.helpers import recent_sample
from tests.integration.conftest import bodies, post_signed, receive_all
from tests.integration.test_alerts import BLENDER, CHANNELS
from tests.integration.test_away_messages import SENT_TO
from tests.integration.test_case_priority import reprioritise
from tests.integration.test_closing_cases import close
from tests.integration.test_forgetting_authors import forget
from tests.integration.test_native_answers import deliver, messenger, worker_environment
from tests.integration.test_replies import deletion, drain_outbox, get, reply, routed
from tests.integration.test_reply_approvals import allegation, as_, drafted, review
from tests.integration.test_reply_templates import call
from tests.integration.test_routing_flow import drain_intake

LATE = "x:1992000000000000001"  # a late delivery: support, normal
PEOPLE = {"maya": "U0MAYA", "sam": "U0SAM"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def buttons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(CHANNELS))
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps(PEOPLE))
    monkeypatch.setenv("ALERT_BUTTONS", "true")
    wiring.reset()


def alerts(fakes: FakePlatforms) -> dict[str, tuple[str, dict[str, Any]]]:
    """The app's Slack messages as they stand now, (ts, message) by channel."""
    return {body["channel"]: (ts, body) for ts, body in fakes.slack_messages.items()}


def blender_alert(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> tuple[str, dict[str, Any]]:
    """The blender that caught fire routed and its alerts sent: its alert in the pr channel."""
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    return alerts(fakes)["C0PRALERTS"]


def pressed(message: tuple[str, dict[str, Any]], user: str, **change: Any) -> bytes:
    """The form Slack posts when `user` presses the message's (first) button."""
    ts, body = message
    button = next(b for b in body["blocks"] if b["type"] == "actions")["elements"][0]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0BRAND"},
        "api_app_id": "A0SWITCH",
        "container": {"type": "message", "message_ts": ts, "channel_id": body["channel"]},
        "channel": {"id": body["channel"], "name": "alerts"},
        "message": {"type": "message", "ts": ts, "text": body["text"], "blocks": body["blocks"]},
        "response_url": "https://hooks.slack.com/actions/T0BRAND/1/abc",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b1",
                "value": button["value"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
        **change,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def chose(message: tuple[str, dict[str, Any]], user: str, item: str) -> bytes:
    """The form Slack posts when `user` chooses `item` (by its label) in the alert's menu."""
    actions = [b for b in message[1]["blocks"] if b["type"] == "actions"]
    [menu] = [e for block in actions for e in block["elements"] if e["type"] == "overflow"]
    option = next(o for o in menu["options"] if o["text"]["text"] == item)
    choice = {"type": "overflow", "action_id": menu["action_id"], "selected_option": option}
    return pressed(message, user, actions=[choice], trigger_id="13345.98.ef")


def layout(message: dict[str, Any]) -> tuple[list[str], str | None]:
    """An alert's blocks by type, and its status line (None: it has none)."""
    blocks, last = message["blocks"], message["blocks"][-1]
    footnote = last["elements"][0]["text"] if last["type"] == "context" else None
    return [block["type"] for block in blocks], footnote


def both(fakes: FakePlatforms) -> list[tuple[list[str], str | None]]:
    """The layout of the blender case's alert in pr's channel and in support's (the copy's)."""
    return [layout(alerts(fakes)[channel][1]) for channel in ("C0PRALERTS", "C0SUPPORTALERTS")]


def buttons_on(message: dict[str, Any]) -> list[str]:
    """What the buttons on an alert do, by their action ids (its menu apart: `menu_on`)."""
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    elements = [element for block in actions for element in block["elements"]]
    return [button["action_id"] for button in elements if button["type"] == "button"]


def took(client: Client, mention_id: str, who: str) -> None:
    """`who` takes the case through the API."""
    taken = client.http.post(f"/mentions/{mention_id}/take", headers=as_(who), body=b"{}")
    assert taken.status_code == 200, taken.body


def press(client: Client, body: bytes, **headers: str) -> Any:
    signed = signed_headers("slack", body, get_settings(), time.time())
    signed.update({"Content-Type": FORM, **headers})
    return client.http.post("/webhooks/slack/actions", headers=signed, body=body)


@pytest.mark.usefixtures("buttons")
def test_pressing_take_it_takes_the_case_and_each_of_its_alerts_says_who_has_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # urgent: pr, copied to support
    drain_outbox(stack)
    posted = alerts(fakes)
    pr_alert = posted["C0PRALERTS"][1]
    section, actions = pr_alert["blocks"]
    assert section["text"] == {"type": "mrkdwn", "text": pr_alert["text"]}
    *shown, menu = actions["elements"]
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in shown] == [
        ("Take it", "take", BLENDER),
        ("Reply…", "reply", BLENDER),
    ]
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [
        ("Hand over…", f"transfer {BLENDER}"),
        ("Give to…", f"give {BLENDER}"),
        ("Priority…", f"priority {BLENDER}"),
        ("Close…", f"close {BLENDER}"),
    ]

    response = press(client, pressed(posted["C0PRALERTS"], "U0MAYA"))
    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "taken", "mention_id": BLENDER, "by": "maya"}
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] == "maya"

    drain_outbox(stack)
    for channel in ("C0PRALERTS", "C0SUPPORTALERTS"):  # the copy's alert too
        ts, changed = alerts(fakes)[channel]
        assert ts == posted[channel][0]  # the same message, changed
        assert changed["text"] == posted[channel][1]["text"]
        types, footnote = layout(changed)
        assert (types, buttons_on(changed)) == (
            ["section", "actions", "context"],
            ["reply", "leave"],
        )
        assert str(footnote).startswith("taken by maya (<@U0MAYA>) until 20")


@pytest.mark.usefixtures("buttons")
def test_a_case_is_handed_over_or_closed_from_the_menu_of_its_alert(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)  # pr's, copied to support
    asked = json.loads(press(client, chose(alert, "U0MAYA", "Hand over…")).body)
    assert asked == {"status": "asked", "mention_id": BLENDER}
    [form] = fakes.slack_views
    assert (form["callback_id"], form["title"]["text"]) == ("transfer", "Hand over")
    _, select, _ = form["blocks"]
    assert [o["value"] for o in select["element"]["options"]] == ["support", "marketing", "triage"]
    unchosen = json.loads(press(client, sent_modal(form, "U0MAYA", "a refund")).body)
    assert unchosen["errors"] == {"choice": "choose the department to have it"}
    unsaid = json.loads(press(client, sent_modal(form, "U0MAYA", " ", "support")).body)
    assert unsaid["errors"] == {"text": "say why: it is kept on the case"}
    why = "a faulty blender to replace, no injury"
    sent = press(client, sent_modal(form, "U0MAYA", why, "support"))
    assert json.loads(sent.body) == {"response_action": "clear"}
    routing = get(client, f"/mentions/{BLENDER}")["message"]["routing"]
    assert (routing["department"], routing["transfers"][-1]["by"]) == ("support", "maya")
    drain_outbox(stack)
    _, footnote = layout(alerts(fakes)["C0PRALERTS"][1])
    assert footnote == f"handed over to support by maya (<@U0MAYA>): {why}"

    press(client, chose(alerts(fakes)["C0PRALERTS"], "U0SAM", "Close…"))
    closing = fakes.slack_views[-1]
    assert (closing["callback_id"], closing["title"]["text"]) == ("close", "Close the case")
    closed = press(client, sent_modal(closing, "U0SAM", "a duplicate of her DM"))
    assert json.loads(closed.body) == {"response_action": "clear"}
    record = get(client, f"/mentions/{BLENDER}")
    assert (record["closed_by"], record["closed_reason"]) == ("sam", "a duplicate of her DM")
    drain_outbox(stack)
    types, footnote = layout(alerts(fakes)["C0PRALERTS"][1])
    assert types == ["section", "context"]  # nothing left to press, nor a menu
    assert str(footnote).endswith("closed by sam (<@U0SAM>): a duplicate of her DM")
    again = json.loads(press(client, chose(alert, "U0MAYA", "Close…")).body)  # a stale alert
    assert again["reason"].startswith(f"{BLENDER} was closed by sam: a duplicate")
    assert again["reason"].endswith(": nothing to close")


@pytest.mark.usefixtures("buttons")
def test_a_lead_gives_a_case_to_a_colleague_from_the_menu_with_a_note_for_them(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = blender_alert(client, stack, fakes)
    press(client, chose(alert, "U0MAYA", "Give to…"))
    [form] = fakes.slack_views
    _, select, field = form["blocks"]
    assert [o["value"] for o in select["element"]["options"]] == ["sam"]  # not maya herself
    assert select["element"]["options"][0]["text"]["text"] == "sam"  # not on shift
    assert field["optional"]  # the note
    on_shift = client.http.post("/departments/pr/shifts", headers=as_("sam"), body=b"{}")
    assert on_shift.status_code == 200
    press(client, chose(alert, "U0MAYA", "Give to…"))
    _, on_roster, _ = fakes.slack_views[-1]["blocks"]
    assert on_roster["element"]["options"][0]["text"]["text"] == "sam · on shift, has 0"
    unchosen = json.loads(press(client, sent_modal(form, "U0MAYA", "call her")).body)
    assert unchosen["errors"] == {"choice": "choose whom to give it to"}
    given = press(client, sent_modal(form, "U0MAYA", "she prefers a call: 0161 496 0000", "sam"))
    assert json.loads(given.body) == {"response_action": "clear"}
    record = get(client, f"/mentions/{BLENDER}")
    assert record["taken_by"] == "sam" and record["notes"][0]["told"] == ["sam"]
    drain_outbox(stack)
    told = [body["text"].split("*:")[0] for body in fakes.slack_messages.values()]
    assert "*[URGENT] a pr case given to you by maya" in told
    assert '*[URGENT] maya noted on your pr case: "she prefers a call: 0161 496 0000"' in told
    _, footnote = layout(alerts(fakes)["C0PRALERTS"][1])
    assert str(footnote).startswith("taken by sam (<@U0SAM>) until 20")

    press(client, chose(alerts(fakes)["C0PRALERTS"], "U0MAYA", "Give to…"))
    taken = json.loads(press(client, sent_modal(fakes.slack_views[-1], "U0MAYA", "", "sam")).body)
    assert taken == {"response_action": "clear"}  # his already: the take is extended
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"maya": "U0MAYA"}))  # nobody else
    wiring.reset()
    alone = json.loads(press(client, chose(alert, "U0MAYA", "Give to…")).body)
    assert alone["reason"] == "AGENT_CHANNELS names nobody else to give it to"


@pytest.mark.usefixtures("buttons")
def test_a_case_given_whose_note_cannot_be_kept_is_given_and_says_so(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)
    for n in range(50):  # as many notes as a case keeps
        noted = json.dumps({"text": f"call {n} logged"}).encode()
        assert client.http.post(f"/mentions/{BLENDER}/notes", headers=as_("lee"), body=noted)
    press(client, chose(alert, "U0MAYA", "Give to…"))
    given = json.loads(press(client, sent_modal(fakes.slack_views[-1], "U0MAYA", "hi", "sam")).body)
    assert given["errors"]["text"].startswith("given to sam, but the note was not kept: ")
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] == "sam"


@pytest.mark.usefixtures("buttons")
def test_a_cases_priority_is_changed_from_the_menu_saying_why(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)  # urgent
    press(client, chose(alert, "U0MAYA", "Priority…"))
    [form] = fakes.slack_views
    _, select, _ = form["blocks"]
    assert [o["value"] for o in select["element"]["options"]] == ["high", "normal", "low"]
    assert select["label"]["text"] == "Its priority instead of urgent"
    unchosen = json.loads(press(client, sent_modal(form, "U0MAYA", "no injury")).body)
    assert unchosen["errors"] == {"choice": "choose its priority"}
    lowered = press(client, sent_modal(form, "U0MAYA", "no injury, a faulty part", "high"))
    assert json.loads(lowered.body) == {"response_action": "clear"}
    routing = get(client, f"/mentions/{BLENDER}")["message"]["routing"]
    assert routing["priority"] == "high"
    assert routing["priority_changes"][-1]["reason"] == "no injury, a faulty part"


@pytest.mark.usefixtures("buttons")
def test_a_press_switchboard_cannot_do_is_answered_to_that_person_alone(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    posted = alerts(fakes)
    assert press(client, pressed(posted["C0PRALERTS"], "U0MAYA")).status_code == 200

    taken = press(client, pressed(posted["C0SUPPORTALERTS"], "U0SAM"))  # the copy's alert
    assert taken.status_code == 200
    refusal = json.loads(taken.body)
    assert (refusal["status"], refusal["value"]) == ("refused", BLENDER)
    assert refusal["reason"].startswith(f"{BLENDER} is taken by maya until ")
    stranger = json.loads(press(client, pressed(posted["C0PRALERTS"], "U0STRANGER")).body)
    assert stranger["reason"] == (
        "Switchboard does not know who you are: an admin adds you to AGENT_CHANNELS as"
        ' {"<your name>": "U0STRANGER"}'
    )
    gone = pressed(
        posted["C0PRALERTS"],
        "U0SAM",
        actions=[{"type": "button", "action_id": "take", "value": "x:404"}],
    )
    assert json.loads(press(client, gone).body)["reason"] == "no routed mention 'x:404'"
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] == "maya"

    drain_outbox(stack)
    told = [
        (r.body["user"], r.body["channel"], r.body["text"])
        for r in fakes.accepted("slack")
        if r.path.endswith("chat.postEphemeral")
    ]
    assert [(user, channel) for user, channel, _ in told] == [
        ("U0SAM", "C0SUPPORTALERTS"),
        ("U0STRANGER", "C0PRALERTS"),
        ("U0SAM", "C0PRALERTS"),
    ]
    assert told[0][2] == refusal["reason"]


@pytest.mark.usefixtures("buttons")
def test_a_case_closed_or_answered_since_its_alert_is_not_taken(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    stale = alerts(fakes)  # as a phone that has not caught up shows them
    as_lee = {"X-Switchboard-Author": "lee"}
    assert close(client, BLENDER, {"reason": "called <them>"}, **as_lee)[0] == 200
    drain_outbox(stack)
    assert both(fakes) == [(["section", "context"], "closed by lee: called &lt;them&gt;")] * 2
    closed = json.loads(press(client, pressed(stale["C0PRALERTS"], "U0MAYA")).body)
    assert closed["reason"] == f"{BLENDER} was closed by lee: called <them>: nothing to take"
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] is None

    routed(client, stack, "x", "x_late_delivery.json")
    reply(client, {"mention_id": LATE, "text": "Sorry, DM us your order number"})
    drain_outbox(stack)
    button = {"type": "button", "action_id": "take", "value": LATE}
    answered = press(client, pressed(stale["C0SUPPORTALERTS"], "U0SAM", actions=[button]))
    assert json.loads(answered.body)["reason"].startswith(f"{LATE} was answered by admin at 20")


@pytest.mark.usefixtures("buttons")
def test_an_alert_follows_its_case_taken_given_back_and_answered_through_the_api(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    as_maya = as_("maya")

    def status() -> tuple[list[str], str | None]:
        """The alert as it stands."""
        drain_outbox(stack)
        return layout(alerts(fakes)["C0PRALERTS"][1])

    took(client, BLENDER, "maya")
    types, footnote = status()
    assert types == ["section", "actions", "context"]
    assert str(footnote).startswith("taken by maya (<@U0MAYA>) until 20")
    left = client.http.post(f"/mentions/{BLENDER}/leave", headers=as_maya, body=b"{}")
    assert left.status_code == 200
    assert status() == (["section", "actions"], None)  # anyone's to take again
    written = client.http.post(
        "/replies", headers=as_maya, body=json.dumps({"mention_id": BLENDER, "text": "On it"})
    )
    assert written.status_code == 202
    types, footnote = status()
    assert types == ["section", "context"]
    assert str(footnote).startswith("answered by maya (<@U0MAYA>) at 20")


@pytest.mark.usefixtures("buttons")
def test_a_take_that_runs_out_by_itself_brings_take_it_back_when_it_does(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    took(client, BLENDER, "maya")
    now = datetime.now(UTC)  # the take cut to two seconds, as if taken half an hour ago
    assert wiring.mentions().take(BLENDER, "maya", now, now + timedelta(seconds=2))
    drain_outbox(stack)
    types, footnote = layout(alerts(fakes)["C0PRALERTS"][1])
    assert (types, str(footnote)[:25]) == (
        ["section", "actions", "context"],
        "taken by maya (<@U0MAYA>)",
    )

    drain_outbox(stack, patience=10)  # nobody does anything: the refresh left for its end
    assert both(fakes) == [(["section", "actions"], None)] * 2
    assert json.loads(press(client, pressed(alerts(fakes)["C0PRALERTS"], "U0SAM")).body)["by"] == (
        "sam"
    )


def given_to_maya(client: Client, stack: dict[str, str]) -> None:
    """maya goes on shift in pr, and the blender case is given to her as it is routed; its
    alerts sent."""
    started = client.http.post("/departments/pr/shifts", headers=as_("maya"), body=b'{"hours": 8}')
    assert started.status_code == 200, started.body
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)


def test_a_case_given_out_on_shift_as_it_is_routed_is_alerted_so_without_take_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(CHANNELS))
    monkeypatch.setenv("ALERT_BUTTONS", "true")
    wiring.reset()
    given_to_maya(client, stack)
    alert = alerts(fakes)["C0PRALERTS"][1]
    assert alert["text"].startswith(
        "*[URGENT] new case for pr (also support), given to maya on shift*"
    )
    assert buttons_on(alert) == ["reply", "leave"]  # no Take it
    assert str(layout(alert)[1]).startswith("taken by maya until 20")
    delayed = aws.sqs().get_queue_attributes(
        QueueUrl=stack["outbox"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
    assert delayed == "1"  # the refresh for when maya's take runs out, sent out of sight


@pytest.mark.usefixtures("buttons")
def test_give_back_frees_the_case_its_presser_has_from_their_own_chat_or_the_channel(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    given_to_maya(client, stack)
    mine = alerts(fakes)["D0MAYA"]  # in the app's direct messages with maya
    assert mine[1]["text"].startswith("*[URGENT] a pr case given to you, on shift*")
    assert buttons_on(mine[1]) == ["reply", "leave"]

    leave = {"type": "button", "action_id": "leave", "value": BLENDER}
    channel = alerts(fakes)["C0PRALERTS"]
    refused = json.loads(press(client, pressed(channel, "U0SAM", actions=[leave])).body)
    assert refused["reason"].startswith(f"{BLENDER} is taken by maya until ")
    assert refused["reason"].endswith(", not by sam")
    given_back = json.loads(press(client, pressed(mine, "U0MAYA", actions=[leave])).body)
    assert given_back == {"status": "given back", "mention_id": BLENDER, "by": "maya"}
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] is None
    drain_outbox(stack)
    assert both(fakes) == [(["section", "actions"], None)] * 2
    assert buttons_on(alerts(fakes)["C0PRALERTS"][1]) == ["take", "reply"]
    assert buttons_on(alerts(fakes)["D0MAYA"][1]) == ["take", "reply"]  # hers changes too


@pytest.mark.usefixtures("buttons")
def test_a_shift_that_ends_lets_its_cases_go_and_their_alerts_say_so_at_once(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    given_to_maya(client, stack)
    assert buttons_on(alerts(fakes)["C0PRALERTS"][1]) == ["reply", "leave"]
    ended = client.http.post("/departments/pr/shifts/end", headers=as_("maya"), body=b"{}")
    assert ended.status_code == 200 and json.loads(ended.body)["released"] == [BLENDER]
    drain_outbox(stack)
    assert buttons_on(alerts(fakes)["C0PRALERTS"][1]) == ["take", "reply"]  # not at the take's end
    assert buttons_on(alerts(fakes)["D0MAYA"][1]) == ["take", "reply"]
    assert get(client, f"/mentions/{BLENDER}")["given_back_by"] is None  # let go, not given back

    again = b'{"hours": 8, "capacity": 3}'  # topped up to three cases
    started = client.http.post("/departments/pr/shifts", headers=as_("maya"), body=again)
    assert started.status_code == 200
    app.handler_map["check_sla"](scheduled_event(), None)  # the minute's top-up
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] == "maya"  # hers again


@pytest.mark.usefixtures("buttons")
def test_the_alert_of_a_case_given_to_someone_changes_in_their_own_chat_when_it_is_answered(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    given_to_maya(client, stack)
    ts, mine = alerts(fakes)["D0MAYA"]
    assert layout(mine)[0] == ["section", "actions", "context"]  # taken by her, Reply…
    written = json.dumps({"mention_id": BLENDER, "text": "So sorry! Please DM us."}).encode()
    assert client.http.post("/replies", headers=as_("maya"), body=written).status_code == 202
    drain_outbox(stack)
    changed_ts, changed = alerts(fakes)["D0MAYA"]
    assert changed_ts == ts  # the same message, changed: nothing left to press
    types, footnote = layout(changed)
    assert types == ["section", "context"]
    assert str(footnote).startswith("answered by maya (<@U0MAYA>) at 20")


@pytest.mark.usefixtures("buttons")
def test_someone_a_note_names_can_take_the_case_from_their_own_chat(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    drain_outbox(stack)
    asked = json.dumps({"text": "@sam can you look at this one? She wrote twice."})
    assert client.http.post(f"/mentions/{LATE}/notes", headers=as_("maya"), body=asked).status_code
    drain_outbox(stack)
    ts, his = alerts(fakes)["D0SAM"]
    assert his["text"].startswith("*[NORMAL] maya named you in a note on a support case")
    assert buttons_on(his) == ["take", "reply"]  # nobody has it: his to take

    assert json.loads(press(client, pressed((ts, his), "U0SAM")).body)["status"] == "taken"
    drain_outbox(stack)
    changed_ts, changed = alerts(fakes)["D0SAM"]
    assert changed_ts == ts  # the same message, changed as the case moved on
    assert buttons_on(changed) == ["reply", "leave"]
    assert str(layout(changed)[1]).startswith("taken by sam (<@U0SAM>) until 20")


@pytest.mark.usefixtures("buttons")
def test_an_sla_breach_alert_can_be_taken_too(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # normal and long overdue
    app.handler_map["check_sla"](scheduled_event(), None)
    drain_outbox(stack)
    breach = alerts(fakes)["C0SUPPORTALERTS"]
    assert breach[1]["text"].startswith("*SLA breached in support*")
    assert json.loads(press(client, pressed(breach, "U0SAM")).body)["by"] == "sam"


@pytest.mark.usefixtures("buttons")
@pytest.mark.parametrize(
    ("change", "headers", "status", "says"),
    [
        ({}, {"X-Slack-Signature": "v0=" + "0" * 64}, 401, "X-Slack-Signature"),
        ({}, {"X-Slack-Request-Timestamp": str(int(time.time()) - 600)}, 401, "five minutes"),
        ({"type": "message_action"}, {}, 400, "not 'message_action'"),
        ({"type": "view_submission"}, {}, 400, "a view_submission payload without 'view'"),
        ({"actions": [{"action_id": "escalate", "value": BLENDER}]}, {}, 400, "no button"),
        ({"actions": []}, {}, 400, "without"),
    ],
)
def test_a_press_that_is_not_slacks_or_not_ours_is_refused_with_a_clear_error(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    change: dict[str, Any],
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    body = pressed(blender_alert(client, stack, fakes), "U0MAYA", **change)
    response = press(client, body, **headers)
    assert response.status_code == status
    assert says in json.loads(response.body)["message"]
    assert get(client, f"/mentions/{BLENDER}")["taken_by"] is None


@pytest.mark.usefixtures("buttons")
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"payload=%7Bnot+json", 400, "not JSON"),
        (b"token=abc", 400, "needs its 'payload'"),
        (b"payload=" + b"%FF" * 4, 400, "URL-encoded form of UTF-8 text"),
        (b"payload=" + b"a" * 3_000_000, 413, "the limit is"),
    ],
)
def test_a_body_that_is_no_interaction_is_refused(
    client: Client, stack: dict[str, str], body: bytes, status: int, says: str
) -> None:
    response = press(client, body)
    assert response.status_code == status
    assert says in json.loads(response.body)["message"]


def test_without_alert_buttons_an_alert_is_text_alone(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(CHANNELS))
    wiring.reset()
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    assert [r.body.get("blocks") for r in fakes.accepted("slack")] == [None, None]


@pytest.fixture
def approvals(buttons: None) -> Iterator[None]:
    """PR's statements need a second person's approval."""
    yield from worker_environment(APPROVAL_DEPARTMENTS="pr")


def waiting_alert(fakes: FakePlatforms) -> tuple[str, dict[str, Any]]:
    """The latest alert of a reply waiting for approval, as it stands."""
    return next(
        (ts, body)
        for ts, body in reversed(fakes.slack_messages.items())
        if "waits for approval" in body["text"]
    )


def draft_now(
    fakes: FakePlatforms, alert: tuple[str, dict[str, Any]]
) -> tuple[list[str], str | None]:
    """The layout of a draft's alert as it stands now: the same Slack message as `alert`,
    changed."""
    ts, changed = waiting_alert(fakes)
    assert ts == alert[0]
    return layout(changed)


def draft_alert(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, text: str
) -> tuple[str, tuple[str, dict[str, Any]]]:
    """maya's draft to the food-safety case in pr, and its alert as posted."""
    allegation(client, stack)
    reply_id = drafted(client, text)
    drain_outbox(stack)
    return reply_id, waiting_alert(fakes)


def sent_modal(
    view: dict[str, Any],
    user: str,
    written: str | Mapping[str, str],
    chosen: str | None = None,
    ticked: tuple[str, ...] = (),
    view_id: str = "V0MODAL",
) -> bytes:
    """The form Slack posts when `user` sends the modal `view` (`view_id`) with `written` in
    its text field (or in each, by block id), the option `chosen` in its select and the boxes
    `ticked`, if it has them."""
    values: dict[str, Any] = {}
    for field in (block for block in view["blocks"] if block["type"] == "input"):
        element = field["element"]
        if element["type"] == "static_select":
            option = next((o for o in element["options"] if o["value"] == chosen), None)
            given = {"type": "static_select", "selected_option": option}
        elif element["type"] == "checkboxes":
            boxes = [o for o in element["options"] if o["value"] in ticked]
            given = {"type": "checkboxes", "selected_options": boxes}
        else:
            typed = written if isinstance(written, str) else written.get(field["block_id"])
            given = {"type": "plain_text_input", "value": typed}
        values[field["block_id"]] = {element["action_id"]: given}
    state = {"values": values}
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "view": {**view, "id": view_id, "state": state},
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.usefixtures("approvals")
def test_approve_on_the_alert_of_a_draft_posts_it_unless_the_author_presses_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    reply_id, alert = draft_alert(client, stack, fakes, "We are looking into it with Leeds.")
    actions = next(b for b in alert[1]["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in actions] == [
        ("Approve", "approve", reply_id),
        ("Reject…", "reject", reply_id),
    ]

    own = json.loads(press(client, pressed(alert, "U0MAYA")).body)  # maya wrote it
    assert own["reason"] == "a reply is approved by someone other than its author"
    approved = json.loads(press(client, pressed(alert, "U0SAM")).body)
    assert approved == {"status": "approved", "reply_id": reply_id, "by": "sam"}
    drain_outbox(stack)
    assert get(client, f"/replies/{reply_id}")["status"] == "sent"
    assert draft_now(fakes, alert) == (["section", "context"], "approved by sam (<@U0SAM>): posted")


@pytest.mark.usefixtures("approvals")
def test_reject_asks_why_in_a_modal_and_the_reason_sent_rejects_the_draft(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    reply_id, alert = draft_alert(client, stack, fakes, "Not our fault, sorry.")
    reject = {"type": "button", "action_id": "reject", "value": reply_id}
    asked = press(client, pressed(alert, "U0SAM", actions=[reject], trigger_id="13345.98.ab"))
    assert json.loads(asked.body) == {"status": "asked", "reply_id": reply_id}
    [view] = fakes.slack_views
    assert (view["callback_id"], view["title"]["text"]) == ("reject", "Reject the reply")
    assert view["blocks"][0]["label"]["text"].startswith("Why must maya's reply not be posted?")
    opened = [r for r in fakes.accepted("slack") if r.path.endswith("views.open")]
    assert opened[0].body["trigger_id"] == "13345.98.ab"

    empty = press(client, sent_modal(view, "U0SAM", "  "))
    assert json.loads(empty.body) == {
        "response_action": "errors",
        "errors": {"text": "say why: the reply's author is told"},
    }
    sent = press(client, sent_modal(view, "U0SAM", "Blames the customer: <b>no</b>"))
    assert json.loads(sent.body) == {"response_action": "clear"}
    rejected = get(client, f"/replies/{reply_id}")
    assert (rejected["status"], rejected["rejected_reason"]) == (
        "rejected",
        "Blames the customer: <b>no</b>",
    )
    drain_outbox(stack)
    rejected_by = "rejected by sam (<@U0SAM>): Blames the customer: &lt;b&gt;no&lt;/b&gt;"
    assert draft_now(fakes, alert) == (["section", "context"], rejected_by)

    again = json.loads(press(client, pressed(alert, "U0LEE", actions=[reject])).body)
    assert (
        again["reason"] == "Switchboard does not know who you are: an admin adds you to"
        ' AGENT_CHANNELS as {"<your name>": "U0LEE"}'
    )
    again = json.loads(press(client, pressed(alert, "U0MAYA", actions=[reject])).body)
    assert again["reason"] == f"reply {reply_id} is rejected, not waiting for approval"
    assert len(fakes.slack_views) == 1  # no modal for a reply reviewed already
    late = json.loads(press(client, sent_modal(view, "U0MAYA", "me too")).body)  # a 2nd modal
    assert late == {"response_action": "clear"}  # rejected already: as it was
    drain_outbox(stack)
    assert draft_now(fakes, alert) == (["section", "context"], rejected_by)
    assert get(client, f"/replies/{reply_id}")["rejected_reason"] == rejected["rejected_reason"]


@pytest.mark.usefixtures("approvals")
def test_a_modal_slack_will_not_open_says_how_to_reject_from_the_cli(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    reply_id, alert = draft_alert(client, stack, fakes, "Not our fault, sorry.")
    reject = {"type": "button", "action_id": "reject", "value": reply_id}
    fakes.fail_next(200, {"ok": False, "error": "expired_trigger_id"})
    refused = press(client, pressed(alert, "U0SAM", actions=[reject]))
    assert json.loads(refused.body)["reason"] == (
        f"Slack would not open the form (expired_trigger_id): `switchboard reject {reply_id}"
        " REASON` does the same"
    )
    assert get(client, f"/replies/{reply_id}")["status"] == "pending"


def reply_pressed(
    message: tuple[str, dict[str, Any]], user: str, mention_id: str = BLENDER
) -> bytes:
    """The form Slack posts when `user` presses "Reply…" on the alert (of `mention_id`)."""
    button = {"type": "button", "action_id": "reply", "value": mention_id}
    return pressed(message, user, actions=[button], trigger_id="13345.98.cd")


def answered(client: Client, mention_id: str) -> list[dict[str, Any]]:
    """The replies written to a mention, oldest first."""
    return list(get(client, f"/mentions/{mention_id}/replies")["replies"])


@pytest.mark.usefixtures("buttons")
def test_reply_on_an_alert_opens_a_modal_under_the_post_and_what_is_sent_answers_the_case(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)
    asked = json.loads(press(client, reply_pressed(alert, "U0MAYA")).body)
    assert asked == {"status": "asked", "mention_id": BLENDER}
    [view] = fakes.slack_views
    about, field, _ = view["blocks"]  # and the box to answer privately
    assert (view["callback_id"], view["title"]["text"]) == ("reply", "Reply")
    assert about["text"]["text"].startswith("*Lee Brennan* wrote:\n> ")
    assert "blender" in about["text"]["text"]
    assert field["label"]["text"] == "Your reply to Lee Brennan, posted on facebook as the brand"
    assert field["element"]["max_length"] == 3000
    opened = [r for r in fakes.accepted("slack") if r.path.endswith("views.open")]
    assert opened[0].body["trigger_id"] == "13345.98.cd"

    empty = json.loads(press(client, sent_modal(view, "U0MAYA", " ")).body)
    assert empty["errors"] == {"text": "write the reply (it is posted on the platform)"}
    text = "So sorry, Lee! Please DM us the blender's order number."
    assert json.loads(press(client, sent_modal(view, "U0MAYA", text)).body) == {
        "response_action": "clear"
    }
    again = press(client, sent_modal(view, "U0MAYA", text))  # Send pressed twice: one reply
    assert json.loads(again.body) == {"response_action": "clear"}
    [written] = answered(client, BLENDER)
    assert (written["author"], written["text"]) == ("maya", text)

    drain_outbox(stack)
    [posted] = [r for r in fakes.accepted("graph") if r.path.endswith("/comments")]
    assert posted.body["message"] == text
    for types, footnote in both(fakes):
        assert types == ["section", "context"]  # nothing left to press
        assert str(footnote).startswith("answered by maya (<@U0MAYA>) at 20")


@pytest.mark.usefixtures("buttons")
def test_the_reply_form_offers_the_saved_replies_filled_in_for_the_customer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    saved = {"text": "So sorry {name}! Please DM us your order number, {handle}."}
    assert call(client, "PUT", "/templates/sorry", saved)[0] == 200
    routed(client, stack, "x", "x_late_delivery.json")  # Dana Kim's late order
    press(client, reply_pressed(blender_alert(client, stack, fakes), "U0MAYA", LATE))
    [view] = fakes.slack_views
    _, select, field = view["blocks"]
    assert select["element"]["options"] == [
        {
            "text": {
                "type": "plain_text",
                "text": "sorry: So sorry Dana Kim! Please DM us your order number, @danakim.",
            },
            "value": "sorry",
        }
    ]
    assert (select["optional"], field["optional"]) == (True, True)  # one or the other

    both_given = json.loads(press(client, sent_modal(view, "U0MAYA", "Hi!", "sorry")).body)
    one_of = "a saved reply (sorry) or your own words: one of them"
    assert both_given["errors"] == {"choice": one_of}  # under the saved replies
    neither = json.loads(press(client, sent_modal(view, "U0MAYA", "")).body)
    assert neither["errors"] == {
        "text": "write the reply (it is posted on the platform), or choose a saved one"
    }
    assert call(client, "DELETE", "/templates/sorry")[0] == 200  # meanwhile
    gone = json.loads(press(client, sent_modal(view, "U0MAYA", "", "sorry")).body)
    assert list(gone["errors"]) == ["choice"]  # said under the saved replies, not the field
    assert gone["errors"]["choice"].startswith("no template 'sorry'")
    assert call(client, "PUT", "/templates/sorry", saved)[0] == 200
    sent = press(client, sent_modal(view, "U0MAYA", "", "sorry"))
    assert json.loads(sent.body) == {"response_action": "clear"}
    [written] = answered(client, LATE)
    assert (written["template"], written["text"]) == (
        "sorry",
        "So sorry Dana Kim! Please DM us your order number, @danakim.",
    )


def boxes(view: dict[str, Any]) -> list[str]:
    """What the boxes a modal has to tick do, by their values."""
    ticks = [b for b in view["blocks"] if b["type"] == "input" and b["block_id"] == "flags"]
    return [option["value"] for block in ticks for option in block["element"]["options"]]


@pytest.mark.usefixtures("buttons")
def test_the_reply_form_answers_a_comment_privately_or_a_message_with_the_survey_when_ticked(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATISFACTION_SURVEY", "How did we do, {name}? Reply 1 (poor) to 5.")
    wiring.reset()
    post_signed(client, "meta", recent_sample("meta_page_comments.json"))  # within 7 days
    drain_intake(stack)
    drain_outbox(stack)
    alert = alerts(fakes)["C0PRALERTS"]
    press(client, reply_pressed(alert, "U0MAYA"))
    [comment_form] = fakes.slack_views
    assert boxes(comment_form) == ["private"]  # a comment: no survey in public
    private = sent_modal(comment_form, "U0MAYA", "We have sent you a message.", None, ("private",))
    assert json.loads(press(client, private).body) == {"response_action": "clear"}
    drain_outbox(stack)
    [message] = [r.body for r in fakes.accepted("graph") if r.path == SENT_TO]
    assert message["recipient"] == {"comment_id": BLENDER.removeprefix("facebook:")}
    assert answered(client, BLENDER)[0]["private"] is True

    deliver(client, stack, "meta", messenger("m_lost", "My parcel is lost, order 5521", 40))
    press(client, reply_pressed(alert, "U0MAYA", "messenger:m_lost"))
    dm_form = fakes.slack_views[-1]
    assert boxes(dm_form) == ["survey"]  # a direct message: no private reply, it is private
    surveyed = sent_modal(dm_form, "U0MAYA", "Found it, arriving today!", None, ("survey",))
    assert json.loads(press(client, surveyed).body) == {"response_action": "clear"}
    drain_outbox(stack)
    said = [r.body["message"]["text"] for r in fakes.accepted("graph") if r.path == SENT_TO]
    assert said[1:] == ["Found it, arriving today!", "How did we do, there? Reply 1 (poor) to 5."]
    assert answered(client, "messenger:m_lost")[0]["survey"] is True


@pytest.mark.usefixtures("buttons")
def test_a_whatsapp_customer_past_24_hours_is_answered_in_a_form_for_an_approved_template(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)
    routed(client, stack, "meta", "meta_whatsapp.json")  # Priya wrote days ago
    [priya] = [
        m["mention"]["id"] for m in bodies(stack["support"]) if "whatsapp" in m["mention"]["id"]
    ]
    asked = json.loads(press(client, reply_pressed(alert, "U0MAYA", priya)).body)
    assert asked == {"status": "asked", "mention_id": priya}
    [form] = fakes.slack_views
    assert form["callback_id"] == "whatsapp-template"
    assert (
        "only a message template approved in WhatsApp Manager" in form["blocks"][0]["text"]["text"]
    )
    fields = [b for b in form["blocks"] if b["type"] == "input"]
    assert [(f["block_id"], f["optional"]) for f in fields] == [
        ("template", False),
        ("language", False),
        ("text", True),
    ]
    assert fields[1]["element"]["initial_value"] == "en"  # her language, to be made en_US

    wrong = {"template": "Order Update", "language": "english", "text": "Priya"}
    refused = json.loads(press(client, sent_modal(form, "U0MAYA", wrong)).body)
    assert refused["response_action"] == "errors"
    assert set(refused["errors"]) == {"template", "language"}
    assert "order_update" in refused["errors"]["template"]
    assert "en_US" in refused["errors"]["language"]
    tabbed = {"template": "order_update", "language": "en_US", "text": "Priya\tDas\n1182"}
    refused = json.loads(press(client, sent_modal(form, "U0MAYA", tabbed)).body)
    assert set(refused["errors"]) == {"text"}
    assert answered(client, priya) == []

    # one WhatsApp does not know: refused on the send, and maya is told, to answer again
    unknown = {"template": "order_shipped", "language": "en_US", "text": "Priya"}
    assert json.loads(press(client, sent_modal(form, "U0MAYA", unknown)).body) == {
        "response_action": "clear"
    }
    drain_outbox(stack)
    [failed] = answered(client, priya)
    assert failed["status"] == "failed"
    told = alerts(fakes)["D0MAYA"]  # her chat with the app
    assert told[1]["text"].startswith(
        f"*[NORMAL] your reply ({failed['reply_id']}) to a support case was not posted:"
        " 404: (#132001) Template name does not exist"
    )
    assert buttons_on(told[1]) == ["take", "reply"]  # the case as it stands: nobody has it

    press(client, reply_pressed(told, "U0MAYA", priya))
    again = fakes.slack_views[-1]
    right = {"template": "order_update", "language": "en_US", "text": " Priya \n\n1182\n"}
    for _ in range(2):  # sent twice (a double click): one reply
        sent_again = sent_modal(again, "U0MAYA", right, view_id="V0AGAIN")
        assert json.loads(press(client, sent_again).body) == {"response_action": "clear"}
    drain_outbox(stack)
    [sent] = [r.body for r in fakes.accepted("graph") if r.body.get("type") == "template"]
    assert sent["template"]["name"] == "order_update"
    assert sent["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Priya"},
        {"type": "text", "text": "1182"},
    ]
    written = answered(client, priya)[1]
    assert (written["author"], written["status"]) == ("maya", "sent")
    assert written["text"] == "[WhatsApp template order_update (en_US)]: Priya | 1182"


@pytest.mark.usefixtures("buttons")
def test_the_whatsapp_template_form_offers_the_accounts_approved_templates(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "WHATSAPP_BUSINESS_ACCOUNT_ID", fakes.credentials.whatsapp_business_account_id
    )
    wiring.reset()
    alert = blender_alert(client, stack, fakes)
    routed(client, stack, "meta", "meta_whatsapp.json")  # Priya wrote days ago, in English
    [priya] = [
        m["mention"]["id"] for m in bodies(stack["support"]) if "whatsapp" in m["mention"]["id"]
    ]
    press(client, reply_pressed(alert, "U0MAYA", priya))
    [form] = fakes.slack_views
    [select] = [b["element"] for b in form["blocks"] if b.get("block_id") == "choice"]
    assert [(o["value"], o["text"]["text"]) for o in select["options"]] == [
        (
            "order_update en_US 2",
            "order_update (en_US): Hi {{1}}, here is the latest on your order {{2}}.",
        ),
        ("order_update es 2", "order_update (es): Hola {{1}}, novedades de tu pedido {{2}}."),
    ]  # hers first; one with named variables, which Switchboard does not fill in, left out
    fields = [b["block_id"] for b in form["blocks"] if b["type"] == "input"]
    assert fields == ["choice", "text"]  # no name or language to type

    assert json.loads(press(client, sent_modal(form, "U0MAYA", "Priya")).body)["errors"] == {
        "choice": "choose the template"
    }
    short = json.loads(
        press(client, sent_modal(form, "U0MAYA", "Priya", "order_update en_US 2")).body
    )
    assert short["errors"] == {"text": "order_update (en_US) takes 2 value(s), one a line: 1 given"}
    sent = sent_modal(form, "U0MAYA", "Priya\n1182", "order_update en_US 2")
    assert json.loads(press(client, sent).body) == {"response_action": "clear"}
    drain_outbox(stack)
    calls = fakes.accepted("graph")
    [listed] = [r for r in calls if r.path.endswith("/102290129340398/message_templates")]
    assert (listed.method, listed.query["status"]) == ("GET", "APPROVED")
    [posted] = [r.body for r in calls if isinstance(r.body, dict) and r.body.get("type")]
    assert (posted["template"]["name"], posted["template"]["language"]["code"]) == (
        "order_update",
        "en_US",
    )
    assert answered(client, priya)[0]["status"] == "sent"


@pytest.mark.usefixtures("buttons")
def test_no_form_opens_for_a_message_its_platform_takes_no_reply_to_any_more(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    alert = blender_alert(client, stack, fakes)
    deliver(client, stack, "meta", messenger("m_old", "Hello? Anyone?", -8 * 24 * 60))
    stale = json.loads(press(client, reply_pressed(alert, "U0MAYA", "messenger:m_old")).body)
    assert stale["reason"] == (
        "messenger:m_old: the message is over 7 days old: Meta allows no reply any more"
    )
    assert fakes.slack_views == []  # no form to write in vain


@pytest.mark.usefixtures("buttons")
def test_a_reply_that_cannot_be_written_is_refused_to_its_writer_or_shown_in_the_modal(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    routed(client, stack, "x", "x_late_delivery.json")
    drain_outbox(stack)
    alert = alerts(fakes)["C0PRALERTS"]
    assert json.loads(press(client, reply_pressed(alert, "U0MAYA", LATE)).body)["status"] == "asked"
    [x_view] = fakes.slack_views
    too_long = json.loads(press(client, sent_modal(x_view, "U0MAYA", "sorry " * 60)).body)
    assert "280" in too_long["errors"]["text"]
    took(client, LATE, "sam")  # meanwhile
    taken = json.loads(press(client, sent_modal(x_view, "U0MAYA", "Sorry!")).body)
    assert taken["errors"]["text"].startswith(f"{LATE} is taken by sam until ")
    assert answered(client, LATE) == []

    assert close(client, BLENDER, {"reason": "a duplicate"}, **as_("lee"))[0] == 200
    closed = json.loads(press(client, reply_pressed(alert, "U0SAM")).body)
    assert closed["reason"] == f"{BLENDER} was closed by lee: a duplicate: nothing to answer"
    assert len(fakes.slack_views) == 1  # no modal for it


@pytest.mark.usefixtures("buttons")
def test_a_case_someone_else_took_can_be_answered_anyway_from_its_form_when_ticked(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """As `switchboard reply --force`: the form says who has it, and answers only if told to."""
    routed(client, stack, "meta", "meta_page_comments.json")  # an alert to press on
    routed(client, stack, "x", "x_late_delivery.json")
    drain_outbox(stack)
    took(client, LATE, "sam")
    asked = json.loads(
        press(client, reply_pressed(alerts(fakes)["C0PRALERTS"], "U0MAYA", LATE)).body
    )
    assert asked["status"] == "asked"
    [view] = fakes.slack_views
    [boxes] = [b for b in view["blocks"] if b.get("block_id") == "flags"]
    assert [o["text"]["text"] for o in boxes["element"]["options"]] == [
        "Answer anyway (force): sam has it"
    ]
    untold = json.loads(press(client, sent_modal(view, "U0MAYA", "Sorry!")).body)
    assert untold["errors"]["text"].startswith(f"{LATE} is taken by sam until ")
    assert answered(client, LATE) == []
    press(client, reply_pressed(alerts(fakes)["C0PRALERTS"], "U0SAM", LATE))
    assert all(b.get("block_id") != "flags" for b in fakes.slack_views[-1]["blocks"])  # theirs
    sent = press(client, sent_modal(view, "U0MAYA", "Sorry!", ticked=("anyway",)))
    assert json.loads(sent.body) == {"response_action": "clear"}
    [written] = answered(client, LATE)
    assert (written["author"], written["text"]) == ("maya", "Sorry!")


@pytest.mark.usefixtures("approvals")
def test_a_reply_written_in_an_alert_to_a_case_needing_approval_waits_for_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    press(client, reply_pressed(alerts(fakes)["C0PRALERTS"], "U0MAYA"))
    [view] = fakes.slack_views
    sent = press(client, sent_modal(view, "U0MAYA", "We are looking into the blender."))
    [written] = answered(client, BLENDER)
    assert written["status"] == "pending"
    notice = json.loads(sent.body)  # the form says so instead of closing
    assert (notice["response_action"], notice["view"]["title"]["text"]) == (
        "update",
        "Waiting for approval",
    )
    assert notice["view"]["blocks"][0]["text"]["text"] == (
        f"Your reply ({written['reply_id']}) waits for a second person's approval in pr: it is"
        " posted once approved, and you are told."
    )
    drain_outbox(stack)
    ts, waiting = waiting_alert(fakes)
    assert buttons_on(waiting) == ["approve", "reject"]
    assert json.loads(press(client, pressed((ts, waiting), "U0SAM")).body)["by"] == "sam"


def test_an_interaction_that_is_not_a_form_is_refused_as_such(
    client: Client, stack: dict[str, str]
) -> None:
    body = json.dumps({"type": "block_actions"}).encode()
    response = press(client, body, **{"Content-Type": "application/json"})
    assert response.status_code == 415
    assert json.loads(response.body)["message"] == (
        "application/json is not read here; send application/x-www-form-urlencoded"
    )


@pytest.mark.usefixtures("buttons")
def test_an_author_forgotten_is_no_longer_quoted_in_the_alerts_of_their_case(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    assert len(wiring.mentions().alerts_of(BLENDER)) == 2
    forgotten = forget(client, "facebook:6543210987654321", {"reason": "asked by e-mail"})
    assert forgotten[0] == 200
    assert wiring.mentions().alerts_of(BLENDER) == []  # at once, not when Slack is told
    drain_outbox(stack)
    for channel in ("C0PRALERTS", "C0SUPPORTALERTS"):
        changed = alerts(fakes)[channel][1]
        assert changed["text"] == (
            f"*a pr case that was erased at its author's request*: `switchboard mention {BLENDER}`"
        )
        assert [block["type"] for block in changed["blocks"]] == ["section"]
    assert "caught fire" not in json.dumps(fakes.slack_messages)


def test_a_post_its_author_deleted_is_no_longer_quoted_in_its_alert(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(CHANNELS))
    monkeypatch.setenv("ALERT_PRIORITY", "normal")
    wiring.reset()
    routed(client, stack, "x", "x_late_delivery.json")
    drain_outbox(stack)
    assert "never arrived" in alerts(fakes)["C0SUPPORTALERTS"][1]["text"]
    assert post_signed(client, "x", deletion(LATE.removeprefix("x:"))).status_code == 200
    drain_intake(stack)
    drain_outbox(stack)
    assert alerts(fakes)["C0SUPPORTALERTS"][1]["text"] == (
        f"*a support case that was deleted by its author*: `switchboard mention {LATE}`"
    )
    assert wiring.mentions().alerts_of(LATE) == []


@pytest.mark.usefixtures("buttons")
def test_an_alert_of_a_case_someone_has_is_posted_saying_so_without_take_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # normal: no alert
    took(client, LATE, "maya")
    raised = reprioritise(client, LATE, {"priority": "urgent", "reason": "a wholesale customer"})
    assert raised[0] == 200
    drain_outbox(stack)
    alert = alerts(fakes)["C0SUPPORTALERTS"][1]
    assert alert["text"].startswith("*[URGENT] a support case raised to urgent by lee")
    assert buttons_on(alert) == ["reply", "leave"]
    assert str(layout(alert)[1]).startswith("taken by maya (<@U0MAYA>)")


@pytest.mark.usefixtures("buttons")
def test_an_alert_deleted_in_slack_does_not_keep_the_others_of_its_case_from_changing(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    took(client, BLENDER, "maya")
    fakes.fail_next(200, {"ok": False, "error": "message_not_found"})  # the first one it changes
    drain_outbox(stack)
    tried = [r.body["channel"] for r in fakes.requests if r.path.endswith("chat.update")]
    assert sorted(tried) == ["C0PRALERTS", "C0SUPPORTALERTS"]  # the second after the refusal
    assert receive_all(stack["outbox-dlq"]) == []


@pytest.mark.usefixtures("approvals")
def test_the_alert_of_a_draft_approved_from_the_cli_says_so_too(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    reply_id, alert = draft_alert(client, stack, fakes, "We are looking into it with Leeds.")
    assert review(client, reply_id, "approve", "sam")[0] == 200
    drain_outbox(stack)  # the approval's change of the alert, then the post and its change
    assert draft_now(fakes, alert) == (["section", "context"], "approved by sam (<@U0SAM>): posted")


@pytest.mark.usefixtures("approvals")
def test_a_post_deleted_while_a_draft_to_it_waits_is_no_longer_quoted_in_the_drafts_alert(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    reply_id, alert = draft_alert(client, stack, fakes, "We are looking into it with Leeds.")
    assert "hospital" in alert[1]["text"]
    assert post_signed(client, "x", deletion("1992000000000000002")).status_code == 200
    drain_intake(stack)
    drain_outbox(stack)
    case = "x:1992000000000000002"
    text = f"*a pr case that was deleted by its author*: `switchboard mention {case}`"
    assert fakes.slack_messages[alert[0]]["text"] == text
    assert "hospital" not in json.dumps(fakes.slack_messages)
    assert wiring.mentions().alerts_of(reply_id) == []
