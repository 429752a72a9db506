"""The admin's workflow with `switchboard rules …` against the API served over HTTP."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from chalicelib.cli import main
from chalicelib.rules import DEFAULT_RULES_PATH
from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed
from tests.integration.test_routing_flow import drain_intake


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_pull_edit_test_push_and_rollback(
    api_url: str,
    stack: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    client: object,
) -> None:
    from chalice.test import Client

    assert isinstance(client, Client)
    post_signed(client, "generic", sample_bytes("generic_listening.json"))
    drain_intake(stack)

    rules_file = tmp_path / "rules.yaml"
    code, out = run("rules", "pull", "--url", api_url, "-o", str(rules_file))
    assert code == 0 and "wrote v1" in out
    rules = yaml.safe_load(rules_file.read_text())
    assert rules_file.read_text().startswith("# Switchboard ruleset v1")

    rules.insert(
        0,
        {
            "id": "reddit-to-marketing",
            "order": 1,
            "when": {"platform": {"equals": "reddit"}},
            "then": {"route_to": "marketing"},
        },
    )
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))

    assert run("rules", "validate", str(rules_file))[0] == 0
    code, out = run("rules", "diff", "--url", api_url, str(rules_file))
    assert code == 1 and "+ added rule reddit-to-marketing" in out
    code, out = run("rules", "diff", "--json", "--url", api_url, str(rules_file))
    assert code == 1  # for a CI: what a change touches, by rule id
    assert json.loads(out) == {
        "file": str(rules_file),
        "live_version": 1,
        "added": ["reddit-to-marketing"],
        "removed": [],
        "changed": [],
        "order": None,
    }

    code, out = run("rules", "test", "--url", api_url, str(rules_file))
    assert code == 0
    assert "2 mentions, 1 would change (live is v1)" in out
    assert "reddit:t3_1abc23" in out
    assert "live:      pr [high] tags: media  (press-and-media: text contains 'journalist')" in out
    assert "candidate: marketing [normal]  (reddit-to-marketing: platform is 'reddit')" in out
    # what each rule would match: the new one takes the journalist from press-and-media
    assert "reddit-to-marketing                  -          1\n" in out
    assert "press-and-media                      1          0\n" in out
    idle = next(line for line in out.splitlines() if line.startswith("matched nothing here"))
    assert "press-and-media" in idle and "reddit-to-marketing" not in idle

    code, out = run(
        "rules", "push", "--url", api_url, str(rules_file), "-m", "community to marketing"
    )
    assert (code, out.strip()) == (0, "published v2: community to marketing")
    assert run("rules", "diff", "--url", api_url, str(rules_file))[0] == 0

    code, out = run(
        "rules", "push", "--url", api_url, str(rules_file), "-m", "x", "--expected-version", "1"
    )
    assert code == 2 and "no longer live" in capsys.readouterr().err

    code, out = run("rules", "rollback", "--url", api_url, "1", "-m", "too broad")
    assert (code, out.strip()) == (0, "v3 is live: a copy of v1")
    code, out = run("rules", "history", "--url", api_url)
    first, second, third = out.splitlines()[:3]
    assert first.startswith("* v3") and "rollback to v1: too broad" in first
    assert second.startswith("  v2") and "community to marketing" in second
    assert third.startswith("  v1") and "default ruleset" in third
    code, out = run("rules", "history", "--changes", "--limit", "2", "--url", api_url)
    lines = out.splitlines()
    assert lines[0].startswith("* v3")
    assert lines[1] == "    - removed rule reddit-to-marketing"  # the rollback undid it
    assert lines[2].startswith("  v2") and lines[3] == "    + added rule reddit-to-marketing"
    assert lines[4:8] == [
        "        - id: reddit-to-marketing",
        "          order: 1",
        "          when:",
        "            platform:",
    ]
    assert not any(line.startswith("  v1") for line in lines)  # read only to compare v2 with
    code, out = run("rules", "history", "--changes", "--url", api_url)
    last, below = out.splitlines()[-2:]
    assert last.startswith("  v1") and below == "    the first version"


def test_a_candidate_is_tried_on_mentions_from_a_file(api_url: str, tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    assert run("rules", "pull", "--url", api_url, "-o", str(rules_file))[0] == 0
    rules = yaml.safe_load(rules_file.read_text())
    to_marketing = {"platform": {"equals": "mastodon"}}
    rules.insert(0, {"id": "fediverse", "when": to_marketing, "then": {"route_to": "marketing"}})
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    mentions = tmp_path / "mentions.jsonl"
    lines = [
        {"id": "mastodon:1", "platform": "mastodon", "text": "my order never arrived"},
        {"id": "x:2", "platform": "x", "text": "my order never arrived"},
    ]
    mentions.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    code, out = run("rules", "test", "--url", api_url, str(rules_file), "--mentions", str(mentions))
    assert code == 0 and "2 mentions, 1 would change (live is v1)" in out
    assert "mastodon:1" in out and "candidate: marketing" in out and "x:2" not in out


def test_invalid_file_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("- id: r\n  when: {txt: {contains_any: [a]}}\n  then: {route_to: pr}\n")
    code, _ = run("rules", "push", "--url", "http://127.0.0.1:9", str(rules_file), "-m", "x")
    assert code == 2
    assert "rule 'r' (#1): when.txt: unknown field 'txt'" in capsys.readouterr().err


def test_departments_are_checked_by_the_stage_a_file_is_pushed_to_not_this_machine(
    api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "- id: r\n  when: {text: {contains_any: [sue]}}\n  then: {route_to: legal}\n"
    )
    assert run("rules", "validate", str(rules_file))[0] == 2  # offline: DEPARTMENTS here
    assert "unknown department 'legal'" in capsys.readouterr().err
    code, _ = run("rules", "push", "--url", api_url, str(rules_file), "-m", "legal")
    assert code == 2  # sent: the stage, not this shell, says which departments it has
    assert "HTTP 400" in capsys.readouterr().err


def test_unreachable_api_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("rules", "history", "--url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def test_schema_describes_the_rule_format_down_to_each_fields_operators() -> None:
    code, out = run("rules", "schema")
    schema = json.loads(out)
    assert code == 0 and schema["type"] == "array"
    assert "Rule" in schema["$defs"] and "continue" in schema["$defs"]["Rule"]["properties"]
    editor = jsonschema.Draft202012Validator(schema)  # as an editor's YAML plugin checks a file
    assert list(editor.iter_errors(yaml.safe_load(DEFAULT_RULES_PATH.read_text()))) == []
    mistakes: list[dict[str, Any]] = [
        {"signals.complain": {"gte": 0.5}},
        {"text": {"contain_any": ["refund"]}},
        {"author.followers": {"gte": "many"}},
        {"any": []},
    ]
    for when in mistakes:
        [wrong] = editor.iter_errors([{"id": "r", "when": when, "then": {"route_to": "pr"}}])
        assert wrong.path[0] == 0 and "when" in wrong.path


def test_mention_shows_the_routed_case_and_what_happened_to_it(
    api_url: str, stack: dict[str, str], client: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from chalice.test import Client

    from chalicelib import wiring

    assert isinstance(client, Client)
    post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    drain_intake(stack)
    code, out = run("mention", "x:1992000000000000001", "--url", api_url)
    assert code == 0
    assert out.startswith("[NORMAL] x:1992000000000000001  x/mention in en")
    assert "  department: support" in out and "  routed: " in out and "deleted" not in out
    answered = datetime(2026, 11, 22, 8, 10, tzinfo=UTC)  # ten minutes after the post
    post = "x:1992000000000000700"
    wiring.mentions().record_response("x:1992000000000000001", answered, post, "maya")
    code, out = run("mention", "x:1992000000000000001", "--url", api_url)
    assert f"  first response: 2026-11-22T08:10:00+00:00 (after 10 min by maya: {post})" in out
    record = wiring.mentions().get("x:1992000000000000001")
    assert record is not None
    edit = record.message.mention.model_copy(update={"id": "x:1992000000000000009"})
    wiring.mentions().rewrite(record.with_version(edit, datetime.now(UTC)), None)
    code, out = run("mention", "x:1992000000000000001", "--url", api_url)
    assert "  edited: " in out and "now x:1992000000000000009, the version replies answer" in out
    wiring.mentions().mark_deleted("x:1992000000000000001", datetime.now(UTC))
    code, out = run("mention", "x:1992000000000000001", "--url", api_url)
    assert "  deleted: " in out and "no reply possible" in out
    code, _ = run("mention", "x:404", "--url", api_url)
    assert code == 1 and "no routed mention 'x:404'" in capsys.readouterr().err


def test_pull_without_a_file_prints_the_yaml(api_url: str) -> None:
    code, out = run("rules", "pull", "--url", api_url)
    assert code == 0 and out.startswith("# Switchboard ruleset v1")
    assert any(rule["id"] == "care-account" for rule in yaml.safe_load(out))


def test_a_rules_file_that_is_not_text_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_bytes(b"\xff\xfe- id: r\n")
    assert run("rules", "validate", str(rules_file))[0] == 1
    assert "the file is not UTF-8 text" in capsys.readouterr().err


def test_validate_checks_each_rules_examples_before_anything_is_sent(
    api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    rules.insert(
        0,
        {
            "id": "never-arrived",
            "order": 1,
            "when": {"text": {"contains_any": ["never arrived"]}},
            "then": {"tags": ["lost-parcel"]},
            "continue": True,  # the rules after it still decide
            "examples": ["my parcel never arrived", {"text": "it arrived", "matches": False}],
        },
    )
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    code, out = run("rules", "validate", str(rules_file))
    assert code == 0
    held = sum(len(rule.get("examples", [])) for rule in rules)
    assert out == f"{rules_file}: {len(rules)} rules, valid; {held} examples hold\n"

    rules[0]["examples"].append("it never came")
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    missed = "rule 'never-arrived': example #3 ('it never came') must match, but does not"
    for command in (("validate",), ("push", "--url", api_url, "-m", "lost parcels")):
        assert run("rules", *command, str(rules_file))[0] == 2
        assert capsys.readouterr().err == f"invalid ruleset:\n  {missed}\n"
    code, out = run("rules", "test", "--url", api_url, str(rules_file))  # what it would do
    assert code == 0
    assert f"\nexamples that do not hold (1): it cannot be published so\n  {missed}\n" in out
