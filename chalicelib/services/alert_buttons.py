"""The buttons on Slack alerts (ALERT_BUTTONS), pressed by someone AGENT_CHANNELS names (by
their Slack member id), do what the CLI would do under that name: "Take it" on a case's alert
takes the case (DEFAULT_TAKE_MINUTES); "Approve" on the alert of a reply waiting for approval
approves it, "Reject…" asks why in a modal, then rejects it. The alert then says what became
of it instead of offering its buttons (as it does however that came about: `refresh_alerts`).
What Switchboard cannot do (someone else has the case, it was answered, closed or hidden
meanwhile, the reply was reviewed already or is the approver's own, the person has no name
here) is told to that person alone, saying why (in the modal, for a rejection). Slack wants
its answer in 3 seconds: each press is a few reads and a conditional write, and what Slack is
told goes through the outbox, except the modal, which Slack lets open only within those
seconds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Conflict, Forbidden, MalformedRequest, NotFound, PayloadTooLarge
from chalicelib.models import DEFAULT_TAKE_MINUTES
from chalicelib.observability import logger
from chalicelib.platforms.slack import (
    REASON,
    ButtonPress,
    ModalSubmission,
    interaction,
    open_modal,
    reason_modal,
    verify,
)
from chalicelib.services.alerts import (
    APPROVE,
    REJECT,
    TAKE,
    refused_message,
    settled,
    tell_channel,
)
from chalicelib.settings import TEAMS, Settings
from chalicelib.stores.mentions import case_of
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore

if TYPE_CHECKING:
    from chalicelib.services.cases import CaseService
    from chalicelib.services.replies import ReplyService

REFUSALS = (NotFound, Conflict, Forbidden)
"""What a service raises for something a person cannot do: told to them, not failed."""


@dataclass
class AlertButtons:
    """What pressing the buttons on Slack alerts does (`answer`)."""

    settings: Settings
    queues: Queues
    cases: Callable[[], CaseService]
    replies: Callable[[], ReplyService]
    drafts: Callable[[], ReplyStore]
    """The replies as stored: a draft read, without the service's checks."""

    def answer(self, body: bytes, headers: Mapping[str, str], now: datetime) -> dict[str, Any]:
        """Do what a press (or a modal sent) asks, once its request is verified (signature and
        timestamp over the raw body): what was done (`status`) or why not (`reason`); for a
        modal, Slack's `response_action` (close it, or show what is wrong in it)."""
        limit = self.settings.max_body_bytes
        if len(body) > limit:
            raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {limit}")
        verify(body, headers, self.settings, now.timestamp())
        done = interaction(body)
        if isinstance(done, ModalSubmission):
            return self._submitted(done)
        if done.action not in (TAKE, APPROVE, REJECT):
            raise MalformedRequest(f"Switchboard's alerts have no button {done.action!r}")
        agent = agent_named(done.user, self.settings)
        if agent is None:
            return self._refuse(done, _stranger(done.user))
        if done.action == TAKE:
            return self._take(done, agent)
        if done.action == APPROVE:
            return self._approve(done, agent)
        return self._ask_why(done)

    def _take(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        """Take the case (its alerts then say who has it: the take changes them)."""
        cases = self.cases()
        found = case_of(cases.mentions, press.value)
        done = settled(found) if found is not None else None
        if done is not None:
            return self._refuse(press, f"{press.value} was {done}: nothing to take")
        try:
            record = cases.take(press.value, agent, DEFAULT_TAKE_MINUTES)
        except REFUSALS as refused:
            return self._refuse(press, refused.message)
        logger.info("case taken from an alert", extra={"mention_id": record.id, "by": agent})
        return {"status": "taken", "mention_id": record.id, "by": agent}

    def _approve(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        try:
            reply = self.replies().approve(press.value, agent)
        except REFUSALS as refused:
            return self._refuse(press, refused.message)
        logger.info("reply approved from an alert", extra={"reply_id": reply.reply_id})
        by = reply.reviewed_by or agent  # someone else, if they approved it first
        return {"status": "approved", "reply_id": reply.reply_id, "by": by}

    def _ask_why(self, press: ButtonPress) -> dict[str, Any]:
        """Open the modal asking why the reply is rejected (unless it waits no more)."""
        from chalicelib.platforms.outbound import PlatformError  # requests: off the webhooks

        reply = self.drafts().get(press.value)
        if reply is None:
            return self._refuse(press, f"no reply {press.value!r}")
        if reply.status != "pending":
            why = f"reply {press.value} is {reply.status}, not waiting for approval"
            return self._refuse(press, why)
        metadata = json.dumps({"reply": press.value})
        label = f"Why must {reply.author}'s reply not be posted? They are told."
        modal = reason_modal(REJECT, "Reject the reply", label, metadata)
        try:
            open_modal(press.trigger_id, modal, self.settings)
        except PlatformError as exc:
            return self._refuse(
                press,
                f"Slack would not open the form ({exc}):"
                f" `switchboard reject {press.value} REASON` does the same",
            )
        return {"status": "asked", "reply_id": press.value}

    def _submitted(self, sent: ModalSubmission) -> dict[str, Any]:
        """A rejection's reason sent: the reply rejected, or what is wrong shown in the modal."""
        if sent.callback != REJECT:
            raise MalformedRequest(f"Switchboard has no form {sent.callback!r}")
        try:
            reply_id = str(json.loads(sent.metadata)["reply"])
        except (ValueError, KeyError, TypeError):
            raise MalformedRequest("the form's private_metadata is not Switchboard's") from None
        agent = agent_named(sent.user, self.settings)
        reason = sent.reason.strip()
        if agent is None:
            return _wrong(_stranger(sent.user))
        if not reason:
            return _wrong("say why: the reply's author is told")
        try:
            reply = self.replies().reject(reply_id, agent, reason[:500])
        except REFUSALS as refused:
            return _wrong(refused.message)
        logger.info("reply rejected from an alert", extra={"reply_id": reply.reply_id})
        return {"response_action": "clear"}

    def _refuse(self, press: ButtonPress, why: str) -> dict[str, Any]:
        """Tell whoever pressed the button, alone, why it was not done."""
        logger.info("button press refused", extra={"value": press.value, "why": why})
        tell_channel(self.queues, refused_message(press.channel, press.user, why))
        return {"status": "refused", "value": press.value, "reason": why}


def agent_named(user: str, settings: Settings) -> str | None:
    """The name a Slack member works under, the one AGENT_CHANNELS gives their member id."""
    names = {
        channel: name
        for name, channel in settings.agent_channels.items()
        if not channel.startswith(TEAMS)
    }
    return names.get(user)


def _stranger(user: str) -> str:
    return (
        "Switchboard does not know who you are: an admin adds you to AGENT_CHANNELS as"
        f' {{"<your name>": "{user}"}}'
    )


def _wrong(why: str) -> dict[str, Any]:
    """The answer that keeps a modal open, saying what is wrong under its field."""
    return {"response_action": "errors", "errors": {REASON: why}}
