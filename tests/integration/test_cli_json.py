"""`--json`: the commands that call the API print its answers, one JSON document a line, for
scripts (`switchboard waiting support --json | jq …`)."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_rules_cli import run
from tests.integration.test_transferring_cases import CASE, routed  # noqa: F401


@pytest.mark.usefixtures("routed")
def test_a_listing_and_a_change_print_what_the_api_answered(api_url: str) -> None:
    code, out = run("waiting", "support", "--json", "--url", api_url)
    [listing] = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert listing["department"] == "support"
    assert [case["id"] for case in listing["waiting"]] == [CASE]
    code, out = run("priority", CASE, "urgent", "a journalist", "--json", "--url", api_url)
    [record] = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and record["message"]["routing"]["priority"] == "urgent"
    assert "is urgent now" not in out  # the answer replaces the text people read


def test_a_refusal_prints_no_json_and_says_why_on_stderr(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("mention", "x:404", "--json", "--url", api_url)
    assert (code, out) == (1, "")
    assert "no routed mention 'x:404'" in capsys.readouterr().err
