"""The app's slash command (`/switchboard`), typed by someone AGENT_CHANNELS names: `next
DEPARTMENT` takes the department's next free case for them (as `switchboard next` does) and
shows it with its buttons, so they answer it there (Reply…) or give it back; `waiting
DEPARTMENT` shows the cases nobody has, soonest due first, each with Take it; `mine` the cases
they have, each with Reply… and Give back; `case MENTION_ID` a case as it stands, with what
happened to it (as `switchboard mention` does) and its buttons while it waits; `find [DAYSd]
WORDS…` the mentions of the last day (or days) that say all those words, the newest with their
buttons (as `switchboard find` does); `shift DEPARTMENT [HOURS] [CAPACITY]`, `away`, `back` and
`end` go on shift, step away, come back and go off it (`switchboard shift`). Slack wants its
answer in 3 seconds: it is the answer to the request, seen by that person alone."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.cli_text import (
    author_of,
    away_said,
    case_history,
    found_where,
    on_shift_said,
    search_said,
    shift_ended_said,
    shortened,
    stamp,
)
from chalicelib.errors import SwitchboardError, problems
from chalicelib.models import DEFAULT_TAKE_MINUTES, FindRequest, MentionRecord, ShiftRequest
from chalicelib.platforms.slack import SECTION_LIMIT, alert_blocks, slash_command, verify_request
from chalicelib.services.alert_buttons import agent_named, stranger
from chalicelib.services.alerts import (
    Alert,
    approval_buttons,
    case_buttons,
    case_status,
    draft_heading,
    escaped,
    settled,
)
from chalicelib.settings import Settings
from chalicelib.stores.mentions import case_of

if TYPE_CHECKING:
    from chalicelib.services.cases import CaseService
    from chalicelib.services.shifts import ShiftService
    from chalicelib.stores.replies import ReplyStore
    from chalicelib.stores.traffic import TrafficStore

SEARCHED = 2_000
"""The newest mentions `find` reads (Slack wants its answer in 3 seconds; `switchboard find`
reads more)."""
SHOWN = 5
"""The waiting cases `waiting` shows (each two blocks, far below Slack's 50)."""
WAITING_READ = 50
"""The waiting cases `waiting` reads, soonest due first, to find those nobody has."""
USAGE = (
    "`/switchboard next DEPARTMENT` takes its next free case for you;"
    " `/switchboard waiting DEPARTMENT` shows the cases nobody has;"
    " `/switchboard mine` shows yours;"
    " `/switchboard approvals DEPARTMENT` shows the replies waiting for approval there;"
    " `/switchboard case MENTION_ID` shows a case and what happened to it;"
    ' `/switchboard find [3d] WORDS or "A PHRASE"` finds what people said in the last day(s);'
    " `/switchboard shift DEPARTMENT [HOURS] [CAPACITY]` puts you on shift there,"
    " `away`, `back` and `end` with the department step away, come back and end it"
)
VERBS = ("next", "waiting", "approvals", "shift", "away", "back", "end")
"""What the command does with a department."""


@dataclass
class SlackCommands:
    """What typing `/switchboard …` in Slack does (`answer`)."""

    settings: Settings
    cases: Callable[[], CaseService]
    shifts: Callable[[], ShiftService]
    awaiting: Callable[[], Container[str]]
    """The cases whose answer waits for approval: nobody is given them."""
    replies: Callable[[], ReplyStore]
    """The replies written to a case, in its history."""
    traffic: Callable[[], TrafficStore]
    """The mentions routed lately, which `find` searches."""

    def answer(self, body: bytes, headers: Mapping[str, str], now: datetime) -> dict[str, Any]:
        """Do what the command asks, once its request is verified (signature and timestamp
        over the raw body): Slack's ephemeral message saying what was done, or how to ask."""
        verify_request(body, headers, self.settings, now.timestamp())
        command = slash_command(body)
        agent = agent_named(command.user, self.settings)
        if agent is None:
            return _said(stranger(command.user))
        verb, *rest = command.text.split() or [""]
        if verb == "mine" and not rest:
            return self._mine(agent, now)
        if verb == "case" and len(rest) == 1:
            return self._case(rest[0], now)
        if verb == "find" and rest:
            return self._find(command.text.split(None, 1)[1], now)
        if verb not in VERBS or not rest or (len(rest) > 1 and verb != "shift") or len(rest) > 3:
            return _said(USAGE)
        department, *extra = rest
        if department not in self.settings.departments:
            known = ", ".join(self.settings.departments)
            return _said(f"no department {department!r}: {known}")
        if verb == "next":
            return self._next(department, agent)
        if verb == "waiting":
            return self._waiting(department, now)
        if verb == "approvals":
            return self._approvals(department, agent)
        return self._shift(verb, department, agent, extra, now)

    def _shift(
        self, verb: str, department: str, agent: str, extra: list[str], now: datetime
    ) -> dict[str, Any]:
        """Go on shift in `department` (`extra`: its hours, then the most cases at once), step
        away from it, come back or end it, as `switchboard shift` does."""
        shifts = self.shifts()
        try:
            if verb == "end":
                return _said("\n".join(shift_ended_said(shifts.end(department, agent))))
            if verb in ("away", "back"):
                return _said(away_said(shifts.away(department, agent, verb == "away")))
            asked = ShiftRequest.model_validate(
                dict(zip(("hours", "capacity"), extra, strict=False))
            )
            shift = shifts.start(department, agent, asked.hours, asked.capacity)
        except SwitchboardError as refused:
            return _said(refused.message)
        except ValidationError as exc:
            return _said(f"`/switchboard shift {department} [HOURS] [CAPACITY]`: {problems(exc)}")
        return _said("\n".join(on_shift_said(shift, now)))

    def _next(self, department: str, agent: str) -> dict[str, Any]:
        """Take `department`'s next free case for `agent`, shown with its buttons."""
        awaiting = self.awaiting()
        taken = self.shifts().take_next(
            self.cases(), department, agent, DEFAULT_TAKE_MINUTES, awaiting, agent
        )
        record = taken.next
        if record is None and not self.cases().mentions.waiting(department, 1):
            return _said(f"nothing waits for an answer in {department}")
        if record is None:
            return _said(f"nothing free in {department}: every waiting case is taken")
        heading = f"[{record.message.routing.priority.upper()}] your next {department} case"
        until = f"yours until {stamp(record.taken_until)}" if record.taken_until else None
        buttons = case_buttons(record.id, self.settings, taken=True)
        text = Alert.of(heading, record.message).slack_text()
        return _said(text, alert_blocks(text, buttons, until))

    def _waiting(self, department: str, now: datetime) -> dict[str, Any]:
        """The first SHOWN of `department`'s cases nobody has (of its first WAITING_READ
        waiting; none whose answer waits for approval), soonest due first."""
        waiting = self.cases().mentions.waiting(department, WAITING_READ)
        if not waiting:
            return _said(f"nothing waits for an answer in {department}")
        unanswered = [case for case in waiting if case.taker(now) is None and not settled(case)]
        awaiting = self.awaiting() if unanswered else ()
        free = [case for case in unanswered if case.id not in awaiting]
        if not free:
            return _said(f"nothing free in {department}: every waiting case is taken")
        return self._listed(f"{department}: {len(free)} case(s) nobody has", free, taken=False)

    def _mine(self, agent: str, now: datetime) -> dict[str, Any]:
        """The cases `agent` has, of each department's first WAITING_READ waiting, soonest due
        first."""
        mentions = self.cases().mentions
        held = [
            case
            for department in self.settings.departments
            for case in mentions.waiting(department, WAITING_READ)
            if case.taker(now) == agent
        ]
        if not held:
            return _said("nothing waits for an answer from you: `/switchboard next DEPARTMENT`")
        held.sort(key=lambda case: case.message.routing.sla_due_at or case.routed_at)
        return self._listed(f"yours: {len(held)} case(s) waiting for an answer", held, taken=True)

    def _case(self, mention_id: str, now: datetime) -> dict[str, Any]:
        """The case `mention_id` names as its alert shows it, where it stands (its buttons
        while it waits for an answer), and what happened to it, a line each."""
        record = case_of(self.cases().mentions, mention_id)
        if record is None:
            return _said(f"no routed mention {mention_id!r}")
        routing = record.message.routing
        heading = f"[{routing.priority.upper()}] a {routing.department} case: {record.id}"
        text = Alert.of(heading, record.message).slack_text()
        status, buttons = case_status(record, self.settings, now)
        written = self.replies().to_mention(record.id)
        lines = [escaped(line) for line in case_history(record, written, now)]
        history = "\n".join([status, *lines] if status else lines)
        return _said(text, alert_blocks(text, buttons, history))

    def _approvals(self, department: str, agent: str) -> dict[str, Any]:
        """The replies waiting for approval in `department`, oldest first: how many (of the
        first WAITING_READ), and the first SHOWN under their cases, with Approve and Reject…
        (none on `agent`'s own: someone else approves those)."""
        if department not in self.settings.approval_departments:
            return _said(f"replies in {department} need no approval (APPROVAL_DEPARTMENTS)")
        pending = self.replies().pending(department, WAITING_READ)
        if not pending:
            return _said(f"nothing waits for approval in {department}")
        shown = pending[:SHOWN]
        heading = f"*{department}: {len(pending)} reply(ies) waiting for approval, oldest first*"
        blocks = alert_blocks(heading)
        mentions = self.cases().mentions
        for reply in shown:
            case = case_of(mentions, reply.mention_id)
            if case is None:
                continue
            text = Alert.of(draft_heading(case.message, reply, department), case.message)
            if reply.author == agent:
                blocks += alert_blocks(text.slack_text(), (), "yours: someone else approves it")
            else:
                buttons = approval_buttons(reply.reply_id, self.settings)
                blocks += alert_blocks(text.slack_text(), buttons)
        return _said(heading, blocks)

    def _find(self, asked: str, now: datetime) -> dict[str, Any]:
        """The mentions of the last day (`3d`: days) that say every word or "phrase" `asked`
        has (of the newest SEARCHED), how many by platform, and the SHOWN newest, each with
        where it stands and its buttons while it waits."""
        from chalicelib.services.search import find  # the rules engine: off the other verbs

        try:
            words = shlex.split(asked)
        except ValueError:
            return _said(f"{asked!r}: a quote is not closed")
        days = int(words.pop(0)[:-1]) if re.fullmatch(r"\d{1,3}d", words[0]) else 1
        if not words:
            return _said(USAGE)
        try:
            ask = FindRequest(when={"text": {"contains_all": words}}, days=days, limit=SHOWN)
            result = find(
                self.traffic(), self.cases().mentions, self.settings, ask, now, None, SEARCHED
            )
        except ValidationError as exc:
            return _said(f"`/switchboard find [DAYSd] WORDS`: {problems(exc)}")
        except SwitchboardError as refused:
            return _said(refused.message)
        heading = f"*{escaped(search_said(result))}*"
        if not result.all_read:
            heading += f" (the newest {result.scanned} read: ask for fewer days)"
        blocks = alert_blocks(heading)
        for found in result.mentions:
            mention = found.mention
            said = escaped(shortened(mention.text, 280)) or "(no text)"
            text = f"*{mention.id}* · {escaped(found_where(found))} · {stamp(found.routed_at)}"
            text += f"\n{escaped(author_of(mention))}: {said}"
            waiting = found.state == "waiting" and found.department not in (None, "ignore")
            taken = found.taken_by is not None
            buttons = case_buttons(mention.id, self.settings, taken) if waiting else ()
            blocks += alert_blocks(text, buttons)
        return _said(heading, blocks)

    def _listed(self, title: str, cases: list[MentionRecord], taken: bool) -> dict[str, Any]:
        """The first SHOWN of `cases` under `title`, each with its buttons (`taken`: the
        holder's)."""
        shown = cases[:SHOWN]
        heading = f"*{title}; the {len(shown)} due soonest:*"
        blocks = alert_blocks(heading)
        for case in shown:
            blocks += alert_blocks(_line(case), case_buttons(case.id, self.settings, taken))
        return _said(heading, blocks)


def _line(case: MentionRecord) -> str:
    """A waiting case as `waiting` lists it."""
    routing = case.message.routing
    return Alert.of(f"[{routing.priority.upper()}] {case.id}", case.message).slack_text()


def _said(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Slack's answer to a slash command, seen by whoever typed it alone."""
    answer: dict[str, Any] = {"response_type": "ephemeral", "text": text[:SECTION_LIMIT]}
    return answer | ({"blocks": blocks} if blocks else {})
