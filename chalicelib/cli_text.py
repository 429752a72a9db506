"""How the `switchboard` command shows things: a routed mention as an inbox entry, a case's
hand-overs and close, a dry-run report, tallies and deadlines as an agent reads them."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.models import (
    ANSWERED,
    AWAITING_APPROVAL,
    CLOSED,
    HANDED_OVER,
    HIDDEN,
    HISTORY_LIMIT,
    UNDELIVERED,
    DepartmentReport,
    FindResult,
    FoundMention,
    History,
    Mention,
    MentionRecord,
    Note,
    PersonReport,
    Quoted,
    Reply,
    RoutedMention,
    Routing,
    Shift,
    ShiftEnded,
)


def stamp(at: datetime) -> str:
    """A time as agents read it: to the second (a Slack message's time has microseconds)."""
    return at.isoformat(timespec="seconds")


def time_left(due: datetime | None, now: datetime) -> str:
    """A deadline as an agent reads it: `<UTC time> (in 25 min)` or `(overdue by 2 h 5 min)`."""
    if due is None:
        return "-"
    left = due - now
    span = lasting(abs(left).total_seconds())
    return f"{stamp(due)} ({'in ' + span if left >= timedelta(0) else 'overdue by ' + span})"


def lasting(seconds: float) -> str:
    """A span of time in hours and minutes: `2 h 5 min`, `3 h`, `25 min`; under a minute in
    seconds (`40 s`)."""
    if seconds < 60:
        return f"{int(seconds)} s"
    hours, minutes = divmod(int(seconds // 60), 60)
    return (f"{hours} h {minutes} min" if minutes else f"{hours} h") if hours else f"{minutes} min"


def format_report(report: DepartmentReport) -> str:
    """A department's report as a lead reads it."""
    responses = "-"
    if report.first_response_p50 is not None and report.first_response_p90 is not None:
        responses = (
            f"median {lasting(report.first_response_p50)},"
            f" 90% within {lasting(report.first_response_p90)}"
        )
    met = "-" if report.sla_met is None else f"{report.sla_met:.0%}"
    lines = [
        f"{report.department}, {_the_last(report.days)} (since {report.since:%Y-%m-%d %H:%M}"
        f" UTC){': the newest only, more than a report reads' if report.truncated else ''}",
        f"  mentions        {report.mentions}",
        f"  answered        {report.answered}  (first response: {responses})",
        f"  on time         {met}  ({report.on_time} of the {report.due} due)",
        f"  waiting now     {report.waiting}  ({report.overdue} overdue)",
        f"  escalated       {report.escalated}",
        f"  closed          {report.closed}  (no reply needed)",
        f"  withdrawn       {report.withdrawn}  (hidden or deleted)",
        f"  handed over     {report.handed_over}  (to other departments: counted there)",
        *_by_person(report),
        f"  satisfaction    {_satisfaction(report)}",
        *(
            f"    {each.agent:<13} {each.satisfied:.0%} satisfied, average {each.satisfaction:.1f}"
            f"  ({each.rated})"
            for each in report.by_agent
        ),
    ]
    return "\n".join(lines)


def _the_last(days: int) -> str:
    """A report's span: `the last day`, `the last 7 days`."""
    return "the last day" if days == 1 else f"the last {days} days"


def _by_person(report: DepartmentReport) -> list[str]:
    """The report's lines of the first responses each person sent (none when nobody did)."""
    if not report.by_person:
        return []
    return [
        "  by person       (first responses sent through Switchboard, cases let run out)",
        *(f"    {each.agent:<13} {_person_line(each)}" for each in report.by_person),
    ]


def _person_line(person: PersonReport) -> str:
    """One person's first responses, and the cases they let run out, as a report line."""
    answered = f"{person.answered} answered"
    if person.answered and person.first_response_p50 is not None:
        answered += (
            f", {person.on_time / person.answered:.0%} on time,"
            f" median {lasting(person.first_response_p50)}"
        )
    if person.passed_on:
        answered += f"; {person.passed_on} passed on unanswered"
    return answered


def _satisfaction(report: DepartmentReport) -> str:
    """What the customers who answered the satisfaction survey said, as a report line."""
    asked = f"{report.surveyed} survey{'s' if report.surveyed != 1 else ''}"
    if report.satisfaction is None or report.satisfied is None:
        return f"-  (no answers to {asked})"
    answers = f"{report.rated} answer{'s' if report.rated != 1 else ''}"
    return (
        f"{report.satisfied:.0%} satisfied (4 or 5 of 5), average {report.satisfaction:.1f}"
        f"  ({answers} to {asked})"
    )


_NEWS_ONLY = {
    ANSWERED: "answered on the platform, not through Switchboard: no reply needed",
    HIDDEN: "hidden on the platform: off the SLA clock, no reply needed",
    CLOSED: "closed by a department without a reply: off the SLA clock, no reply needed",
    AWAITING_APPROVAL: "a reply to it waits for your approval: switchboard approvals",
    UNDELIVERED: "the reply never reached the customer (the platform could not deliver it)",
}
"""Copies that only bring news of a case, shown in three lines."""


def format_routed(message: RoutedMention, now: datetime | None = None) -> str:
    """A routed mention as a few readable lines for a human reading an inbox."""
    mention, routing = message.mention, message.routing
    author = author_of(mention)
    reasons = why_routed(routing) or "no rule matched"
    news = {**_NEWS_ONLY}
    if routing.transfers:
        last = routing.transfers[-1]
        news[HANDED_OVER] = (
            f"handed over to {last.to_department} by {last.by}: {last.reason}; no longer yours"
        )
    for tag, note in news.items():
        if tag in routing.tags:
            return (
                f"[{tag.upper()}] {mention.id}  {mention.platform}/{mention.kind}  by {author}\n"
                f"  {gist(mention)}\n  {note}"
            )
    due = time_left(routing.sla_due_at, now or datetime.now(UTC))
    lines = [
        f"[{routing.priority.upper()}] {mention.id}  {mention.platform}/{mention.kind}"
        + (f" in {mention.lang}" if mention.lang else "")
        + f"  by {author} ({mention.author.followers} followers)",
        f"  {mention.text or '(no text)'}",
        f"  department: {routing.department}"
        + (f" (also {', '.join(routing.also)})" if routing.also else "")
        + f"  tags: {', '.join(routing.tags) or '-'}  reply by: {due}",
        f"  why: {reasons}",
        f"  signals: {json.dumps(routing.signals)}",
    ]
    if mention.attachments:
        files = ", ".join(
            f"{n} {a.kind}" + (f" {a.filename}" if a.filename else "")
            for n, a in enumerate(mention.attachments, 1)
        )
        lines.insert(2, f"  attached: {files} (switchboard attachment {mention.id} N)")
    if routing.transfers:
        lines.insert(2, f"  {transfer_line(routing)}")
    if routing.priority_changes:
        last_change = routing.priority_changes[-1]
        lines.insert(
            2,
            f"  made {last_change.to_priority} (was {last_change.from_priority}) by"
            f" {last_change.by}: {last_change.reason}",
        )
    if routing.history is not None:
        lines.insert(2, _earlier_cases(routing.history))
    if routing.conversation is not None:
        case = routing.conversation
        lines.insert(2, f"  continues {case.mention_id} (routed to {case.department})")
    for line in reversed(context_lines(mention)):
        lines.insert(2, f"  {line}")
    if mention.tagged_along:  # answer with care: the author was talking to someone else
        lines.insert(2, "  in someone else's thread: the brand was only tagged along")
    if mention.standby:  # a chatbot or Meta's inbox may be answering too
        lines.insert(2, "  another app holds this conversation: a reply takes it over")
    if routing.assigned_to is not None:
        lines.insert(2, f"  given to {routing.assigned_to}, on shift (theirs to answer)")
    if routing.hide is not None:  # the public no longer sees it (once the outbox worker ran)
        lines.insert(2, f"  hidden on {mention.platform} by rule {routing.hide}")
    return "\n".join(lines)


def context_lines(mention: Mention, limit: int = 140) -> list[str]:
    """What the author is reacting to, a line each: the post they quote, the brand's post they
    answer (`quoting @AcmeHelp: Our winter menu is here!`), each cut at `limit` characters."""
    return [
        f"{what} {_by(post)}: {shortened(post.text, limit) or '(text not sent)'}"
        for post, what in ((mention.quoted, "quoting"), (mention.replied_post, "answering"))
        if post is not None
    ]


def _by(post: Quoted) -> str:
    """Who wrote a quoted or answered post: an X or Instagram @handle, a Facebook name, else
    its id."""
    if post.author is None:
        return post.id
    handles = post.id.partition(":")[0] in ("x", "instagram")
    return f"@{post.author}" if handles else post.author


def _earlier_cases(history: History, shown: int = 3) -> str:
    """The author's earlier cases in one line: how many, how many still wait, the latest."""
    cases = history.cases
    count = f"{len(cases)}{'+' if len(cases) >= HISTORY_LIMIT else ''}"
    latest = ", ".join(f"{c.id} ({c.department}, {c.state})" for c in cases[:shown])
    more = f" and {len(cases) - shown} more" if len(cases) > shown else ""
    return (
        f"  wrote before: {count} case(s) in {history.days} days, {history.waiting} still"
        f" waiting: {latest}{more}"
    )


def gist(mention: Mention) -> str:
    """A mention on one line, as lists show it: its text shortened, or what it carries instead
    (`(no text; attached: voice)`)."""
    if mention.text.strip():
        return shortened(mention.text)
    files = ", ".join(attachment.kind for attachment in mention.attachments)
    return f"(no text; attached: {files})" if files else "(no text)"


def shortened(text: str, limit: int = 140) -> str:
    """A quoted text on one line, cut at `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_dry_run(report: dict[str, Any], name: str) -> str:
    """A dry-run report: totals by department, the rules whose matches would change and those
    the candidate never matches, the people's verdicts, the candidate's examples that do not
    hold, then one entry per changed mention."""
    lines = [
        f"Dry run of {name} on {report['source']}: {report['mentions']} mentions,"
        f" {report['changed']} would change (live is v{report['live_version']})",
        "",
        f"{'department':<14}{'live':>8}{'candidate':>11}",
    ]
    for department, totals in report["totals"].items():
        lines.append(f"{department:<14}{totals['live']:>8}{totals['candidate']:>11}")
    rules = report.get("rules", [])
    moved = [r for r in rules if r["live"] != r["candidate"]]
    if moved:
        lines += ["", f"{'rule (mentions matched)':<30}{'live':>8}{'candidate':>11}"]
        for rule in moved:
            live, candidate = (_count(rule[side]) for side in ("live", "candidate"))
            lines.append(f"{rule['id']:<30}{live:>8}{candidate:>11}")
    idle = [r["id"] for r in rules if r["candidate"] == 0]
    if idle:
        lines += ["", f"matched nothing here ({len(idle)}): {', '.join(idle)}"]
    people = report.get("by_people") or {}
    if people.get("mentions"):
        live, candidate = people["live"], people["candidate"]
        lines += [
            "",
            f"cases people answered or handed over: {people['mentions']}"
            f" ({people['handed_over']} handed over); sent where they belonged:"
            f" live {live['right']} (macro F1 {live['macro_f1']:.3f}),"
            f" candidate {candidate['right']} (macro F1 {candidate['macro_f1']:.3f})",
        ]
    urgency = people.get("reprioritised") or {}
    if urgency.get("mentions"):
        if not people.get("mentions"):
            lines.append("")
        lines.append(
            f"cases people re-prioritised: {urgency['mentions']}; given the priority they set:"
            f" live {urgency['live']}, candidate {urgency['candidate']}"
        )
    examples = report.get("examples") or []
    if examples:
        lines += ["", f"examples that do not hold ({len(examples)}): it cannot be published so"]
        lines += [f"  {problem}" for problem in examples]
    for change in report["changes"]:
        text = change["text"].replace("\n", " ")
        said = [f"belongs to {change['people']}"] if change.get("people") else []
        said += [change["people_priority"]] if change.get("people_priority") else []
        belongs = f"  ({', '.join(said)}, people say)" if said else ""
        lines += ["", f"{change['id']}  {text[:90]}{'…' if len(text) > 90 else ''}{belongs}"]
        for side in ("live", "candidate"):
            decided = change[side]
            reason = f"{decided['rule']}: {decided['why']}" if decided["rule"] else "no rule"
            where = decided["department"] + "".join(f" + {d}" for d in decided["also"])
            tags = f" tags: {', '.join(decided['tags'])}" if decided.get("tags") else ""
            hidden = f" hidden by {decided['hide']}" if decided.get("hide") else ""
            lines.append(
                f"  {side + ':':<11}{where} [{decided['priority']}]{tags}{hidden}  ({reason})"
            )
    return "\n".join(lines)


def _count(matched: int | None) -> str:
    """A rule's match count in one ruleset; `-` when the ruleset has no such rule."""
    return "-" if matched is None else str(matched)


def why_routed(routing: Routing) -> str:
    """Each rule that matched and why, in order (`rule: why; rule: why`); empty for none."""
    return "; ".join(f"{m.id}: {m.why}" for m in routing.matched_rules)


def decider(routing: Routing) -> str:
    """What chose a mention's department, as a listing names it."""
    return routing.decided_by or "nothing (triage)"


def tally(counts: Counter[str]) -> str:
    """The counts after a colon, most first (`: to pr 2, to marketing 1`); nothing for none."""
    return ": " + ", ".join(f"{key} {n}" for key, n in counts.most_common()) if counts else ""


def author_of(mention: Mention) -> str:
    """Who wrote a mention, as an agent reads it, with the labels they carried (`[vip]`)."""
    author = mention.author
    labels = f" [{', '.join(author.labels)}]" if author.labels else ""
    return (author.handle or author.name or author.id or "unknown") + labels


def transfer_line(routing: Routing) -> str:
    """The last hand-over of a case: from which department, by whom and why."""
    last = routing.transfers[-1]
    verb = "rescued" if last.from_department == "ignore" else "handed over"
    return f"{verb} from {last.from_department} by {last.by}: {last.reason}"


def closed_by(record: MentionRecord) -> str:
    """Who closed a case and why."""
    return f"by {record.closed_by}: {record.closed_reason}"


def hidden_by(record: MentionRecord) -> str:
    """Who hid a comment on its platform, and why: someone through Switchboard, a rule, or the
    Page's moderators (or filters) on the platform itself."""
    by = record.hidden_by
    if by is None:
        return "by the Page's moderators"
    if by.startswith("rule:"):
        return f"by rule {by.removeprefix('rule:')}"
    return f"by {by}: {record.hidden_reason}" if record.hidden_reason else f"by {by}"


def on_shift_said(shift: Shift, now: datetime) -> list[str]:
    """What going on shift says: until when, and how its cases are given (the most at once,
    the languages)."""
    said = [
        f"{shift.agent} is on shift in {shift.department} until {time_left(shift.until, now)}:"
        " its new cases are given to those on shift, the least busy first"
    ]
    if shift.capacity is not None:
        said.append(
            f"never more than {shift.capacity} waiting at once, topped up from the cases nobody has"
        )
    if shift.languages:
        said.append(f"only cases in {', '.join(shift.languages)} (or in no known language)")
    return said


def away_said(shift: Shift) -> str:
    """What stepping away from a shift, or coming back, says."""
    state = "away: given no new case, keeping theirs" if shift.away else "back: given cases"
    return f"{shift.agent} on shift in {shift.department} is {state}"


def shift_ended_said(ended: ShiftEnded) -> list[str]:
    """What ending a shift says, and the cases it let go."""
    done = "ended" if ended.ended else "had ended already"
    said = [f"{ended.agent}'s shift in {ended.department} {done}"]
    if ended.released:
        said.append(f"given back, free for anyone: {', '.join(ended.released)}")
    return said


def case_history(record: MentionRecord, replies: list[Reply], now: datetime) -> list[str]:
    """What happened to a routed mention since, a line each, in time order (`switchboard
    mention`, `/switchboard case`): routed, the `replies` written to it, hand-overs, priority
    changes and notes, its first response, escalation, edit, hiding, closing, rating, who has
    it taken until when, its deletion or erasure."""
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
            *(
                ("priority", c.at, f"{c.from_priority} to {c.to_priority} by {c.by}: {c.reason}")
                for c in record.message.routing.priority_changes
            ),
            *(("note", note.at, _note_line(note)) for note in record.notes),
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
    return [f"{what}: {stamp(at)} ({detail})" for what, at, detail in events if at is not None]


def _reply_line(reply: Reply) -> str:
    """A reply as the mention's history shows it: who, what became of it, what it said."""
    seen = "".join(
        f", {what} {stamp(at)}"
        for what, at in (("delivered", reply.delivered_at), ("read", reply.read_at))
        if at is not None
    )
    said = shortened(reply.text) if reply.text else "(text erased)"
    return f"{reply.reply_id} by {reply.author}: {reply.status}{seen}: {said}"


def _note_line(note: Note) -> str:
    """A note as the mention's history shows it: who, what, and who was told of it."""
    told = f" (told {', '.join(note.told)})" if note.told else ""
    return f"{note.by}: {note.text}{told}"


def _first_response(record: MentionRecord) -> str:
    """How long the first answer took, who sent it (else it was written on the platform), and
    which post of the brand's it was."""
    by = f" by {record.first_response_by}" if record.first_response_by else ""
    post = f": {record.first_response_post}" if record.first_response_post else ""
    return f"after {lasting(record.response_seconds or 0)}{by}{post}"


def _latest_version(record: MentionRecord) -> str:
    """Where an edit made a post of its own (X), the one replies answer."""
    if not record.versions:
        return ""
    return f"; now {record.versions[-1]}, the version replies answer"


def search_said(result: FindResult) -> str:
    """A search's headline: how many of the mentions read matched, by platform."""
    span = "day" if result.days == 1 else f"{result.days} days"
    return (
        f"{result.matched} of the {result.scanned} mentions routed in the last {span} match"
        + tally(Counter(result.by_platform))
    )


def found_where(found: FoundMention) -> str:
    """Where a mention a search found stands: its department and its case's state, and who
    has it; ignored; or that its record is gone."""
    if found.department is None:
        return "(its record is gone)"
    if found.department == "ignore":
        return "ignored"
    taken = f", taken by {found.taken_by}" if found.taken_by else ""
    return f"{found.department} ({found.state}{taken})"
