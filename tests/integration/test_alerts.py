"""Alerts: the Slack channel of each department that gets an urgent case is told at once, and
of each SLA breach, through the outbox (the fake Slack API checks `chat.postMessage`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.devstack import scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.services.dead_letters import summarise
from tests.helpers import food_safety_thread
from tests.integration.conftest import receive_all
from tests.integration.test_closing_cases import close
from tests.integration.test_native_answers import deliver, messenger
from tests.integration.test_replies import (
    AUTH,
    drain_outbox,
    edited_comment,
    moderation,
    reply,
    routed,
)
from tests.integration.test_shifts import shift
from tests.integration.test_transferring_cases import transfer

CHANNELS = {"pr": "C0PRALERTS", "support": "C0SUPPORTALERTS"}
BLENDER = "facebook:122131676912594941_1213590066982748"
LATE = "x:1992000000000000001"
FOOD_SAFETY = "x:1992000000000000002"


@pytest.fixture
def alerting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(CHANNELS))
    wiring.reset()


def posted(fakes: FakePlatforms) -> dict[str, str]:
    """The alerts Slack took, text by channel."""
    return {r.body["channel"]: r.body["text"] for r in fakes.accepted("slack")}


@pytest.mark.usefixtures("alerting")
def test_an_urgent_case_is_told_to_each_of_its_departments_channels(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # urgent, pr, copied to support
    routed(client, stack, "x", "x_praise_quote.json")  # marketing, normal: no channel, no alert
    drain_outbox(stack)
    alerts = posted(fakes)
    assert set(alerts) == {"C0PRALERTS", "C0SUPPORTALERTS"}
    assert alerts["C0PRALERTS"] == alerts["C0SUPPORTALERTS"]
    lines = alerts["C0PRALERTS"].splitlines()
    assert lines[0] == (
        "*[URGENT] new case for pr (also support)*: facebook comment by Lee Brennan (0 followers)"
    )
    assert lines[1].startswith("> The blender I bought from you caught fire")
    assert lines[2].startswith("health-and-safety: text contains 'caught fire'")
    assert lines[3] == "reply by 2026-11-22T08:34:50+00:00"
    assert lines[4] == (
        f"<https://www.facebook.com/122131676912594941_1213590066982748|open it on facebook>"
        f" · `switchboard mention {BLENDER}`"
    )
    routed(client, stack, "meta", "meta_page_comments.json")  # Meta again: routed once
    drain_outbox(stack)
    assert len(fakes.accepted("slack")) == 2


def test_an_alerted_case_handed_over_is_told_to_the_channel_it_goes_to_if_it_had_none(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps({**CHANNELS, "marketing": "C0MKTALERTS"}))
    wiring.reset()
    routed(client, stack, "meta", "meta_page_comments.json")  # urgent, pr, copied to support
    routed(client, stack, "x", "x_late_delivery.json")  # normal, support
    drain_outbox(stack)
    assert transfer(client, BLENDER, {"to": "support", "reason": "a refund, not a story"})[0] == 200
    assert transfer(client, LATE, {"to": "marketing", "reason": "a giveaway winner"})[0] == 200
    drain_outbox(stack)
    posts = [r.body for r in fakes.accepted("slack") if r.path.endswith("chat.postMessage")]
    assert [post["channel"] for post in posts] == ["C0PRALERTS", "C0SUPPORTALERTS"]  # at routing
    # support's channel had its alert (the copy), now saying where it stands; a normal case is
    # not alerted, handed over or not
    assert transfer(client, BLENDER, {"to": "marketing", "reason": "it is a competition"})[0] == 200
    drain_outbox(stack)
    posts = [r.body for r in fakes.accepted("slack") if r.path.endswith("chat.postMessage")]
    assert posts[-1]["channel"] == "C0MKTALERTS"
    assert posts[-1]["text"].startswith(
        '*[URGENT] a support case handed over to marketing by admin: "it is a competition"*:'
        " facebook comment by Lee Brennan"
    )
    assert len(posts) == 3


@pytest.mark.usefixtures("alerting")
def test_an_sla_breach_is_told_to_the_channel_of_the_department_that_missed_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # normal: no alert, and long overdue
    drain_outbox(stack)
    assert posted(fakes) == {}
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": ["x:1992000000000000001"],
        "given": [],
        "digests": [],
    }
    drain_outbox(stack)
    breach = posted(fakes)["C0SUPPORTALERTS"]
    assert breach.startswith("*SLA breached in support*: x mention by danakim (312 followers)")
    assert "reply by 2026-11-22T" in breach


@pytest.mark.usefixtures("alerting")
def test_an_alert_slack_refuses_is_dead_lettered_saying_why_and_one_it_cannot_take_waits(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    fakes.fail_next(200, {"ok": False, "error": "not_in_channel"})
    fakes.fail_next(200, {"ok": False, "error": "ratelimited"})
    drain_outbox(stack)
    [dead] = receive_all(stack["outbox-dlq"])
    error = dead["MessageAttributes"]["error"]["StringValue"]
    assert "not_in_channel (the app is not in the channel: /invite it there)" in error
    assert summarise(dead["Body"]) == (
        "alert to C0PRALERTS: [URGENT] new case for pr (also support)"
    )
    # the other waits for Slack's limit to pass: not dead-lettered (only the one above is)


@pytest.fixture
def teams(monkeypatch: pytest.MonkeyPatch, fakes: FakePlatforms) -> str:
    """PR's alerts go to a Teams webhook (the fake's), support's to Slack."""
    url = f"{fakes.url}/teams/pr-leads?sig={fakes.credentials.teams_webhook_sig}"
    channels = {"pr": "teams:pr-leads", "support": "C0SUPPORTALERTS"}
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps(channels))
    monkeypatch.setenv("TEAMS_WEBHOOKS", json.dumps({"pr-leads": url}))
    wiring.reset()
    return url


def test_a_teams_channel_is_posted_a_card_through_its_webhook(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, teams: str
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # urgent, pr, copied to support
    drain_outbox(stack)
    [card] = [r.body["attachments"][0]["content"] for r in fakes.accepted("teams")]
    assert [r.path for r in fakes.accepted("teams")] == ["/teams/pr-leads"]
    lines = [" ".join(run["text"] for run in block["inlines"]) for block in card["body"]]
    assert lines[0] == (
        "[URGENT] new case for pr (also support) : facebook comment by Lee Brennan (0 followers)"
    )
    assert lines[1].startswith("The blender I bought from you caught fire")
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open it on facebook",
            "url": "https://www.facebook.com/122131676912594941_1213590066982748",
        }
    ]
    assert set(posted(fakes)) == {"C0SUPPORTALERTS"}  # support's channel is still Slack's


def test_a_teams_alert_that_cannot_be_posted_is_dead_lettered_saying_why(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    teams: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fakes.fail_next(400, {"error": {"code": "WorkflowTriggerIsNotEnabled"}})
    routed(client, stack, "meta", "meta_page_comments.json")
    drain_outbox(stack)
    [dead] = receive_all(stack["outbox-dlq"])
    error = dead["MessageAttributes"]["error"]["StringValue"]
    assert "alert to Teams webhook pr-leads: refused" in error
    assert "WorkflowTriggerIsNotEnabled" in error and "is the webhook's flow turned on?" in error
    assert summarise(dead["Body"]) == (
        "alert to teams:pr-leads: [URGENT] new case for pr (also support)"
    )
    monkeypatch.setenv("TEAMS_WEBHOOKS", "{}")  # the webhook taken out of the secret
    wiring.reset()
    routed(client, stack, "x", "x_food_safety_thread.json")  # urgent, pr
    drain_outbox(stack)
    reasons = [
        m["MessageAttributes"]["error"]["StringValue"] for m in receive_all(stack["outbox-dlq"])
    ]
    assert reasons == ["alert to teams:pr-leads: TEAMS_WEBHOOKS has no webhook 'pr-leads'"]


@pytest.fixture
def agents_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"maya": "U0MAYA", "sam": "U0SAM"}))
    wiring.reset()


@pytest.mark.usefixtures("agents_told")
def test_someone_on_shift_is_told_in_their_own_chat_of_each_case_given_to_them(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    late = "x:1992000000000000001"
    assert shift(client, "maya")[0] == 200
    routed(client, stack, "x", "x_late_delivery.json")  # given to maya as it is routed
    drain_outbox(stack)
    told = posted(fakes)
    assert list(told) == ["U0MAYA"]
    lines = told["U0MAYA"].splitlines()
    assert lines[0] == (
        "*[NORMAL] a support case given to you, on shift*: x mention by danakim (312 followers)"
    )
    assert lines[-1].endswith(f"`switchboard mention {late}`")
    # her take runs out unanswered: the minute's top-up passes it to sam, who is told why
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert wiring.mentions().leave(late, "maya")
    assert wiring.mentions().take(late, "maya", hour_ago, hour_ago + timedelta(minutes=30))
    assert shift(client, "sam", body={"hours": 8, "capacity": 3})[0] == 200
    app.handler_map["check_sla"](scheduled_event(), None)
    drain_outbox(stack)
    assert posted(fakes)["U0SAM"].startswith(
        "*[NORMAL] a support case given to you, on shift (passed on from maya, who did not"
        " answer it)*: x mention by danakim"
    )


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_is_told_when_its_customer_writes_again(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert shift(client, "maya")[0] == 200
    deliver(client, stack, "meta", messenger("m_first", "My parcel is lost", 0))
    assert shift(client, "sam")[0] == 200  # next for a new case, but not for her follow-up
    deliver(client, stack, "meta", messenger("m_again", "Order 1182, by the way", 1))
    drain_outbox(stack)
    told = [(r.body["channel"], r.body["text"].splitlines()) for r in fakes.accepted("slack")]
    assert [(channel, lines[0]) for channel, lines in told] == [
        ("U0MAYA", "*[NORMAL] a support case given to you, on shift*: messenger dm by"
         " 7010000000000001 (0 followers)"),
        ("U0MAYA", "*[NORMAL] 7010000000000001 wrote again on your support case*: messenger dm"
         " by 7010000000000001 (0 followers)"),
    ]  # fmt: skip
    assert told[1][1][1] == "> Order 1182, by the way"


@pytest.mark.usefixtures("agents_told")
def test_someone_a_colleague_gives_a_case_to_is_told_by_whom(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # nobody on shift: nobody's
    routed(client, stack, "x", "x_chasing.json")  # the same customer again, still waiting
    lead = {"X-Switchboard-Author": "lee"}
    body = json.dumps({"for": "maya"})
    taken = client.http.post(
        "/mentions/x:1992000000000000001/take", headers={**AUTH, **lead}, body=body
    )
    assert taken.status_code == 200
    given = client.http.post("/departments/support/next", headers={**AUTH, **lead}, body=body)
    assert json.loads(given.body)["next"]["taken_by"] == "maya"
    drain_outbox(stack)
    headings = [r.body["text"].splitlines()[0] for r in fakes.accepted("slack")]
    assert [h.split("*:")[0] for h in headings] == [
        "*[NORMAL] a support case given to you by lee",
        "*[HIGH] a support case given to you by lee",  # the chase, raised to high
    ]
    assert {r.body["channel"] for r in fakes.accepted("slack")} == {"U0MAYA"}


def taken_by_maya(client: Client, mention_id: str) -> None:
    taken = client.http.post(
        f"/mentions/{mention_id}/take", headers=AUTH | {"X-Switchboard-Author": "maya"}, body=b"{}"
    )
    assert taken.status_code == 200


def news_told_maya(fakes: FakePlatforms, since: int = 0) -> str:
    """The text of the one message Slack took after its first `since`: told to maya, with
    nothing to press (the case is no longer hers to answer)."""
    [told] = [r.body for r in fakes.accepted("slack")[since:]]
    assert told["channel"] == "U0MAYA" and "blocks" not in told
    return str(told["text"])


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_a_colleague_hands_over_is_told_it_is_theirs_no_more(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    routed(client, stack, "meta", "meta_page_comments.json")
    for case in (LATE, BLENDER):
        taken_by_maya(client, case)
    drain_outbox(stack)
    before = len(fakes.accepted("slack"))
    reason = {"to": "pr", "reason": "she will go to the press"}
    assert transfer(client, LATE, reason, **{"X-Switchboard-Author": "lee"})[0] == 200
    assert (
        transfer(
            client,
            BLENDER,
            {"to": "support", "reason": "a refund"},
            **{"X-Switchboard-Author": "maya"},
        )[0]
        == 200
    )
    drain_outbox(stack)
    told = news_told_maya(fakes, since=before)  # not of what she handed over herself
    assert told.startswith(
        '*[NORMAL] lee handed your support case over to pr: it is not yours any more: "she will'
        ' go to the press"*: x mention by danakim'
    )


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_a_colleague_closes_is_told_there_is_nothing_to_answer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    taken_by_maya(client, LATE)
    drain_outbox(stack)
    assert (
        close(client, LATE, {"reason": "answered by phone"}, **{"X-Switchboard-Author": "lee"})[0]
        == 200
    )
    drain_outbox(stack)
    assert news_told_maya(fakes).startswith(
        '*[NORMAL] lee closed your support case: nothing to answer: "answered by phone"*:'
    )
    assert close(client, LATE, {"reason": "again"}, **{"X-Switchboard-Author": "lee"})[0] == 200
    drain_outbox(stack)
    assert len(fakes.accepted("slack")) == 1  # closed already: nothing new to tell


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_someone_answers_anyway_is_told_nothing_is_left_to_answer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    taken_by_maya(client, LATE)
    answer = {"mention_id": LATE, "text": "Sorry! DM us your order number"}
    assert reply(client, answer)[0] == 409  # maya has it: refused, nothing told
    status, sent = reply(client, {**answer, "force": True})
    assert status == 202
    drain_outbox(stack)
    assert news_told_maya(fakes).startswith(
        f"*[NORMAL] admin answered your support case anyway ({sent['reply_id']}, on its way):"
        " nothing left for you to answer*:"
    )


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_is_told_when_its_customer_edits_it_or_the_brand_answers_elsewhere(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    deliver(client, stack, "x", food_safety_thread(0))
    for case in (BLENDER, FOOD_SAFETY):
        taken_by_maya(client, case)
    for _ in range(2):  # Meta retried the edit: told once
        deliver(client, stack, "meta", edited_comment("UPDATE: the blender burned my hand."))
    deliver(client, stack, "x", food_safety_thread(1))  # the brand answered in X's app
    drain_outbox(stack)
    edited, answered = [r.body for r in fakes.accepted("slack")]
    assert edited["channel"] == answered["channel"] == "U0MAYA"
    assert edited["text"].splitlines()[:2] == [
        "*[URGENT] Lee Brennan edited what they wrote on your pr case*: facebook comment by"
        " Lee Brennan (0 followers)",
        "> UPDATE: the blender burned my hand.",
    ]
    assert answered["text"].startswith(
        "*[URGENT] your pr case was answered on x outside Switchboard: nothing left for you to"
        " answer*:"
    )
    assert "blocks" not in answered


@pytest.mark.usefixtures("agents_told")
def test_whoever_has_a_case_its_customer_deletes_is_told_without_a_word_of_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    taken_by_maya(client, BLENDER)
    for _ in range(2):  # Meta retried the deletion: told once
        deliver(client, stack, "meta", moderation("remove"))
    drain_outbox(stack)
    told = news_told_maya(fakes)
    assert told.startswith(
        "*[URGENT] Lee Brennan deleted what they wrote on your pr case: nothing to answer*:"
    )
    assert "blender" not in told.lower() and "fire" not in told


@pytest.mark.usefixtures("agents_told")
def test_a_note_tells_those_it_names_and_whoever_has_the_case_in_their_own_chat(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    late = "x:1992000000000000001"
    routed(client, stack, "x", "x_late_delivery.json")
    as_maya = {**AUTH, "X-Switchboard-Author": "maya"}
    assert client.http.post(f"/mentions/{late}/take", headers=as_maya).status_code == 200
    drain_outbox(stack)
    text = "Dana called: refund issued. @SAM can you confirm? (cc @maya, @dana_r, lee@acme.com)"
    noted = client.http.post(
        f"/mentions/{late}/notes",
        headers={**AUTH, "X-Switchboard-Author": "lee"},
        body=json.dumps({"text": text}),
    )
    assert noted.status_code == 200
    assert json.loads(noted.body)["notes"][0]["told"] == ["maya", "sam"]  # not the customer
    drain_outbox(stack)
    told = {r.body["channel"]: r.body["text"].splitlines() for r in fakes.accepted("slack")}
    said = f'"{text}"'
    assert {channel: lines[0].split("*:")[0] for channel, lines in told.items()} == {
        "U0SAM": f"*[NORMAL] lee named you in a note on a support case: {said}",
        "U0MAYA": f"*[NORMAL] lee noted on your support case: {said}",  # she has it taken
    }
    assert told["U0SAM"][-1].endswith(f"`switchboard mention {late}`")
    own = client.http.post(f"/mentions/{late}/notes", headers=as_maya, body=b'{"text": "ok @maya"}')
    assert json.loads(own.body)["notes"][1]["told"] == []  # nobody is told of their own note


@pytest.mark.usefixtures("agents_told")
def test_someone_is_told_when_a_customer_they_answered_writes_back(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert shift(client, "maya")[0] == 200
    deliver(client, stack, "meta", messenger("m_first", "My parcel is lost", 0))
    as_maya = {**AUTH, "X-Switchboard-Author": "maya"}
    answer = json.dumps({"mention_id": "messenger:m_first", "text": "Your order number?"})
    assert client.http.post("/replies", headers=as_maya, body=answer).status_code == 202
    drain_outbox(stack)
    assert client.http.post("/mentions/messenger:m_first/leave", headers=as_maya).status_code
    assert shift(client, "sam")[0] == 200  # his turn for a new case
    deliver(client, stack, "meta", messenger("m_back", "It is 1182", 10))
    drain_outbox(stack)
    headings = [(r.body["channel"], r.body["text"].split("*:")[0]) for r in fakes.accepted("slack")]
    assert headings[-1] == (
        "U0MAYA",
        "*[NORMAL] 7010000000000001 wrote back on a support case you answered",
    )


@pytest.mark.usefixtures("alerting")
def test_each_department_channel_is_posted_its_day_at_the_digest_hour(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    monkeypatch.setenv("DIGEST_HOUR", str(datetime.now(UTC).hour))  # this hour, in UTC
    wiring.reset()
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result["digests"] == ["pr", "support"]
    assert app.handler_map["check_sla"](scheduled_event(), None)["digests"] == []  # once a day
    drain_outbox(stack)
    digests = {channel: text for channel, text in posted(fakes).items() if "the last day*" in text}
    assert set(digests) == {"C0PRALERTS", "C0SUPPORTALERTS"}
    lines = digests["C0SUPPORTALERTS"].splitlines()
    assert lines[:2] == ["*support: the last day*", "```"]
    assert lines[2].startswith("support, the last day (since ")
    assert "  mentions        1" in lines and "  waiting now     1  (1 overdue)" in lines
