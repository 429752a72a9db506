"""A department hands a case over to another (POST /mentions/{id}/transfer, `switchboard
transfer`): the case, what continues it and its customer's next messages follow; both
departments hear of it; dry-runs score rulesets on the hand-overs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client

from chalicelib import wiring
from chalicelib.observability import metrics
from tests.helpers import sample_bytes
from tests.integration.conftest import bodies, receive_all
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import get
from tests.integration.test_rules_cli import run

CASE = "x:1992000000000000001"  # "my order #88213 never arrived…": support
CUSTOMER = "1158276305785221121"
AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}
REASON = "threatens to sue: legal goes through PR"
ORDER_LEGAL = {
    "id": "order-legal",
    "order": 0,
    "when": {"text": {"contains_any": ["never arrived"]}},
    "then": {"route_to": "pr"},
}
"""A candidate rule that sends the case where the department handed it."""


def transfer(client: Client, mention_id: str, body: Any, **headers: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.http.post(
        f"/mentions/{mention_id}/transfer", headers={**AUTH, **headers}, body=raw
    )
    return response.status_code, json.loads(response.body)


def customer_tweet(post_id: str, text: str, replying_to: str | None) -> bytes:
    """The late-delivery customer writing again, in reply to `replying_to`."""
    delivery = json.loads(sample_bytes("x_late_delivery.json"))
    del delivery["tweet_create_events"][0]["edit_history"]  # a post of its own, not an edit
    delivery["tweet_create_events"][0] |= {
        "id_str": post_id,
        "text": text,
        "in_reply_to_status_id_str": replying_to,
        "in_reply_to_user_id_str": CUSTOMER if replying_to else None,
    }
    return json.dumps(delivery).encode()


@pytest.fixture
def routed(client: Client, stack: dict[str, str]) -> None:
    """The late delivery routed to support, its queue read."""
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    receive_all(stack["support"])


def waiting_ids(client: Client, department: str) -> list[str]:
    return [r["id"] for r in get(client, f"/departments/{department}/waiting")["waiting"]]


@pytest.mark.usefixtures("routed")
def test_a_handed_over_case_is_the_new_departments_and_both_hear_of_it(
    client: Client, stack: dict[str, str]
) -> None:
    follow_up = "x:1992000000000000777"
    text = "@AcmeHelp still nothing, two weeks now"
    deliver(client, stack, "x", customer_tweet(follow_up[2:], text, CASE[2:]))
    assert [json.loads(m["Body"])["mention"]["id"] for m in receive_all(stack["support"])] == [
        follow_up
    ]
    metrics.clear_metrics()
    status, record = transfer(client, CASE, {"to": "pr", "reason": REASON}, **{
        "X-Switchboard-Author": "maya"})  # fmt: skip
    assert status == 200, record
    routing = record["message"]["routing"]
    assert routing["department"] == "pr"
    [handover] = routing["transfers"]
    assert handover["from_department"] == "support" and handover["to_department"] == "pr"
    assert (handover["by"], handover["reason"]) == ("maya", REASON)
    assert routing["sla_due_at"] == get(client, f"/mentions/{CASE}")["message"]["routing"][
        "sla_due_at"]  # fmt: skip
    # PR gets the case and the customer's follow-up, support news that both left it
    arrived = bodies(stack["pr"])
    assert [(m["mention"]["id"], m["routing"]["tags"][-1]) for m in arrived] == [
        (CASE, "transferred"),
        (follow_up, "transferred"),
    ]
    assert all(m["routing"]["department"] == "pr" for m in arrived)
    left = bodies(stack["support"])
    assert [(m["mention"]["id"], m["routing"]["tags"][-1]) for m in left] == [
        (CASE, "handed-over"),
        (follow_up, "handed-over"),
    ]
    assert waiting_ids(client, "support") == []
    assert set(waiting_ids(client, "pr")) == {CASE, follow_up}
    assert metrics.metric_set["CasesTransferred"]["Value"] == [1.0, 1.0]
    # listed among support's cases handed over (the follow-up belongs to the case)
    listed = get(client, "/departments/support/handed-over")
    assert (listed["days"], [r["id"] for r in listed["cases"]]) == (30, [CASE])
    assert listed["cases"][0]["message"]["routing"]["decided_by"] == "service-problem"
    assert get(client, "/departments/pr/handed-over")["cases"] == []
    # the customer's next message goes where the case went
    deliver(
        client, stack, "x", customer_tweet("1992000000000000778", "@AcmeHelp ??", follow_up[2:])
    )
    later = get(client, "/mentions/x:1992000000000000778")["message"]["routing"]
    assert later["department"] == "pr" and later["conversation"]["department"] == "pr"


@pytest.mark.usefixtures("routed")
def test_a_repeated_hand_over_sends_again_and_changes_nothing_else(
    client: Client, stack: dict[str, str]
) -> None:
    first = transfer(client, CASE, {"to": "pr", "reason": REASON})[1]
    receive_all(stack["pr"])
    receive_all(stack["support"])
    status, again = transfer(client, CASE, {"to": "pr", "reason": "retry"})  # a lost answer
    assert status == 200 and again["message"]["routing"]["transfers"] == first["message"][
        "routing"]["transfers"]  # fmt: skip
    assert [m["routing"]["tags"][-1] for m in bodies(stack["pr"])] == ["transferred"]
    assert [m["routing"]["tags"][-1] for m in bodies(stack["support"])] == ["handed-over"]
    status, back = transfer(client, CASE, {"to": "support", "reason": "not a real threat"})
    assert status == 200 and back["message"]["routing"]["department"] == "support"
    assert [t["to_department"] for t in back["message"]["routing"]["transfers"]] == [
        "pr",
        "support",
    ]


@pytest.mark.usefixtures("routed")
def test_a_case_handed_to_a_department_with_office_hours_is_due_in_them(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Posted on Sunday at 08:00 and due within the hour in support (around the clock), the
    case is due on Monday morning once PR, which works office hours, has it: PR's hours count,
    from when the customer posted, so the SLA check does not escalate it over the weekend."""
    monkeypatch.setenv("SLA_DEPARTMENT_HOURS", '{"pr": "mon-fri 09:00-17:00"}')
    wiring.reset()
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    routed = get(client, f"/mentions/{CASE}")["message"]["routing"]
    assert routed["sla_due_at"] == "2026-11-22T09:00:00Z"
    assert [r.id for r in wiring.mentions().overdue(sunday_noon)] == [CASE]
    status, record = transfer(client, CASE, {"to": "pr", "reason": REASON})
    assert status == 200, record
    assert record["message"]["routing"]["sla_due_at"] == "2026-11-23T10:00:00Z"
    assert wiring.mentions().overdue(sunday_noon) == []
    [waiting] = get(client, "/departments/pr/waiting")["waiting"]
    assert waiting["message"]["routing"]["sla_due_at"] == "2026-11-23T10:00:00Z"
    monday = datetime(2026, 11, 23, 10, 1, tzinfo=UTC)
    assert [r.id for r in wiring.mentions().overdue(monday)] == [CASE]
    status, back = transfer(client, CASE, {"to": "support", "reason": "not a real threat"})
    assert back["message"]["routing"]["sla_due_at"] == "2026-11-22T09:00:00Z"  # its own again


@pytest.mark.usefixtures("routed")
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"to": "legal", "reason": "x"}, 400,
         "no department 'legal' to hand it over to; departments: support, pr, marketing, triage"),
        ({"to": "ignore", "reason": "spam"}, 400, "no department 'ignore'"),
        ({"to": "support", "reason": "x"}, 409, f"{CASE} is support's already"),
        ({"to": "pr"}, 400, "reason: Field required"),
        ({"to": "pr", "reason": ""}, 400, "reason: String should have at least 1 character"),
        ({"to": "pr", "reason": "x", "notify": 1}, 400, "notify: no such field; the fields"),
        (b"[1", 400, "body is not valid JSON"),
    ],
)  # fmt: skip
def test_a_hand_over_that_cannot_work_says_why(
    client: Client, stack: dict[str, str], body: Any, status: int, says: str
) -> None:
    code, answer = transfer(client, CASE, body)
    assert code == status and says in answer["message"], answer
    record = wiring.mentions().get(CASE)
    assert record is not None and record.message.routing.department == "support"
    assert bodies(stack["pr"]) == bodies(stack["support"]) == []


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/departments/legal/handed-over", 404, "no department 'legal'"),
        ("/departments/support/handed-over?days=0", 400, "days must be from 1 to 90"),
        ("/departments/support/handed-over?days=91", 400, "days must be from 1 to 90"),
        ("/departments/support/handed-over?limit=201", 400, "limit must be from 1 to 200"),
        ("/ignored?days=ten", 400, "days must be an integer"),
        ("/ignored?days=91", 400, "days must be from 1 to 90"),
    ],
)
def test_a_handed_over_list_that_cannot_be_read_says_why(
    client: Client, path: str, status: int, says: str
) -> None:
    response = client.http.get(path, headers=AUTH)
    assert response.status_code == status and says in json.loads(response.body)["message"]


@pytest.mark.parametrize("path", ["/ignored", "/departments/support/handed-over"])
def test_the_lists_need_the_token(client: Client, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert client.http.get(path, headers=headers).status_code == 401


def test_only_a_case_still_there_can_be_handed_over(client: Client, stack: dict[str, str]) -> None:
    assert transfer(client, "x:404", {"to": "pr", "reason": "x"})[0] == 404
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    wiring.mentions().mark_deleted(CASE, datetime.now(UTC))
    code, answer = transfer(client, CASE, {"to": "pr", "reason": "x"})
    assert code == 409 and "deleted by its author" in answer["message"]
    unauthorised = client.http.post(
        f"/mentions/{CASE}/transfer", headers={"Content-Type": "application/json"}, body=b"{}"
    )
    assert unauthorised.status_code == 401


def dry_run(client: Client, rules: list[Any]) -> dict[str, Any]:
    response = client.http.post(
        "/admin/rules/test", headers=AUTH, body=json.dumps({"rules": rules}).encode()
    )
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


NOBODY = {"mentions": 0, "live": 0, "candidate": 0}
"""No case people re-prioritised, in a dry run's `by_people`."""


def scored(right: int, macro_f1: float) -> dict[str, Any]:
    return {"right": right, "macro_f1": macro_f1}


@pytest.mark.usefixtures("routed")
def test_dry_runs_score_rulesets_on_what_people_did_with_the_cases(
    client: Client, stack: dict[str, str]
) -> None:
    live = get(client, "/admin/rules")["rules"]
    nothing_yet = dry_run(client, live)["by_people"]  # nobody answered or moved it yet
    assert nothing_yet == {"mentions": 0, "handed_over": 0, "live": scored(0, 0.0),
                           "candidate": scored(0, 0.0), "reprioritised": NOBODY}  # fmt: skip
    deliver(client, stack, "x", sample_bytes("x_dm_refund.json"))  # answered in the sample
    transfer(client, CASE, {"to": "pr", "reason": REASON})
    for candidate, right in ((live, 1), ([ORDER_LEGAL, *live], 2)):
        report = dry_run(client, candidate)
        assert report["by_people"] == {
            "mentions": 2,  # the refund DM, answered in support; the order, handed to pr
            "handed_over": 1,
            "live": scored(1, 0.333),  # support right; pr's case sent to support
            "candidate": scored(right, 1.0 if right == 2 else 0.333),
            "reprioritised": NOBODY,
        }
    [change] = report["changes"]
    assert (change["id"], change["people"]) == (CASE, "pr")


@pytest.mark.usefixtures("routed")
def test_switchboard_transfer_the_case_history_and_the_dry_run(
    api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("transfer", CASE, "pr", REASON, "--url", api_url)
    assert code == 0
    said, due = out.splitlines()
    assert said == f"{CASE} is pr's now, handed over from support by admin: {REASON}"
    assert due.startswith("  reply by: 2026-11-22T09:00:00+00:00 (overdue by ")
    code, out = run("mention", CASE, "--url", api_url)
    assert code == 0 and f"  handed over from support by admin: {REASON}" in out
    assert f"(from support to pr by admin: {REASON})" in out
    code, out = run("handed-over", "support", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[:2] == [
        "1 case(s) routed to support in the last 30 days were handed over: to pr 1",
        "routed there by: service-problem 1",
    ]
    assert lines[2].startswith(f"{CASE}  → pr  by admin 20") and lines[2].endswith(
        f": {REASON}  (routed by service-problem)"
    )
    assert (
        lines[3]
        == "  @AcmeHelp my order #88213 never arrived and nobody answers my emails. Where is it?"
    )
    code, out = run("handed-over", "pr", "--days", "7", "--url", api_url)
    assert out == "0 case(s) routed to pr in the last 7 days were handed over\n"
    rules_file = tmp_path / "rules.yaml"
    assert run("rules", "pull", "--url", api_url, "-o", str(rules_file))[0] == 0
    rules = [ORDER_LEGAL, *yaml.safe_load(rules_file.read_text())]
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    code, out = run("rules", "test", "--url", api_url, str(rules_file))
    assert code == 0 and f"{CASE}  @AcmeHelp my order" in out
    assert "(belongs to pr, people say)" in out
    assert (
        "cases people answered or handed over: 1 (1 handed over); sent where they belonged:"
        " live 0 (macro F1 0.000), candidate 1 (macro F1 1.000)"
    ) in out
    capsys.readouterr()
    code, _ = run("transfer", CASE, "legal", "x", "--url", api_url)
    assert code == 2 and "error: HTTP 400: no department 'legal'" in capsys.readouterr().err


UNADDRESSED: dict[str, Any] = {  # a complaint that never @-names the brand: rules ignore it
    "id": "x:1992000000000000950",
    "platform": "x",
    "text": "acme broadband dead for the third evening this week #acme",
    "created_at": "2026-11-22T20:00:00Z",
    "author": {"id": "56", "handle": "kofi_a"},
}


def test_a_mention_routing_ignored_is_listed_and_rescued(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "generic", json.dumps(UNADDRESSED).encode())
    ignored = get(client, "/ignored")
    assert ignored["days"] == 7 and [r["id"] for r in ignored["ignored"]] == [UNADDRESSED["id"]]
    assert ignored["ignored"][0]["message"]["routing"]["decided_by"] == "not-addressed"
    status, record = transfer(client, UNADDRESSED["id"], {"to": "support", "reason": "outage"})
    assert status == 200 and record["status"] == "routed", record
    routing = record["message"]["routing"]
    assert routing["department"] == "support"
    assert routing["transfers"][0]["from_department"] == "ignore"
    assert routing["sla_due_at"] is not None  # on the clock, due as routing would have made it
    [arrived] = bodies(stack["support"])
    assert arrived["mention"]["id"] == UNADDRESSED["id"]
    assert arrived["routing"]["tags"][-1] == "transferred"
    assert waiting_ids(client, "support") == [UNADDRESSED["id"]]
    assert get(client, "/ignored")["ignored"] == []  # rescued: no longer among the ignored
    rescued = get(client, "/departments/ignore/handed-over")["cases"]
    assert [r["id"] for r in rescued] == [UNADDRESSED["id"]]
    cases = get(client, "/authors/x:56/cases")["cases"]
    assert [(c["id"], c["department"]) for c in cases] == [(UNADDRESSED["id"], "support")]
    # the dry-run counts the rescue: no ruleset here sends it to support
    live = get(client, "/admin/rules")["rules"]
    response = client.http.post(
        "/admin/rules/test", headers=AUTH, body=json.dumps({"rules": live}).encode()
    )
    assert json.loads(response.body)["by_people"] == {
        "mentions": 1, "handed_over": 1, "live": scored(0, 0.0), "candidate": scored(0, 0.0),
        "reprioritised": NOBODY,
    }  # fmt: skip


def test_switchboard_ignored_lists_what_to_rescue(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    deliver(client, stack, "generic", json.dumps(UNADDRESSED).encode())
    code, out = run("ignored", "--url", api_url)
    assert code == 0 and out.splitlines() == [
        "1 mention(s) ignored in the last 7 days",
        f"{UNADDRESSED['id']}  x/mention  by kofi_a  (not-addressed: platform is 'x' and kind is"
        " 'mention' and not text matches /@\\w/ and signals.question 0 <= 0 and"
        " signals.readable 1 >= 1 and signals.complaint 0.379 <= 0.5 and signals.sentiment"
        " -0.649 <= 0.5)",
        f"  {UNADDRESSED['text']}",
    ]
    run("transfer", UNADDRESSED["id"], "support", "an outage report", "--url", api_url)
    code, out = run("mention", UNADDRESSED["id"], "--url", api_url)
    assert "  rescued from ignore by admin: an outage report" in out.splitlines()
    code, out = run("handed-over", "ignore", "--url", api_url)
    assert out.splitlines()[:2] == [
        "1 case(s) routed to ignore in the last 30 days were handed over: to support 1",
        "routed there by: not-addressed 1",
    ]


def test_a_rescued_direct_message_is_its_senders_open_conversation(
    client: Client, stack: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    first: dict[str, Any] = {"id": "x:1992000000000000961", "platform": "x", "kind": "dm",
             "text": "Follow back for free followers!!! then pls check my order 88213",
             "created_at": now.isoformat(), "author": {"id": "57", "handle": "ama_k"}}  # fmt: skip
    deliver(client, stack, "generic", json.dumps(first).encode())
    assert get(client, f"/mentions/{first['id']}")["status"] == "ignored"  # the spam rule
    assert transfer(client, first["id"], {"to": "support", "reason": "a customer"})[0] == 200
    second = {**first, "id": "x:1992000000000000962", "text": "hello? any news?"}
    deliver(client, stack, "generic", json.dumps(second).encode())
    routing = get(client, f"/mentions/{second['id']}")["message"]["routing"]
    assert routing["conversation"] == {"mention_id": first["id"], "department": "support"}
    assert routing["department"] == "support"


def test_a_ruleset_that_routes_worse_by_the_peoples_verdicts_is_not_pushed_with_no_worse(
    client: Client,
    stack: dict[str, str],
    api_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deliver(client, stack, "x", sample_bytes("x_dm_refund.json"))  # answered by support
    rules_file = tmp_path / "rules.yaml"
    assert run("rules", "pull", "--url", api_url, "-o", str(rules_file))[0] == 0
    live = yaml.safe_load(rules_file.read_text())
    dms_to_marketing = {
        "id": "dms-to-marketing",
        "order": 0,
        "when": {"kind": {"equals": "dm"}},
        "then": {"route_to": "marketing"},
    }
    rules_file.write_text(yaml.safe_dump([dms_to_marketing, *live], sort_keys=False))
    capsys.readouterr()
    code, _ = run("rules", "push", str(rules_file), "-m", "DMs", "--no-worse", "--url", api_url)
    assert code == 1
    assert "refused: of the 1 cases people answered or handed over" in capsys.readouterr().err
    assert get(client, "/admin/rules")["version"] == 1  # nothing published
    rules_file.write_text(yaml.safe_dump([{**dms_to_marketing, "enabled": False}, *live]))
    code, out = run("rules", "push", str(rules_file), "-m", "later", "--no-worse", "--url", api_url)
    assert (code, out.strip()) == (0, "published v2: later")  # no worse: published
