"""Searching what was said and acting on what matches: hide, show again, close many."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TextIO
from urllib.parse import quote

from chalicelib.cli_text import (
    author_of,
    found_where,
    gist,
    hidden_by,
    search_said,
    stamp,
    tally,
)
from chalicelib.commands.api import api_client, case_action, condition, until_done
from chalicelib.commands.cases import clock_state
from chalicelib.models import CloseMatchingResult, FindResult, HideMatchingResult


def cmd_hide(args: argparse.Namespace, out: TextIO) -> int:
    """Hide a comment on its platform: out of public view, off the SLA clock."""
    record = case_action(args, "hide", {"reason": args.reason})
    mention = record.message.mention
    print(f"hidden on {mention.platform}: {record.id} ({hidden_by(record)})", file=out)
    return 0


def cmd_hide_matching(args: argparse.Namespace, out: TextIO) -> int:
    """Hide on their platforms the comments of the last days a condition matches: without
    --yes, only say which; with it, hide them, a call at a time until none is left."""
    body = {
        "when": condition(args.when),
        "reason": args.reason,
        "days": args.days,
        "dry_run": not args.yes,
        "limit": args.limit,
    }

    def call() -> HideMatchingResult:
        return HideMatchingResult.model_validate(
            api_client(args).call("POST", "/mentions/hide", body)
        )

    calls = until_done(call, lambda last: args.yes and last.more and bool(last.hidden))
    hidden = [each for result in calls for each in result.hidden]
    failed = {each.mention.id: each for result in calls for each in result.failed}.values()
    first, last = calls[0], calls[-1]
    of = f"of the {first.matched} matching in the last {first.days} day(s)"
    if args.yes:
        print(f"hid {len(hidden)} {of}: {first.reason}", file=out)
    else:
        more = " (and more)" if last.more else ""
        print(
            f"{len(hidden)}{more} {of} can be hidden; to hide them, run it again with --yes",
            file=out,
        )
    for each in hidden:
        print(f"{each.mention.id}  by {author_of(each.mention)}: {each.why}", file=out)
        print(f"  {gist(each.mention)}", file=out)
    for refused in failed:
        print(f"not hidden: {refused.mention.id}: {refused.why}", file=out)
    if last.left:
        print(
            f"left: {last.left} hidden already, deleted, or where nothing can be hidden", file=out
        )
    if not last.all_read:
        print(
            "(only the newest 200 matches were looked at: narrow the condition or the days)",
            file=out,
        )
    return 1 if failed else 0


def cmd_unhide(args: argparse.Namespace, out: TextIO) -> int:
    """Show a hidden comment again on its platform."""
    record = case_action(args, "unhide", {})
    state = clock_state(record)
    print(f"shown again on {record.message.mention.platform}: {record.id} ({state})", file=out)
    return 0


def cmd_find(args: argparse.Namespace, out: TextIO) -> int:
    """Search the mentions of the last days with a condition in the rules' language: how many
    matched, by platform and day, and the newest with where their case stands."""
    body = {"when": condition(args.when), "days": args.days, "limit": args.limit}
    result = FindResult.model_validate(api_client(args).call("POST", "/mentions/search", body))
    print(search_said(result), file=out)
    if len(result.by_day) > 1:
        print("by day" + tally(Counter(result.by_day)), file=out)
    if not result.all_read:
        print(f"(only the newest {result.scanned} were read: ask for fewer days)", file=out)
    for found in result.mentions:
        mention = found.mention
        print(
            f"{mention.id}  {found_where(found)}  {stamp(found.routed_at)}"
            f"  by {author_of(mention)}: {found.why}\n  {gist(mention)}",
            file=out,
        )
    return 0


def cmd_close_matching(args: argparse.Namespace, out: TextIO) -> int:
    """Close a department's waiting cases that a condition matches: without --yes, only say
    which; with it, close them, a call at a time until none is left."""
    path = f"/departments/{quote(args.department, safe='')}/close"
    body = {
        "when": condition(args.when),
        "reason": args.reason,
        "dry_run": not args.yes,
        "limit": args.limit,
    }

    def call() -> CloseMatchingResult:
        return CloseMatchingResult.model_validate(api_client(args).call("POST", path, body))

    calls = until_done(call, lambda last: args.yes and last.more and bool(last.closed))
    first, last = calls[0], calls[-1]
    swept = [case for result in calls for case in result.closed]
    of = f"of the {first.waiting} waiting in {first.department}"
    if args.yes:
        print(f"closed {len(swept)} {of}: {first.reason}", file=out)
    else:
        more = " (and more)" if last.more else ""
        print(f"{len(swept)}{more} {of} match; to close them, run it again with --yes", file=out)
    for case in swept:
        print(f"{case.mention.id}  {case.why}\n  {gist(case.mention)}", file=out)
    for case in last.taken:
        print(f"left to {case.taken_by}: {case.mention.id}  {gist(case.mention)}", file=out)
    if args.yes and last.more:
        print("(out of time with more to close: run it again)", file=out)
    if not last.all_read:
        print(f"(only the first {last.waiting} waiting were read)", file=out)
    return 0
