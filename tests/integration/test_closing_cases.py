"""A department closes a case that needs no reply (answered by phone, a duplicate, a troll),
or opens it again: POST /mentions/{id}/close and /reopen, `switchboard close` and `reopen`; and
what still waits: GET /departments/{department}/waiting, `switchboard waiting`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.devstack import scheduled_event
from chalicelib.observability import metrics
from tests.helpers import sample_bytes
from tests.integration.conftest import bodies, post_signed, receive_all
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

CASE = "facebook:122131676912594941_1213590066982748"  # the blender fire: pr, copied to support
AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


def close(client: Client, mention_id: str, body: Any, **headers: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.http.post(
        f"/mentions/{mention_id}/close", headers={**AUTH, **headers}, body=raw
    )
    return response.status_code, json.loads(response.body)


@pytest.fixture
def routed(client: Client, stack: dict[str, str]) -> None:
    """The Page comments sample routed (posted long ago: overdue), its queues read."""
    assert post_signed(client, "meta", sample_bytes("meta_page_comments.json")).status_code == 200
    drain_intake(stack)
    for department in ("pr", "support"):
        receive_all(stack[department])


@pytest.mark.usefixtures("routed")
def test_a_closed_case_leaves_the_clock_and_its_departments_hear_why(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    reason = "called Lee, replacement blender on its way"
    metrics.clear_metrics()
    status, record = close(client, CASE, {"reason": reason}, **{"X-Switchboard-Author": "maya"})
    assert metrics.metric_set["CasesClosed"]["Value"] == [1.0]
    assert status == 200
    assert (record["closed_by"], record["closed_reason"]) == ("maya", reason)
    assert datetime.fromisoformat(record["closed_at"]) <= datetime.now(UTC)
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["mention"]["id"] == CASE and copy["routing"]["tags"][-1] == "closed"
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }

    metrics.clear_metrics()
    status, again = close(client, CASE, {"reason": "duplicate"})  # a retry, or a colleague
    assert status == 200 and again["closed_reason"] == reason  # the first close stands
    assert bodies(stack["pr"]) == []  # and nobody hears of it twice
    assert "CasesClosed" not in metrics.metric_set


@pytest.mark.usefixtures("routed")
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({}, 400, "reason: Field required"),
        ({"reason": ""}, 400, "reason: String should have at least 1 character"),
        ({"reason": "x" * 501}, 400, "reason: String should have at most 500 characters"),
        (
            {"reason": "dup", "notify": True},
            400,
            "notify: no such field; the one field here is reason",
        ),
        (b"{not json", 400, "body is not valid JSON"),
    ],
)
def test_a_close_that_cannot_work_says_why(
    client: Client, body: Any, status: int, says: str
) -> None:
    code, answer = close(client, CASE, body)
    assert code == status and says in answer["message"], answer
    record = wiring.mentions().get(CASE)
    assert record is not None and record.closed_at is None  # still on the clock


def test_only_a_routed_case_still_there_can_be_closed(
    client: Client, stack: dict[str, str]
) -> None:
    assert close(client, "x:404", {"reason": "dup"})[0] == 404
    post_signed(client, "generic", sample_bytes("generic_listening.json"))  # spam: ignored
    drain_intake(stack)
    code, answer = close(client, "trustpilot:5f1e2d3c", {"reason": "dup"})
    assert code == 409 and "was ignored" in answer["message"]
    wiring.mentions().mark_deleted("reddit:t3_1abc23", datetime.now(UTC))
    code, answer = close(client, "reddit:t3_1abc23", {"reason": "dup"})
    assert code == 409 and "deleted by its author" in answer["message"]
    unauthorised = client.http.post(
        "/mentions/reddit:t3_1abc23/close", headers={"Content-Type": "application/json"}, body=b"{}"
    )
    assert unauthorised.status_code == 401


@pytest.mark.usefixtures("routed")
def test_switchboard_close_and_the_case_history(api_url: str) -> None:
    code, out = run("close", CASE, "answered by phone", "--url", api_url)
    assert code == 0 and out.startswith("closed: ") and "(by admin: answered by phone)" in out
    code, out = run("mention", CASE, "--url", api_url)
    assert code == 0 and "  closed: " in out and "by admin: answered by phone" in out


def waiting(client: Client, department: str, query: str = "") -> tuple[int, Any]:
    response = client.http.get(f"/departments/{department}/waiting{query}", headers=AUTH)
    return response.status_code, json.loads(response.body)


@pytest.mark.usefixtures("routed")
def test_a_department_sees_what_still_waits_for_an_answer_until_it_is_closed(
    client: Client, stack: dict[str, str]
) -> None:
    post_signed(client, "generic", sample_bytes("generic_listening.json"))  # a journalist: pr
    drain_intake(stack)
    status, listed = waiting(client, "pr")
    assert status == 200 and listed["department"] == "pr"
    assert [r["id"] for r in listed["waiting"]] == [CASE, "reddit:t3_1abc23"]  # by deadline
    assert waiting(client, "pr", "?limit=1")[1]["waiting"][0]["id"] == CASE
    close(client, CASE, {"reason": "called Lee"})
    assert [r["id"] for r in waiting(client, "pr")[1]["waiting"]] == ["reddit:t3_1abc23"]
    assert waiting(client, "support")[1]["waiting"] == []  # the copy's owner is pr


@pytest.mark.parametrize(
    ("department", "query", "status", "says"),
    [
        ("legal", "", 404, "no department 'legal'; departments: support, pr, marketing, triage"),
        ("pr", "?limit=0", 400, "limit must be from 1 to 200"),
        ("pr", "?limit=201", 400, "limit must be from 1 to 200"),
        ("pr", "?limit=ten", 400, "limit must be an integer"),
    ],
)
def test_a_waiting_list_that_cannot_be_read_says_why(
    client: Client, department: str, query: str, status: int, says: str
) -> None:
    code, answer = waiting(client, department, query)
    assert code == status and answer["message"] == says


@pytest.mark.usefixtures("routed")
def test_switchboard_waiting_lists_a_departments_open_cases(api_url: str) -> None:
    code, out = run("waiting", "pr", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "1 waiting in pr"
    assert lines[1].startswith(f"[URGENT] {CASE}  reply by: ") and "overdue by" in lines[1]
    assert lines[2].startswith("  The blender I bought from you caught fire")


@pytest.mark.usefixtures("routed")
def test_a_case_closed_by_mistake_is_reopened_and_back_on_the_clock(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    from app import app

    close(client, CASE, {"reason": "wrong case"})
    for department in ("pr", "support"):
        receive_all(stack[department])  # the closed copies, read
    code, out = run("reopen", CASE, "--url", api_url)
    assert code == 0 and out.startswith(f"reopened: {CASE} (reply by: ") and "overdue by" in out
    record = wiring.mentions().get(CASE)
    assert record is not None and record.closed_at is None and record.closed_reason is None
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["routing"]["tags"][-1] == "reopened"
    assert [r["id"] for r in waiting(client, "pr")[1]["waiting"]] == [CASE]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [CASE],
        "given": [],
        "digests": [],
    }
    reopen = client.http.post(f"/mentions/{CASE}/reopen", headers=AUTH, body=b"")
    assert reopen.status_code == 200  # open already: nothing changes
    assert bodies(stack["pr"])[-1]["routing"]["tags"][-1] == "sla-breach"  # and no copy
    assert client.http.post("/mentions/x:404/reopen", headers=AUTH, body=b"").status_code == 404


def test_a_slack_case_whose_id_has_a_slash_is_found_closed_and_reopened(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    """Slack ids are `slack:<channel>/<ts>`: the API takes them with the slash encoded, as the
    CLI sends them."""
    slack = "slack:C0COMMUNITY/1795336000.000200"
    assert post_signed(client, "slack", sample_bytes("slack_app_mention.json")).status_code == 200
    drain_intake(stack)
    found = client.http.get("/mentions/slack:C0COMMUNITY%2F1795336000.000200", headers=AUTH)
    assert found.status_code == 200 and json.loads(found.body)["id"] == slack
    code, out = run("close", slack, "solved in the thread by a moderator", "--url", api_url)
    assert code == 0 and out.startswith("closed: ")
    code, out = run("mention", slack, "--url", api_url)
    assert code == 0 and "  closed: " in out
    code, out = run("reopen", slack, "--url", api_url)
    assert code == 0 and out.startswith(f"reopened: {slack} (reply by: ")


def test_closing_a_case_closes_the_follow_ups_that_wait_with_it(
    client: Client, stack: dict[str, str]
) -> None:
    """Dana was called about her order; her "??" before the call needs nothing more. Closing
    her follow-up alone leaves the case she followed up on waiting; reopening the case reopens
    what closed with it."""
    from tests.integration.test_native_answers import deliver
    from tests.integration.test_transferring_cases import customer_tweet

    case, follow_up = "x:1992000000000000001", "x:1992000000000000777"
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    deliver(client, stack, "x", customer_tweet(follow_up[2:], "@AcmeHelp still nothing", case[2:]))
    receive_all(stack["support"])
    assert close(client, follow_up, {"reason": "duplicate"})[0] == 200
    assert [r["id"] for r in waiting(client, "support")[1]["waiting"]] == [case]
    assert close(client, follow_up, {"reason": "duplicate"})[0] == 200  # again: nothing more
    deliver(client, stack, "x", customer_tweet("1992000000000000778", "@AcmeHelp ??", case[2:]))
    receive_all(stack["support"])
    status, record = close(client, case, {"reason": "called Dana: parcel re-sent"})
    assert status == 200 and record["closed_reason"] == "called Dana: parcel re-sent"
    assert waiting(client, "support")[1]["waiting"] == []
    assert [(m["mention"]["id"], m["routing"]["tags"][-1]) for m in bodies(stack["support"])] == [
        (case, "closed"),
        ("x:1992000000000000778", "closed"),
    ]
    reopened = client.http.post(f"/mentions/{case}/reopen", headers=AUTH, body=b"{}")
    assert reopened.status_code == 200  # closed by mistake: what closed with it opens with it
    assert sorted(r["id"] for r in waiting(client, "support")[1]["waiting"]) == [
        case,
        "x:1992000000000000778",
    ]  # the duplicate closed on its own stays closed
