"""Alerts: a department's channel (ALERT_CHANNELS: a Slack channel, or `teams:<name>`, a Teams
webhook named in TEAMS_WEBHOOKS) is told at once of each new case its queue gets at
ALERT_PRIORITY (urgent) or above, or from an author labelled with one of ALERT_LABELS (press,
vip), and of each of its SLA breaches, so a food-safety claim or a journalist's question is seen
in minutes by people who are not watching the queue; a person (AGENT_CHANNELS: their Slack
member id, or a Teams webhook) is told of each case given to them on shift, of what the
customers whose cases they have write again, and of the notes that name them (`@lee`) or are on
a case they have. With ALERT_BUTTONS, a Slack alert of a case to a department's channel has
"Take it" (while nobody has it), "Reply…" and "Give back" (while someone has it) buttons, one
telling someone of a case that is theirs "Reply…" and "Give back", one of a reply waiting for
approval "Approve" and "Reject…" (see `alert_buttons`). Each alert goes through the outbox
(`alert_desk` sends it: retried while the channel cannot take it, dead-lettered with the
platform's reason when it will not); it is sent at least once."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.cli_text import (
    author_of,
    context_lines,
    format_report,
    shortened,
    stamp,
    why_routed,
)
from chalicelib.models import (
    GIVEN,
    DepartmentReport,
    MentionRecord,
    PriorityChange,
    Reply,
    RoutedMention,
)
from chalicelib.observability import logger
from chalicelib.platforms.slack import Button, Control, Menu, alert_blocks
from chalicelib.platforms.teams import card_message, text_run
from chalicelib.rules.engine import PRIORITY_RANK
from chalicelib.settings import TEAMS, Settings
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.queues import OutgoingMessage, Queues
from chalicelib.stores.replies import OUTBOX

ALERT = "alert"
CASE, DRAFT = "case", "draft"
"""What a kept alert is of: a case (kept under its mention id), a draft waiting for approval
(under its reply id)."""
TAKE, REPLY, LEAVE, APPROVE, REJECT = "take", "reply", "leave", "approve", "reject"
"""The buttons on Slack alerts (ALERT_BUTTONS; see `alert_buttons`): take a case, answer it or
give it back, approve or reject a reply waiting for approval."""
TRANSFER, GIVE, PRIORITY, CLOSE = "transfer", "give", "priority", "close"
CASE_MENU = (TRANSFER, "Hand over…"), (GIVE, "Give to…"), (PRIORITY, "Priority…"), (CLOSE, "Close…")
"""The items of a case alert's menu: hand the case over to another department, give it to a
colleague, change its priority, close it."""


@dataclass(frozen=True)
class Alert:
    """What an alert says of a case: what happened, by whom, what they said, why it was routed
    so, when it is due, and how to open it."""

    heading: str
    byline: str
    said: str
    why: str
    due: str | None
    mention_id: str
    platform: str
    url: str | None
    context: tuple[str, ...] = ()
    """What the author reacts to: the post they quote, the brand's post they answer."""

    @classmethod
    def of(cls, heading: str, message: RoutedMention) -> Alert:
        """The alert of `message` under `heading`."""
        mention, routing = message.mention, message.routing
        due = routing.sla_due_at
        return cls(
            heading=heading,
            byline=f"{mention.platform} {mention.kind} by {author_of(mention)}"
            f" ({mention.author.followers} followers)",
            said=shortened(mention.text, 280),
            why=shortened(why_routed(routing), 280),
            due=f"reply by {stamp(due.astimezone(UTC))}" if due is not None else None,
            mention_id=mention.id,
            platform=mention.platform,
            url=mention.url,
            context=tuple(context_lines(mention)),
        )

    def slack_text(self) -> str:
        """As Slack shows it (mrkdwn), what the customer wrote escaped."""
        lines = [f"*{escaped(self.heading)}*: {escaped(self.byline)}"]
        lines.append(f"> {escaped(self.said) or '(no text)'}")
        lines += [f"_{escaped(line)}_" for line in self.context]
        if self.why:
            lines.append(escaped(self.why))
        if self.due is not None:
            lines.append(self.due)
        opened = f"`switchboard mention {self.mention_id}`"
        link = f"<{self.url}|open it on {self.platform}> · " if self.url else ""
        lines.append(link + opened)
        return "\n".join(lines)

    def teams_card(self) -> dict[str, Any]:
        """As a Teams card: each line runs of plain text, a button to open the post."""
        lines = [[text_run(self.heading, weight="Bolder"), text_run(f": {self.byline}")]]
        lines.append([text_run(self.said or "(no text)", italic=True)])
        lines += [[text_run(line, isSubtle=True)] for line in self.context]
        lines += [[text_run(line)] for line in (self.why, self.due) if line]
        lines.append([text_run(f"switchboard mention {self.mention_id}", fontType="Monospace")])
        link = (f"Open it on {self.platform}", self.url) if self.url else None
        return card_message(lines, link)


def alert_message(
    channel: str,
    alert: Alert,
    buttons: tuple[Control, ...] = (),
    kept: str | None = None,
    of: str = CASE,
) -> OutgoingMessage:
    """The outbox message that has the outbox worker tell `channel` of a case: Slack's text
    (with `buttons`; `kept`: the message is kept under that key, of a case or a draft (`of`),
    for `refresh_alerts` to change), or
    (`teams:<name>`) a Teams card."""
    job: dict[str, Any] = {"channel": channel, "heading": alert.heading}
    if channel.startswith(TEAMS):
        job["card"] = alert.teams_card()
    else:
        job["text"] = alert.slack_text()
        if buttons:
            job["blocks"] = alert_blocks(job["text"], buttons)
        if kept is not None:
            job |= {"kept": kept, "of": of}
    return _outbox_job(job)


def case_buttons(mention_id: str, settings: Settings, taken: bool = False) -> tuple[Control, ...]:
    """The buttons of the alert of a case waiting for an answer, with ALERT_BUTTONS: "Take
    it" while nobody has it, "Reply…", and "Give back" while someone has it (`taken`: theirs
    to press); then a menu to hand it over to another department, give it to a colleague,
    change its priority or close it."""
    if not settings.alert_buttons:
        return ()
    reply = Button(REPLY, "Reply…", mention_id)
    take, give_back = (
        Button(TAKE, "Take it", mention_id, "primary"),
        Button(LEAVE, "Give back", mention_id),
    )
    menu = Menu(tuple(Button(action, label, mention_id) for action, label in CASE_MENU))
    return (reply, give_back, menu) if taken else (take, reply, menu)


def rewritten_alert(channel: str, ts: str, text: str) -> OutgoingMessage:
    """The outbox message that changes the alert `ts` to say `text` alone, no button (what
    `forget_alerts` leaves of an alert)."""
    blocks = alert_blocks(text)
    return _outbox_job(
        {"channel": channel, "heading": text, "ts": ts, "text": text, "blocks": blocks}
    )


def _outbox_job(job: dict[str, Any], delay: int = 0) -> OutgoingMessage:
    """An alert job (post, change, answer a button, refresh kept alerts) as an outbox message
    (`AlertDesk.send`), out of sight for its first `delay` seconds."""
    return OutgoingMessage(json.dumps({ALERT: job}), delay=delay)


def seconds_until(at: datetime) -> int:
    """Whole seconds from now until `at` (0 once it is past)."""
    return max(0, math.ceil((at - datetime.now(UTC)).total_seconds()))


REFRESH = "refresh"
"""An outbox alert job asking for the kept alerts of a case or draft to be changed to say where
it stands (with `at`: no sooner than then)."""


def refresh_alerts(
    mentions: MentionStore, queues: Queues, settings: Settings, key: str, of: str = CASE
) -> None:
    """Have the outbox worker change each alert kept of the case (or the draft, `of`) that
    `key` names to say where it stands then (`case_status`, `draft_status`: whatever order
    such changes are made in, the last says how it is); nothing to look for without Slack
    alert channels; best effort: it is as it is all the same."""
    if not settings.slack_alerts:
        return
    try:
        kept = mentions.alerts_of(key)
    except Exception:
        logger.warning("could not read the alerts kept of a case", exc_info=True)
        return
    if kept:
        tell_channel(queues, refresh_job(key, of, [alert.channel for alert in kept]))


def refresh_job(
    key: str, of: str, channels: Iterable[str], at: datetime | None = None
) -> OutgoingMessage:
    """The outbox job that refreshes the alerts kept of `key` in `channels` (named for the
    logs and the dead-letter queue), at once or (`at`) when a take runs out: out of sight until
    then, as far as SQS delays a message it is sent (`AlertDesk.send` puts it off again)."""
    job = {REFRESH: key, "of": of, "channel": ", ".join(dict.fromkeys(channels))}
    job["heading"] = f"how {key} stands" + (f" when its take runs out at {stamp(at)}" if at else "")
    if at is None:
        return _outbox_job(job)
    job["at"] = at.isoformat()
    return _outbox_job(job, seconds_until(at))


def forget_alerts(
    mentions: MentionStore,
    queues: Queues,
    record: MentionRecord,
    gone: str,
    drafts: Iterable[str] = (),
) -> None:
    """The case's author deleted it or asked to be forgotten (`gone`: `was deleted by its
    author`): the alerts kept of it, and of the `drafts` (reply ids) answering it, forgotten
    at once, and each changed to say so without what they quoted (best effort, through the
    outbox)."""
    department = record.message.routing.department
    text = f"*a {department} case that {gone}*: `switchboard mention {record.id}`"
    for key in [record.id, *drafts]:
        try:
            kept = mentions.alerts_of(key)
            if kept:
                mentions.drop_alerts(key)
        except Exception:
            logger.warning("could not forget the alerts kept of a case", exc_info=True)
            continue
        for alert in kept:
            tell_channel(queues, rewritten_alert(alert.channel, alert.ts, text))


def settled(
    record: MentionRecord,
    person: Callable[[str], str] = str,
    said: Callable[[str], str] = str,
) -> str | None:
    """What took the case off everyone's hands, if anything (`answered by maya at …`,
    `answered on the platform at …`, `closed by lee: …`, `hidden on its platform by lee`, its
    author deleted it); `person` and `said` write a name and someone's words (for Slack:
    `named`, `escaped`)."""
    if record.gone is not None:
        return record.gone.removeprefix("was ")
    if record.first_response_at is not None:
        by = record.first_response_by
        who = f"by {person(by)}" if by else "on the platform"
        return f"answered {who} at {stamp(record.first_response_at)}"
    if record.closed_at is not None:
        return f"closed by {person(record.closed_by or '?')}: {said(record.closed_reason or '')}"
    if record.hidden_at is not None:
        by = f" by {person(record.hidden_by)}" if record.hidden_by else ""
        return f"hidden on its platform{by}"
    return None


def case_status(
    record: MentionRecord, settings: Settings, now: datetime
) -> tuple[str | None, tuple[Control, ...]]:
    """What an alert of the case says of it at `now` (handed over, answered, closed, hidden,
    who has it taken until when; None: it waits), and its buttons while it waits for an answer
    (`case_buttons`)."""

    def person(name: str) -> str:
        return named(name, settings)

    said: list[str] = []
    transfers = record.message.routing.transfers
    if transfers:
        last = transfers[-1]
        said.append(
            f"handed over to {last.to_department} by {person(last.by)}: {escaped(last.reason)}"
        )
    done, taker = settled(record, person, escaped), record.taker(now)
    if done is not None:
        said.append(done)
    elif taker is not None and record.taken_until is not None:
        said.append(f"taken by {person(taker)} until {stamp(record.taken_until)}")
    buttons = case_buttons(record.id, settings, taker is not None) if done is None else ()
    return " · ".join(said) or None, buttons


def named(person: str, settings: Settings) -> str:
    """Someone as an alert's status line names them: `maya (@Maya)` when AGENT_CHANNELS
    gives their Slack member id, else by name alone."""
    channel = settings.agent_channels.get(person, "")
    seen = f" (<@{channel}>)" if channel[:1] in ("U", "W") else ""
    return escaped(person) + seen


def refused_message(channel: str, user: str, why: str) -> OutgoingMessage:
    """The outbox message that tells whoever pressed a button, and only them, why Switchboard
    did not do it."""
    job = {"channel": channel, "heading": why, "user": user, "text": escaped(why)}
    return _outbox_job(job)


def digest_message(channel: str, report: DepartmentReport) -> OutgoingMessage:
    """The outbox message that posts a department's report (`format_report`, as the CLI
    prints it) to `channel`: in a Slack code block, or as a Teams card of monospace lines."""
    heading = f"{report.department}: the last day"
    job: dict[str, Any] = {"channel": channel, "heading": heading}
    lines = format_report(report).splitlines()
    if channel.startswith(TEAMS):
        runs = [[text_run(heading, weight="Bolder")]]
        job["card"] = card_message(
            [*runs, *([text_run(line, fontType="Monospace")] for line in lines)], None
        )
    else:
        report_text = escaped("\n".join(lines))
        job["text"] = f"*{escaped(heading)}*\n```\n{report_text}\n```"
    return _outbox_job(job)


def notice_message(channel: str, heading: str) -> OutgoingMessage:
    """The outbox message that tells `channel` one line with no case behind it to show (its
    record is gone)."""
    job: dict[str, Any] = {"channel": channel, "heading": heading}
    if channel.startswith(TEAMS):
        job["card"] = card_message([[text_run(heading, weight="Bolder")]], None)
    else:
        job["text"] = f"*{escaped(heading)}*"
    return _outbox_job(job)


def is_alert_message(body: str) -> bool:
    """Whether an outbox message is an alert."""
    return body.startswith('{"alert":')


def _alerted_for(message: RoutedMention, settings: Settings) -> list[str] | None:
    """Whether a case is alerted: None when not; else the ALERT_LABELS its author carries (a
    journalist, a VIP: alerted whatever its priority), empty when its priority is ALERT_PRIORITY
    or above."""
    labelled = [label for label in message.mention.author.labels if label in settings.alert_labels]
    priority = PRIORITY_RANK[message.routing.priority]
    return labelled if labelled or priority >= PRIORITY_RANK[settings.alert_priority] else None


def new_case_alerts(message: RoutedMention, settings: Settings) -> dict[str, OutgoingMessage]:
    """By channel, the alerts of a newly routed case: one for each channel of the departments
    whose queue gets it, when its priority is ALERT_PRIORITY or above, or its author carries one
    of ALERT_LABELS (a journalist, a VIP), whatever its priority."""
    routing = message.routing
    labelled = _alerted_for(message, settings)
    if labelled is None:
        return {}
    told = settings.alert_channels
    channels = [told[department] for department in routing.queues if department in told]
    if not channels:
        return {}
    heading = f"[{routing.priority.upper()}] new case for {routing.department}"
    if routing.also:
        heading += f" (also {', '.join(routing.also)})"
    if labelled:
        heading += f" from someone labelled {', '.join(labelled)}"
    if routing.assigned_to is not None:
        heading += f", given to {routing.assigned_to} on shift"
    alert = Alert.of(heading, message)
    buttons = case_buttons(alert.mention_id, settings, routing.assigned_to is not None)
    kept = alert.mention_id
    return {channel: alert_message(channel, alert, buttons, kept) for channel in channels}


def agent_alert(
    message: RoutedMention,
    agent: str,
    settings: Settings,
    passed_from: str | None = None,
    given_by: str | None = None,
) -> tuple[str, OutgoingMessage] | None:
    """The channel and alert telling `agent`, in their own chat (AGENT_CHANNELS), of a message
    that is theirs to answer: a case a colleague gave them (`given_by`), one given to them on
    shift (`routing.assigned_to`; `passed_from`: from someone whose take of it ran out; a
    follow-up routed to them: the customer they answered wrote back), or what a customer whose
    case they have wrote again, with "Reply…" and (but the last) "Give back" (ALERT_BUTTONS);
    None when no chat of theirs is named."""
    channel = settings.agent_channels.get(agent)
    if channel is None:
        return None
    routing = message.routing
    priority = routing.priority.upper()
    buttons = case_buttons(message.mention.id, settings, taken=True)
    if given_by is not None:
        heading = f"[{priority}] a {routing.department} case given to you by {given_by}"
    elif routing.assigned_to == agent and routing.conversation and GIVEN not in routing.tags:
        who = author_of(message.mention)
        heading = f"[{priority}] {who} wrote back on a {routing.department} case you answered"
    elif routing.assigned_to == agent:
        heading = f"[{priority}] a {routing.department} case given to you, on shift"
        if passed_from:
            heading += f" (passed on from {passed_from}, who did not answer it)"
    else:
        who = author_of(message.mention)
        heading = f"[{priority}] {who} wrote again on your {routing.department} case"
        buttons = buttons[:1]  # Reply…: what is given back is the case, not this message
    return channel, theirs(channel, Alert.of(heading, message), buttons, settings)


def theirs(
    channel: str, alert: Alert, buttons: tuple[Control, ...], settings: Settings
) -> OutgoingMessage:
    """The alert telling someone in their own chat of a case that is theirs (or that they are
    asked to look at), with `buttons`; with ALERT_BUTTONS kept, so that it changes as the case
    moves on (its buttons go once it is answered) as a department's alert does."""
    kept = alert.mention_id if settings.alert_buttons else None
    return alert_message(channel, alert, buttons, kept)


MENTIONED = re.compile(r"(?<![\w@])@([\w.-]*\w)")
"""A colleague named in a note: `@lee`, `@maya.k` (not an e-mail address's domain)."""


def note_alerts(
    record: MentionRecord, by: str, text: str, settings: Settings, now: datetime
) -> dict[str, tuple[str, OutgoingMessage]]:
    """By person, the alerts telling people in their own chat (AGENT_CHANNELS) of a note `by`
    someone on a case (`text`): each person it names with @ (their name as AGENT_CHANNELS has
    it, in any case), and whoever has the case taken at `now`; never its writer. With
    ALERT_BUTTONS they have the case's buttons (a note naming someone is most often asking them
    to look at it: "Take it" while nobody has it) and change as it moves on."""
    named = {name.casefold(): name for name in settings.agent_channels}
    people = [
        named[each.casefold()] for each in MENTIONED.findall(text) if each.casefold() in named
    ]
    taker = record.taker(now)
    if taker is not None and taker in settings.agent_channels:
        people.append(taker)
    routing = record.message.routing
    said = f'"{shortened(text, 200)}"'
    alerts: dict[str, tuple[str, OutgoingMessage]] = {}
    for person in dict.fromkeys(people):
        if person == by:
            continue
        channel = settings.agent_channels[person]
        what = (
            f"noted on your {routing.department} case"
            if person == taker
            else f"named you in a note on a {routing.department} case"
        )
        heading = f"[{routing.priority.upper()}] {by} {what}: {said}"
        buttons = case_buttons(record.id, settings, taken=taker is not None)
        alert = theirs(channel, Alert.of(heading, record.message), buttons, settings)
        alerts[person] = channel, alert
    return alerts


def handover_alerts(
    before: RoutedMention, after: RoutedMention, settings: Settings
) -> dict[str, OutgoingMessage]:
    """By channel, the alert of a case one department handed over to another, for the
    channel of the department that has it now when the case is one alerts tell of (see
    `new_case_alerts`) and that channel had no alert of it (none of the departments whose
    queue had it `before` uses it): so an urgent case put right is seen where it went."""
    labelled = _alerted_for(after, settings)
    told = settings.alert_channels
    channel = told.get(after.routing.department)
    if labelled is None or channel is None or channel in map(told.get, before.routing.queues):
        return {}
    routing, handover = after.routing, after.routing.transfers[-1]
    heading = (
        f"[{routing.priority.upper()}] a {handover.from_department} case handed over to"
        f' {routing.department} by {handover.by}: "{shortened(handover.reason, 200)}"'
    )
    if labelled:
        heading += f" (someone labelled {', '.join(labelled)})"
    alert = Alert.of(heading, after)
    buttons = case_buttons(alert.mention_id, settings)
    return {channel: alert_message(channel, alert, buttons, alert.mention_id)}


def priority_alerts(
    message: RoutedMention, change: PriorityChange, settings: Settings
) -> dict[str, OutgoingMessage]:
    """By channel, the alerts of a case a person raised to ALERT_PRIORITY or above from below
    it: one for each channel of the departments whose queue has it (none when it was at that
    priority already, or is lowered)."""
    alerting = PRIORITY_RANK[settings.alert_priority]
    if not PRIORITY_RANK[change.from_priority] < alerting <= PRIORITY_RANK[change.to_priority]:
        return {}
    routing = message.routing
    told = settings.alert_channels
    channels = {told[department] for department in routing.queues if department in told}
    heading = (
        f"[{change.to_priority.upper()}] a {routing.department} case raised to"
        f' {change.to_priority} by {change.by}: "{shortened(change.reason, 200)}"'
    )
    alert = Alert.of(heading, message)
    buttons = case_buttons(alert.mention_id, settings)
    kept = alert.mention_id
    return {channel: alert_message(channel, alert, buttons, kept) for channel in sorted(channels)}


def holder_priority_alert(
    record: MentionRecord, change: PriorityChange, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever has the case taken at `now`, in their own chat
    (AGENT_CHANNELS), that someone else changed its priority (with "Reply…" and "Give back",
    ALERT_BUTTONS); None when nobody else has it or no chat of theirs is named."""
    channel = _holder_chat(record, change.by, settings, now)
    if channel is None:
        return None
    department, why = record.message.routing.department, shortened(change.reason, 200)
    heading = (
        f"[{change.to_priority.upper()}] {change.by} made your {department} case"
        f' {change.to_priority} (was {change.from_priority}): "{why}"'
    )
    buttons = case_buttons(record.id, settings, taken=True)
    return channel, theirs(channel, Alert.of(heading, record.message), buttons, settings)


def holder_handover_alert(
    record: MentionRecord, after: RoutedMention, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever had `record` taken at `now` that someone else handed it over
    to another department (`after`), see `_holder_news`."""
    handover = after.routing.transfers[-1]
    news = (
        f"{handover.by} handed your {handover.from_department} case over to"
        f' {handover.to_department}: it is not yours any more: "{shortened(handover.reason, 200)}"'
    )
    return _holder_news(record, handover.by, news, settings, now, after)


def holder_closed_alert(
    record: MentionRecord, by: str, reason: str, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever had `record` taken at `now` that someone else closed it, see
    `_holder_news`."""
    department = record.message.routing.department
    news = f'{by} closed your {department} case: nothing to answer: "{shortened(reason, 200)}"'
    return _holder_news(record, by, news, settings, now)


def holder_edited_alert(
    read: MentionRecord, edited: RoutedMention, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever has the case taken at `now`, in their own chat, that its
    customer edited what they wrote (`edited`, as it reads now: the answer may need to change),
    with "Reply…" and "Give back" (ALERT_BUTTONS); None when nobody has it or no chat of theirs
    is named."""
    channel = _holder_chat(read, None, settings, now)
    if channel is None:
        return None
    routing = edited.routing
    heading = (
        f"[{routing.priority.upper()}] {author_of(edited.mention)} edited what they wrote on your"
        f" {routing.department} case"
    )
    buttons = case_buttons(read.id, settings, taken=True)
    return channel, theirs(channel, Alert.of(heading, edited), buttons, settings)


def holder_answered_on_platform_alert(
    record: MentionRecord, platform: str, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever has `record` taken at `now` that the brand answered it on the
    platform itself (its app, another tool), see `_holder_news`."""
    department = record.message.routing.department
    news = (
        f"your {department} case was answered on {platform} outside Switchboard: nothing left"
        " for you to answer"
    )
    return _holder_news(record, None, news, settings, now)


def holder_deleted_alert(
    record: MentionRecord, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever has `record` taken at `now` that its customer deleted what
    they wrote, see `_holder_news`: quoting nothing of it (nor the rules' reasons, which can)."""
    mention, department = record.message.mention, record.message.routing.department
    news = (
        f"{author_of(mention)} deleted what they wrote on your {department} case: nothing to answer"
    )
    return _holder_news(record, None, news, settings, now, quoting=False)


def holder_answered_alert(
    record: MentionRecord, reply: Reply, settings: Settings, now: datetime
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever had `record` taken at `now` that someone else sent `reply` to
    it anyway (with force), see `_holder_news`."""
    department = record.message.routing.department
    state = "waiting for approval" if reply.status == "pending" else "on its way"
    news = (
        f"{reply.author} answered your {department} case anyway ({reply.reply_id}, {state}):"
        " nothing left for you to answer"
    )
    return _holder_news(record, reply.author, news, settings, now)


def _holder_news(
    record: MentionRecord,
    by: str | None,
    news: str,
    settings: Settings,
    now: datetime,
    message: RoutedMention | None = None,
    quoting: bool = True,
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling whoever had `record` taken at `now`, in their own chat, what someone
    else (`by`) did that makes it theirs to answer no more (`news`, of the case as `message`
    has it; not `quoting` what was said, nor why it was routed, nor its link), so they stop
    writing its answer: no buttons; None when nobody else had it or no chat of theirs is
    named."""
    channel = _holder_chat(record, by, settings, now)
    if channel is None:
        return None
    message = message or record.message
    alert = Alert.of(f"[{message.routing.priority.upper()}] {news}", message)
    if not quoting:
        alert = replace(alert, said="", why="", url=None)
    return channel, alert_message(channel, alert)


def _holder_chat(
    record: MentionRecord, by: str | None, settings: Settings, now: datetime
) -> str | None:
    """The chat (AGENT_CHANNELS) of whoever has `record` taken at `now`, when it is someone
    other than `by` (None: anyone)."""
    holder = record.taker(now)
    return settings.agent_channels.get(holder) if holder not in (None, by) else None


def approval_alert(
    message: RoutedMention, reply: Reply, department: str, settings: Settings
) -> OutgoingMessage | None:
    """The alert telling the channel of `department` (ALERT_CHANNELS) that `reply` to the case
    waits for its approval; None when the department has no channel."""
    channel = settings.alert_channels.get(department)
    if channel is None:
        return None
    heading = draft_heading(message, reply, department)
    buttons = approval_buttons(reply.reply_id, settings)
    return alert_message(channel, Alert.of(heading, message), buttons, reply.reply_id, DRAFT)


def draft_heading(message: RoutedMention, reply: Reply, department: str) -> str:
    """What the alert of a reply waiting for approval in `department` is headed with: whose
    reply, to which case's priority, and how it begins."""
    return (
        f"[{message.routing.priority.upper()}] {reply.author}'s reply ({reply.reply_id}) waits"
        f' for approval in {department}: "{shortened(reply.text, 200)}"'
    )


def approval_buttons(reply_id: str, settings: Settings) -> tuple[Button, ...]:
    """The "Approve" and "Reject…" buttons of a draft's alert, with ALERT_BUTTONS."""
    if not settings.alert_buttons:
        return ()
    return (
        Button(APPROVE, "Approve", reply_id, "primary"),
        Button(REJECT, "Reject…", reply_id, "danger"),
    )


def review_alert(
    message: RoutedMention, reply: Reply, settings: Settings
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling a reply's author, in their own chat (AGENT_CHANNELS), that someone
    approved it (it is on its way) or rejected it (and why); None when no chat of theirs is
    named."""
    channel = settings.agent_channels.get(reply.author)
    if channel is None:
        return None
    what = f"your reply ({reply.reply_id}) to a {message.routing.department} case"
    if reply.status == "rejected":
        verdict = f'rejected {what}: "{shortened(reply.rejected_reason or "", 200)}"'
    else:
        verdict = f"approved {what}: it is on its way"
    heading = f"[{message.routing.priority.upper()}] {reply.reviewed_by} {verdict}"
    return channel, alert_message(channel, Alert.of(heading, message))


def unposted_alert(
    message: RoutedMention, reply: Reply, settings: Settings
) -> tuple[str, OutgoingMessage] | None:
    """The alert telling a reply's author, in their own chat (AGENT_CHANNELS), that the
    platform refused it (`failed`, with its reason), that whether it was posted is unknown
    (`uncertain`), that it was posted but never reached the customer (`undelivered`), or that
    the outbox gave up trying and it waits for an admin (`queued`), with the case's buttons to
    answer it again (ALERT_BUTTONS: kept, laid out as the case stands, and changed as it moves
    on); None when no chat of theirs is named."""
    channel = settings.agent_channels.get(reply.author)
    if channel is None:
        return None
    routing = message.routing
    what = f"your reply ({reply.reply_id}) to a {routing.department} case"
    why = shortened(reply.last_error or "no reason given", 300)
    if reply.status == "uncertain":
        platform = message.mention.platform
        said = f"{what} may not have been posted ({why}): look on {platform} before answering again"
    elif reply.status == "undelivered":
        said = f"{what} did not reach them: {why}"
    elif reply.status == "queued":
        said = (
            f"{what} is not posted yet ({why}): it waits in the outbox's dead-letter queue for"
            " an admin to send it again (`switchboard dlq outbox --redrive`)"
        )
    else:
        said = f"{what} was not posted: {why}"
    alert = Alert.of(f"[{routing.priority.upper()}] {said}", message)
    return channel, theirs(channel, alert, case_buttons(message.mention.id, settings), settings)


def tell_agent(queues: Queues, told: tuple[str, OutgoingMessage] | None) -> None:
    """Put someone's alert (`agent_alert`), if there is one, on the outbox (see
    `tell_channel`)."""
    if told is not None:
        tell_channel(queues, told[1])


def tell_channel(queues: Queues, alert: OutgoingMessage) -> None:
    """Put an alert on the outbox; best effort: what it tells of is on the waiting list all
    the same."""
    try:
        queues.send(OUTBOX, alert)
    except Exception:
        logger.warning("could not put an alert on the outbox", exc_info=True)


def breach_alert(record: MentionRecord, settings: Settings) -> OutgoingMessage | None:
    """The alert of a case its department let pass its deadline unanswered, to that
    department's channel (None when it has none)."""
    department = record.message.routing.department
    channel = settings.alert_channels.get(department)
    if channel is None:
        return None
    alert = Alert.of(f"SLA breached in {department}", record.message)
    return alert_message(channel, alert, case_buttons(alert.mention_id, settings), alert.mention_id)


def draft_status(reply: Reply, settings: Settings) -> tuple[str | None, tuple[Control, ...]]:
    """What the alert of a draft waiting for approval says of it (approved, and whether
    posted; rejected, and why; None: it waits), and its buttons (while it waits)."""
    if reply.status == "pending":
        return None, approval_buttons(reply.reply_id, settings)
    by = named(reply.reviewed_by or "?", settings)
    if reply.status == "rejected":
        return f"rejected by {by}: {escaped(reply.rejected_reason or '')}", ()
    posted = {"sent": "posted", "failed": "not posted (see `switchboard replies`)"}
    return f"approved by {by}: {posted.get(reply.status, 'on its way')}", ()


def escaped(text: str) -> str:
    """Text as Slack's mrkdwn wants it: `&`, `<` and `>` escaped (a customer's `<@U…>` pings
    nobody)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
