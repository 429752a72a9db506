"""The `switchboard` command: route offline, evaluate, read a department inbox or a dead-letter
queue, run the demo."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from chalicelib.api_client import ApiClient, ApiError
from chalicelib.cli_text import (
    author_of,
    closed_by,
    decider,
    format_dry_run,
    format_report,
    format_routed,
    gist,
    hidden_by,
    lasting,
    shortened,
    stamp,
    tally,
    time_left,
    transfer_line,
)
from chalicelib.errors import SwitchboardError
from chalicelib.models import (
    CloseMatchingResult,
    DepartmentReport,
    FindResult,
    ForgetResult,
    HideMatchingResult,
    Mention,
    MentionRecord,
    NextCase,
    Reply,
    Roster,
    RoutedMention,
    Shift,
    ShiftEnded,
)
from chalicelib.rules import (
    DEFAULT_RULES_PATH,
    Engine,
    RulesetInvalid,
    load_rules_file,
    read_yaml,
)
from chalicelib.settings import Settings, get_settings

LOCAL_DEFAULTS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "X_CONSUMER_SECRET": "local-x-secret",
    "META_APP_SECRET": "local-meta-secret",
    "META_VERIFY_TOKEN": "local-verify-token",
    "SLACK_SIGNING_SECRET": "local-slack-secret",
    "WEBSUB_SECRET": "local-websub-secret",
    "YOUTUBE_CHANNELS": "UCacmeChannel0000000000",
    "WEBHOOK_SECRET": "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQ=",
    "ADMIN_TOKEN": "local-admin-token",
    # the fake platforms of `make run` (chalicelib/fakeplatforms.py) accept exactly these
    "X_CONSUMER_KEY": "local-x-consumer-key",
    "X_ACCESS_TOKEN": "local-x-access-token",
    "X_ACCESS_TOKEN_SECRET": "local-x-access-secret",
    "META_PAGE_ACCESS_TOKEN": "local-meta-page-token",
    "WHATSAPP_ACCESS_TOKEN": "local-whatsapp-token",
    "YOUTUBE_ACCESS_TOKEN": "local-youtube-token",
    "SLACK_BOT_TOKEN": "xoxb-local-slack-token",
}


def use_local_defaults() -> None:
    """Fill in the local configuration (DESIGN.md §4) wherever the environment has none."""
    for name, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(name, value)


def _engine(rules: Path | None, settings: Settings) -> Engine:
    from chalicelib.services.routing import engine_for

    return engine_for(
        load_rules_file(rules or DEFAULT_RULES_PATH, settings.departments), 0, settings
    )


def _read_mentions(handle: TextIO) -> Iterator[tuple[int, Mention | str]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, Mention.model_validate_json(line)
        except ValidationError as exc:
            yield number, f"line {number}: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"


def cmd_route(args: argparse.Namespace, out: TextIO) -> int:
    """Route normalised mentions offline; one JSON decision per line."""
    from chalicelib.classify import compute_signals, enrich
    from chalicelib.services.routing import decide

    settings = get_settings()
    engine = _engine(args.rules, settings)
    failures = 0
    with args.file.open(encoding="utf-8") as handle:
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
    human-labeled groups are routed."""
    from chalicelib.classify import compute_signals, enrich
    from chalicelib.evaluation import (
        COMPLAINT,
        IMPLIED_SCORE,
        format_by_rule,
        format_clear_cut,
        format_misses,
        format_routes,
        is_miss,
        load_labeled_csv,
        score,
    )
    from chalicelib.services.routing import decide

    settings = get_settings()
    engine = _engine(args.rules, settings)
    rows = load_labeled_csv(args.file)
    mentions = [enrich(row.mention) for row in rows]
    decisions = [decide(m, engine, settings, compute_signals(m)) for m in mentions]
    predicted = [decision.department for decision in decisions]
    gold = [row.label for row in rows]
    print(f"{len(rows)} mentions from {args.file}", file=out)
    if COMPLAINT in gold:
        print(format_routes(gold, predicted), file=out)
        print("(the department model learned from this corpus: this checks the rules)", file=out)
        implied = [row.implied for row in rows if row.implied]
        if len(implied) == len(rows):
            print(f"\n{IMPLIED_SCORE}", file=out)
            print(score(implied, predicted, sorted(set(implied))).format(), file=out)
    else:
        print(score(gold, predicted, sorted(set(gold))).format(), file=out)
        if clear_cut := format_clear_cut(rows, predicted):
            print(f"\n{clear_cut}", file=out)
    if args.by_rule:
        print(f"\n{format_by_rule(rows, decisions)}", file=out)
    if args.misses:
        misses = [
            (row, decision)
            for row, decision in zip(rows, decisions, strict=True)
            if is_miss(row.label, decision.department)
        ]
        print(f"\n{format_misses(misses)}", file=out)
    return 0


def _queue_settings(args: argparse.Namespace) -> Settings:
    """The settings, with a deployed stage's queue names (`switchboard-STAGE-…`) for --stage."""
    settings = get_settings()
    if args.stage:
        return settings.model_copy(update={"queue_prefix": f"switchboard-{args.stage}-"})
    return settings


def _queue_command(
    args: argparse.Namespace,
    name: str,
    known: list[str],
    kind: str,
    queue: str,
    read: Callable[[], int],
    out: TextIO,
) -> int:
    """Run `read` once `name` is one of the `known`; an unreachable SQS is a clear error."""
    from botocore.exceptions import BotoCoreError, ClientError

    if name not in known:
        print(f"unknown {kind} {name!r}; one of {known}", file=out)
        return 2
    try:
        return read()
    except (BotoCoreError, ClientError) as exc:
        hint = "Check your AWS credentials and region" if args.stage else "Is `make run` running?"
        print(f"error: cannot read {queue}: {exc}. {hint}", file=sys.stderr)
        return 1


def cmd_inbox(args: argparse.Namespace, out: TextIO) -> int:
    """Print the mentions waiting in a department queue (they stay queued unless --ack)."""
    settings = _queue_settings(args)
    queue = settings.queue_name(args.department)
    read = partial(_print_inbox, args, settings, out)
    known = settings.departments
    return _queue_command(args, args.department, known, "department", queue, read, out)


def _print_inbox(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from chalicelib import aws
    from chalicelib.stores.queues import SqsQueues, read_queue

    client = aws.sqs()
    url = SqsQueues(client, settings).url(args.department)
    shown = 0
    for message in read_queue(client, url, args.limit, take=args.ack):
        print(format_routed(RoutedMention.model_validate_json(message["Body"])), file=out)
        print(file=out)
        shown += 1
        if args.ack:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    print(f"{shown} mention(s) in {settings.queue_name(args.department)}", file=out)
    return 0


def cmd_dead_letters(args: argparse.Namespace, out: TextIO) -> int:
    """Show what waits in a queue's dead-letter queue and why; with --redrive, move it back."""
    settings = _queue_settings(args)
    queue = settings.queue_name(f"{args.queue}-dlq")
    read = partial(_dead_letters, args, settings, queue, out)
    return _queue_command(args, args.queue, settings.all_queues, "queue", queue, read, out)


def _dead_letters(args: argparse.Namespace, settings: Settings, where: str, out: TextIO) -> int:
    from chalicelib import aws
    from chalicelib.services.dead_letters import move_back, read_dead_letter
    from chalicelib.stores.queues import SqsQueues, read_queue

    client = aws.sqs()
    queues = SqsQueues(client, settings)
    dead_letter_url, source_url = queues.url(f"{args.queue}-dlq"), queues.url(args.queue)
    count = 0
    for message in read_queue(client, dead_letter_url, args.limit, take=args.redrive):
        letter = read_dead_letter(message)
        print(
            f"{letter.message_id}  dead-lettered {letter.sent_at:%Y-%m-%d %H:%M:%S} UTC", file=out
        )
        print(f"  {letter.summary}", file=out)
        print(f"  why: {letter.reason}", file=out)
        if args.redrive:
            move_back(client, dead_letter_url, source_url, letter)
            print(f"  moved back to {settings.queue_name(args.queue)}", file=out)
        count += 1
    done = (
        f"moved {count} message(s) from {where}"
        if args.redrive
        else f"{count} message(s) in {where}"
    )
    print(done, file=out)
    return 0


_API_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


def _api_region(url: str) -> str:
    """The region SigV4 signs for: a deployed API's, from its URL, else the configured one."""
    found = _API_REGION.search(url)
    if found:
        return found.group(1)
    if os.environ.get("AWS_DEFAULT_REGION"):
        return os.environ["AWS_DEFAULT_REGION"]
    import boto3  # the profile's region

    return boto3.Session().region_name or "us-east-1"


def _client(args: argparse.Namespace) -> ApiClient:
    return ApiClient(
        base_url=args.url,
        token=os.environ.get("ADMIN_TOKEN", ""),
        iam=args.iam,
        region=_api_region(args.url),
        author=os.environ.get("SWITCHBOARD_AUTHOR") or os.environ.get("USER"),
    )


def _rules_file(path: Path) -> list[dict[str, Any]]:
    """A ruleset file, validated here first so errors show before anything is sent."""
    return load_rules_file(path, get_settings().departments).dump()


def cmd_rules_validate(args: argparse.Namespace, out: TextIO) -> int:
    """Validate a ruleset file offline."""
    rules = _rules_file(args.file)
    print(f"{args.file}: {len(rules)} rules, valid", file=out)
    return 0


def cmd_rules_pull(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch the live (or a given) version as YAML."""
    from chalicelib.rules.diff import dump_yaml

    query = f"?version={args.version}" if args.version is not None else ""
    live = _client(args).call("GET", f"/admin/rules{query}")
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
    """Show what a file changes against the live ruleset; exit 1 when it differs."""
    from chalicelib.rules.diff import diff_rulesets

    rules = _rules_file(args.file)
    live = _client(args).call("GET", "/admin/rules")
    lines = diff_rulesets(live["rules"], rules)
    print(f"{args.file} against live v{live['version']}:", file=out)
    print("\n".join(lines) if lines else "no differences", file=out)
    return 1 if lines else 0


def cmd_rules_push(args: argparse.Namespace, out: TextIO) -> int:
    """Publish a ruleset file as the new live version; with --no-worse, only if it sends at
    least as many of the cases people answered or handed over where they belonged as the live
    ruleset does (the version compared with is the one replaced)."""
    client = _client(args)
    body: dict[str, Any] = {"rules": _rules_file(args.file), "comment": args.message}
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
    body: dict[str, Any] = {"rules": _rules_file(args.file), "limit": args.limit}
    if args.mentions:
        with args.mentions.open(encoding="utf-8") as handle:
            body["mentions"] = [json.loads(line) for line in handle if line.strip()]
    report = _client(args).call("POST", "/admin/rules/test", body)
    print(format_dry_run(report, str(args.file)), file=out)
    return 0


def cmd_rules_history(args: argparse.Namespace, out: TextIO) -> int:
    """List published versions, newest first."""
    versions = _client(args).call("GET", f"/admin/rules/versions?limit={args.limit}")["versions"]
    for v in versions:
        mark = "*" if v["live"] else " "
        print(
            f"{mark} v{v['version']:<5} {v['published_at'][:19]}  {v['author']:<20}"
            f" {v['rule_count']:>4} rules  {v['comment']}",
            file=out,
        )
    return 0


def cmd_rules_rollback(args: argparse.Namespace, out: TextIO) -> int:
    """Make an earlier version live again."""
    answer = _client(args).call(
        "POST", "/admin/rules/rollback", {"version": args.version, "comment": args.message}
    )
    print(f"v{answer['version']} is live: a copy of v{answer['rolled_back_to']}", file=out)
    return 0


def cmd_reply(args: argparse.Namespace, out: TextIO) -> int:
    """Answer a mention; waits briefly and shows where the reply got to. A case someone
    answered or closed already is answered all the same, with a note saying so."""
    given = [args.text, args.template, args.whatsapp_template]
    if sum(value is not None for value in given) != 1:
        print(
            "error: give the reply's TEXT, --template or --whatsapp-template, one of them",
            file=sys.stderr,
        )
        return 2
    if args.whatsapp_template is not None and not args.language:
        print(
            "error: --whatsapp-template needs the --language it was approved in (en_US)",
            file=sys.stderr,
        )
        return 2
    client = _client(args)
    _note_if_handled(client, args.mention_id)
    body: dict[str, Any] = {"mention_id": args.mention_id}
    if args.whatsapp_template is not None:
        body["whatsapp_template"] = {
            "name": args.whatsapp_template,
            "language": args.language,
            "parameters": args.param,
        }
    else:
        body |= {"text": args.text} if args.text is not None else {"template": args.template}
        if args.language:
            body["language"] = args.language
    if args.private:
        body["private"] = True
    if args.idempotency_key:
        body["idempotency_key"] = args.idempotency_key
    if args.force:
        body["force"] = True
    if args.survey:
        body["survey"] = True
    queued = client.call("POST", "/replies", body)
    print(f"{queued['reply_id']}: {queued['status']}", file=out)
    if queued["status"] == "pending":
        print(
            f"waits for someone else's approval: switchboard approve {queued['reply_id']}",
            file=out,
        )
        return 0
    return _follow_reply(client, queued["reply_id"], args.wait, out)


def _follow_reply(client: ApiClient, reply_id: str, wait: float, out: TextIO) -> int:
    """Wait up to `wait` seconds for a queued reply to be sent, and say where it got to."""
    reply: dict[str, Any] = {"status": "queued"}
    for _ in range(max(1, int(wait * 2))):
        reply = client.call("GET", f"/replies/{reply_id}")
        if reply["status"] not in ("queued", "sending"):
            break
        time.sleep(0.5)
    if reply["status"] == "sent":
        where = reply.get("platform_reply_url") or reply.get("platform_reply_id")
        print(f"sent to {reply['platform']}: {where}", file=out)
        also = [each for each in reply.get("answered", []) if each != reply["mention_id"]]
        if also:
            print("answered with it (off the SLA clock too):", file=out)
        for mention_id in also:  # what they said, so a different question is not missed
            print(f"  {mention_id}  {_said(client, mention_id)}", file=out)
        if reply.get("survey"):
            print("the satisfaction survey follows: their rating goes on the case", file=out)
    elif reply["status"] != "queued":
        print(f"{reply['status']}: {reply.get('last_error')}", file=out)
    return 0 if reply["status"] in ("sent", "queued", "sending") else 1


def _said(client: ApiClient, mention_id: str) -> str:
    """What a mention says, on one line; why not, when it cannot be read."""
    try:
        record = MentionRecord.model_validate(client.call("GET", mention_path(mention_id)))
    except ApiError as exc:
        return f"(cannot be read: {exc})"
    return gist(record.message.mention)


def cmd_approvals(args: argparse.Namespace, out: TextIO) -> int:
    """List a department's replies waiting for approval, oldest first, each with what it
    answers, so the reviewer reads both."""
    client = _client(args)
    path = f"/departments/{args.department}/approvals?limit={args.limit}"
    pending = client.call("GET", path)["pending"]
    print(f"{len(pending)} waiting for approval in {args.department}", file=out)
    now = datetime.now(UTC)
    for reply in pending:
        try:
            case = MentionRecord.model_validate(
                client.call("GET", mention_path(reply["mention_id"]))
            )
            due = time_left(case.message.routing.sla_due_at, now)
            answering = f"{gist(case.message.mention)}\n  reply by: {due}"
        except ApiError as exc:
            answering = f"(the case cannot be read: {exc})"
        print(
            f"{reply['reply_id']}  to {reply['mention_id']}  by {reply['author']}"
            f"  {_stamp(reply['created_at'])}\n  reply:     {shortened(reply['text'])}"
            f"\n  answering: {answering}",
            file=out,
        )
    return 0


def cmd_approve(args: argparse.Namespace, out: TextIO) -> int:
    """Approve someone else's pending reply, then wait for it to be sent."""
    client = _client(args)
    approved = client.call("POST", f"/replies/{args.reply_id}/approve", {})
    print(f"{args.reply_id}: approved by {approved['reviewed_by']}", file=out)
    return _follow_reply(client, args.reply_id, args.wait, out)


def cmd_reject(args: argparse.Namespace, out: TextIO) -> int:
    """Turn down a pending reply: it is never posted."""
    path = f"/replies/{args.reply_id}/reject"
    rejected = _client(args).call("POST", path, {"reason": args.reason})
    print(f"{args.reply_id}: rejected by {rejected['reviewed_by']}: {args.reason}", file=out)
    return 0


def mention_path(mention_id: str, action: str = "") -> str:
    """The API path of a mention (and of an action on it), its id encoded: a Slack id has a
    `/` in it (`slack:<channel>/<ts>`)."""
    return f"/mentions/{_encoded(mention_id)}" + (f"/{action}" if action else "")


def _encoded(reference: str) -> str:
    """A `platform:id` reference as one path segment (a `/` in it sent as %2F)."""
    return quote(reference, safe=":")


def _note_if_handled(client: ApiClient, mention_id: str) -> None:
    """Tell the agent on stderr when the case was answered or closed already (by a colleague,
    on the platform): a second answer may still be meant, a follow-up."""
    try:
        record = MentionRecord.model_validate(client.call("GET", mention_path(mention_id)))
    except ApiError:
        return  # the reply itself says what is wrong
    if record.first_response_at is not None:
        by = f" ({record.first_response_post})" if record.first_response_post else ""
        handled = f"answered at {stamp(record.first_response_at)}{by}"
    elif record.closed_at is not None:
        handled = f"closed at {stamp(record.closed_at)} {closed_by(record)}"
    else:
        return
    print(f"note: {record.id} was {handled}; this reply is sent as well", file=sys.stderr)


def _listed(args: argparse.Namespace, path: str, key: str, out: TextIO) -> list[dict[str, Any]]:
    """The items an API listing returns under `key` (saying so when the API left some out: more
    than one answer holds)."""
    answer = _client(args).call("GET", path)
    if answer.get("truncated"):
        print(
            f"(the first {len(answer[key])} only, all one answer holds: ask for fewer with"
            " --limit)",
            file=out,
        )
    return list(answer[key])


def _records(args: argparse.Namespace, path: str, key: str, out: TextIO) -> list[MentionRecord]:
    """The mention records an API listing returns under `key` (see `_listed`)."""
    return [MentionRecord.model_validate(item) for item in _listed(args, path, key, out)]


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
        for item in _listed(args, path, "waiting", out)
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
            marks += f"  (taken by {record.taken_by} until {_until(record)})"
        if pending:
            marks += f"  (answered by {pending['author']}, waiting for approval:"
            marks += f" {pending['reply_id']})"
        print(
            f"[{routing.priority.upper()}] {mention.id}  reply by: "
            f"{time_left(routing.sla_due_at, now)}{marks}\n  {gist(mention)}",
            file=out,
        )
    return 0


def cmd_cases(args: argparse.Namespace, out: TextIO) -> int:
    """List the cases an author opened, newest first, with each one's department and state."""
    path = f"/authors/{_encoded(args.author)}/cases?limit={args.limit}"
    found = _client(args).call("GET", path)
    cases, labels = found["cases"], found.get("labels") or []
    labelled = f" [{', '.join(labels)}]" if labels else ""
    print(f"{len(cases)} case(s) opened by {args.author}{labelled}", file=out)
    for case in cases:
        print(
            f"{case['id']}  {case['department']}  {case['state']}"
            f"  routed {_stamp(case['routed_at'])}",
            file=out,
        )
    return 0


def cmd_label(args: argparse.Namespace, out: TextIO) -> int:
    """Show an author's labels, or add and remove some (for each author a --file lists, one a
    line: a CRM's list of VIPs); their mentions routed from then on carry them, for the rules
    (`author.labels`) and whoever answers. One that cannot be labelled is said and skipped."""
    if (args.author is None) == (args.file is None):
        print("name one AUTHOR or a --file of them", file=sys.stderr)
        return 2
    if args.file is not None and not (args.add or args.remove):
        print("with --file, say what to --add or --remove", file=sys.stderr)
        return 2
    client, failed = _client(args), 0
    for author in [args.author] if args.author else _authors_in(args.file):
        path = f"/authors/{_encoded(author)}/labels"
        try:
            if args.add or args.remove:
                labelled = client.call("POST", path, {"add": args.add, "remove": args.remove})
            else:
                labelled = client.call("GET", path)
        except ApiError as exc:
            if args.file is None:
                raise
            print(f"{author}: not labelled: {exc}", file=out)
            failed += 1
            continue
        print(f"{author}: {', '.join(labelled['labels']) or 'no labels'}", file=out)
    return 1 if failed else 0


def _authors_in(path: str) -> list[str]:
    """The authors a file lists, one a line (blank lines and `#` comments skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def cmd_forget(args: argparse.Namespace, out: TextIO) -> int:
    """Erase what an author wrote and who they are, at their request: without --yes, only say
    what Switchboard keeps of them; with it, erase it, a call at a time until none is left."""
    path = f"/authors/{_encoded(args.author)}/forget"
    body = {"reason": args.reason, "dry_run": not args.yes}

    def call() -> ForgetResult:
        return ForgetResult.model_validate(_client(args).call("POST", path, body))

    calls = _until_done(call, lambda last: args.yes and last.more and bool(last.mentions))
    found = [mention_id for result in calls for mention_id in result.mentions]
    replies = sum(result.replies for result in calls)
    labels = sorted({label for result in calls for label in result.labels})
    kept = f"{len(found)} mention(s) by {args.author} and the text of {replies} reply(ies) to them"
    kept += f", and their labels ({', '.join(labels)})" if labels else ""
    if args.yes:
        print(f"erased {kept}: {args.reason}", file=out)
    elif not found and not labels:
        print(f"Switchboard keeps nothing {args.author} wrote", file=out)
    else:
        more = " (at least)" if calls[-1].more else ""
        print(f"Switchboard keeps{more} {kept}; to erase them, run it again with --yes", file=out)
    for mention_id in found:
        print(f"  {mention_id}", file=out)
    if args.yes and calls[-1].more:
        print("(out of time with more to erase: run it again)", file=out)
    return 0


def cmd_attachment(args: argparse.Namespace, out: TextIO) -> int:
    """Print what a file a customer sent with a mention is, and a link to open it."""
    found = _client(args).call("GET", mention_path(args.mention_id, f"attachments/{args.number}"))
    what = " ".join(str(found[k]) for k in ("kind", "filename", "mime_type") if found.get(k))
    until = f" (until {_stamp(found['expires_at'])})" if found.get("expires_at") else ""
    print(f"{what}: {found['url']}{until}", file=out)
    return 0


def cmd_handed_over(args: argparse.Namespace, out: TextIO) -> int:
    """List the cases routed to a department that people handed over, newest first, with where
    they went and which rule had sent them: where routing goes wrong."""
    path = f"/departments/{args.department}/handed-over?days={args.days}&limit={args.limit}"
    records = _records(args, path, "cases", out)
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
    """How a department did over the last days: answered, on time, still waiting."""
    path = f"/departments/{quote(args.department, safe='')}/report?days={args.days}"
    print(format_report(DepartmentReport.model_validate(_client(args).call("GET", path))), file=out)
    return 0


def cmd_ignored(args: argparse.Namespace, out: TextIO) -> int:
    """List what routing ignored, newest first, with the rule that decided each: where to look
    for a mention that deserved an answer (`switchboard transfer` rescues it)."""
    path = f"/ignored?days={args.days}&limit={args.limit}"
    records = _records(args, path, "ignored", out)
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


def cmd_close(args: argparse.Namespace, out: TextIO) -> int:
    """Close a case without a reply: it leaves the SLA clock."""
    path = mention_path(args.mention_id, "close")
    record = MentionRecord.model_validate(_client(args).call("POST", path, {"reason": args.reason}))
    when = stamp(record.closed_at) if record.closed_at else "-"
    print(f"closed: {when} ({closed_by(record)})", file=out)
    return 0


Answer = TypeVar("Answer")


def _until_done(call: Callable[[], Answer], again: Callable[[Answer], bool]) -> list[Answer]:
    """The answers of `call`, made again while the last one says to (a job the API does a
    call's time at a time)."""
    answers = [call()]
    while again(answers[-1]):
        answers.append(call())
    return answers


def _condition(when: str) -> Any:
    """A condition given on the command line, a rule's `when` in YAML (or JSON)."""
    import yaml  # only the commands that take a condition read YAML here

    try:
        return read_yaml(when)
    except yaml.YAMLError as exc:
        raise SwitchboardError(f"cannot read the condition: {exc}") from None


def cmd_close_matching(args: argparse.Namespace, out: TextIO) -> int:
    """Close a department's waiting cases that a condition matches: without --yes, only say
    which; with it, close them, a call at a time until none is left."""
    path = f"/departments/{quote(args.department, safe='')}/close"
    body = {
        "when": _condition(args.when),
        "reason": args.reason,
        "dry_run": not args.yes,
        "limit": args.limit,
    }

    def call() -> CloseMatchingResult:
        return CloseMatchingResult.model_validate(_client(args).call("POST", path, body))

    calls = _until_done(call, lambda last: args.yes and last.more and bool(last.closed))
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


def cmd_hide(args: argparse.Namespace, out: TextIO) -> int:
    """Hide a comment on its platform: out of public view, off the SLA clock."""
    path = mention_path(args.mention_id, "hide")
    record = MentionRecord.model_validate(_client(args).call("POST", path, {"reason": args.reason}))
    mention = record.message.mention
    print(f"hidden on {mention.platform}: {record.id} ({hidden_by(record)})", file=out)
    return 0


def cmd_hide_matching(args: argparse.Namespace, out: TextIO) -> int:
    """Hide on their platforms the comments of the last days a condition matches: without
    --yes, only say which; with it, hide them, a call at a time until none is left."""
    body = {
        "when": _condition(args.when),
        "reason": args.reason,
        "days": args.days,
        "dry_run": not args.yes,
        "limit": args.limit,
    }

    def call() -> HideMatchingResult:
        return HideMatchingResult.model_validate(_client(args).call("POST", "/mentions/hide", body))

    calls = _until_done(call, lambda last: args.yes and last.more and bool(last.hidden))
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
    path = mention_path(args.mention_id, "unhide")
    record = MentionRecord.model_validate(_client(args).call("POST", path, {}))
    state = _clock_state(record)
    print(f"shown again on {record.message.mention.platform}: {record.id} ({state})", file=out)
    return 0


def _clock_state(record: MentionRecord) -> str:
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


def cmd_find(args: argparse.Namespace, out: TextIO) -> int:
    """Search the mentions of the last days with a condition in the rules' language: how many
    matched, by platform and day, and the newest with where their case stands."""
    body = {"when": _condition(args.when), "days": args.days, "limit": args.limit}
    result = FindResult.model_validate(_client(args).call("POST", "/mentions/search", body))
    span = "day" if result.days == 1 else f"{result.days} days"
    print(
        f"{result.matched} of the {result.scanned} mentions routed in the last {span} match"
        + tally(Counter(result.by_platform)),
        file=out,
    )
    if len(result.by_day) > 1:
        print("by day" + tally(Counter(result.by_day)), file=out)
    if not result.all_read:
        print(f"(only the newest {result.scanned} were read: ask for fewer days)", file=out)
    for found in result.mentions:
        mention = found.mention
        if found.department is None:
            where = "(its record is gone)"
        elif found.department == "ignore":
            where = "ignored"
        else:
            taken = f", taken by {found.taken_by}" if found.taken_by else ""
            where = f"{found.department} ({found.state}{taken})"
        print(
            f"{mention.id}  {where}  {stamp(found.routed_at)}"
            f"  by {author_of(mention)}: {found.why}\n  {gist(mention)}",
            file=out,
        )
    return 0


def cmd_reopen(args: argparse.Namespace, out: TextIO) -> int:
    """Open a closed case again: back on the SLA clock."""
    path = mention_path(args.mention_id, "reopen")
    record = MentionRecord.model_validate(_client(args).call("POST", path, {}))
    print(f"reopened: {record.id} ({_clock_state(record)})", file=out)
    return 0


def cmd_templates(args: argparse.Namespace, out: TextIO) -> int:
    """List the saved replies: id, who saved it and when, then its text."""
    for template in _client(args).call("GET", "/templates")["templates"]:
        print(f"{template['id']}  ({template['updated_by']}, {template['updated_at']})", file=out)
        language = f"{template['language']}: " if template.get("language") else ""
        print(f"  {language}{template['text']}", file=out)
        for language, text in sorted(template.get("translations", {}).items()):
            print(f"  {language}: {text}", file=out)
    return 0


def cmd_templates_set(args: argparse.Namespace, out: TextIO) -> int:
    """Add or replace a saved reply."""
    path = f"/templates/{quote(args.template_id, safe='')}"
    body = {"text": args.text, "language": args.language, "translations": dict(args.translation)}
    saved = _client(args).call("PUT", path, body)
    translations = ", ".join(sorted(saved["translations"]))
    print(f"saved {saved['id']}" + (f", in {translations} too" if translations else ""), file=out)
    return 0


def cmd_templates_delete(args: argparse.Namespace, out: TextIO) -> int:
    """Remove a saved reply."""
    path = f"/templates/{quote(args.template_id, safe='')}"
    print(f"deleted {_client(args).call('DELETE', path)['deleted']}", file=out)
    return 0


def cmd_take(args: argparse.Namespace, out: TextIO) -> int:
    """Take a case to answer it, or give it to a colleague (--for): others' replies are refused
    until the take ends."""
    path = mention_path(args.mention_id, "take")
    body: dict[str, Any] = {"minutes": args.minutes}
    if args.assignee:
        body["for"] = args.assignee
    record = MentionRecord.model_validate(_client(args).call("POST", path, body))
    if args.assignee:
        whose, wait = f"{args.assignee}'s", "them"
    else:
        whose, wait = "yours", "you"
    print(
        f"{record.id} is {whose} until {_until(record)}: others' replies wait for {wait}", file=out
    )
    return 0


def cmd_leave(args: argparse.Namespace, out: TextIO) -> int:
    """Give back a case you took."""
    record = MentionRecord.model_validate(
        _client(args).call("POST", mention_path(args.mention_id, "leave"), {})
    )
    print(f"{record.id} is free for anyone to take or answer", file=out)
    return 0


def _stamp(iso: str) -> str:
    """An API's ISO time as agents read it (`stamp`)."""
    return stamp(datetime.fromisoformat(iso))


def cmd_next(args: argparse.Namespace, out: TextIO) -> int:
    """Take a department's next case nobody has taken (the soonest deadline), and show it."""
    path = f"/departments/{quote(args.department, safe='')}/next"
    body: dict[str, Any] = {"minutes": args.minutes}
    if args.assignee:
        body["for"] = args.assignee
    answer = NextCase.model_validate(_client(args).call("POST", path, body))
    record = answer.next
    if record is None:
        speaks = f" in {', '.join(answer.languages)}" if answer.languages else ""
        print(f"nothing waits in {answer.department}{speaks} that nobody has taken", file=out)
        return 0
    whose = f"{args.assignee}'s" if args.assignee else "yours"
    print(f"{record.id} is {whose} until {_until(record)}", file=out)
    print(format_routed(record.message), file=out)
    return 0


def cmd_shift(args: argparse.Namespace, out: TextIO) -> int:
    """Go on shift in a department (its new cases are given to those on shift, the least busy
    first), step away or come back (--away, --back), or end the shift (--end: the waiting cases
    still yours are given back)."""
    path = f"/departments/{quote(args.department, safe='')}/shifts"
    whose: dict[str, Any] = {"for": args.assignee} if args.assignee else {}
    client = _client(args)
    if args.away or args.back:
        away = {"away": args.away, **whose}
        shift = Shift.model_validate(client.call("POST", f"{path}/away", away))
        state = "away: given no new case, keeping theirs" if shift.away else "back: given cases"
        print(f"{shift.agent} on shift in {shift.department} is {state}", file=out)
        return 0
    if args.end:
        ended = ShiftEnded.model_validate(client.call("POST", f"{path}/end", whose))
        done = "ended" if ended.ended else "had ended already"
        print(f"{ended.agent}'s shift in {ended.department} {done}", file=out)
        if ended.released:
            print(f"given back, free for anyone: {', '.join(ended.released)}", file=out)
        return 0
    languages = [code.strip() for code in (args.languages or "").split(",") if code.strip()]
    body = {"hours": args.hours, "capacity": args.capacity, "languages": languages, **whose}
    shift = Shift.model_validate(client.call("POST", path, body))
    until = time_left(shift.until, datetime.now(UTC))
    print(
        f"{shift.agent} is on shift in {shift.department} until {until}: its new cases are"
        " given to those on shift, the least busy first",
        file=out,
    )
    if shift.capacity is not None:
        print(
            f"never more than {shift.capacity} waiting at once, topped up from the cases"
            " nobody has",
            file=out,
        )
    if shift.languages:
        print(f"only cases in {', '.join(shift.languages)} (or in no known language)", file=out)
    return 0


def cmd_shifts(args: argparse.Namespace, out: TextIO) -> int:
    """Who is on shift in a department, next to be given a new case first, and how many of
    its waiting cases nobody has."""
    path = f"/departments/{quote(args.department, safe='')}/shifts"
    roster = Roster.model_validate(_client(args).call("GET", path))
    nobodys = f"waiting cases nobody has: {roster.unassigned}"
    if not roster.on_shift:
        print(f"nobody is on shift in {args.department}: new cases wait for anyone", file=out)
        print(nobodys, file=out)
        return 0
    shifts = roster.on_shift
    print(f"{len(shifts)} on shift in {args.department}, next given a new case first", file=out)
    now = datetime.now(UTC)
    for shift in shifts:
        last = stamp(shift.last_assigned_at) if shift.last_assigned_at else "not yet"
        holding = shift.holding or 0
        held = str(holding) if shift.capacity is None else f"{holding} of {shift.capacity}"
        full = " (full: given none until they answer one)" if shift.full(holding) else ""
        speaks = f"  answers in: {', '.join(shift.languages)}" if shift.languages else ""
        away = "  (away)" if shift.away else ""
        print(
            f"{shift.agent}{away}  until {time_left(shift.until, now)}  last given a case: {last}"
            f"  waiting cases they have: {held}{full}{speaks}",
            file=out,
        )
    print(nobodys, file=out)
    return 0


def _until(record: MentionRecord) -> str:
    """When a take ends, as an agent reads it."""
    return time_left(record.taken_until, datetime.now(UTC))


def cmd_note(args: argparse.Namespace, out: TextIO) -> int:
    """Note something on a mention for colleagues."""
    path = mention_path(args.mention_id, "notes")
    record = MentionRecord.model_validate(_client(args).call("POST", path, {"text": args.text}))
    count = len(record.notes)
    print(f"noted on {record.id} ({count} note{'s' if count > 1 else ''})", file=out)
    return 0


def cmd_transfer(args: argparse.Namespace, out: TextIO) -> int:
    """Hand a case over to another department, and say when it is due there."""
    path = mention_path(args.mention_id, "transfer")
    body = {"to": args.department, "reason": args.reason}
    record = MentionRecord.model_validate(_client(args).call("POST", path, body))
    routing = record.message.routing
    print(f"{record.id} is {routing.department}'s now, {transfer_line(routing)}", file=out)
    print(f"  reply by: {time_left(routing.sla_due_at, datetime.now(UTC))}", file=out)
    return 0


def cmd_mention(args: argparse.Namespace, out: TextIO) -> int:
    """Show a routed mention as the inbox does, then what happened to it since, the replies
    written to it included."""
    client = _client(args)
    record = MentionRecord.model_validate(client.call("GET", mention_path(args.mention_id)))
    print(format_routed(record.message), file=out)
    now = datetime.now(UTC)
    try:
        written = client.call("GET", mention_path(record.id, "replies"))["replies"]
    except ApiError as exc:  # the mention is worth showing all the same
        print(f"note: its replies cannot be read now: {exc}", file=sys.stderr)
        written = []
    replies = [Reply.model_validate(each) for each in written]
    said = sorted(
        [
            *(("reply", reply.created_at, _reply_line(reply)) for reply in replies),
            *(
                (
                    "handed over",
                    t.at,
                    f"from {t.from_department} to {t.to_department} by {t.by}: {t.reason}",
                )
                for t in record.message.routing.transfers
            ),
            *(("note", note.at, f"{note.by}: {note.text}") for note in record.notes),
        ],
        key=lambda event: event[1],
    )
    events = [
        ("routed", record.routed_at, record.status),
        *said,
        ("first response", record.first_response_at, _first_response(record)),
        ("escalated", record.escalated_at, "SLA breached"),
        ("edited", record.edited_at, "by its author" + _latest_version(record)),
        ("hidden", record.hidden_at, f"{hidden_by(record)}: off the SLA clock"),
        ("closed", record.closed_at, closed_by(record)),
        ("rated", record.rated_at, f"{record.rating} of 5 by the customer, asked by the survey"),
        ("taken until", record.taken_until if record.taker(now) else None, f"by {record.taken_by}"),
        ("erased", record.forgotten_at, "at its author's request: who and what")
        if record.forgotten_at  # deleted too, but not by the author's own hand
        else ("deleted", record.deleted_at, "by its author: text removed, no reply possible"),
    ]
    for what, at, detail in events:
        if at is not None:
            print(f"  {what}: {stamp(at)} ({detail})", file=out)
    return 0


def _reply_line(reply: Reply) -> str:
    """A reply as the mention's history shows it: who, what became of it, what it said."""
    seen = "".join(
        f", {what} {stamp(at)}"
        for what, at in (("delivered", reply.delivered_at), ("read", reply.read_at))
        if at is not None
    )
    said = shortened(reply.text) if reply.text else "(text erased)"
    return f"{reply.reply_id} by {reply.author}: {reply.status}{seen}: {said}"


def _first_response(record: MentionRecord) -> str:
    """How long the first answer took, and which post of the brand's it was."""
    post = f": {record.first_response_post}" if record.first_response_post else ""
    return f"after {lasting(record.response_seconds or 0)}{post}"


def _latest_version(record: MentionRecord) -> str:
    """Where an edit made a post of its own (X), the one replies answer."""
    if not record.versions:
        return ""
    return f"; now {record.versions[-1]}, the version replies answer"


def cmd_rules_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the JSON Schema of a ruleset file."""
    from chalicelib.rules import Ruleset

    print(json.dumps(Ruleset.model_json_schema(by_alias=True), indent=2), file=out)
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Send the signed sample deliveries to a running `make run`."""
    from chalicelib.demo import run_demo

    return run_demo(args.url, get_settings(), out, fresh=args.fresh)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    route = sub.add_parser("route", help="route normalised mentions (JSONL) offline")
    route.add_argument("file", type=Path, help="one normalised mention per line")
    route.add_argument("--rules", type=Path, help="ruleset YAML/JSON (default: built-in)")
    route.set_defaults(func=cmd_route)

    evaluate = sub.add_parser(
        "eval", help="score routing on a labeled departments CSV or the complaints corpus"
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
    evaluate.set_defaults(func=cmd_eval)

    deployed = argparse.ArgumentParser(add_help=False)
    deployed.add_argument(
        "--stage",
        help="the queues of this deployed stage (switchboard-STAGE-…) with your AWS credentials,"
        " not the local stack",
    )
    inbox = sub.add_parser("inbox", parents=[deployed], help="read a department queue")
    inbox.add_argument("department")
    inbox.add_argument("--ack", action="store_true", help="delete the messages once shown")
    inbox.add_argument("--limit", type=int, default=20, help="receive calls at most")
    inbox.set_defaults(func=cmd_inbox)

    dead = sub.add_parser(
        "dlq", parents=[deployed], help="show a dead-letter queue and why; --redrive moves it back"
    )
    dead.add_argument("queue", help="intake, outbox or a department")
    dead.add_argument("--redrive", action="store_true", help="send each back to its queue")
    dead.add_argument("--limit", type=int, default=20, help="receive calls at most")
    dead.set_defaults(func=cmd_dead_letters)

    rules = sub.add_parser("rules", help="validate, diff, push, pull, test, history, rollback")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--url",
        default=os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8000"),
        help="API base URL (default $SWITCHBOARD_URL or the local stack)",
    )
    api.add_argument("--iam", action="store_true", help="sign with AWS SigV4 (deployed API)")

    command = rules_sub.add_parser("validate", help="validate a ruleset file offline")
    command.add_argument("file", type=Path)
    command.set_defaults(func=cmd_rules_validate)
    command = rules_sub.add_parser("pull", parents=[api], help="fetch the live ruleset as YAML")
    command.add_argument("-o", "--output", type=Path, help="write to this file")
    command.add_argument("--version", type=int, help="an earlier version")
    command.set_defaults(func=cmd_rules_pull)
    command = rules_sub.add_parser("diff", parents=[api], help="compare a file with the live rules")
    command.add_argument("file", type=Path)
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
    command.add_argument("--limit", type=int, default=20)
    command.set_defaults(func=cmd_rules_history)
    command = rules_sub.add_parser("rollback", parents=[api], help="make a version live again")
    command.add_argument("version", type=int)
    command.add_argument("-m", "--message", default="", help="why")
    command.set_defaults(func=cmd_rules_rollback)
    command = rules_sub.add_parser("schema", help="print the JSON Schema of a ruleset")
    command.set_defaults(func=cmd_rules_schema)

    reply = sub.add_parser("reply", parents=[api], help="answer a mention through Switchboard")
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

    templates = sub.add_parser("templates", parents=[api], help="list, set or delete saved replies")
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
        listing = sub.add_parser(name, parents=[api], help=what)
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
        "attachment", parents=[api], help="a link to a file a customer sent with a mention"
    )
    attachment.add_argument("mention_id")
    attachment.add_argument("number", nargs="?", type=int, default=1, help="which (from 1)")
    attachment.set_defaults(func=cmd_attachment)
    search = sub.add_parser("find", parents=[api], help="search what people said in the last days")
    search.add_argument("when", help="a rule's when, in YAML: 'text: {contains_any: [recall]}'")
    search.add_argument("--days", type=int, default=1, help="routed within the last N days")
    search.add_argument("--limit", type=int, default=50, help="list at most this many (up to 200)")
    search.set_defaults(func=cmd_find)
    raid = sub.add_parser(
        "hide-matching",
        parents=[api],
        help="hide the comments of the last days a condition matches",
    )
    raid.add_argument("when", help="a rule's when, in YAML: 'text: {contains_any: [giveaway]}'")
    raid.add_argument("reason", help="why they are hidden (for the record, never shown)")
    raid.add_argument("--days", type=int, default=1, help="routed within the last N days")
    raid.add_argument("--yes", action="store_true", help="hide them (without: only list them)")
    raid.add_argument("--limit", type=int, default=50, help="at most this many a call (1-200)")
    raid.set_defaults(func=cmd_hide_matching)
    pick = sub.add_parser("next", parents=[api], help="take a department's next free case")
    pick.add_argument("department")
    pick.add_argument("--minutes", type=int, default=30, help="for how long (1-480)")
    pick.add_argument("--for", dest="assignee", help="give it to a colleague instead (their name)")
    pick.set_defaults(func=cmd_next)
    shift = sub.add_parser(
        "shift",
        parents=[api],
        help="go on shift in a department: given its new cases, the least busy first",
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
    shifts = sub.add_parser("shifts", parents=[api], help="who is on shift in a department")
    shifts.add_argument("department")
    shifts.set_defaults(func=cmd_shifts)
    report = sub.add_parser("report", parents=[api], help="how a department did: on time, waiting")
    report.add_argument("department")
    report.add_argument("--days", type=int, default=7, help="the last N days (up to 90)")
    report.set_defaults(func=cmd_report)
    ignored = sub.add_parser("ignored", parents=[api], help="what routing ignored, to rescue from")
    ignored.add_argument("--days", type=int, default=7, help="within the last N days (up to 90)")
    ignored.add_argument("--limit", type=int, default=50, help="at most this many (up to 200)")
    ignored.set_defaults(func=cmd_ignored)

    approve = sub.add_parser("approve", parents=[api], help="approve someone else's reply")
    approve.add_argument("reply_id")
    approve.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the send")
    approve.set_defaults(func=cmd_approve)

    reject = sub.add_parser("reject", parents=[api], help="turn down a pending reply")
    reject.add_argument("reply_id")
    reject.add_argument("reason", help="why it must not be posted")
    reject.set_defaults(func=cmd_reject)

    forget = sub.add_parser(
        "forget", parents=[api], help="erase what an author wrote, at their request"
    )
    forget.add_argument("author", help="<platform>:<author id>, as `switchboard cases` takes")
    forget.add_argument("reason", help="the request's reference (never their name)")
    forget.add_argument("--yes", action="store_true", help="erase (without: only say what)")
    forget.set_defaults(func=cmd_forget)

    label = sub.add_parser(
        "label", parents=[api], help="show, add or remove an author's labels (vip, press…)"
    )
    label.add_argument(
        "author", nargs="?", help="<platform>:<author id>, as `switchboard cases` takes"
    )
    label.add_argument("--file", help="instead of AUTHOR: a file of authors, one a line")
    label.add_argument("--add", action="append", default=[], metavar="LABEL", help="repeatable")
    label.add_argument("--remove", action="append", default=[], metavar="LABEL")
    label.set_defaults(func=cmd_label)

    sweep = sub.add_parser(
        "close-matching", parents=[api], help="close the waiting cases a condition matches"
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
        one = sub.add_parser(name, parents=[api], help=what)
        one.add_argument("mention_id")
        for argument, argument_help in positional:
            one.add_argument(argument, help=argument_help)
        one.set_defaults(func=func)
    sub.choices["take"].add_argument("--minutes", type=int, default=30, help="for how long (1-480)")
    sub.choices["take"].add_argument(
        "--for", dest="assignee", help="give it to a colleague instead (their name)"
    )

    demo = sub.add_parser("demo", help="send signed sample deliveries to a running make run")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="API base URL")
    demo.add_argument(
        "--fresh", action="store_true", help="new mention ids, so a second run routes again"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the `switchboard` console script."""
    args = build_parser().parse_args(argv)
    if not (getattr(args, "iam", False) or getattr(args, "stage", None)):
        use_local_defaults()  # a deployed stack is reached with the caller's own AWS settings
    try:
        result: Any = args.func(args, out or sys.stdout)
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
