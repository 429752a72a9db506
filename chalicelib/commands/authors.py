"""Authors: the cases they opened, their labels, and forgetting them at their request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from chalicelib.api_client import ApiError
from chalicelib.commands.api import api_client, encoded, iso_stamp, until_done
from chalicelib.models import ForgetResult


def cmd_cases(args: argparse.Namespace, out: TextIO) -> int:
    """List the cases an author opened, newest first, with each one's department and state."""
    path = f"/authors/{encoded(args.author)}/cases?limit={args.limit}"
    found = api_client(args).call("GET", path)
    cases, labels = found["cases"], found.get("labels") or []
    labelled = f" [{', '.join(labels)}]" if labels else ""
    print(f"{len(cases)} case(s) opened by {args.author}{labelled}", file=out)
    for case in cases:
        print(
            f"{case['id']}  {case['department']}  {case['state']}"
            f"  routed {iso_stamp(case['routed_at'])}",
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
    client, failed = api_client(args), 0
    for author in [args.author] if args.author else _authors_in(args.file):
        path = f"/authors/{encoded(author)}/labels"
        try:
            if args.add or args.remove:
                labelled = client.call("POST", path, {"add": args.add, "remove": args.remove})
            else:
                labelled = client.call("GET", path)
        except ApiError as exc:
            if args.file is None:
                raise
            print(f"{author}: not labelled: {exc}", file=sys.stderr)  # --json or not
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
    path = f"/authors/{encoded(args.author)}/forget"
    body = {"reason": args.reason, "dry_run": not args.yes}

    def call() -> ForgetResult:
        return ForgetResult.model_validate(api_client(args).call("POST", path, body))

    calls = until_done(call, lambda last: args.yes and last.more and bool(last.mentions))
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
