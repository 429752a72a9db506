"""The app's slash command: `/switchboard next DEPARTMENT` takes the department's next free case
for whoever typed it and shows it with its buttons; `/switchboard waiting DEPARTMENT` shows the
cases nobody has. Slack posts a signed form; the answer, seen by that person alone, is the
response."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.demo import signed_headers
from chalicelib.settings import get_settings
from tests.integration.test_alert_buttons import BLENDER, LATE, PEOPLE, buttons_on
from tests.integration.test_case_notes import post
from tests.integration.test_replies import drain_outbox, get, routed
from tests.integration.test_reply_approvals import allegation, as_, drafted

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def people(monkeypatch: pytest.MonkeyPatch) -> None:
    """maya and sam are named by their Slack member ids; the alerts' buttons are on."""
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps(PEOPLE))
    monkeypatch.setenv("ALERT_BUTTONS", "true")
    wiring.reset()


def typed(client: Client, text: str, user: str = "U0MAYA", **headers: str) -> Any:
    """Slack's request when `user` types `/switchboard text`; the answer."""
    form = {
        "token": "legacy",
        "team_id": "T0BRAND",
        "channel_id": "C0PRALERTS",
        "user_id": user,
        "command": "/switchboard",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/T0BRAND/1/abc",
        "trigger_id": "13345.98.cd",
    }
    body = urlencode(form).encode()
    signed = signed_headers("slack", body, get_settings(), time.time())
    signed.update({"Content-Type": FORM, **headers})
    return client.http.post("/webhooks/slack/commands", headers=signed, body=body)


def said(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    answer = json.loads(response.body)
    assert answer["response_type"] == "ephemeral"  # to whoever typed it alone
    return dict(answer)


def test_next_takes_the_departments_next_free_case_and_shows_it_with_its_buttons(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # support, normal
    answer = said(typed(client, "next support"))
    assert answer["text"].startswith("*[NORMAL] your next support case*: x mention by danakim")
    assert buttons_on(answer) == ["reply", "leave"]  # hers to answer or give back
    assert str(answer["blocks"][-1]["elements"][0]["text"]).startswith("yours until 20")
    assert get(client, f"/mentions/{LATE}")["taken_by"] == "maya"
    nothing = said(typed(client, "next support", "U0SAM"))
    assert nothing["text"] == "nothing free in support: every waiting case is taken"

    mine = said(typed(client, "mine"))
    assert mine["text"] == "*yours: 1 case(s) waiting for an answer; the 1 due soonest:*"
    assert buttons_on(mine) == ["reply", "leave"]
    assert said(typed(client, "mine", "U0SAM"))["text"].startswith("nothing waits for an answer")


def test_waiting_shows_the_cases_nobody_has_each_with_take_it(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # pr
    routed(client, stack, "x", "x_late_delivery.json")  # support
    answer = said(typed(client, "waiting pr"))
    assert answer["text"] == "*pr: 1 case(s) nobody has; the 1 due soonest:*"
    _, case = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert case.startswith(f"*[URGENT] {BLENDER}*: facebook comment by Lee Brennan")
    assert buttons_on(answer) == ["take", "reply"]
    said(typed(client, "next support"))  # maya takes the only one
    nothing = said(typed(client, "waiting support"))
    assert nothing["text"] == "nothing free in support: every waiting case is taken"
    for asked in ("waiting marketing", "next marketing"):
        assert said(typed(client, asked))["text"] == "nothing waits for an answer in marketing"


def test_shift_away_back_and_end_from_slack(client: Client, stack: dict[str, str]) -> None:
    started = said(typed(client, "shift pr 2 3"))["text"].splitlines()
    assert started[0].startswith("maya is on shift in pr until 20")
    assert "(in 2 h)" in started[0] or "(in 1 h 59 min)" in started[0]
    assert started[1] == "never more than 3 waiting at once, topped up from the cases nobody has"
    away = said(typed(client, "away pr"))["text"]
    assert away == "maya on shift in pr is away: given no new case, keeping theirs"
    assert said(typed(client, "back pr"))["text"] == "maya on shift in pr is back: given cases"
    assert said(typed(client, "end pr"))["text"] == "maya's shift in pr ended"
    assert said(typed(client, "away pr"))["text"] == "maya is not on shift in pr"
    wrong = said(typed(client, "shift pr forever"))["text"]
    assert wrong.startswith("`/switchboard shift pr [HOURS] [CAPACITY]`: hours")
    assert said(typed(client, "shift pr 48"))["text"].startswith("`/switchboard shift pr [HOURS]")


@pytest.mark.usefixtures("fakes")  # the reply is posted
def test_case_shows_a_case_as_it_stands_with_what_happened_to_it(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # pr, urgent
    waiting = said(typed(client, f"case {BLENDER}"))
    assert waiting["text"].startswith(
        f"*[URGENT] a pr case: {BLENDER}*: facebook comment by Lee Brennan"
    )
    assert buttons_on(waiting) == ["take", "reply"]  # nobody has it
    assert history(waiting)[0].startswith("routed: 20")

    post(client, f"/mentions/{BLENDER}/notes", {"text": "called <them> & left a message"}, "sam")
    said(typed(client, "next pr"))  # maya takes it
    taken = said(typed(client, f"case {BLENDER}"))
    assert buttons_on(taken) == ["reply", "leave"]
    status, *lines = history(taken)
    assert status.startswith("taken by maya (<@U0MAYA>) until 20")
    assert "(sam: called &lt;them&gt; &amp; left a message)" in lines[1]  # escaped
    assert lines[-1].startswith("taken until: 20")

    written = client.http.post(
        "/replies",
        headers=as_("maya"),
        body=json.dumps({"mention_id": BLENDER, "text": "So sorry, Lee: DM us?"}).encode(),
    )
    assert written.status_code == 202, written.body
    drain_outbox(stack)
    answered = said(typed(client, f"case {BLENDER}"))
    assert buttons_on(answered) == []  # nothing left to do
    status, *lines = history(answered)
    assert status.startswith("answered by maya (<@U0MAYA>) at 20")
    [reply] = [line for line in lines if line.startswith("reply: ")]
    assert reply.endswith("by maya: sent: So sorry, Lee: DM us?)")
    assert [line.split(":")[0] for line in lines] == [
        "routed",
        "note",
        "reply",
        "first response",
        "taken until",
    ]

    unknown = said(typed(client, "case x:404"))
    assert unknown["text"] == "no routed mention 'x:404'"


def test_find_shows_what_people_said_lately_with_where_each_stands(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # the blender on fire: pr
    routed(client, stack, "x", "x_late_delivery.json")  # "my order #88213 never arrived…"
    fire = said(typed(client, "find blender fire"))
    assert fire["text"] == "*1 of the 2 mentions routed in the last day match: facebook 1*"
    _, found = [b["text"]["text"] for b in fire["blocks"] if b["type"] == "section"]
    assert found.startswith(f"*{BLENDER}* · pr (waiting) · 20")
    assert "\nLee Brennan: " in found
    assert buttons_on(fire) == ["take", "reply"]

    said(typed(client, "next support"))  # maya takes the late delivery
    late = said(typed(client, 'find 3d "never arrived"'))
    assert late["text"].startswith("*1 of the 2 mentions routed in the last 3 days match: x 1")
    _, found = [b["text"]["text"] for b in late["blocks"] if b["type"] == "section"]
    assert found.startswith(f"*{LATE}* · support (waiting, taken by maya) · 20")
    assert buttons_on(late) == ["reply", "leave"]

    nothing = said(typed(client, "find refund"))
    assert nothing["text"] == "*0 of the 2 mentions routed in the last day match*"
    for asked, says in (
        ('find "never arrived', "'\"never arrived': a quote is not closed"),
        ("find 30d blender", "mentions are searchable for 7 days (TRAFFIC_KEEP_DAYS), not 30"),
        ("find 3d", "`/switchboard find [3d] WORDS"),
    ):
        assert says in said(typed(client, asked))["text"], asked


def test_approvals_shows_the_replies_waiting_for_a_second_person_with_their_buttons(
    client: Client, stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVAL_DEPARTMENTS", "pr")
    wiring.reset()
    no_approval = said(typed(client, "approvals support"))["text"]
    assert no_approval == "replies in support need no approval (APPROVAL_DEPARTMENTS)"
    assert said(typed(client, "approvals pr"))["text"] == "nothing waits for approval in pr"

    allegation(client, stack)  # the food-safety post: pr
    reply_id = drafted(client, "We are sorry and looking into it urgently.", "maya")
    for user, buttons, mine in (("U0SAM", ["approve", "reject"], []), ("U0MAYA", [], [YOURS])):
        answer = said(typed(client, "approvals pr", user))
        assert answer["text"] == "*pr: 1 reply(ies) waiting for approval, oldest first*"
        _, draft = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
        assert draft.startswith(
            f"*[URGENT] maya's reply ({reply_id}) waits for approval in pr:"
            ' "We are sorry and looking into it urgently."*'
        )
        assert buttons_on(answer) == buttons
        notes = [b["elements"][0]["text"] for b in answer["blocks"] if b["type"] == "context"]
        assert notes == mine


YOURS = "yours: someone else approves it"


def history(answer: dict[str, Any]) -> list[str]:
    """The lines under a case `/switchboard case` shows: where it stands, then its history."""
    [context] = [b for b in answer["blocks"] if b["type"] == "context"]
    return str(context["elements"][0]["text"]).splitlines()


@pytest.mark.parametrize(
    ("text", "user", "says"),
    [
        ("", "U0MAYA", "`/switchboard next DEPARTMENT` takes its next free case for you"),
        ("take it all", "U0MAYA", "`/switchboard next DEPARTMENT`"),
        ("case", "U0MAYA", "`/switchboard case MENTION_ID` shows a case"),
        ("next legal", "U0MAYA", "no department 'legal': support, pr, marketing, triage"),
        ("next support", "U0LEE", "Switchboard does not know who you are: an admin adds you"),
    ],
)
def test_what_it_cannot_do_is_said_to_whoever_typed_it(
    client: Client, stack: dict[str, str], text: str, user: str, says: str
) -> None:
    assert says in said(typed(client, text, user))["text"]


def test_a_command_not_slacks_is_refused(client: Client, stack: dict[str, str]) -> None:
    forged = typed(client, "next support", **{"X-Slack-Signature": "v0=" + "0" * 64})
    assert forged.status_code == 401
    as_json = typed(client, "next support", **{"Content-Type": "application/json"})
    assert as_json.status_code == 415
    assert json.loads(as_json.body) == {
        "error": "unsupported_media_type",
        "message": "application/json is not read here; send application/x-www-form-urlencoded",
    }
    oversize = typed(client, "next " + "x" * get_settings().max_body_bytes)
    assert oversize.status_code == 413
