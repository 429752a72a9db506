"""A person changes how urgent a case is (POST /mentions/{id}/priority, `switchboard
priority`): while it waits it is due as if routed at that priority, its departments get a copy,
and raised to the alert priority it alerts their channels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client

from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import sample_bytes
from tests.integration.conftest import bodies
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import drain_outbox, get
from tests.integration.test_rules_cli import run
from tests.integration.test_transferring_cases import (  # noqa: F401
    AUTH,
    CASE,
    customer_tweet,
    routed,
)

JOURNALIST = "she is a journalist at the Herald"


def reprioritise(client: Client, mention_id: str, body: Any, by: str = "lee") -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**AUTH, "X-Switchboard-Author": by}
    response = client.http.post(f"/mentions/{mention_id}/priority", headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def alerting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Support's alert channel, named before the stack reads the settings."""
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps({"support": "C0SUPPORT"}))


@pytest.mark.usefixtures("alerting", "routed")
def test_a_case_raised_to_urgent_is_due_sooner_and_its_department_hears_of_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    before = get(client, f"/mentions/{CASE}")["message"]["routing"]
    assert (before["priority"], before["sla_due_at"]) == ("normal", "2026-11-22T09:00:00Z")
    status, record = reprioritise(client, CASE, {"priority": "urgent", "reason": JOURNALIST})
    assert status == 200
    routing = record["message"]["routing"]
    assert routing["priority"] == "urgent"
    assert routing["sla_due_at"] == "2026-11-22T08:15:00Z"  # 15 minutes after she posted
    [change] = routing["priority_changes"]
    assert (change["from_priority"], change["to_priority"], change["by"]) == (
        "normal",
        "urgent",
        "lee",
    )
    assert change["reason"] == JOURNALIST
    [copy] = bodies(stack["support"])
    assert copy["routing"]["tags"][-1] == "reprioritised"
    assert copy["routing"]["priority"] == "urgent"
    drain_outbox(stack)
    [alert] = fakes.accepted("slack")
    assert alert.body["channel"] == "C0SUPPORT"
    assert alert.body["text"].startswith(
        f'*[URGENT] a support case raised to urgent by lee: "{JOURNALIST}"*: x mention by danakim'
    )
    # the same again (a retry) changes nothing but sends its copy again, in case the first
    # never reached the queue; lowered, it is due later again and alerts nobody
    status, again = reprioritise(client, CASE, {"priority": "urgent", "reason": "again"})
    assert status == 200 and len(again["message"]["routing"]["priority_changes"]) == 1
    [copy] = bodies(stack["support"])
    assert copy["routing"]["tags"][-1] == "reprioritised"
    status, lowered = reprioritise(client, CASE, {"priority": "low", "reason": "a mistake"})
    assert status == 200 and lowered["message"]["routing"]["sla_due_at"] == "2026-11-22T12:00:00Z"
    assert len(lowered["message"]["routing"]["priority_changes"]) == 2
    drain_outbox(stack)
    assert len(fakes.accepted("slack")) == 1


@pytest.mark.usefixtures("routed", "fakes")
def test_an_answered_case_keeps_the_deadline_its_report_counted(
    client: Client, stack: dict[str, str]
) -> None:
    answer = json.dumps({"mention_id": CASE, "text": "Sorry Dana, DM us"}).encode()
    assert client.http.post("/replies", headers=AUTH, body=answer).status_code == 202
    drain_outbox(stack)
    status, record = reprioritise(client, CASE, {"priority": "high", "reason": "for the record"})
    assert status == 200
    routing = record["message"]["routing"]
    assert (routing["priority"], routing["sla_due_at"]) == ("high", "2026-11-22T09:00:00Z")


@pytest.mark.usefixtures("routed")
@pytest.mark.parametrize(
    ("mention_id", "body", "status", "says"),
    [
        (CASE, {"priority": "critical", "reason": "r"}, 400, "priority"),
        (CASE, {"priority": "urgent"}, 400, "reason"),
        (CASE, {"priority": "urgent", "reason": ""}, 400, "reason"),
        (CASE, b"{", 400, "JSON"),
        ("x:404", {"priority": "urgent", "reason": "r"}, 404, "x:404"),
    ],
)
def test_a_priority_that_cannot_be_set_says_why(
    client: Client, mention_id: str, body: Any, status: int, says: str
) -> None:
    answer, refused = reprioritise(client, mention_id, body)
    assert answer == status and says in refused["message"]


def test_a_mention_routing_ignored_has_no_priority_to_change(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "x", sample_bytes("x_reply_to_a_friend.json"))
    status, refused = reprioritise(
        client, "x:1992000000000000201", {"priority": "high", "reason": "r"}
    )
    assert status == 409 and "ignored" in refused["message"]


@pytest.mark.usefixtures("routed")
def test_switchboard_priority_and_the_history_it_joins(api_url: str) -> None:
    code, out = run("priority", CASE, "urgent", JOURNALIST, "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"{CASE} is urgent now (was normal)"
    assert (
        lines[1]
        == "  reply by: 2026-11-22T08:15:00+00:00 (overdue by " + lines[1].split("overdue by ")[1]
    )
    code, out = run("mention", CASE, "--url", api_url)
    assert f"(normal to urgent by admin: {JOURNALIST})" in out
    assert f"  made urgent (was normal) by admin: {JOURNALIST}" in out
    with pytest.raises(SystemExit):  # argparse says which priorities there are
        run("priority", CASE, "critical", "r", "--url", api_url)


@pytest.mark.usefixtures("routed")
def test_the_priority_routing_gave_asked_again_changes_nothing(
    client: Client, stack: dict[str, str]
) -> None:
    status, record = reprioritise(client, CASE, {"priority": "normal", "reason": "as it is"})
    assert status == 200 and record["message"]["routing"]["priority_changes"] == []
    assert bodies(stack["support"]) == []


def test_the_new_deadline_orders_the_waiting_list(client: Client, stack: dict[str, str]) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    chase = "x:1992000000000000555"  # the same customer again: high, due at 08:30
    deliver(client, stack, "x", customer_tweet(chase[2:], "@AcmeHelp and my invoice?", None))
    waiting = [r["id"] for r in get(client, "/departments/support/waiting")["waiting"]]
    assert waiting == [chase, CASE]
    assert reprioritise(client, CASE, {"priority": "urgent", "reason": "a safety issue"})[0] == 200
    waiting = [r["id"] for r in get(client, "/departments/support/waiting")["waiting"]]
    assert waiting == [CASE, chase]  # due at 08:15 now


@pytest.mark.usefixtures("routed")
def test_dry_runs_score_priority_rules_on_the_priorities_people_set(
    client: Client, api_url: str, tmp_path: Path
) -> None:
    assert reprioritise(client, CASE, {"priority": "urgent", "reason": JOURNALIST})[0] == 200
    live = get(client, "/admin/rules")["rules"]
    raising = {
        "id": "lost-orders-urgent",
        "order": 0,
        "when": {"text": {"contains_any": ["never arrived"]}},
        "then": {"priority": "urgent"},
        "continue": True,  # the rules after it still decide where it goes
    }
    for candidate, right in ((live, 0), ([raising, *live], 1)):
        response = client.http.post(
            "/admin/rules/test", headers=AUTH, body=json.dumps({"rules": candidate}).encode()
        )
        report = json.loads(response.body)
        assert report["by_people"]["mentions"] == 0  # not answered nor moved: no department
        assert report["by_people"]["reprioritised"] == {
            "mentions": 1,
            "live": 0,
            "candidate": right,
        }
    [change] = report["changes"]
    assert (change["id"], change["people"], change["people_priority"]) == (CASE, None, "urgent")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump([raising, *live], sort_keys=False))
    code, out = run("rules", "test", str(rules_file), "--url", api_url)
    assert code == 0
    assert "cases people re-prioritised: 1; given the priority they set: live 0, candidate 1" in out
    assert (
        f"{CASE}  @AcmeHelp my order #88213 never arrived" in out and "(urgent, people say)" in out
    )


@pytest.fixture
def agents_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"maya": "U0MAYA", "lee": "U0LEE"}))


@pytest.mark.usefixtures("agents_told", "routed")
def test_whoever_has_the_case_is_told_when_someone_else_changes_its_priority(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    as_maya = {**AUTH, "X-Switchboard-Author": "maya"}
    assert client.http.post(f"/mentions/{CASE}/take", headers=as_maya).status_code == 200
    assert reprioritise(client, CASE, {"priority": "high", "reason": "VIP"}, by="lee")[0] == 200
    assert reprioritise(client, CASE, {"priority": "urgent", "reason": "mine"}, by="maya")[0] == 200
    drain_outbox(stack)
    told = [(r.body["channel"], r.body["text"].split("*:")[0]) for r in fakes.accepted("slack")]
    assert told == [("U0MAYA", '*[HIGH] lee made your support case high (was normal): "VIP"')]
