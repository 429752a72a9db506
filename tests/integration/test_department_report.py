"""A department's report (GET /departments/{department}/report, `switchboard report`): what
became of the mentions routed to it over the last days."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import sample_bytes
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import drain_outbox, get
from tests.integration.test_rules_cli import run
from tests.integration.test_taking_cases import AUTH, CASE
from tests.integration.test_transferring_cases import customer_tweet


@pytest.fixture
def week(client: Client, stack: dict[str, str], fakes: FakePlatforms) -> None:
    """Support's week: the late delivery (posted long ago, so overdue) answered, and a second
    case from the same customer still waiting."""
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    deliver(client, stack, "x", customer_tweet("1992000000000000990", "@AcmeHelp my refund?", None))
    body = json.dumps({"mention_id": CASE, "text": "Sorry Dana, DM us"}).encode()
    maya = {**AUTH, "X-Switchboard-Author": "maya"}
    assert client.http.post("/replies", headers=maya, body=body).status_code == 202
    drain_outbox(stack)


@pytest.mark.usefixtures("week")
def test_a_department_sees_how_its_week_went(client: Client) -> None:
    report = get(client, "/departments/support/report")
    assert (report["department"], report["days"]) == ("support", 7)
    assert (report["mentions"], report["answered"], report["waiting"]) == (2, 1, 1)
    assert report["on_time"] == 0 and report["due"] >= 1  # the sample was posted long ago
    assert report["sla_met"] == 0.0 and report["first_response_p50"] > 0
    assert report["by_person"] == [
        {
            "agent": "maya",
            "answered": 1,
            "on_time": 0,
            "first_response_p50": report["first_response_p50"],
            "passed_on": 0,
        }
    ]
    assert get(client, "/departments/pr/report")["mentions"] == 0
    body = json.dumps({"to": "pr", "reason": "press"}).encode()
    client.http.post("/mentions/x:1992000000000000990/transfer", headers=AUTH, body=body)
    after = get(client, "/departments/support/report")
    assert (after["mentions"], after["waiting"], after["handed_over"]) == (1, 0, 1)
    assert get(client, "/departments/pr/report")["mentions"] == 1  # counted where it went
    assert get(client, "/departments/support/report?days=1")["days"] == 1


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/departments/legal/report", 404, "no department 'legal'"),
        ("/departments/support/report?days=0", 400, "days must be from 1 to 90"),
        ("/departments/support/report?days=week", 400, "days"),
    ],
)
def test_a_report_that_cannot_be_made_says_why(
    client: Client, path: str, status: int, says: str
) -> None:
    response = client.http.get(path, headers=AUTH)
    assert response.status_code == status and says in json.loads(response.body)["message"]
    assert client.http.get("/departments/support/report").status_code == 401


@pytest.mark.usefixtures("week")
def test_switchboard_report_without_a_department_tells_each_one(api_url: str) -> None:
    code, out = run("report", "--url", api_url)
    headings = [line.split(",")[0] for line in out.splitlines() if "the last 7 days" in line]
    assert code == 0 and headings == ["support", "pr", "marketing", "triage"]
    assert "\n\npr, the last 7 days" in out  # a blank line between two departments
    code, out = run("report", "--json", "--url", api_url)
    reports = [json.loads(line) for line in out.splitlines()]
    assert [r["department"] for r in reports] == ["support", "pr", "marketing", "triage"]


@pytest.mark.usefixtures("week")
def test_switchboard_report(api_url: str) -> None:
    code, out = run("report", "support", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("support, the last 7 days (since ")
    assert lines[1:] == [
        "  mentions        2",
        "  answered        1  (first response: " + lines[2].split("(first response: ")[1],
        "  on time         0%  (0 of the 2 due)",
        "  waiting now     1  (1 overdue)",
        "  escalated       0",
        "  closed          0  (no reply needed)",
        "  withdrawn       0  (hidden or deleted)",
        "  handed over     0  (to other departments: counted there)",
        "  by person       (first responses sent through Switchboard, cases let run out)",
        "    maya          1 answered, 0% on time, median " + lines[10].split("median ")[1],
        "  satisfaction    -  (no answers to 0 surveys)",
    ]
