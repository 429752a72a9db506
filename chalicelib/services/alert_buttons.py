"""The "Take it" button on Slack alerts (ALERT_BUTTONS): pressed, it takes the case for whoever
pressed it, by the name AGENT_CHANNELS gives their Slack member id, as `switchboard take` would
(DEFAULT_TAKE_MINUTES), and the alert then says who has it instead of offering the button; a
press Switchboard cannot do (someone else has the case, it was answered, closed or hidden
meanwhile, the person has no name here, the case is gone) is answered to that person alone,
saying why. Slack wants its answer in 3 seconds: the take is a read and one conditional write,
what Slack is told goes through the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from chalicelib.cli_text import stamp
from chalicelib.errors import Conflict, MalformedRequest, NotFound, PayloadTooLarge
from chalicelib.models import DEFAULT_TAKE_MINUTES, MentionRecord
from chalicelib.observability import logger
from chalicelib.platforms.slack import TAKE, ButtonPress, button_press, verify
from chalicelib.services.alerts import refused_message, taken_message, tell_channel
from chalicelib.services.cases import CaseService
from chalicelib.settings import TEAMS, Settings
from chalicelib.stores.mentions import case_of


def press_button(
    body: bytes, headers: Mapping[str, str], cases: CaseService, now: datetime
) -> dict[str, str]:
    """Do what a button pressed on an alert asks, once its request is verified (signature and
    timestamp over the raw body); what was done (`taken`) or why not (`refused`)."""
    settings = cases.settings
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}")
    verify(body, headers, settings, now.timestamp())
    press = button_press(body)
    if press.action != TAKE:
        raise MalformedRequest(f"Switchboard's alerts have no button {press.action!r}")
    agent = agent_named(press.user, settings)
    if agent is None:
        why = (
            "Switchboard does not know who you are: an admin adds you to AGENT_CHANNELS as"
            f' {{"<your name>": "{press.user}"}}'
        )
        return _refuse(cases, press, why)
    found = case_of(cases.mentions, press.value)
    settled = _settled(found) if found is not None else None
    if settled is not None:
        return _refuse(cases, press, f"{press.value} {settled}: nothing to take")
    try:
        record = cases.take(press.value, agent, DEFAULT_TAKE_MINUTES)
    except (NotFound, Conflict) as refused:
        return _refuse(cases, press, refused.message)
    logger.info("case taken from an alert", extra={"mention_id": record.id, "by": agent})
    until = record.taken_until or now + timedelta(minutes=DEFAULT_TAKE_MINUTES)
    tell_channel(cases.queues, taken_message(press, agent, until))
    return {"status": "taken", "mention_id": record.id, "by": agent}


def _refuse(cases: CaseService, press: ButtonPress, why: str) -> dict[str, str]:
    """Tell whoever pressed the button, alone, why it was not done."""
    logger.info("button press refused", extra={"mention_id": press.value, "why": why})
    tell_channel(cases.queues, refused_message(press, why))
    return {"status": "refused", "mention_id": press.value, "reason": why}


def _settled(record: MentionRecord) -> str | None:
    """Why nobody need take the case any more (answered, closed, hidden), or None."""
    if record.first_response_at is not None:
        by = f" by {record.first_response_by}" if record.first_response_by else ""
        return f"was answered{by} at {stamp(record.first_response_at)}"
    if record.closed_at is not None:
        return f"was closed by {record.closed_by}: {record.closed_reason}"
    return "was hidden on its platform" if record.hidden_at is not None else None


def agent_named(user: str, settings: Settings) -> str | None:
    """The name a Slack member works under, the one AGENT_CHANNELS gives their member id."""
    names = {
        channel: name
        for name, channel in settings.agent_channels.items()
        if not channel.startswith(TEAMS)
    }
    return names.get(user)
