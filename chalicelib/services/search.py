"""Searching what people said: the mentions routed in the last days (the traffic the dry runs
replay, kept TRAFFIC_KEEP_DAYS) that a condition in the rules' language matches, counted by
platform and by day, the newest listed with where their case stands. What PR asks in a crisis
("how many mention the recall since this morning, and where?"), what an agent asks before
answering ("has anyone else reported this today?")."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.errors import MalformedRequest
from chalicelib.models import FindRequest, FindResult, FoundMention, MentionRecord
from chalicelib.rules.conditions import ConditionError, compile_condition
from chalicelib.rules.engine import MentionContext
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore, case_state
from chalicelib.stores.traffic import Observed, TrafficStore

MAX_SCANNED = 20_000
"""Mentions one search reads, newest first (some 20 MB of the traffic table)."""
RESERVE_SECONDS = 3.0
"""Matching stops with this much of the API's time left (the records, the answer)."""


def find(
    traffic: TrafficStore,
    mentions: MentionStore,
    settings: Settings,
    ask: FindRequest,
    now: datetime,
    time_left: TimeLeft | None = None,
    most: int = MAX_SCANNED,
) -> FindResult:
    """The mentions of the last `ask.days` days that `ask.when` matches, of the newest `most`
    (MalformedRequest for a condition rules would refuse, saying where; for more days than the
    traffic is kept)."""
    try:
        condition = compile_condition(ask.when)
    except ConditionError as exc:
        raise MalformedRequest(str(exc)) from None
    if ask.days > settings.traffic_keep_days:
        raise MalformedRequest(
            f"mentions are searchable for {settings.traffic_keep_days} days"
            f" (TRAFFIC_KEEP_DAYS), not {ask.days}"
        )
    recent = traffic.recent(most + 1, now, ask.days)
    matched: list[tuple[int, str]] = []
    scanned = 0
    for scanned, seen in enumerate(recent[:most], 1):
        if scanned % 500 == 0 and short_of_time(time_left, RESERVE_SECONDS):
            break
        context = MentionContext(
            seen.mention,
            seen.signals,
            settings.timezone,
            seen.routed_at,
            seen.conversation,
            seen.history,
        )
        why = condition.test(context)
        if why is not None:
            matched.append((scanned - 1, why))
    listed = [(recent[at], why) for at, why in matched[: ask.limit]]
    records = mentions.get_many([seen.mention.id for seen, _ in listed])
    return FindResult(
        days=ask.days,
        scanned=scanned,
        all_read=scanned == len(recent),
        matched=len(matched),
        by_platform=dict(Counter(recent[at].mention.platform for at, _ in matched).most_common()),
        by_day=dict(Counter(recent[at].routed_at.date().isoformat() for at, _ in matched)),
        mentions=[_found(seen, records.get(seen.mention.id), why, now) for seen, why in listed],
    )


def _found(seen: Observed, record: MentionRecord | None, why: str, now: datetime) -> FoundMention:
    """A match as its record has it now (as it was routed, when its record is gone)."""
    if record is None:
        return FoundMention(mention=seen.mention, routed_at=seen.routed_at, why=why)
    ignored = record.status == "ignored"
    return FoundMention(
        mention=record.message.mention,
        routed_at=seen.routed_at,
        why=why,
        department=record.message.routing.department,
        state=None if ignored else case_state(lambda field: getattr(record, field) is not None),
        taken_by=record.taker(now),
        hidden=record.hidden_at is not None,
    )
