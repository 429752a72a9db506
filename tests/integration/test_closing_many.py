"""A department closes every waiting case a condition matches at once (an outage the status
page answered, a spam wave): POST /departments/{department}/close, `switchboard
close-matching`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.devstack import scheduled_event
from chalicelib.observability import metrics
from tests.integration.conftest import bodies, receive_all
from tests.integration.test_native_answers import deliver
from tests.integration.test_rules_cli import run

AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}
OUTAGE = {"text": {"contains_any": ["down", "outage"]}}
REASON = "checkout outage 24 Nov: the status page answers it"


def mention(number: int, text: str) -> dict[str, Any]:
    """A customer writing to the brand on Sunday morning (overdue now)."""
    return {
        "id": f"reddit:t1_{number}",
        "platform": "reddit",
        "text": text,
        "created_at": f"2026-11-22T08:{number:02d}:00Z",
        "author": {"id": f"u{number}", "handle": f"customer{number}"},
    }


WAVE = [
    mention(1, "@AcmeHelp checkout is down, my order failed twice. Is anyone fixing it?"),
    mention(2, "@AcmeHelp is the site down? can't pay for my order"),
    mention(3, "@AcmeHelp my refund for order 5521 still hasn't arrived, can you check?"),
    mention(4, "@AcmeHelp outage again?? third time this month, order stuck at payment"),
]
DOWN = [m["id"] for m in WAVE if m["id"] != "reddit:t1_3"]


def close_matching(client: Client, body: Any, department: str = "support") -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.http.post(f"/departments/{department}/close", headers=AUTH, body=raw)
    return response.status_code, json.loads(response.body)


def waiting_ids(client: Client) -> list[str]:
    response = client.http.get("/departments/support/waiting", headers=AUTH)
    return [r["id"] for r in json.loads(response.body)["waiting"]]


@pytest.fixture
def wave(client: Client, stack: dict[str, str]) -> None:
    """Three customers telling support the site is down, one asking about a refund."""
    deliver(client, stack, "generic", json.dumps(WAVE).encode())
    assert sorted(waiting_ids(client)) == sorted(m["id"] for m in WAVE)
    receive_all(stack["support"])


@pytest.mark.usefixtures("wave")
def test_the_cases_a_condition_matches_are_closed_at_once(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    status, planned = close_matching(client, {"when": OUTAGE, "reason": REASON, "dry_run": True})
    assert status == 200, planned
    assert [c["mention"]["id"] for c in planned["closed"]] == DOWN
    assert [c["why"] for c in planned["closed"]] == [
        "text contains 'down'",
        "text contains 'down'",
        "text contains 'outage'",
    ]
    assert (planned["waiting"], planned["all_read"], planned["more"]) == (4, True, False)
    assert len(waiting_ids(client)) == 4 and bodies(stack["support"]) == []  # a dry run

    metrics.clear_metrics()
    status, done = close_matching(client, {"when": OUTAGE, "reason": REASON})
    assert status == 200 and not done["dry_run"]
    assert [c["mention"]["id"] for c in done["closed"]] == DOWN
    assert waiting_ids(client) == ["reddit:t1_3"]  # the refund still waits
    assert [(m["mention"]["id"], m["routing"]["tags"][-1]) for m in bodies(stack["support"])] == [
        (mention_id, "closed") for mention_id in DOWN
    ]
    assert metrics.metric_set["CasesClosed"]["Value"] == [1.0, 1.0, 1.0]
    record = wiring.mentions().get(DOWN[0])
    assert record is not None and (record.closed_by, record.closed_reason) == ("admin", REASON)
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": ["reddit:t1_3"],
        "given": [],
        "digests": [],
    }


@pytest.mark.usefixtures("wave")
def test_a_case_someone_took_is_left_to_them_and_the_rest_go_a_limit_at_a_time(
    client: Client,
) -> None:
    taken = client.http.post(
        f"/mentions/{DOWN[1]}/take", headers={**AUTH, "X-Switchboard-Author": "maya"}, body="{}"
    )
    assert taken.status_code == 200
    status, first = close_matching(client, {"when": OUTAGE, "reason": REASON, "limit": 1})
    assert status == 200
    assert [c["mention"]["id"] for c in first["closed"]] == [DOWN[0]] and first["more"]
    assert [(c["mention"]["id"], c["taken_by"]) for c in first["taken"]] == [(DOWN[1], "maya")]
    status, second = close_matching(client, {"when": OUTAGE, "reason": REASON, "limit": 1})
    assert [c["mention"]["id"] for c in second["closed"]] == [DOWN[2]] and not second["more"]
    assert sorted(waiting_ids(client)) == [DOWN[1], "reddit:t1_3"]


@pytest.mark.usefixtures("wave")
def test_conditions_read_the_signals_routing_stored(client: Client) -> None:
    """Every signal routing stored is there to match on: here, all but the least complaining."""
    scores = {}
    for item in WAVE:
        record = wiring.mentions().get(item["id"])
        assert record is not None
        scores[item["id"]] = float(record.message.routing.signals["complaint"] or 0)
    calmest = min(scores, key=scores.__getitem__)
    bound = round(scores[calmest] + 0.001, 3)
    when = {"signals.complaint": {"gte": bound}}
    code, answer = close_matching(client, {"when": when, "reason": "x", "dry_run": True})
    assert code == 200
    matched = {c["mention"]["id"]: c["why"] for c in answer["closed"]}
    assert set(matched) == set(scores) - {calmest}
    assert all(why.startswith("signals.complaint ") for why in matched.values())


@pytest.mark.usefixtures("wave")
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"when": {"txt": {"contains_any": ["a"]}}, "reason": "x"}, 400,
         "when.txt: unknown field 'txt'"),
        ({"when": {"text": {"matches": "(unclosed"}}, "reason": "x"}, 400,
         "when.text.matches: invalid RE2 pattern"),
        ({"when": {}, "reason": "x"}, 400, "when: Dictionary should have at least 1 item"),
        ({"when": "down", "reason": "x"}, 400, "when: Input should be a valid dictionary"),
        ({"when": OUTAGE}, 400, "reason: Field required"),
        ({"when": OUTAGE, "reason": "x", "limit": 201}, 400, "limit: Input should be less"),
        ({"when": OUTAGE, "reason": "x", "limit": 0}, 400, "limit: Input should be greater"),
        ({"when": OUTAGE, "reason": "x", "notify": True}, 400, "notify: no such field"),
        (b"{not json", 400, "body is not valid JSON"),
    ],
)  # fmt: skip
def test_a_sweep_that_cannot_work_says_why_and_closes_nothing(
    client: Client, stack: dict[str, str], body: Any, status: int, says: str
) -> None:
    code, answer = close_matching(client, body)
    assert code == status and says in answer["message"], answer
    assert len(waiting_ids(client)) == 4 and bodies(stack["support"]) == []


def test_an_unknown_department_or_no_token_is_refused(client: Client) -> None:
    code, answer = close_matching(client, {"when": OUTAGE, "reason": "x"}, department="legal")
    assert code == 404 and "no department 'legal'" in answer["message"]
    response = client.http.post(
        "/departments/support/close",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"when": OUTAGE, "reason": "x"}),
    )
    assert response.status_code == 401


def test_a_hostile_pattern_is_matched_in_linear_time(client: Client, stack: dict[str, str]) -> None:
    """`(a+)+$` backtracks for ages in Python's re on a long run of a's before a `!`; RE2,
    which rules use, does not."""
    text = "@AcmeHelp checkout is down, my order failed " + "a" * 20_000 + "!"
    deliver(client, stack, "generic", json.dumps(mention(9, text)).encode())
    assert waiting_ids(client) == ["reddit:t1_9"]
    for pattern, matched in (("(a+)+$", []), ("(a+)+!$", ["reddit:t1_9"])):
        body = {"when": {"text": {"matches": pattern}}, "reason": "x", "dry_run": True}
        code, answer = close_matching(client, body)
        assert code == 200 and [c["mention"]["id"] for c in answer["closed"]] == matched


@pytest.mark.usefixtures("wave")
def test_switchboard_close_matching_lists_first_and_closes_with_yes(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    when = "text: {contains_any: [down, outage]}"
    code, out = run("close-matching", "support", when, REASON, "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == (
        "3 of the 4 waiting in support match; to close them, run it again with --yes"
    )
    assert lines[1:3] == [
        f"{DOWN[0]}  text contains 'down'",
        "  @AcmeHelp checkout is down, my order failed twice. Is anyone fixing it?",
    ]
    code, out = run("close-matching", "support", when, REASON, "--yes", "--limit", "2",
                    "--url", api_url)  # fmt: skip
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"closed 3 of the 4 waiting in support: {REASON}"
    assert [line.split()[0] for line in lines[1::2]] == DOWN  # two calls, 2 then 1
    capsys.readouterr()
    code, _ = run("close-matching", "support", "text: [", REASON, "--url", api_url)
    assert code == 1 and "error: cannot read the condition" in capsys.readouterr().err
    code, _ = run("close-matching", "support", "txt: {equals: 1}", REASON, "--url", api_url)
    assert code == 2 and "unknown field 'txt'" in capsys.readouterr().err


@pytest.mark.usefixtures("wave")
def test_a_call_short_of_time_closes_what_it_can_and_says_more_match() -> None:
    """The API has seconds, not minutes: what it had no time to close is left for the next
    call (`more`), never cut off half-closed."""
    from chalicelib.models import CloseMatchingRequest
    from chalicelib.services.cases import CaseService
    from chalicelib.services.sweeps import close_matching as sweep
    from chalicelib.settings import get_settings

    cases = CaseService(wiring.mentions(), wiring.queues(), get_settings())
    seconds_left = iter([9.0, 1.5])  # time for one close, then under the reserve
    ask = CloseMatchingRequest(when=OUTAGE, reason=REASON)
    result = sweep(cases, "support", ask, "admin", lambda: next(seconds_left))
    assert [c.mention.id for c in result.closed] == [DOWN[0]] and result.more
    closed = [r.id for r in map(wiring.mentions().get, DOWN) if r and r.closed_at]
    assert closed == [DOWN[0]]
