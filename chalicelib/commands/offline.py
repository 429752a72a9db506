"""Commands that need no running Switchboard: route mentions and score routing offline, and the
demo's deliveries."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from chalicelib.errors import MalformedRequest, problems
from chalicelib.models import Mention
from chalicelib.platforms.base import json_body
from chalicelib.rules import Engine, default_ruleset, load_rules_file
from chalicelib.settings import Settings, get_settings


def _engine(rules: Path | None, settings: Settings) -> Engine:
    from chalicelib.services.routing import engine_for

    if rules is None:
        ruleset = default_ruleset(settings.departments, settings.triage_department)
    else:
        ruleset = load_rules_file(rules, settings.departments)
    return engine_for(ruleset, 0, settings)


def _read_mentions(handle: TextIO) -> Iterator[tuple[int, Mention | str]]:
    """Each non-blank line's mention, or what is wrong with it (`line N: …`), as the generic
    webhook reads one."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, Mention.model_validate(json_body(line))
        except MalformedRequest as exc:
            yield number, f"line {number}: {exc.message}"
        except ValidationError as exc:
            yield number, f"line {number}: {problems(exc, model=Mention)}"


def cmd_route(args: argparse.Namespace, out: TextIO) -> int:
    """Route normalised mentions offline; one JSON decision per line."""
    from chalicelib.classify import compute_signals, enrich
    from chalicelib.services.routing import decide

    settings = get_settings()
    engine = _engine(args.rules, settings)
    failures = 0
    with args.file.open(encoding="utf-8-sig") as handle:
        for _, item in _read_mentions(handle):
            if isinstance(item, str):
                print(item, file=sys.stderr)
                failures += 1
                continue
            mention = enrich(item)
            decision = decide(mention, engine, settings, compute_signals(mention))
            routing = decision.routing(mention.lang)
            shown = {"id": item.id, **routing.model_dump(mode="json", exclude={"sla_due_at"})}
            print(json.dumps(shown), file=out)
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Score the ruleset on a labeled departments CSV, or show where the complaints corpus'
    human-labeled groups are routed and score its complaint and severity signals."""
    from chalicelib.classify import compute_signals, enrich
    from chalicelib.evaluation import (
        COMPLAINT,
        IMPLIED_SCORE,
        by_source_apart,
        clear_cut_apart,
        format_apart,
        format_by_rule,
        format_misses,
        format_routes,
        format_signals,
        is_miss,
        load_labeled_csv,
        score,
    )
    from chalicelib.services.routing import decide

    settings = get_settings()
    engine = _engine(args.rules, settings)
    rows = load_labeled_csv(args.file)
    gold = [row.label for row in rows]
    for option, given in (("--fail-under", args.fail_under is not None), ("--json", args.json)):
        if given and COMPLAINT in gold:
            print(f"error: {option} scores the departments of a departments file", file=sys.stderr)
            return 2
    mentions = [enrich(row.mention) for row in rows]
    signals = [compute_signals(m) for m in mentions]
    decisions = [decide(m, engine, settings, s) for m, s in zip(mentions, signals, strict=True)]
    predicted = [decision.department for decision in decisions]
    if not args.json:
        print(f"{len(rows)} mentions from {args.file}", file=out)
    macro_f1: float | None = None  # of a departments file
    if COMPLAINT in gold:
        print(format_routes(gold, predicted), file=out)
        print("(the department model learned from this corpus: this checks the rules)", file=out)
        implied = [row.implied for row in rows if row.implied]
        if len(implied) == len(rows):
            print(f"\n{IMPLIED_SCORE}", file=out)
            print(score(implied, predicted, sorted(set(implied))).format(), file=out)
        print(f"\n{format_signals(rows, signals)}", file=out)
    else:
        report = score(gold, predicted, sorted(set(gold)))
        macro_f1 = report.macro_f1
        apart = {
            "clear_cut_apart": ("macro F1 on rows", clear_cut_apart(rows, predicted)),
            "by_source": ("macro F1 by source:", by_source_apart(rows, predicted)),
        }
        if args.json:  # its scores as one document, for a CI's records
            scored = {"file": str(args.file), "mentions": len(rows), **report.as_json()}
            for key, (_, parts) in apart.items():
                scored[key] = {name: part.as_json() for name, part in parts.items()}
            print(json.dumps(scored), file=out)
            return _fails_under(macro_f1, args.fail_under)
        print(report.format(), file=out)
        for heading, parts in apart.values():
            if parts:
                print(f"\n{format_apart(heading, parts)}", file=out)
    if args.by_rule:
        print(f"\n{format_by_rule(rows, decisions)}", file=out)
    if args.misses:
        misses = [
            (row, decision)
            for row, decision in zip(rows, decisions, strict=True)
            if is_miss(row.label, decision.department)
        ]
        print(f"\n{format_misses(misses)}", file=out)
    return 0 if macro_f1 is None else _fails_under(macro_f1, args.fail_under)


def _fails_under(macro_f1: float, bar: float | None) -> int:
    """1, saying so, when a departments file's macro F1 is under `--fail-under`; else 0."""
    if bar is not None and macro_f1 < bar:
        print(f"macro F1 {macro_f1:.3f} is under {bar:g}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Send the signed sample deliveries to a running `make run`."""
    from chalicelib.demo import run_demo

    return run_demo(args.url, get_settings(), out, fresh=args.fresh)


def cmd_slack_manifest(args: argparse.Namespace, out: TextIO) -> int:
    """Print the Slack app's manifest for a deployed stage, and the link creating the app."""
    from chalicelib.errors import MalformedRequest
    from chalicelib.platforms.slack_app import app_manifest, create_app_link

    try:
        manifest = app_manifest(args.endpoint, args.name)
    except MalformedRequest as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(json.dumps(manifest, indent=2), file=out)
    link = create_app_link(manifest)
    print(f"Create the app with it (signed in to Slack): {link}", file=sys.stderr)
    return 0
