"""Hiding a comment on its platform: abuse, spam and scams under the brand's posts taken out of
public view, by a person (`POST /mentions/{id}/hide`, answered once the platform did it) or by a
rule (`then: {hide: true}`, through the outbox, retried until the platform does it). Hidden, a
case leaves the SLA clock as when the Page's moderators hide it (`CaseNews.hidden`); hiding is
idempotent on every platform, so a retry never does harm."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.errors import (
    Conflict,
    MalformedRequest,
    NotFound,
    PlatformUnavailable,
    PoisonRecord,
    SwitchboardError,
)
from chalicelib.models import (
    FindRequest,
    FoundMention,
    HideMatchingRequest,
    HideMatchingResult,
    Mention,
    MentionRecord,
    NotHidden,
)
from chalicelib.observability import logger
from chalicelib.platforms import meta, x, youtube
from chalicelib.services.alerts import refresh_alerts
from chalicelib.services.case_news import CaseNews
from chalicelib.services.retries import repeatable_call
from chalicelib.services.search import find
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore, case_of
from chalicelib.stores.queues import OutgoingMessage, Queues
from chalicelib.stores.traffic import TrafficStore

MAX_CANDIDATES = 200
"""The newest matches one hide-matching call looks through (call again for older ones)."""
HIDERS: dict[str, Callable[[Mention, bool, Settings], None]] = {
    "facebook": meta.hide_comment,
    "instagram": meta.hide_comment,
    "x": x.hide_reply,
    "youtube": youtube.hide_comment,
}


def unhideable(mention: Mention) -> str | None:
    """Why the platform does not let the brand hide `mention`, or None when it does: comments on
    the brand's Facebook Page, Instagram media and YouTube channel, and replies to the brand on
    X (X hides replies in conversations the brand started)."""
    if mention.platform not in HIDERS:
        return f"{mention.platform} has no way for the brand to hide a post"
    if mention.kind == "dm":
        return "a direct message is seen by the brand alone: there is nothing to hide"
    if mention.platform == "x":
        return None if mention.kind == "reply" else "X hides replies to the brand only"
    if mention.platform == "instagram" and mention.kind == "mention":
        return "an Instagram @mention is on someone else's media: only they can hide it"
    if mention.kind not in ("comment", "reply"):
        return f"{mention.platform} lets the brand hide comments only, not a {mention.kind}"
    return None


def hide_message(mention_id: str, rule: str) -> OutgoingMessage:
    """The outbox message asking the outbox worker to hide a mention a rule wants hidden."""
    body = {"hide": {"mention_id": mention_id, "rule": rule}}
    return OutgoingMessage(json.dumps(body))


def is_hide_message(body: str) -> bool:
    """Whether an outbox message asks for a hide (else it is a reply's)."""
    return body.startswith('{"hide":')


@dataclass
class Moderation:
    """Hides comments on their platforms and records it on their cases."""

    mentions: MentionStore
    queues: Queues
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    news: CaseNews = field(init=False)

    def __post_init__(self) -> None:
        self.news = CaseNews(self.queues, self.mentions, self.settings)

    def hide(self, mention_id: str, hidden: bool, by: str, why: str | None) -> MentionRecord:
        """A person hides a mention on its platform (or shows it again: `hidden` False), now:
        MalformedRequest for one its platform cannot hide, Conflict for one deleted or erased,
        PlatformUnavailable (with the platform's word) when the platform did not do it."""
        from chalicelib.platforms.outbound import PlatformError, PlatformUnauthorized

        record = case_of(self.mentions, mention_id)
        if record is None:
            raise NotFound(f"no routed mention {mention_id!r}")
        if record.gone is not None:
            raise Conflict(f"{record.id} {record.gone}; there is nothing to hide")
        mention = record.message.mention
        why_not = unhideable(mention)
        if why_not is not None:
            raise MalformedRequest(f"{record.id} cannot be hidden: {why_not}")
        try:
            HIDERS[mention.platform](mention, hidden, self.settings)
        except PlatformUnauthorized as exc:
            raise PlatformUnavailable(
                f"{mention.platform} refused Switchboard's credentials ({exc}): store working"
                " ones in the platform secret"
            ) from exc
        except PlatformError as exc:
            done = "hide it" if hidden else "show it again"
            raise PlatformUnavailable(f"{mention.platform} did not {done}: {exc}") from exc
        self._record(record.id, hidden, by, why)
        return self.mentions.get(record.id) or record

    def hide_matching(
        self,
        traffic: TrafficStore,
        ask: HideMatchingRequest,
        by: str,
        time_left: TimeLeft | None = None,
    ) -> HideMatchingResult:
        """Hide (with `dry_run`, only list) up to `ask.limit` of the comments of the last
        `ask.days` days that `ask.when` matches, newest first: a spam raid or a scam wave the
        rules did not stop in time. Those hidden already, deleted, or on a platform that hides
        nothing are left (counted); one the platform does not hide is listed with its words;
        as many as `time_left` allows (the rest are `more`)."""
        search = FindRequest(when=ask.when, days=ask.days, limit=MAX_CANDIDATES)
        found = find(traffic, self.mentions, self.settings, search, self.clock(), time_left)
        hideable = [
            each
            for each in found.mentions
            if each.department is not None
            and not each.hidden
            and each.state != "deleted"
            and unhideable(each.mention) is None
        ]
        chosen, failed = hideable[: ask.limit], []
        if not ask.dry_run:
            done: list[FoundMention] = []
            for each in chosen:
                if short_of_time(time_left, self.settings.platform_call_reserve):
                    break
                try:
                    self.hide(each.mention.id, True, by, ask.reason)
                except SwitchboardError as exc:
                    failed.append(NotHidden(mention=each.mention, why=exc.message))
                    continue
                done.append(each.model_copy(update={"hidden": True}))
            more = len(done) + len(failed) < len(hideable)
            chosen = done
        else:
            more = len(hideable) > len(chosen)
        return HideMatchingResult(
            days=ask.days,
            dry_run=ask.dry_run,
            reason=ask.reason,
            matched=found.matched,
            hidden=chosen,
            failed=failed,
            left=len(found.mentions) - len(hideable),
            more=more,
            all_read=found.all_read and found.matched == len(found.mentions),
        )

    def perform(self, body: str) -> None:
        """The outbox worker hides what a rule wants hidden (`hide_message`): retried while the
        platform cannot (rate limits, no answer, refused credentials), dead-lettered with the
        platform's reason when it will not; nothing to do for a mention deleted, or hidden
        already."""
        try:
            asked = json.loads(body)["hide"]
            mention_id, rule = str(asked["mention_id"]), str(asked["rule"])
        except (ValueError, KeyError, TypeError):
            raise PoisonRecord(f"not a hide message: {body[:200]}") from None
        record = self.mentions.get(mention_id)
        if record is not None and (record.gone is not None or record.hidden_at is not None):
            return
        # Queued just before its record is stored: its id says all the platform needs to know
        platform = mention_id.partition(":")[0]
        if platform not in HIDERS:
            raise PoisonRecord(f"{mention_id}: {platform} has no way for the brand to hide a post")
        mention = (
            record.message.mention
            if record is not None
            else Mention(id=mention_id, platform=platform, text="")
        )
        repeatable_call(
            f"hiding {mention_id} for rule {rule!r}",
            lambda: HIDERS[platform](mention, True, self.settings),
        )
        self._record(mention_id, True, f"rule:{rule}", None)

    def _record(self, mention_id: str, hidden: bool, by: str, why: str | None) -> None:
        """The case as the platform now shows it (copies to its departments, off or back on
        the clock; held until it is stored; its alerts saying so), who did it and why."""
        self.news.hidden(mention_id, hidden, self.clock(), by if hidden else None, why)
        refresh_alerts(self.mentions, self.queues, self.settings, mention_id)
        logger.info(
            "hidden on the platform" if hidden else "shown again on the platform",
            extra={"mention_id": mention_id, "by": by},
        )
