"""What departments do with their cases: list what waits, show one, take, give back, close, reopen,
hand over, note; their reports and what routing ignored."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from chalicelib.api_client import ApiError
from chalicelib.cli_text import (
    author_of,
    case_history,
    closed_by,
    decider,
    format_report,
    format_routed,
    gist,
    hidden_by,
    stamp,
    tally,
    time_left,
    transfer_line,
)
from chalicelib.commands.api import (
    api_client,
    case_action,
    iso_stamp,
    listed,
    listed_records,
    mention_path,
    take_ends,
)
from chalicelib.models import DepartmentReport, MentionRecord, NextCase, Reply


def cmd_waiting(args: argparse.Namespace, out: TextIO) -> int:
    """List a department's cases waiting for a first response, soonest deadline first (with
    --free, those nobody has taken nor answered for approval: the next to pick up; with --mine,
    those the caller has)."""
    path = f"/departments/{args.department}/waiting?limit={args.limit}"
    if args.mine:
        path += "&mine=true"
    now = datetime.now(UTC)
    cases = [
        (MentionRecord.model_validate(item), item.get("awaiting_approval"))
        for item in listed(args, path, "waiting", out)
    ]
    taken = sum(record.taker(now) is not None for record, _ in cases)
    free = [
        (record, None) for record, pending in cases if record.taker(now) is None and not pending
    ]
    answered = len(cases) - taken - len(free)
    counts = ((taken, "taken"), (answered, "answered, waiting for approval"))
    summary = "".join(f", {count} {what}" for count, what in counts if count)
    yours = " by you" if args.mine else ""
    print(f"{len(cases)} waiting in {args.department}{summary}{yours}", file=out)
    for record, pending in free if args.free else cases:
        mention, routing = record.message.mention, record.message.routing
        marks = "  (escalated)" if record.escalated_at else ""
        if record.taker(now) is not None:
            marks += f"  (taken by {record.taken_by} until {take_ends(record)})"
        if pending:
            marks += f"  (answered by {pending['author']}, waiting for approval:"
            marks += f" {pending['reply_id']})"
        print(
            f"[{routing.priority.upper()}] {mention.id}  reply by: "
            f"{time_left(routing.sla_due_at, now)}{marks}\n  {gist(mention)}",
            file=out,
        )
    return 0


def cmd_mention(args: argparse.Namespace, out: TextIO) -> int:
    """Show a routed mention as the inbox does, then what happened to it since, the replies
    written to it included."""
    client = api_client(args)
    record = MentionRecord.model_validate(client.call("GET", mention_path(args.mention_id)))
    print(format_routed(record.message), file=out)
    now = datetime.now(UTC)
    try:
        written = client.call("GET", mention_path(record.id, "replies"))["replies"]
    except ApiError as exc:  # the mention is worth showing all the same
        print(f"note: its replies cannot be read now: {exc}", file=sys.stderr)
        written = []
    replies = [Reply.model_validate(each) for each in written]
    for line in case_history(record, replies, now):
        print(f"  {line}", file=out)
    return 0


def cmd_close(args: argparse.Namespace, out: TextIO) -> int:
    """Close a case without a reply: it leaves the SLA clock."""
    record = case_action(args, "close", {"reason": args.reason})
    when = stamp(record.closed_at) if record.closed_at else "-"
    print(f"closed: {when} ({closed_by(record)})", file=out)
    return 0


def cmd_reopen(args: argparse.Namespace, out: TextIO) -> int:
    """Open a closed case again: back on the SLA clock."""
    record = case_action(args, "reopen", {})
    print(f"reopened: {record.id} ({clock_state(record)})", file=out)
    return 0


def clock_state(record: MentionRecord) -> str:
    """Where a case stands on the SLA clock, once something put it back on or left it off:
    why it needs no reply, or when the reply is due."""
    if record.status == "ignored":
        return "ignored by routing: no reply needed"
    if record.first_response_at is not None:
        return "answered already: off the SLA clock"
    if record.closed_at is not None:
        return f"closed {closed_by(record)}: off the SLA clock"
    if record.hidden_at is not None:
        return f"hidden {hidden_by(record)}: off the SLA clock"
    return f"reply by: {time_left(record.message.routing.sla_due_at, datetime.now(UTC))}"


def cmd_take(args: argparse.Namespace, out: TextIO) -> int:
    """Take a case to answer it, or give it to a colleague (--for): others' replies are refused
    until the take ends."""
    body: dict[str, Any] = {"minutes": args.minutes}
    if args.assignee:
        body["for"] = args.assignee
    record = case_action(args, "take", body)
    if args.assignee:
        whose, wait = f"{args.assignee}'s", "them"
    else:
        whose, wait = "yours", "you"
    print(
        f"{record.id} is {whose} until {take_ends(record)}: others' replies wait for {wait}",
        file=out,
    )
    return 0


def cmd_leave(args: argparse.Namespace, out: TextIO) -> int:
    """Give back a case you took."""
    record = case_action(args, "leave", {})
    print(f"{record.id} is free for anyone to take or answer", file=out)
    return 0


def cmd_next(args: argparse.Namespace, out: TextIO) -> int:
    """Take a department's next case nobody has taken (the soonest deadline), and show it."""
    path = f"/departments/{quote(args.department, safe='')}/next"
    body: dict[str, Any] = {"minutes": args.minutes}
    if args.assignee:
        body["for"] = args.assignee
    answer = NextCase.model_validate(api_client(args).call("POST", path, body))
    if answer.back:
        print(f"back on shift in {answer.department}: given cases again", file=out)
    record = answer.next
    if record is None:
        speaks = f" in {', '.join(answer.languages)}" if answer.languages else ""
        print(f"nothing waits in {answer.department}{speaks} that nobody has taken", file=out)
        return 0
    whose = f"{args.assignee}'s" if args.assignee else "yours"
    print(f"{record.id} is {whose} until {take_ends(record)}", file=out)
    print(format_routed(record.message), file=out)
    return 0


def cmd_note(args: argparse.Namespace, out: TextIO) -> int:
    """Note something on a mention for colleagues."""
    record = case_action(args, "notes", {"text": args.text})
    count = len(record.notes)
    latest = record.notes[-1]  # ours, unless a colleague's came in the same instant
    mine = next((n for n in reversed(record.notes) if n.text == args.text.strip()), latest)
    told = f"; told {', '.join(mine.told)} in their chat" if mine.told else ""
    print(f"noted on {record.id} ({count} note{'s' if count > 1 else ''}){told}", file=out)
    return 0


def cmd_transfer(args: argparse.Namespace, out: TextIO) -> int:
    """Hand a case over to another department, and say when it is due there."""
    record = case_action(args, "transfer", {"to": args.department, "reason": args.reason})
    routing = record.message.routing
    print(f"{record.id} is {routing.department}'s now, {transfer_line(routing)}", file=out)
    print(f"  reply by: {time_left(routing.sla_due_at, datetime.now(UTC))}", file=out)
    return 0


def cmd_priority(args: argparse.Namespace, out: TextIO) -> int:
    """Change how urgent a case is, and say when it is due now."""
    record = case_action(args, "priority", {"priority": args.priority, "reason": args.reason})
    routing = record.message.routing
    changes = routing.priority_changes
    was = f" (was {changes[-1].from_priority})" if changes else ""
    print(f"{record.id} is {routing.priority} now{was}", file=out)
    if record.first_response_at is not None or record.closed_at is not None:
        print("  answered or closed already: its deadline stays", file=out)
    else:
        print(f"  reply by: {time_left(routing.sla_due_at, datetime.now(UTC))}", file=out)
    return 0


def cmd_attachment(args: argparse.Namespace, out: TextIO) -> int:
    """Print what a file a customer sent with a mention is, and a link to open it."""
    found = api_client(args).call(
        "GET", mention_path(args.mention_id, f"attachments/{args.number}")
    )
    what = " ".join(str(found[k]) for k in ("kind", "filename", "mime_type") if found.get(k))
    until = f" (until {iso_stamp(found['expires_at'])})" if found.get("expires_at") else ""
    print(f"{what}: {found['url']}{until}", file=out)
    return 0


def cmd_handed_over(args: argparse.Namespace, out: TextIO) -> int:
    """List the cases routed to a department that people handed over, newest first, with where
    they went and which rule had sent them: where routing goes wrong."""
    path = f"/departments/{args.department}/handed-over?days={args.days}&limit={args.limit}"
    records = listed_records(args, path, "cases", out)
    where = Counter(f"to {r.message.routing.department}" for r in records)
    rules = Counter(decider(r.message.routing) for r in records)
    print(
        f"{len(records)} case(s) routed to {args.department} in the last {args.days} days were"
        f" handed over{tally(where)}",
        file=out,
    )
    if records:
        print(f"routed there by{tally(rules)}", file=out)
    for record in records:
        routing = record.message.routing
        first = routing.transfers[0]
        print(
            f"{record.id}  → {routing.department}  by {first.by} {first.at:%Y-%m-%d %H:%M}:"
            f" {first.reason}  (routed by {decider(routing)})\n"
            f"  {gist(record.message.mention)}",
            file=out,
        )
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """How a department did over the last days (or each department, one after the other):
    answered, on time, still waiting."""
    client = api_client(args)
    if args.department is not None:
        departments = [args.department]
    else:  # the stack's own list; not one of the answers --json prints
        departments = replace(client, answers=None).call("GET", "/departments")["departments"]
    for n, department in enumerate(departments):
        path = f"/departments/{quote(department, safe='')}/report?days={args.days}"
        report = DepartmentReport.model_validate(client.call("GET", path))
        print(("\n" if n else "") + format_report(report), file=out)
    return 0


def cmd_ignored(args: argparse.Namespace, out: TextIO) -> int:
    """List what routing ignored, newest first, with the rule that decided each: where to look
    for a mention that deserved an answer (`switchboard transfer` rescues it)."""
    path = f"/ignored?days={args.days}&limit={args.limit}"
    records = listed_records(args, path, "ignored", out)
    print(f"{len(records)} mention(s) ignored in the last {args.days} days", file=out)
    for record in records:
        mention, routing = record.message.mention, record.message.routing
        author = author_of(mention)
        why = dict((m.id, m.why) for m in routing.matched_rules).get(routing.decided_by or "")
        decided = f"{routing.decided_by}: {why}" if why else routing.decided_by or "no rule"
        print(
            f"{mention.id}  {mention.platform}/{mention.kind}  by {author}  ({decided})\n"
            f"  {gist(mention)}",
            file=out,
        )
    return 0
