"""The brand's people label an author (`vip`, `press`…); each mention of theirs routed from then
on carries the labels, the rules read them (`author.labels`) and agents see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from tests.integration.conftest import bodies
from tests.integration.test_forgetting_authors import forget
from tests.integration.test_replies import AUTH, get, routed
from tests.integration.test_rules_cli import run

DANA = "x:1158276305785221121"  # who wrote x_late_delivery.json: a lost order
CASE = "x:1992000000000000001"


def label(client: Client, author: str, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.http.post(f"/authors/{author}/labels", headers=AUTH, body=raw)
    return response.status_code, json.loads(response.body)


def test_a_labelled_customer_is_high_priority_and_a_journalist_copies_pr(
    client: Client, stack: dict[str, str]
) -> None:
    assert label(client, DANA, {"add": ["vip", "press"]}) == (
        200,
        {"author": DANA, "labels": ["press", "vip"]},
    )
    routed(client, stack, "x", "x_late_delivery.json")

    [copy] = bodies(stack["support"])
    assert copy["mention"]["author"]["labels"] == ["press", "vip"]
    assert copy["routing"]["priority"] == "high"  # a lost order would be normal
    assert {"vip", "press"} <= set(copy["routing"]["tags"])
    assert copy["routing"]["also"] == ["pr"]
    assert [pr["mention"]["id"] for pr in bodies(stack["pr"])] == [CASE]


def test_labels_are_read_added_and_taken_away(client: Client, stack: dict[str, str]) -> None:
    assert get(client, f"/authors/{DANA}/labels") == {"author": DANA, "labels": []}
    label(client, DANA, {"add": ["vip", "abusive"]})
    assert label(client, DANA, {"add": ["press"], "remove": ["abusive"]}) == (
        200,
        {"author": DANA, "labels": ["press", "vip"]},
    )
    assert label(client, DANA, {"remove": ["vip", "press", "never-had"]})[1]["labels"] == []
    routed(client, stack, "x", "x_late_delivery.json")
    [copy] = bodies(stack["support"])
    assert copy["mention"]["author"]["labels"] == []
    assert copy["routing"]["priority"] == "normal"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"add": ["VIP"]}, "add.0"),  # lowercase only
        ({"add": ["a" * 41]}, "add.0"),
        ({"add": ["with space"]}, "add.0"),
        ({}, "name labels to add or to remove"),
        ({"add": ["vip"], "remove": ["vip"]}, "either added or removed"),
        ({"add": "vip"}, "add"),
        ({"add": ["vip"], "colour": "red"}, "colour"),
        (b"{not json", "JSON"),
    ],
)
def test_a_label_request_that_cannot_be_done_says_why(
    client: Client, stack: dict[str, str], body: Any, says: str
) -> None:
    status, problem = label(client, DANA, body)
    assert status == 400 and says in json.dumps(problem)
    assert get(client, f"/authors/{DANA}/labels")["labels"] == []


def test_an_author_carries_twenty_labels_at_most(client: Client, stack: dict[str, str]) -> None:
    assert label(client, DANA, {"add": [f"l{n}" for n in range(15)]})[0] == 200
    status, problem = label(client, DANA, {"add": [f"m{n}" for n in range(6)]})
    assert status == 400
    assert problem["message"] == f"{DANA} would carry 21 labels; an author carries 20 at most"
    assert len(get(client, f"/authors/{DANA}/labels")["labels"]) == 15


def test_labels_need_an_author_and_a_caller(client: Client, stack: dict[str, str]) -> None:
    assert label(client, "dana", {"add": ["vip"]})[0] == 400
    response = client.http.post(f"/authors/{DANA}/labels", body=b'{"add": ["vip"]}')
    assert response.status_code == 401
    assert client.http.get(f"/authors/{DANA}/labels").status_code == 401


def test_forgetting_an_author_takes_their_labels_away(
    client: Client, stack: dict[str, str]
) -> None:
    label(client, DANA, {"add": ["vip"]})
    routed(client, stack, "x", "x_late_delivery.json")
    status, dry = forget(client, DANA, {"reason": "request #9", "dry_run": True})
    assert (status, dry["labels"]) == (200, ["vip"])
    assert get(client, f"/authors/{DANA}/labels")["labels"] == ["vip"]  # a dry run keeps them
    status, done = forget(client, DANA, {"reason": "request #9"})
    assert (status, done["labels"]) == (200, ["vip"])
    assert get(client, f"/authors/{DANA}/labels")["labels"] == []
    assert get(client, f"/mentions/{CASE}")["message"]["mention"]["author"]["labels"] == []


def test_labels_from_the_shell(api_url: str, client: Client, stack: dict[str, str]) -> None:
    assert run("label", DANA, "--url", api_url) == (0, f"{DANA}: no labels\n")
    code, out = run("label", DANA, "--add", "vip", "--add", "press", "--url", api_url)
    assert (code, out) == (0, f"{DANA}: press, vip\n")
    assert run("label", DANA, "--remove", "press", "--url", api_url) == (0, f"{DANA}: vip\n")
    routed(client, stack, "x", "x_late_delivery.json")
    code, out = run("inbox", "support")  # the queue itself
    assert code == 0 and "by danakim [vip] (" in out
    code, out = run("cases", DANA, "--url", api_url)
    assert out.splitlines()[0] == f"1 case(s) opened by {DANA} [vip]"
    assert get(client, f"/authors/{DANA}/cases")["labels"] == ["vip"]
    code, out = run("forget", DANA, "request #9", "--url", api_url)
    assert "and their labels (vip)" in out.splitlines()[0]


def test_a_list_of_authors_is_labelled_from_a_file(
    api_url: str,
    client: Client,
    stack: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vips = tmp_path / "vips.txt"
    vips.write_text(f"# exported from the CRM\n{DANA}\n\nx:99110022\ndana\n", encoding="utf-8")
    code, out = run("label", "--file", str(vips), "--add", "vip", "--url", api_url)
    assert code == 1  # one could not be labelled
    assert out.splitlines() == [f"{DANA}: vip", "x:99110022: vip"]
    said = capsys.readouterr().err.splitlines()  # the server's own logs are there too
    [refused] = [line for line in said if line.startswith("dana: not labelled: ")]
    assert "'<platform>:<author id>'" in refused
    code, out = run("label", "--file", str(vips), "--add", "vip", "--json", "--url", api_url)
    assert code == 1 and [json.loads(line)["labels"] for line in out.splitlines()] == [["vip"]] * 2
    assert refused in capsys.readouterr().err.splitlines()  # said, --json or not
    assert get(client, "/authors/x:99110022/labels")["labels"] == ["vip"]
    assert run("label", "--file", str(vips), "--url", api_url)[0] == 2  # nothing to do
    assert run("label", DANA, "--file", str(vips), "--add", "vip", "--url", api_url)[0] == 2
