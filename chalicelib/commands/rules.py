"""The `rules` commands: validate, pull, diff, push, test, history, rollback, schema."""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from chalicelib.api_client import ApiClient
from chalicelib.cli_text import format_dry_run
from chalicelib.commands.api import api_client
from chalicelib.rules import Ruleset, load_rules_file
from chalicelib.settings import get_settings


def _rules_file(path: Path, examples: bool) -> list[dict[str, Any]]:
    """A ruleset file, validated here first (with `examples`, its rules' examples too: before
    it is published) so errors show before anything is sent; its departments are checked by
    the API, against the stage's (this machine's DEPARTMENTS need not name them)."""
    return _checked(path, examples, here=False).dump()


def _checked(path: Path, examples: bool = True, here: bool = True) -> Ruleset:
    """A ruleset file, validated (with `examples`, its rules' examples too; `here`: its
    departments against DEPARTMENTS as this machine has them)."""
    from chalicelib.rules.examples import with_examples_held  # the models: only here

    settings = get_settings()
    ruleset = load_rules_file(path, settings.departments if here else None)
    return with_examples_held(ruleset, settings) if examples else ruleset


def cmd_rules_validate(args: argparse.Namespace, out: TextIO) -> int:
    """Validate a ruleset file offline, its rules' examples included."""
    rules = _checked(args.file).root
    examples = sum(len(rule.examples) for rule in rules)
    print(f"{args.file}: {len(rules)} rules, valid; {examples} examples hold", file=out)
    return 0


def cmd_rules_pull(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch the live (or a given) version as YAML."""
    from chalicelib.rules.diff import dump_yaml

    query = f"?version={args.version}" if args.version is not None else ""
    live = api_client(args).call("GET", f"/admin/rules{query}")
    text = (
        f"# Switchboard ruleset v{live['version']}, published {live['published_at']}"
        f" by {live['author']}: {live['comment']}\n" + dump_yaml(live["rules"])
    )
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote v{live['version']} ({len(live['rules'])} rules) to {args.output}", file=out)
    else:
        print(text, end="", file=out)
    return 0


def cmd_rules_diff(args: argparse.Namespace, out: TextIO) -> int:
    """Show what a file changes against the live ruleset (`--json`: the rule ids, as one
    document); exit 1 when it differs."""
    from chalicelib.rules.diff import diff_rulesets, ruleset_changes

    rules = _rules_file(args.file, examples=False)
    live = api_client(args).call("GET", "/admin/rules")
    lines = diff_rulesets(live["rules"], rules)
    if args.json:
        changes = ruleset_changes(live["rules"], rules)
        found = {"file": str(args.file), "live_version": live["version"], **changes}
        print(json.dumps(found, ensure_ascii=False), file=out)
    else:
        print(f"{args.file} against live v{live['version']}:", file=out)
        print("\n".join(lines) if lines else "no differences", file=out)
    return 1 if lines else 0


def cmd_rules_push(args: argparse.Namespace, out: TextIO) -> int:
    """Publish a ruleset file as the new live version; with --no-worse, only if it sends at
    least as many of the cases people answered or handed over where they belonged as the live
    ruleset does (the version compared with is the one replaced)."""
    client = api_client(args)
    body: dict[str, Any] = {"rules": _rules_file(args.file, examples=True), "comment": args.message}
    if args.expected_version is not None:
        body["expected_version"] = args.expected_version
    if args.no_worse:
        report = client.call("POST", "/admin/rules/test", {"rules": body["rules"]})
        people = report["by_people"]
        live, candidate = people["live"]["right"], people["candidate"]["right"]
        if candidate < live:
            print(
                f"refused: of the {people['mentions']} cases people answered or handed over,"
                f" {args.file} sends {candidate} where they belonged, v{report['live_version']}"
                f" {live} (`switchboard rules test {args.file}` lists them)",
                file=sys.stderr,
            )
            return 1
        if report["live_version"]:  # 0: the built-in default, nothing published yet
            body.setdefault("expected_version", report["live_version"])
    answer = client.call("POST", "/admin/rules", body)
    print(f"published v{answer['version']}: {args.message}", file=out)
    return 0


def cmd_rules_test(args: argparse.Namespace, out: TextIO) -> int:
    """Dry-run a ruleset file over recent traffic (or a JSONL file of mentions)."""
    body: dict[str, Any] = {"rules": _rules_file(args.file, examples=False), "limit": args.limit}
    if args.mentions:
        with args.mentions.open(encoding="utf-8") as handle:
            body["mentions"] = [json.loads(line) for line in handle if line.strip()]
    report = api_client(args).call("POST", "/admin/rules/test", body)
    print(format_dry_run(report, str(args.file)), file=out)
    return 0


def cmd_rules_history(args: argparse.Namespace, out: TextIO) -> int:
    """List published versions, newest first; with --changes, each with what it changed
    against the version published before it."""
    from chalicelib.rules.diff import diff_rulesets

    client = api_client(args)
    rules_of = cache(lambda version: _version_rules(client, version))
    extra = 1 if args.changes else 0  # the one before the oldest listed, to compare it with
    path = f"/admin/rules/versions?limit={args.limit + extra}"
    versions = client.call("GET", path)["versions"]
    for v, before in zip(versions[: args.limit], [*versions[1:], None], strict=False):
        mark = "*" if v["live"] else " "
        print(
            f"{mark} v{v['version']:<5} {v['published_at'][:19]}  {v['author']:<20}"
            f" {v['rule_count']:>4} rules  {v['comment']}",
            file=out,
        )
        if args.changes:
            lines = ["the first version"]
            if before is not None:
                old, new = rules_of(before["version"]), rules_of(v["version"])
                lines = diff_rulesets(old, new) or [f"the same rules as v{before['version']}"]
            print("\n".join("    " + line for line in lines), file=out)
    return 0


def _version_rules(client: ApiClient, version: int) -> list[dict[str, Any]]:
    """The rules of a published version."""
    return list(client.call("GET", f"/admin/rules?version={version}")["rules"])


def cmd_rules_rollback(args: argparse.Namespace, out: TextIO) -> int:
    """Make an earlier version live again."""
    answer = api_client(args).call(
        "POST", "/admin/rules/rollback", {"version": args.version, "comment": args.message}
    )
    print(f"v{answer['version']} is live: a copy of v{answer['rolled_back_to']}", file=out)
    return 0


def cmd_rules_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the JSON Schema of a ruleset file."""
    from chalicelib.rules.schema import ruleset_schema

    print(json.dumps(ruleset_schema(), indent=2), file=out)
    return 0
