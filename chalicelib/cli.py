"""The `switchboard` command: route offline, evaluate, read a department inbox or a dead-letter
queue, manage rules, answer and work cases through the API, run the demo."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, get_args

from chalicelib.api_client import ApiError
from chalicelib.commands.api import answers_as_json, use_local_defaults
from chalicelib.commands.authors import cmd_cases, cmd_forget, cmd_label
from chalicelib.commands.cases import (
    cmd_attachment,
    cmd_close,
    cmd_handed_over,
    cmd_ignored,
    cmd_leave,
    cmd_mention,
    cmd_next,
    cmd_note,
    cmd_priority,
    cmd_reopen,
    cmd_report,
    cmd_take,
    cmd_transfer,
    cmd_waiting,
)
from chalicelib.commands.moderation import (
    cmd_close_matching,
    cmd_find,
    cmd_hide,
    cmd_hide_matching,
    cmd_unhide,
)
from chalicelib.commands.offline import cmd_demo, cmd_eval, cmd_route, cmd_slack_manifest
from chalicelib.commands.queues import cmd_dead_letters, cmd_inbox, cmd_queues
from chalicelib.commands.replies import (
    cmd_approvals,
    cmd_approve,
    cmd_reject,
    cmd_reply,
    cmd_templates,
    cmd_templates_delete,
    cmd_templates_set,
)
from chalicelib.commands.rules import (
    cmd_rules_diff,
    cmd_rules_history,
    cmd_rules_pull,
    cmd_rules_push,
    cmd_rules_rollback,
    cmd_rules_schema,
    cmd_rules_test,
    cmd_rules_validate,
)
from chalicelib.commands.shifts import cmd_shift, cmd_shifts
from chalicelib.errors import SwitchboardError, did_you_mean
from chalicelib.models import Priority
from chalicelib.rules import RulesetInvalid

__all__ = ["COMMAND_GROUPS", "build_parser", "commands_in_groups", "main", "use_local_defaults"]

COMMAND_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "work a department's cases",
        ("inbox", "waiting", "next", "take", "leave", "reply", "templates", "note", "transfer",
         "priority", "close", "reopen", "mention", "attachment", "cases", "approvals", "approve",
         "reject", "shift", "shifts", "report", "handed-over"),
    ),
    (
        "look after the traffic",
        ("find", "ignored", "hide", "unhide", "hide-matching", "close-matching", "label",
         "forget"),
    ),
    ("write and measure the rules", ("rules", "route", "eval")),
    ("run and watch Switchboard", ("demo", "queues", "dlq", "slack-manifest")),
)  # fmt: skip
"""The commands `switchboard --help` lists, by what they are for, each in the order it is used."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of the commands below"
    )

    route = sub.add_parser("route", description="route normalised mentions (JSONL) offline")
    route.add_argument("file", type=Path, help="one normalised mention per line")
    route.add_argument("--rules", type=Path, help="ruleset YAML/JSON (default: built-in)")
    route.set_defaults(func=cmd_route)

    evaluate = sub.add_parser(
        "eval", description="score routing on a labeled departments CSV or the complaints corpus"
    )
    evaluate.add_argument(
        "file", type=Path, help="CSV with columns id,text,label or id,text,complaint,domain"
    )
    evaluate.add_argument("--rules", type=Path, help="ruleset YAML/JSON (default: built-in)")
    evaluate.add_argument(
        "--by-rule",
        action="store_true",
        help="also show, for each rule, how many mentions it decided, how many of them went"
        " astray and their labels (on the complaints corpus only a complaint can go astray)",
    )
    evaluate.add_argument(
        "--misses",
        action="store_true",
        help="also list the misrouted mentions (on the complaints corpus: complaints that"
        " reached neither support nor pr), by the rule that decided them",
    )
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="a departments file's scores as one JSON document instead (for a CI's records)",
    )
    evaluate.add_argument(
        "--fail-under",
        type=float,
        metavar="F1",
        help="exit 1 when the macro F1 on a departments file is under this (a CI gate for rules)",
    )
    evaluate.set_defaults(func=cmd_eval)

    deployed = argparse.ArgumentParser(add_help=False)
    deployed.add_argument(
        "--stage",
        help="the queues of this deployed stage (switchboard-STAGE-…) with your AWS credentials,"
        " not the local stack",
    )
    inbox = sub.add_parser("inbox", parents=[deployed], description="read a department queue")
    inbox.add_argument("department")
    inbox.add_argument("--ack", action="store_true", help="delete the messages once shown")
    inbox.add_argument("--limit", type=int, default=20, help="receive calls at most")
    inbox.add_argument(
        "--json",
        action="store_true",
        help="print each department message as queued, one JSON document a line",
    )
    inbox.set_defaults(func=cmd_inbox)

    dead = sub.add_parser(
        "dlq",
        parents=[deployed],
        description="show a dead-letter queue and why; --redrive moves it back",
    )
    dead.add_argument("queue", help="intake, outbox or a department")
    dead.add_argument("--redrive", action="store_true", help="send each back to its queue")
    dead.add_argument("--limit", type=int, default=20, help="receive calls at most")
    dead.add_argument(
        "--json",
        action="store_true",
        help="print each dead letter as JSON, one a line: id, when, what it is, why, its body",
    )
    dead.set_defaults(func=cmd_dead_letters)

    depths = sub.add_parser(
        "queues", parents=[deployed], description="each queue's depth and its dead-letter queue's"
    )
    depths.add_argument(
        "--json",
        action="store_true",
        help="print the counts as one JSON document (the exit status is the same)",
    )
    depths.set_defaults(func=cmd_queues)

    rules = sub.add_parser(
        "rules", description="validate, diff, push, pull, test, history, rollback"
    )
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--url",
        default=os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8000"),
        help="API base URL (default $SWITCHBOARD_URL or the local stack)",
    )
    connection.add_argument("--iam", action="store_true", help="sign with AWS SigV4 (deployed API)")
    api = argparse.ArgumentParser(add_help=False, parents=[connection])
    api.add_argument(
        "--json",
        action="store_true",
        dest="api_answers",
        help="print the API's answers instead, one JSON document a line (for scripts)",
    )

    command = rules_sub.add_parser(
        "validate",
        help="validate a ruleset file offline (its departments against DEPARTMENTS here)",
    )
    command.add_argument("file", type=Path)
    command.set_defaults(func=cmd_rules_validate)
    command = rules_sub.add_parser("pull", parents=[api], help="fetch the live ruleset as YAML")
    command.add_argument("-o", "--output", type=Path, help="write to this file")
    command.add_argument("--version", type=int, help="an earlier version")
    command.set_defaults(func=cmd_rules_pull)
    command = rules_sub.add_parser(
        "diff", parents=[connection], help="compare a file with the live rules"
    )
    command.add_argument("file", type=Path)
    command.add_argument(
        "--json",
        action="store_true",
        help="print the changes as one JSON document (rule ids added, removed, changed, order)",
    )
    command.set_defaults(func=cmd_rules_diff)
    command = rules_sub.add_parser("push", parents=[api], help="publish a ruleset file")
    command.add_argument("file", type=Path)
    command.add_argument("-m", "--message", required=True, help="why (kept in the history)")
    command.add_argument("--expected-version", type=int, help="refuse if live moved on")
    command.add_argument(
        "--no-worse",
        action="store_true",
        help="refuse a file that routes fewer of the cases people worked where they belonged",
    )
    command.set_defaults(func=cmd_rules_push)
    command = rules_sub.add_parser("test", parents=[api], help="dry-run a file on real traffic")
    command.add_argument("file", type=Path)
    command.add_argument("--mentions", type=Path, help="JSONL mentions instead of recent traffic")
    command.add_argument("--limit", type=int, default=1000)
    command.set_defaults(func=cmd_rules_test)
    command = rules_sub.add_parser("history", parents=[api], help="list published versions")
    command.add_argument(
        "--changes", action="store_true", help="with what each changed against the one before"
    )
    command.add_argument("--limit", type=int, default=20)
    command.set_defaults(func=cmd_rules_history)
    command = rules_sub.add_parser("rollback", parents=[api], help="make a version live again")
    command.add_argument("version", type=int)
    command.add_argument("-m", "--message", default="", help="why")
    command.set_defaults(func=cmd_rules_rollback)
    command = rules_sub.add_parser("schema", help="print the JSON Schema of a ruleset")
    command.set_defaults(func=cmd_rules_schema)

    reply = sub.add_parser(
        "reply", parents=[api], description="answer a mention through Switchboard"
    )
    reply.add_argument("mention_id")
    reply.add_argument("text", nargs="?", help="what to answer (or --template)")
    reply.add_argument("--template", help="answer with this saved reply, filled in for them")
    reply.add_argument(
        "--language",
        help="with --template: answer in this language, not the mention's; with"
        " --whatsapp-template: the language it was approved in (en_US, pt_BR)",
    )
    reply.add_argument(
        "--whatsapp-template",
        metavar="NAME",
        help="a WhatsApp message template approved in WhatsApp Manager (after 24 hours, the"
        " only way to write to a WhatsApp customer)",
    )
    reply.add_argument(
        "--param",
        action="append",
        default=[],
        help="with --whatsapp-template: the value of its next variable ({{1}}, {{2}}…)",
    )
    reply.add_argument("--private", action="store_true", help="private reply to a comment")
    reply.add_argument("--idempotency-key", help="retrying with the same key sends once")
    reply.add_argument(
        "--force", action="store_true", help="answer even though someone else took the case"
    )
    reply.add_argument(
        "--survey",
        action="store_true",
        help="once posted, ask the customer to rate the help from 1 to 5 (SATISFACTION_SURVEY;"
        " direct messages)",
    )
    reply.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the send")
    reply.set_defaults(func=cmd_reply)

    templates = sub.add_parser(
        "templates", parents=[api], description="list, set or delete saved replies"
    )
    templates.set_defaults(func=cmd_templates)
    templates_sub = templates.add_subparsers(dest="templates_command")
    command = templates_sub.add_parser("set", parents=[api], help="add or replace a saved reply")
    command.add_argument("template_id", help="lowercase letters, digits and dashes")
    command.add_argument("text", help="placeholders: {name}, {handle}")
    command.add_argument("--language", help="the language TEXT is in (ISO 639-1: en, es…)")
    command.add_argument(
        "--translation",
        nargs=2,
        action="append",
        default=[],
        metavar=("LANG", "TEXT"),
        help="the same reply in another language, for customers writing in it (repeatable)",
    )
    command.set_defaults(func=cmd_templates_set)
    command = templates_sub.add_parser("delete", parents=[api], help="remove a saved reply")
    command.add_argument("template_id")
    command.set_defaults(func=cmd_templates_delete)

    by_author = "<platform>:<author id>, as a message's history names it"
    for name, of, of_help, what, func in (
        ("waiting", "department", None, "a department's cases still waiting for an answer",
         cmd_waiting),
        ("approvals", "department", None, "a department's replies waiting for approval",
         cmd_approvals),
        ("cases", "author", by_author, "the cases an author opened", cmd_cases),
        ("handed-over", "department", None, "a department's cases people handed to another",
         cmd_handed_over),
    ):  # fmt: skip
        listing = sub.add_parser(name, parents=[api], description=what)
        listing.add_argument(of, help=of_help)
        listing.add_argument("--limit", type=int, default=50, help="at most this many (up to 200)")
        listing.set_defaults(func=func)
    mine_or_free = sub.choices["waiting"].add_mutually_exclusive_group()
    mine_or_free.add_argument(
        "--free", action="store_true", help="only those nobody has taken: the next to pick up"
    )
    mine_or_free.add_argument(
        "--mine", action="store_true", help="only those you took or were given"
    )
    sub.choices["handed-over"].add_argument(
        "--days", type=int, default=30, help="routed within the last N days (up to 90)"
    )
    attachment = sub.add_parser(
        "attachment", parents=[api], description="a link to a file a customer sent with a mention"
    )
    attachment.add_argument("mention_id")
    attachment.add_argument("number", nargs="?", type=int, default=1, help="which (from 1)")
    attachment.set_defaults(func=cmd_attachment)
    search = sub.add_parser(
        "find", parents=[api], description="search what people said in the last days"
    )
    search.add_argument("when", help="a rule's when, in YAML: 'text: {contains_any: [recall]}'")
    search.add_argument("--days", type=int, default=1, help="routed within the last N days")
    search.add_argument("--limit", type=int, default=50, help="list at most this many (up to 200)")
    search.set_defaults(func=cmd_find)
    raid = sub.add_parser(
        "hide-matching",
        parents=[api],
        description="hide the comments of the last days a condition matches",
    )
    raid.add_argument("when", help="a rule's when, in YAML: 'text: {contains_any: [giveaway]}'")
    raid.add_argument("reason", help="why they are hidden (for the record, never shown)")
    raid.add_argument("--days", type=int, default=1, help="routed within the last N days")
    raid.add_argument("--yes", action="store_true", help="hide them (without: only list them)")
    raid.add_argument("--limit", type=int, default=50, help="at most this many a call (1-200)")
    raid.set_defaults(func=cmd_hide_matching)
    pick = sub.add_parser("next", parents=[api], description="take a department's next free case")
    pick.add_argument("department")
    pick.add_argument("--minutes", type=int, default=30, help="for how long (1-480)")
    pick.add_argument("--for", dest="assignee", help="give it to a colleague instead (their name)")
    pick.set_defaults(func=cmd_next)
    shift = sub.add_parser(
        "shift",
        parents=[api],
        description="go on shift in a department: given its new cases, the least busy first",
    )
    shift.add_argument("department")
    shift.add_argument("--hours", type=float, default=8, help="for how long (up to 24)")
    shift.add_argument(
        "--capacity", type=int, help="given at most this many waiting cases at once (1-100)"
    )
    shift.add_argument(
        "--languages", help="only cases in these languages, ISO 639-1 codes: en,es (default: any)"
    )
    shift.add_argument("--for", dest="assignee", help="a colleague's shift instead (their name)")
    stepping = shift.add_mutually_exclusive_group()
    stepping.add_argument("--end", action="store_true", help="end the shift instead")
    stepping.add_argument(
        "--away", action="store_true", help="step away: no new cases, keeping yours"
    )
    stepping.add_argument("--back", action="store_true", help="back from being away")
    shift.set_defaults(func=cmd_shift)
    shifts = sub.add_parser("shifts", parents=[api], description="who is on shift in a department")
    shifts.add_argument("department")
    shifts.set_defaults(func=cmd_shifts)
    report = sub.add_parser(
        "report", parents=[api], description="how a department (or each) did: on time, waiting"
    )
    report.add_argument("department", nargs="?", help="one department (default: each of them)")
    report.add_argument("--days", type=int, default=7, help="the last N days (up to 90)")
    report.set_defaults(func=cmd_report)
    ignored = sub.add_parser(
        "ignored", parents=[api], description="what routing ignored, to rescue from"
    )
    ignored.add_argument("--days", type=int, default=7, help="within the last N days (up to 90)")
    ignored.add_argument("--limit", type=int, default=50, help="at most this many (up to 200)")
    ignored.set_defaults(func=cmd_ignored)

    approve = sub.add_parser("approve", parents=[api], description="approve someone else's reply")
    approve.add_argument("reply_id")
    approve.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the send")
    approve.add_argument(
        "--force",
        action="store_true",
        help="post it even though its case was answered or closed since it was written",
    )
    approve.set_defaults(func=cmd_approve)

    reject = sub.add_parser("reject", parents=[api], description="turn down a pending reply")
    reject.add_argument("reply_id")
    reject.add_argument("reason", help="why it must not be posted")
    reject.set_defaults(func=cmd_reject)

    forget = sub.add_parser(
        "forget", parents=[api], description="erase what an author wrote, at their request"
    )
    forget.add_argument("author", help="<platform>:<author id>, as `switchboard cases` takes")
    forget.add_argument("reason", help="the request's reference (never their name)")
    forget.add_argument("--yes", action="store_true", help="erase (without: only say what)")
    forget.set_defaults(func=cmd_forget)

    label = sub.add_parser(
        "label", parents=[api], description="show, add or remove an author's labels (vip, press…)"
    )
    label.add_argument(
        "author", nargs="?", help="<platform>:<author id>, as `switchboard cases` takes"
    )
    label.add_argument("--file", help="instead of AUTHOR: a file of authors, one a line")
    label.add_argument("--add", action="append", default=[], metavar="LABEL", help="repeatable")
    label.add_argument("--remove", action="append", default=[], metavar="LABEL")
    label.set_defaults(func=cmd_label)

    sweep = sub.add_parser(
        "close-matching", parents=[api], description="close the waiting cases a condition matches"
    )
    sweep.add_argument("department")
    sweep.add_argument("when", help="a rule's `when`, in YAML: 'text: {contains_any: [outage]}'")
    sweep.add_argument("reason", help="why none needs a reply (answered by the status page…)")
    sweep.add_argument("--yes", action="store_true", help="close them (without: only list them)")
    sweep.add_argument("--limit", type=int, default=100, help="at most this many a call (1-200)")
    sweep.set_defaults(func=cmd_close_matching)

    why_closed = "why no reply is needed (answered by phone, a duplicate…)"
    why_theirs = "why it is theirs (a legal threat, not a support case…)"
    for name, what, func, positional in (
        ("mention", "show a mention and its history", cmd_mention, ()),
        ("close", "close a case that needs no reply", cmd_close, (("reason", why_closed),)),
        ("reopen", "open a closed case again", cmd_reopen, ()),
        ("hide", "hide a comment on its platform (abuse, spam, a scam)", cmd_hide,
         (("reason", "why it is hidden (for the record, never shown)"),)),
        ("unhide", "show a hidden comment again on its platform", cmd_unhide, ()),
        ("take", "take a case to answer it", cmd_take, ()),
        ("leave", "give back a case you took", cmd_leave, ()),
        ("transfer", "hand a case over to a department", cmd_transfer,
         (("department", "the department that should have it"), ("reason", why_theirs))),
        ("note", "note something on a mention for colleagues", cmd_note,
         (("text", "what they should know (never sent to the customer)"),)),
    ):  # fmt: skip
        one = sub.add_parser(name, parents=[api], description=what)
        one.add_argument("mention_id")
        for argument, argument_help in positional:
            one.add_argument(argument, help=argument_help)
        one.set_defaults(func=func)
    urgency = sub.add_parser(
        "priority", parents=[api], description="change how urgent a case is (its deadline with it)"
    )
    urgency.add_argument("mention_id")
    urgency.add_argument("priority", choices=get_args(Priority))
    urgency.add_argument("reason", help="why (a journalist, a safety issue, not urgent after all…)")
    urgency.set_defaults(func=cmd_priority)
    sub.choices["take"].add_argument("--minutes", type=int, default=30, help="for how long (1-480)")
    sub.choices["take"].add_argument(
        "--for", dest="assignee", help="give it to a colleague instead (their name)"
    )

    demo = sub.add_parser("demo", description="send signed sample deliveries to a running make run")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="API base URL")
    demo.add_argument(
        "--fresh", action="store_true", help="new mention ids, so a second run routes again"
    )
    demo.set_defaults(func=cmd_demo)

    slack = sub.add_parser(
        "slack-manifest",
        description="the Slack app's manifest for a deployed stage (events, buttons)",
    )
    slack.add_argument("endpoint", help="the stack's EndpointURL (https://…/STAGE/)")
    slack.add_argument("--name", default="Switchboard", help="the app's name in Slack")
    slack.set_defaults(func=cmd_slack_manifest)
    parser.epilog = (
        f"commands:\n{_listing(sub.choices)}\n\n`switchboard COMMAND --help` says what one takes."
    )
    return parser


def commands_in_groups() -> list[str]:
    """Every command's name, in the order `switchboard --help` lists them."""
    return [name for _, names in COMMAND_GROUPS for name in names]


def _listing(commands: dict[str, argparse.ArgumentParser]) -> str:
    """The commands by COMMAND_GROUPS, each beside what it does (its description)."""
    width = max(map(len, commands)) + 2
    return "\n\n".join(
        f"  {title}:\n"
        + "\n".join(f"    {name:<{width}}{commands[name].description}" for name in names)
        for title, names in COMMAND_GROUPS
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the `switchboard` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = commands_in_groups()
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        hint = did_you_mean(argv[0], commands)
        print(
            f"error: no command {argv[0]}; {hint}`switchboard --help` lists them", file=sys.stderr
        )
        return 2
    args = build_parser().parse_args(argv)
    if not (getattr(args, "iam", False) or getattr(args, "stage", None)):
        use_local_defaults()  # a deployed stack is reached with the caller's own AWS settings
    shown = out or sys.stdout
    if getattr(args, "api_answers", False):
        args.answers = []  # kept by the API client, printed in place of the command's own text
    else:
        args.answers = None
    try:
        result: Any = args.func(args, io.StringIO() if args.answers is not None else shown)
        if args.answers is not None:
            answers_as_json(args.answers, shown)
    except RulesetInvalid as exc:
        print("invalid ruleset:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        return 2
    except ApiError as exc:
        problems = exc.body.get("problems") if isinstance(exc.body, dict) else None
        print(f"error: {exc}", file=sys.stderr)
        if problems:
            print("  " + "\n  ".join(problems), file=sys.stderr)
        return 2 if exc.status in (400, 409) else 1
    except BrokenPipeError:  # whoever read the output stopped (`| head`): nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own recipe
        return 0
    except (SwitchboardError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:  # a file given to a command is not text
        print(f"error: the file is not UTF-8 text ({exc})", file=sys.stderr)
        return 1
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
