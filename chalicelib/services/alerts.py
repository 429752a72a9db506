"""Alerts: a department's Slack channel (ALERT_CHANNELS) is told at once of each new case its
queue gets at ALERT_PRIORITY (urgent) or above, or from an author labelled with one of
ALERT_LABELS (press, vip), and of each of its SLA breaches, so a food-safety claim or a
journalist's question is seen in minutes by people who are not watching the queue.
Each alert goes through the outbox (retried while Slack cannot take it, dead-lettered with
Slack's reason when it will not); it is sent at least once."""

from __future__ import annotations

import json
from datetime import UTC

from chalicelib.cli_text import author_of, shortened, stamp, why_routed
from chalicelib.errors import PoisonRecord
from chalicelib.models import MentionRecord, RoutedMention
from chalicelib.observability import logger
from chalicelib.rules.engine import PRIORITY_RANK
from chalicelib.services.retries import repeatable_call
from chalicelib.settings import Settings
from chalicelib.stores.queues import OutgoingMessage

ALERT = "alert"


def alert_message(channel: str, text: str) -> OutgoingMessage:
    """The outbox message that has the outbox worker post `text` to a Slack channel."""
    return OutgoingMessage(json.dumps({ALERT: {"channel": channel, "text": text}}))


def is_alert_message(body: str) -> bool:
    """Whether an outbox message is an alert."""
    return body.startswith('{"alert":')


def new_case_alerts(message: RoutedMention, settings: Settings) -> dict[str, OutgoingMessage]:
    """By channel, the alerts of a newly routed case: one for each channel of the departments
    whose queue gets it, when its priority is ALERT_PRIORITY or above, or its author carries one
    of ALERT_LABELS (a journalist, a VIP), whatever its priority."""
    routing = message.routing
    labelled = [label for label in message.mention.author.labels if label in settings.alert_labels]
    if not labelled and PRIORITY_RANK[routing.priority] < PRIORITY_RANK[settings.alert_priority]:
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
    text = _text(heading, message)
    return {channel: alert_message(channel, text) for channel in channels}


def breach_alert(record: MentionRecord, settings: Settings) -> OutgoingMessage | None:
    """The alert of a case its department let pass its deadline unanswered, to that
    department's channel (None when it has none)."""
    department = record.message.routing.department
    channel = settings.alert_channels.get(department)
    if channel is None:
        return None
    return alert_message(channel, _text(f"SLA breached in {department}", record.message))


def _text(heading: str, message: RoutedMention) -> str:
    """An alert as Slack shows it (mrkdwn): what, by whom, what they said, why it was routed
    so, when it is due, and how to open it."""
    mention, routing = message.mention, message.routing
    by = f"{author_of(mention)} ({mention.author.followers} followers)"
    lines = [
        f"*{_escaped(heading)}*: {mention.platform} {mention.kind} by {_escaped(by)}",
        f"> {_escaped(shortened(mention.text, 280)) or '(no text)'}",
    ]
    why = why_routed(routing)
    if why:
        lines.append(_escaped(shortened(why, 280)))
    if routing.sla_due_at is not None:
        lines.append(f"reply by {stamp(routing.sla_due_at.astimezone(UTC))}")
    opened = f"`switchboard mention {mention.id}`"
    lines.append(
        f"<{mention.url}|open it on {mention.platform}> · {opened}" if mention.url else opened
    )
    return "\n".join(lines)


def _escaped(text: str) -> str:
    """Text as Slack's mrkdwn wants it: `&`, `<` and `>` escaped (a customer's `<@U…>` pings
    nobody)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_alert(body: str, settings: Settings) -> None:
    """Post an alert the outbox holds (`alert_message`): retried while Slack cannot take it
    (a rate limit, no answer, refused credentials), dead-lettered with Slack's reason when it
    will not (a channel the app is not in)."""
    from chalicelib.platforms.slack import post_message  # requests: off the routing worker

    try:
        alert = json.loads(body)[ALERT]
        channel, text = str(alert["channel"]), str(alert["text"])
    except (ValueError, KeyError, TypeError):
        raise PoisonRecord(f"not an alert: {body[:200]}") from None
    ts = repeatable_call(
        f"alert to Slack channel {channel}",
        lambda: post_message(channel, text, settings),
        " (is the app in the channel?)",
    )
    logger.info("alert posted", extra={"channel": channel, "ts": ts})
