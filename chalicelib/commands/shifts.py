"""Shifts: going on and off shift in a department, breaks, and who is on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from chalicelib.cli_text import away_said, on_shift_said, shift_ended_said, stamp, time_left
from chalicelib.commands.api import api_client
from chalicelib.models import Roster, Shift, ShiftEnded


def cmd_shift(args: argparse.Namespace, out: TextIO) -> int:
    """Go on shift in a department (its new cases are given to those on shift, the least busy
    first), step away or come back (--away, --back), or end the shift (--end: the waiting cases
    still yours are given back)."""
    path = f"/departments/{quote(args.department, safe='')}/shifts"
    whose: dict[str, Any] = {"for": args.assignee} if args.assignee else {}
    client = api_client(args)
    if args.away or args.back:
        away = {"away": args.away, **whose}
        print(away_said(Shift.model_validate(client.call("POST", f"{path}/away", away))), file=out)
        return 0
    if args.end:
        ended = ShiftEnded.model_validate(client.call("POST", f"{path}/end", whose))
        print("\n".join(shift_ended_said(ended)), file=out)
        return 0
    languages = [code.strip() for code in (args.languages or "").split(",") if code.strip()]
    body = {"hours": args.hours, "capacity": args.capacity, "languages": languages, **whose}
    shift = Shift.model_validate(client.call("POST", path, body))
    print("\n".join(on_shift_said(shift, datetime.now(UTC))), file=out)
    return 0


def cmd_shifts(args: argparse.Namespace, out: TextIO) -> int:
    """Who is on shift in a department, next to be given a new case first, and how many of
    its waiting cases nobody has."""
    path = f"/departments/{quote(args.department, safe='')}/shifts"
    roster = Roster.model_validate(api_client(args).call("GET", path))
    nobodys = f"waiting cases nobody has: {roster.unassigned}"
    if roster.awaiting_approval:
        nobodys += f" (and {roster.awaiting_approval} answered, waiting for approval)"
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
