"""What the outbox worker does with an alert job (`alerts`): post it to a Slack channel (laid
out as what it is of stands then, and kept when it says so) or a Teams webhook, change one,
refresh the alerts kept of a case or draft (and again when a take they show runs out), or tell
a button's presser alone why it was not done."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TypeVar

from chalicelib.cli_text import stamp
from chalicelib.errors import PoisonRecord, RetryLater
from chalicelib.observability import logger
from chalicelib.platforms.slack import (
    Control,
    alert_blocks,
    post_ephemeral,
    posted,
    update_message,
)
from chalicelib.platforms.teams import post_card
from chalicelib.services.alerts import (
    ALERT,
    CASE,
    DRAFT,
    REFRESH,
    case_status,
    draft_status,
    refresh_job,
    seconds_until,
    settled,
    tell_channel,
)
from chalicelib.services.retries import repeatable_call
from chalicelib.settings import TEAMS, Settings
from chalicelib.stores.mentions import MentionStore, PostedAlert
from chalicelib.stores.queues import SQS_MAX_DELAY_SECONDS, OutgoingMessage, Queues
from chalicelib.stores.replies import OUTBOX, ReplyStore

T = TypeVar("T")
MAX_WAIT_SECONDS = 12 * 3600
"""The longest SQS keeps a received message out of sight (ChangeMessageVisibility)."""


def _due(at: str, key: str) -> datetime:
    """When a refresh job of `key`'s alerts is due (`at`)."""
    try:
        return datetime.fromisoformat(at)
    except (TypeError, ValueError):
        raise PoisonRecord(f"a refresh of {key}'s alerts due at {at!r}, not a time") from None


class Standing(NamedTuple):
    """Where a case or draft stands, as its alerts say it: a status line (None: it waits), the
    buttons, and when that changes by itself (a take runs out; None: only when someone acts)."""

    footnote: str | None
    buttons: tuple[Control, ...]
    changes_at: datetime | None = None


def standing(
    of: str, key: str, settings: Settings, mentions: MentionStore, replies: ReplyStore
) -> Standing | None:
    """Where the case or draft `key` names stands (`case_status`, `draft_status`); None when it
    is not stored (yet: routing stores a case after its alerts are on the outbox), or gone
    (its alerts are forgotten: `forget_alerts`)."""
    if of == DRAFT:
        reply = replies.get(key)
        return Standing(*draft_status(reply, settings)) if reply is not None else None
    record = mentions.get(key)
    if record is None or record.gone is not None:
        return None
    now = datetime.now(UTC)
    running = settled(record) is None and record.taker(now) is not None
    return Standing(*case_status(record, settings, now), record.taken_until if running else None)


def _keep(mentions: MentionStore, key: str, alert: PostedAlert, settings: Settings) -> int:
    """Keep a posted alert of a case or draft; how many are kept of it now (0: this one is
    not); best effort: posted, it must not be posted again."""
    expires = datetime.now(UTC) + timedelta(days=settings.mention_ttl_days)
    try:
        return mentions.add_alert(key, alert, expires)
    except Exception:
        logger.warning("could not keep a posted alert", exc_info=True)
        return 0


@dataclass(frozen=True)
class AlertDesk:
    """What the outbox worker needs to post and change alerts: the settings, the stores a
    case's or draft's standing is read from, the queues a later refresh goes on."""

    settings: Settings
    mentions: MentionStore
    replies: ReplyStore
    queues: Queues

    def refresh(self, of: str, key: str) -> None:
        """Change each alert kept of what `key` names to say where it stands now; and again
        when a take it shows runs out."""
        status = standing(of, key, self.settings, self.mentions, self.replies)
        if status is None:
            return
        kept = self.mentions.alerts_of(key)
        for alert in kept:
            blocks = alert_blocks(alert.text, status.buttons, status.footnote)
            change = partial(update_message, alert.channel, alert.ts, alert.text, blocks)
            try:
                self._slack(alert.channel, change)
            except PoisonRecord as refused:  # deleted in Slack, say: the others change anyway
                logger.warning("an alert could not be changed", extra={"why": str(refused)})
        self.again(status, key, of, [alert.channel for alert in kept])
        logger.info("kept alerts changed", extra={"key": key})

    def again(self, status: Standing, key: str, of: str, channels: list[str]) -> None:
        """When `status` changes by itself (a take runs out), a refresh of the alerts of `key`
        in `channels` then."""
        if status.changes_at is not None and channels:
            tell_channel(self.queues, refresh_job(key, of, channels, status.changes_at))

    def send(self, body: str) -> None:
        """Post an alert the outbox holds (`alert_message`, kept when it says so, as what it
        is of stands then; or change one, `rewritten_alert`, or those kept of a case or draft,
        `refresh_alerts`, with `at` no sooner than then; or answer a button,
        `refused_message`): retried while the channel cannot take it (a rate limit, no answer,
        refused credentials), dead-lettered with the platform's reason when it will not (a
        Slack channel the app is not in, a Teams webhook turned off)."""
        try:
            alert = json.loads(body)[ALERT]
            refresh, of, at = alert.get(REFRESH), str(alert.get("of", CASE)), alert.get("at")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PoisonRecord(f"not an alert: {body[:200]}") from None
        if refresh is not None:
            due = _due(at, str(refresh)) if at is not None else None
            wait = seconds_until(due) if due is not None else 0
            if due is not None and wait > 0:
                return self._put_off(body, str(refresh), due, wait)
            return self.refresh(of, str(refresh))
        try:
            channel = str(alert["channel"])
            teams = channel.startswith(TEAMS)
            card: dict[str, Any] = dict(alert["card"]) if teams else {}
            text = "" if teams else str(alert["text"])
            blocks = list(alert["blocks"]) if "blocks" in alert else None
            ts, user, kept = alert.get("ts"), alert.get("user"), alert.get("kept")
        except (ValueError, KeyError, TypeError):
            raise PoisonRecord(f"not an alert: {body[:200]}") from None
        if teams:
            self._to_teams(channel, card)
        elif ts is not None:
            self._slack(channel, partial(update_message, channel, str(ts), text, blocks or []))
        elif user is not None:
            self._slack(channel, partial(post_ephemeral, channel, str(user), text))
        else:
            self._post(channel, text, blocks, of, None if kept is None else str(kept))
        logger.info("alert posted", extra={"channel": channel})

    def _put_off(self, body: str, key: str, due: datetime, wait: int) -> None:
        """A refresh job received `wait` seconds before it is `due`: sent again, out of sight
        until then, once SQS can delay a message that long (a new message: all the outbox's
        tries are left to it when due), else hidden again until it can (RetryLater)."""
        if wait > SQS_MAX_DELAY_SECONDS:
            why = f"the alerts of {key} change when its take runs out at {stamp(due)}"
            raise RetryLater(why, min(wait - SQS_MAX_DELAY_SECONDS, MAX_WAIT_SECONDS))
        self.queues.send(OUTBOX, OutgoingMessage(body, delay=wait))

    def _post(
        self, channel: str, text: str, blocks: list[Any] | None, of: str, kept: str | None
    ) -> None:
        """Post an alert to a Slack channel; one `kept` under a key laid out as what it is of
        stands, and kept. The first kept of a take that runs out by itself leaves a refresh
        for then (a later one's take has left one, with this alert or before it)."""
        status = standing(of, kept, self.settings, self.mentions, self.replies) if kept else None
        if status is not None and (status.footnote or status.buttons):
            blocks = alert_blocks(text, status.buttons, status.footnote)
        where, ts = self._slack(channel, partial(posted, channel, text, blocks=blocks))
        if kept is not None:
            now_kept = _keep(self.mentions, kept, PostedAlert(where, ts, text), self.settings)
            if status is not None and now_kept == 1:
                self.again(status, kept, of, [channel])

    def _slack(self, channel: str, call: Callable[[Settings], T]) -> T:
        """A Slack call for `channel` (`call` given the settings), its failures read for the
        batch processor."""
        return repeatable_call(f"alert to Slack channel {channel}", partial(call, self.settings))

    def _to_teams(self, channel: str, card: dict[str, Any]) -> None:
        """Post a card to the Teams webhook `channel` names."""
        name = channel.removeprefix(TEAMS)
        url = self.settings.teams_webhooks.get(name)
        if url is None:
            raise PoisonRecord(f"alert to {channel}: TEAMS_WEBHOOKS has no webhook {name!r}")
        repeatable_call(
            f"alert to Teams webhook {name}",
            lambda: post_card(url, card, self.settings),
            " (is the webhook's flow turned on?)",
        )
