"""Searching what people said: POST /mentions/search and `switchboard find`, over the mentions
routed in the last days, with a condition in the rules' language."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed
from tests.integration.test_replies import AUTH
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

ORDER = {"text": {"contains_any": ["order"]}}


@pytest.fixture
def demo(client: Client, stack: dict[str, str]) -> None:
    """The demo's deliveries, routed."""
    manifest = json.loads(sample_bytes("manifest.json"))
    for sample in manifest:
        post_signed(client, sample["platform"], sample_bytes(sample["file"]))
    drain_intake(stack)


def search(client: Client, body: dict[str, Any]) -> tuple[int, Any]:
    response = client.http.post("/mentions/search", headers=AUTH, body=json.dumps(body).encode())
    return response.status_code, json.loads(response.body)


@pytest.mark.usefixtures("demo")
def test_a_search_counts_what_matches_and_lists_the_newest_with_where_each_stands(
    client: Client,
) -> None:
    status, found = search(client, {"when": ORDER, "days": 2, "limit": 2})
    assert status == 200, found
    texts = [m["mention"]["text"] for m in found["mentions"]]
    assert found["matched"] >= 4 and len(texts) == 2  # listed: the newest two
    assert all("order" in text.lower() for text in texts)
    assert found["scanned"] > found["matched"] and found["all_read"] is True
    assert sum(found["by_platform"].values()) == found["matched"]
    assert sum(found["by_day"].values()) == found["matched"]
    first = found["mentions"][0]
    assert first["why"].startswith("text contains 'order'")
    assert first["department"] and first["state"] in ("waiting", "answered")
    status, everything = search(client, {"when": ORDER, "days": 2, "limit": 200})
    assert [m["mention"]["id"] for m in everything["mentions"][:2]] == [
        m["mention"]["id"] for m in found["mentions"]
    ]
    ignored = {"platform": {"equals": "trustpilot"}}  # the listening tool's review: ignored
    [review] = search(client, {"when": ignored})[1]["mentions"]
    assert (review["department"], review["state"]) == ("ignore", None)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"when": {"text": {"matches": "(a"}}}, "invalid RE2 pattern"),
        ({"when": {"txt": {"contains_any": ["x"]}}}, "txt"),
        ({"when": {}}, "when"),
        ({"when": ORDER, "days": 8}, "searchable for 7 days"),
        ({"when": ORDER, "limit": 500}, "limit"),
        ({"when": ORDER, "sort": "old"}, "sort"),
    ],
)
def test_a_search_that_cannot_be_run_says_why(
    client: Client, stack: dict[str, str], body: dict[str, Any], says: str
) -> None:
    status, answer = search(client, body)
    assert status == 400 and says in answer["message"], answer


def test_a_search_needs_the_token(client: Client, stack: dict[str, str]) -> None:
    response = client.http.post(
        "/mentions/search", headers={"Content-Type": "application/json"}, body=b"{}"
    )
    assert response.status_code == 401


@pytest.mark.usefixtures("demo")
def test_switchboard_find(api_url: str) -> None:
    code, out = run("find", "text: {contains_any: [blender]}", "--days", "2", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("1 of the ") and lines[0].endswith("match: facebook 1")
    assert lines[1].startswith("facebook:122131676912594941_1213590066982748  pr (waiting)  ")
    assert lines[1].endswith("by Lee Brennan: text contains 'blender'")
    assert lines[2].startswith("  The blender I bought from you caught fire")
    # a date in the rules' YAML needs no quotes: the comment was posted on 22 November
    for day, found in (("2026-11-22", "1 of the "), ("2026-11-23", "0 of the ")):
        when = f"all: [{{text: {{contains_any: [blender]}}}}, {{date: {{equals: {day}}}}}]"
        _, out = run("find", when, "--days", "2", "--url", api_url)
        assert out.startswith(found), out
