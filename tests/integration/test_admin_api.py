"""The admin API on moto: edit, validate, publish, dry-run on recent traffic, history, rollback."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.routing import EngineCache
from chalicelib.settings import get_settings
from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed, receive_all
from tests.integration.test_routing_flow import drain_intake

AUTH = {"Authorization": "Bearer test-admin-token", "X-Switchboard-Author": "ana@acme"}
JSON = {**AUTH, "Content-Type": "application/json"}
TO_MARKETING = {
    "id": "reddit-to-marketing",
    "order": 1,
    "when": {"platform": {"equals": "reddit"}},
    "then": {"route_to": "marketing", "tags": ["community"]},
}


def call(
    client: Client, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = client.http.request(
        method,
        path,
        headers=headers or JSON,
        body=json.dumps(body).encode() if body is not None else b"",
    )
    return response.status_code, json.loads(response.body) if response.body else None


def live(client: Client) -> dict[str, Any]:
    status, body = call(client, "GET", "/admin/rules")
    assert status == 200
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/rules"),
        ("POST", "/admin/rules"),
        ("GET", "/admin/rules/spam"),
        ("PUT", "/admin/rules/spam"),
        ("DELETE", "/admin/rules/spam"),
        ("POST", "/admin/rules/test"),
        ("GET", "/admin/rules/versions"),
        ("POST", "/admin/rules/rollback"),
    ],
)
def test_every_admin_route_needs_the_token(client: Client, method: str, path: str) -> None:
    status, body = call(client, method, path, {}, headers={"Content-Type": "application/json"})
    assert status == 401 and body["error"] == "unauthorized"
    status, _ = call(
        client,
        method,
        path,
        {},
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    assert status == 401


def test_live_ruleset_is_the_seeded_default(client: Client) -> None:
    body = live(client)
    assert body["version"] == 1 and body["author"] == "switchboard"
    assert any(rule["id"] == "health-and-safety" for rule in body["rules"])


def test_add_replace_get_delete_one_rule_each_a_version(client: Client) -> None:
    status, body = call(client, "POST", "/admin/rules", TO_MARKETING)
    assert (status, body) == (201, {"version": 2})
    status, body = call(client, "POST", "/admin/rules", TO_MARKETING)
    assert status == 409 and "exists" in body["message"]
    status, body = call(client, "GET", "/admin/rules/reddit-to-marketing")
    assert status == 200 and body["then"]["route_to"] == "marketing"
    changed = {**TO_MARKETING, "then": {"route_to": "pr"}}
    assert call(client, "PUT", "/admin/rules/reddit-to-marketing", changed) == (200, {"version": 3})
    assert call(client, "GET", "/admin/rules/reddit-to-marketing")[1]["then"] == {"route_to": "pr"}
    assert call(client, "DELETE", "/admin/rules/reddit-to-marketing") == (200, {"version": 4})
    assert call(client, "GET", "/admin/rules/reddit-to-marketing")[0] == 404
    assert call(client, "DELETE", "/admin/rules/reddit-to-marketing")[0] == 404
    history = call(client, "GET", "/admin/rules/versions")[1]["versions"]
    assert [(v["version"], v["author"], v["comment"], v["live"]) for v in history[:3]] == [
        (4, "ana@acme", "deleted rule reddit-to-marketing", True),
        (3, "ana@acme", "replaced rule reddit-to-marketing", False),
        (2, "ana@acme", "added rule reddit-to-marketing", False),
    ]


def test_invalid_rules_are_never_published_through_any_route(client: Client) -> None:
    bad = {"id": "bad", "when": {"text": {"matches": "(a"}}, "then": {"route_to": "nowhere"}}
    for method, path, body in [
        ("POST", "/admin/rules", {"rules": [bad]}),
        ("POST", "/admin/rules", bad),
        ("PUT", "/admin/rules/bad", bad),
        ("POST", "/admin/rules/test", {"rules": [bad]}),
    ]:
        status, answer = call(client, method, path, body)
        assert status == 400, path
        assert answer["error"] == "invalid_ruleset"
        [problem] = answer["problems"]
        assert problem.startswith("rule 'bad' (#")
        assert problem.endswith("): when.text.matches: invalid RE2 pattern: missing ): (a")
    assert live(client)["version"] == 1
    assert call(client, "POST", "/admin/rules", {"rules": "nope"})[0] == 400
    response = client.http.post("/admin/rules", headers=JSON, body=b"{not json")
    assert response.status_code == 400 and "not valid JSON" in json.loads(response.body)["message"]
    deep = b'{"version": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # deeper than a parser goes
    for body in (b'{"version": Infinity}', b'{"version": NaN}', deep):  # Python reads the first
        response = client.http.post("/admin/rules/rollback", headers=JSON, body=body)  # two
        assert response.status_code == 400, body
        assert json.loads(response.body)["message"].startswith("body is not valid JSON: ")
    response = client.http.post("/admin/rules/rollback", headers=JSON, body=b'{"version": "2x"}')
    assert response.status_code == 400
    assert json.loads(response.body)["message"] == "version must be an integer"


def test_a_rule_whose_examples_do_not_hold_is_never_published(client: Client) -> None:
    """An admin adds a rule with the mentions it is for: at the default order an existing
    rule takes them first, and put first it takes an existing rule's own example, which the
    examples show before anything is published; an edit that stops it matching them is
    refused the same way."""
    lost = {
        "id": "never-arrived",
        "when": {"text": {"contains_any": ["never arrived"]}},
        "then": {"route_to": "support", "tags": ["lost-parcel"]},
        "examples": [
            "@AcmeHelp my parcel never arrived",
            {"text": "@AcmeHelp the parcel arrived, thanks", "matches": False},
        ],
    }
    status, answer = call(client, "PUT", "/admin/rules/never-arrived", lost)
    assert status == 400 and answer["error"] == "invalid_ruleset"
    assert answer["problems"] == [
        "rule 'never-arrived': example #1 ('@AcmeHelp my parcel never arrived') matches, but"
        " never reaches it: rule 'service-problem' decides first"
    ]
    first = {**lost, "order": 1}
    status, answer = call(client, "PUT", "/admin/rules/never-arrived", first)
    assert status == 400
    assert answer["problems"] == [
        "rule 'service-problem': example #1 ('@AcmeHelp my order never arrived and nobody"
        " answers my emai…') matches, but never reaches it: rule 'never-arrived' decides first"
    ]
    narrower = {**first, "when": {"text": {"contains_any": ["parcel never arrived"]}}}
    status, answer = call(client, "PUT", "/admin/rules/never-arrived", narrower)
    assert status == 200, answer
    published = live(client)
    assert published["version"] == 2
    [kept] = [rule for rule in published["rules"] if rule["id"] == "never-arrived"]
    assert kept["examples"] == lost["examples"]  # as written, for the next edit

    typo = {**narrower, "when": {"text": {"contains_any": ["parcel never arived"]}}}
    missed = (
        "rule 'never-arrived': example #1 ('@AcmeHelp my parcel never arrived') must match,"
        " but does not"
    )
    status, answer = call(client, "PUT", "/admin/rules/never-arrived", typo)
    assert (status, answer["problems"]) == (400, [missed])
    assert live(client)["version"] == 2
    # a dry run shows what the edit would do, and says so
    rules = [typo if rule["id"] == "never-arrived" else rule for rule in published["rules"]]
    status, report = call(client, "POST", "/admin/rules/test", {"rules": rules})
    assert (status, report["examples"]) == (200, [missed])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("GET", "/admin/rules?version=999", None, 404, "no ruleset version 999"),
        ("POST", "/admin/rules", ["not", "an", "object"], 400, "expected a JSON object"),
        ("POST", "/admin/rules", {"comment": "no rules"}, 400, 'send {"rules": [...]}'),
        ("POST", "/admin/rules/test", {"mentions": []}, 400, 'send {"rules": [...]'),
        ("POST", "/admin/rules/test", {"rules": [], "mentions": {}}, 400, "must be a list"),
        ("POST", "/admin/rules/test", {"rules": [], "mentions": [{"id": "x"}]}, 400, "invalid"),
        ("POST", "/admin/rules/rollback", {"comment": "undo"}, 400, 'send {"version": N'),
    ],
)
def test_an_admin_request_that_cannot_work_says_why(
    client: Client, method: str, path: str, body: Any, status: int, message: str
) -> None:
    got, answer = call(client, method, path, body)
    assert got == status and message in answer["message"]


def keyword_rules(count: int, per_rule: int) -> list[dict[str, Any]]:
    """`count` rules each matching its own `per_rule` made-up words (which do not compress)."""
    words = [hashlib.sha256(str(n).encode()).hexdigest()[:24] for n in range(count * per_rule)]
    return [
        {
            "id": f"campaign-{n}",
            "order": n + 1,
            "when": {"text": {"contains_any": words[n * per_rule : (n + 1) * per_rule]}},
            "then": {"route_to": "marketing", "tags": ["campaign"]},
        }
        for n in range(count)
    ]


def test_thousands_of_rules_publish_and_one_too_large_says_so(client: Client) -> None:
    many = keyword_rules(3_000, 3)  # 650 KB of JSON, more than one DynamoDB item holds as it is
    assert call(client, "POST", "/admin/rules", {"rules": many}) == (201, {"version": 2})
    body = live(client)
    assert body["version"] == 2 and [r["id"] for r in body["rules"]] == [r["id"] for r in many]
    status, answer = call(client, "POST", "/admin/rules", {"rules": keyword_rules(4_000, 8)})
    assert (status, answer["error"]) == (413, "payload_too_large"), answer
    assert "4,000 rules gzip'd" in answer["message"] and "at most 380,000" in answer["message"]
    assert live(client)["version"] == 2


def test_publish_with_a_stale_expected_version_conflicts(client: Client) -> None:
    rules = live(client)["rules"]
    assert (
        call(
            client, "POST", "/admin/rules", {"rules": rules, "comment": "a", "expected_version": 1}
        )[0]
        == 201
    )
    status, body = call(client, "POST", "/admin/rules", {"rules": rules, "expected_version": 1})
    assert status == 409 and body["error"] == "conflict"


def test_dry_run_on_recent_traffic_then_push_then_rollback(
    client: Client, stack: dict[str, str]
) -> None:
    post_signed(client, "generic", sample_bytes("generic_listening.json"))
    post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    drain_intake(stack)
    candidate = [TO_MARKETING, *live(client)["rules"]]

    status, report = call(client, "POST", "/admin/rules/test", {"rules": candidate})
    assert status == 200
    assert report["source"].startswith("recent traffic") and report["mentions"] == 3
    assert report["changed"] == 1
    [change] = report["changes"]
    assert change["id"] == "reddit:t3_1abc23"
    assert change["live"]["department"] == "pr" and change["live"]["rule"] == "press-and-media"
    assert change["candidate"] == {
        "department": "marketing",
        "also": [],
        "priority": "normal",
        "tags": ["community"],
        "hide": None,
        "rule": "reddit-to-marketing",
        "why": "platform is 'reddit'",
    }
    assert report["totals"]["marketing"] == {"live": 0, "candidate": 1}
    assert report["totals"]["pr"] == {"live": 1, "candidate": 0}
    matched = {rule["id"]: (rule["live"], rule["candidate"]) for rule in report["rules"]}
    assert matched["reddit-to-marketing"] == (None, 1)  # not a live rule
    assert matched["press-and-media"] == (1, 0)  # the new rule takes what it matched
    assert matched["service-problem"] == (1, 1) and matched["chasing"] == (0, 0)
    assert report["rules"][0]["id"] == "reddit-to-marketing"  # in the candidate's order

    # a rule that only tags, copies or raises changes what departments see: it is listed too
    tagging = {"id": "late-orders", "when": {"text": {"contains_any": ["never arrived"]}},
               "then": {"tags": ["late"]}, "continue": True}  # fmt: skip
    tagged = [tagging, *live(client)["rules"]]
    report = call(client, "POST", "/admin/rules/test", {"rules": tagged})[1]
    assert report["changed"] == 1 and report["changes"][0]["id"] == "x:1992000000000000001"
    assert report["changes"][0]["candidate"]["tags"] == ["late", "problem"]
    assert report["totals"]["support"] == {"live": 1, "candidate": 1}
    # a rule switched off does not run: it is not the candidate's, and the mention moves
    off = [{**rule, "enabled": False} if rule["id"] == "service-problem" else rule
           for rule in live(client)["rules"]]  # fmt: skip
    report = call(client, "POST", "/admin/rules/test", {"rules": off})[1]
    matched = {rule["id"]: (rule["live"], rule["candidate"]) for rule in report["rules"]}
    assert matched["service-problem"] == (1, None) and report["changed"] == 1

    status, body = call(
        client, "POST", "/admin/rules", {"rules": candidate, "comment": "community to marketing"}
    )
    assert (status, body) == (201, {"version": 2})
    engine = EngineCache(wiring.rules(), get_settings(), ttl=0).engine()
    assert engine.version == 2

    status, body = call(
        client, "POST", "/admin/rules/rollback", {"version": 1, "comment": "too broad"}
    )
    assert (status, body) == (201, {"version": 3, "rolled_back_to": 1})
    newest = call(client, "GET", "/admin/rules/versions")[1]["versions"][0]
    assert (newest["action"], newest["source_version"], newest["comment"]) == (
        "rollback",
        1,
        "rollback to v1: too broad",
    )
    assert live(client)["rules"] == call(client, "GET", "/admin/rules?version=1")[1]["rules"]
    assert call(client, "POST", "/admin/rules/rollback", {"version": 99})[0] == 404


def test_a_version_published_before_signal_names_were_checked_still_routes(
    client: Client, stack: dict[str, str]
) -> None:
    typo = {"id": "angry", "order": 1, "when": {"signals.complain": {"gte": 0.5}},
            "then": {"route_to": "pr"}}  # fmt: skip
    status, body = call(client, "POST", "/admin/rules", {"rules": [typo], "comment": "typo"})
    assert status == 400 and "did you mean signals.complaint?" in body["problems"][0]
    # as a stage upgraded from before the check has it: published, and live
    older = wiring.rules().publish([typo], "ana@acme", "before the check", datetime.now(UTC))
    engine = EngineCache(wiring.rules(), get_settings(), ttl=0).engine()
    assert engine.version == older  # the worker still builds it: the rule reads nothing
    post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    drain_intake(stack)
    [routed] = receive_all(stack["support"])  # as it routed then: no rule, the model's pick
    assert json.loads(routed["Body"])["routing"]["decided_by"] == "classifier"

    status, report = call(client, "POST", "/admin/rules/test", {"rules": [TO_MARKETING]})
    assert status == 200 and report["live_version"] == older  # the live one is read as it is
    status, body = call(client, "POST", "/admin/rules/rollback", {"version": 1})
    assert status == 201
    assert call(client, "POST", "/admin/rules/rollback", {"version": older})[0] == 201


@pytest.fixture
def without_marketing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A brand with no marketing department (set before the stack is made)."""
    monkeypatch.setenv("DEPARTMENTS", "support,pr,triage")
    monkeypatch.setenv("RULES_CACHE_SECONDS", "0")  # each routing reads the live version
    wiring.reset()


def test_the_default_rules_route_to_triage_what_they_meant_for_a_department_there_is_not(
    without_marketing: None, client: Client, stack: dict[str, str]
) -> None:
    assert "marketing" not in stack
    post_signed(client, "x", sample_bytes("x_praise_quote.json"))  # praise: marketing's
    drain_intake(stack)
    [routed] = receive_all(stack["triage"])
    routing = json.loads(routed["Body"])["routing"]
    assert routing["department"] == "triage" and "meant-for-marketing" in routing["tags"]
    rules = live(client)["rules"]
    assert not [
        r["id"]
        for r in rules
        if "marketing" in (r["then"].get("route_to"), *r["then"].get("also", []))
    ]
    status, body = call(client, "POST", "/admin/rules", {"rules": rules, "comment": "as seeded"})
    assert (status, body) == (201, {"version": 2})  # what was seeded publishes as it is
    marketing = [{"id": "x-to-marketing", "when": {"platform": {"equals": "x"}},
                  "then": {"route_to": "marketing"}}]  # fmt: skip
    status, body = call(client, "POST", "/admin/rules", {"rules": marketing, "comment": "no"})
    assert status == 400 and "unknown department 'marketing'" in body["problems"][0]
    # published while there was one: still routes, to triage
    older = wiring.rules().publish(marketing, "ana@acme", "before it went", datetime.now(UTC))
    post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    drain_intake(stack)
    [routed] = receive_all(stack["triage"])
    assert json.loads(routed["Body"])["routing"]["tags"] == ["meant-for-marketing"]
    # gone back to, it is published as it routes now, so what is pulled can be pushed again
    assert call(client, "POST", "/admin/rules/rollback", {"version": older})[0] == 201
    [back] = live(client)["rules"]
    assert back["then"] == {"route_to": "triage", "tags": ["meant-for-marketing"]}
    status, _ = call(client, "POST", "/admin/rules", {"rules": [back], "comment": "again"})
    assert status == 201
