"""Reading SQS directly: a department's inbox and a dead-letter queue (with --redrive)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

from chalicelib.cli_text import format_routed
from chalicelib.models import RoutedMention
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.services.dead_letters import DeadLetter


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
) -> int:
    """Run `read` once `name` is one of the `known` (`_reading`)."""
    if name not in known:
        print(f"error: unknown {kind} {name!r}; one of {known}", file=sys.stderr)
        return 2
    return _reading(args, queue, read)


def _reading(args: argparse.Namespace, queue: str, read: Callable[[], int]) -> int:
    """Run `read`; an unreachable SQS (`queue` names what was read) is a clear error."""
    from botocore.exceptions import BotoCoreError, ClientError

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
    return _queue_command(args, args.department, known, "department", queue, read)


def _print_inbox(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from chalicelib import aws
    from chalicelib.stores.queues import SqsQueues, read_queue

    client = aws.sqs()
    url = SqsQueues(client, settings).url(args.department)
    shown = 0
    for message in read_queue(client, url, args.limit, take=args.ack):
        if args.json:  # the department message itself, one a line
            print(message["Body"], file=out)
        else:
            print(format_routed(RoutedMention.model_validate_json(message["Body"])), file=out)
            print(file=out)
        shown += 1
        if args.ack:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    counted = f"{shown} mention(s) in {settings.queue_name(args.department)}"
    print(counted, file=sys.stderr if args.json else out)
    return 0


def cmd_dead_letters(args: argparse.Namespace, out: TextIO) -> int:
    """Show what waits in a queue's dead-letter queue and why; with --redrive, move it back."""
    settings = _queue_settings(args)
    queue = settings.queue_name(f"{args.queue}-dlq")
    read = partial(_dead_letters, args, settings, queue, out)
    return _queue_command(args, args.queue, settings.all_queues, "queue", queue, read)


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
        if not args.json:
            print(
                f"{letter.message_id}  dead-lettered {letter.sent_at:%Y-%m-%d %H:%M:%S} UTC",
                file=out,
            )
            print(f"  {letter.summary}", file=out)
            print(f"  why: {letter.reason}", file=out)
        if args.redrive:
            move_back(client, dead_letter_url, source_url, letter)
        if args.json:
            print(json.dumps(_as_json(letter, args.redrive), ensure_ascii=False), file=out)
        elif args.redrive:
            print(f"  moved back to {settings.queue_name(args.queue)}", file=out)
        count += 1
    done = (
        f"moved {count} message(s) from {where}"
        if args.redrive
        else f"{count} message(s) in {where}"
    )
    print(done, file=sys.stderr if args.json else out)
    return 0


def _as_json(letter: DeadLetter, moved_back: bool) -> dict[str, Any]:
    """A dead letter as `dlq --json` prints it."""
    return {
        "message_id": letter.message_id,
        "dead_lettered_at": letter.sent_at.isoformat(),
        "what": letter.summary,
        "why": letter.reason,
        "body": letter.body,
        "moved_back": moved_back,
    }


DEPTHS = {
    "waiting": "ApproximateNumberOfMessages",
    "in flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}
"""What `switchboard queues` shows of each queue, and the SQS attribute saying it."""


def cmd_queues(args: argparse.Namespace, out: TextIO) -> int:
    """Each queue at a glance: how many messages wait, are being worked on (or wait to be
    tried again) and are delayed, and how many its dead-letter queue holds; exit 1 when a
    dead-letter queue holds any."""
    settings = _queue_settings(args)
    return _reading(args, "the queues", partial(_print_depths, settings, args.json, out))


def _print_depths(settings: Settings, as_json: bool, out: TextIO) -> int:
    from chalicelib import aws
    from chalicelib.stores.queues import SqsQueues

    client = aws.sqs()
    queues = SqsQueues(client, settings)

    def depths(queue: str) -> dict[str, int]:
        names = list(DEPTHS.values())
        got = client.get_queue_attributes(QueueUrl=queues.url(queue), AttributeNames=names)
        return {shown: int(got["Attributes"].get(name, 0)) for shown, name in DEPTHS.items()}

    table = {
        queue: {**depths(queue), "dead-lettered": depths(f"{queue}-dlq")["waiting"]}
        for queue in settings.all_queues
    }
    dead_somewhere = [queue for queue, counts in table.items() if counts["dead-lettered"]]
    if as_json:  # keys as scripts write them: in_flight, dead_lettered
        keyed = {
            queue: {re.sub(r"[ -]", "_", shown): n for shown, n in counts.items()}
            for queue, counts in table.items()
        }
        print(json.dumps({"queues": keyed}), file=out)
    else:
        width = max(map(len, table))
        print(f"{'queue':<{width}}  {'  '.join(DEPTHS)}  dead-lettered", file=out)
        for queue, counts in table.items():
            cells = "  ".join(f"{counts[shown]:>{len(shown)}}" for shown in DEPTHS)
            print(f"{queue:<{width}}  {cells}  {counts['dead-lettered']:>13}", file=out)
    if dead_somewhere:
        where = ", ".join(dead_somewhere)
        hint = f"dead-lettered in {where}: `switchboard dlq QUEUE` says why (--redrive)"
        print(hint, file=sys.stderr if as_json else out)
    return 1 if dead_somewhere else 0
