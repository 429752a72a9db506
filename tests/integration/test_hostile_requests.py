"""Every route, called with hostile path values, query strings and bodies, answers with a
status under 500 and a JSON body that says what is wrong: never a crash."""

from __future__ import annotations

import json
import re
from itertools import product
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from tests.integration.test_replies import AUTH, routed

PATH_VALUES = (
    "x:1992000000000000001",  # a routed mention
    "support",
    "%00",
    "a" * 3000,
    "..%2F..",
    "%F0%9F%98%80",
    "%ZZ",
    "-1",
    "99999999999999999999999",
)
BODIES = (
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"1e999",
    b'{"unknown": 1}',
    json.dumps({"text": 5, "reason": [], "when": 1, "hours": "x", "days": -1}).encode(),
    json.dumps({"when": {"text": {"matches": "(a+)+$"}}, "reason": "r", "days": 1}).encode(),
    json.dumps({"rules": [{"id": "r", "when": {"text": {"contains": "a"}}, "then": {}}]}).encode(),
    json.dumps({"mention_id": "x:1992000000000000001", "text": "a" * 100_000}).encode(),
    b'{"a":' * 5000 + b"1" + b"}" * 5000,  # deeper than a parser follows
    b'{"b": "\\ud800", "a":' * 900 + b"1" + b"}" * 900,  # lone surrogates, 900 deep
    b"\xff\xfe\x00",
)
QUERIES = ("", "?days=abc", "?days=-5", "?limit=1000000", "?mine=maybe", "?since=notadate")


def a_crash(response: Any) -> bool:
    """Whether an answer is a crash: a 5xx, or a 4xx whose JSON body does not say what is
    wrong."""
    answer = json.loads(response.body) if response.body else {}
    return bool(
        response.status_code >= 500 or (response.status_code >= 400 and not answer.get("message"))
    )


EVERYTHING_ON = {
    "APPROVAL_DEPARTMENTS": "pr,support",
    "ALERT_CHANNELS": json.dumps({"pr": "C0PR", "support": "C0SUP"}),
    "AGENT_CHANNELS": json.dumps({"admin": "U0ADMIN", "maya": "U0MAYA"}),
    "ALERT_BUTTONS": "true",
    "SATISFACTION_SURVEY": "How did we do, {name}? Reply 1 to 5.",
    "AWAY_MESSAGE": "We are closed, {name}: back at 9.",
}
"""Settings that open the paths the defaults leave shut (approvals, alerts, surveys…)."""


@pytest.mark.parametrize("settings", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_no_route_answers_hostile_input_with_a_crash(
    client: Client, stack: dict[str, str], monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    from app import app

    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    routed(client, stack, "x", "x_late_delivery.json")
    routed(client, stack, "x", "x_food_safety_thread.json")
    answer = json.dumps({"mention_id": "x:1992000000000000001", "text": "Sorry!"}).encode()
    assert client.http.post("/replies", headers=AUTH, body=answer).status_code == 202  # pending
    taken = client.http.post("/mentions/x:1992000000000000002/take", headers=AUTH, body=b"{}")
    assert taken.status_code == 200, taken.body
    crashed = []
    for path, methods in sorted(app.routes.items()):
        values = PATH_VALUES if "{" in path else ("",)
        for method, value in product(methods, values):
            url = re.sub(r"{\w+}", value, path)
            calls = product(QUERIES, [b""]) if method == "GET" else product([""], BODIES)
            for query, body in calls:
                response = client.http.request(method, url + query, headers=AUTH, body=body)
                if a_crash(response):
                    crashed.append(
                        f"{method} {url[:60]}{query} {body[:30]!r}: {response.body[:80]!r}"
                    )
    assert crashed == [], "\n".join(crashed)
