"""The rules engine: ordered rules, first match wins unless `continue`, every match explained."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from chalicelib.models import MatchedRule, Mention, Priority, Routing
from chalicelib.rules.conditions import Predicate, compile_condition
from chalicelib.rules.schema import Rule, Ruleset

PRIORITY_RANK: dict[Priority, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_HANDLE = re.compile(r"(?<!\w)@(\w+)")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its condition compiled."""

    rule: Rule
    predicate: Predicate


class Engine:
    """A ruleset compiled once, then applied to many mentions."""

    def __init__(
        self, ruleset: Ruleset, version: int = 0, triage: str = "triage", tz: tzinfo = UTC
    ) -> None:
        enabled = [rule for rule in ruleset.root if rule.enabled]
        ordered = sorted(enumerate(enabled), key=lambda pair: (pair[1].order, pair[0]))
        self.rules = [CompiledRule(rule, compile_condition(rule.when)) for _, rule in ordered]
        self.version = version
        self.triage = triage
        self.tz = tz

    def decide(
        self, mention: Mention, signals: dict[str, float], now: datetime | None = None
    ) -> Routing:
        """Route one mention; with no deciding rule it goes to triage."""
        context = mention_context(mention, signals, self.tz, now)
        department: str | None = None
        also: list[str] = []
        tags: list[str] = []
        priority: Priority | None = None
        matched: list[MatchedRule] = []
        for compiled in self.rules:
            why = compiled.predicate.test(context)
            if why is None:
                continue
            rule, action = compiled.rule, compiled.rule.then
            matched.append(MatchedRule(id=rule.id, why=why))
            if department is None and action.department is not None:
                department = action.department
            also.extend(action.also)
            tags.extend(action.tags)
            if action.priority and (
                priority is None or PRIORITY_RANK[action.priority] > PRIORITY_RANK[priority]
            ):
                priority = action.priority
            if not rule.continue_:
                break
        department = department or self.triage
        return Routing(
            department=department,
            also=[d for d in dict.fromkeys(also) if d != department],
            priority=priority or "normal",
            tags=list(dict.fromkeys(tags)),
            ruleset_version=self.version,
            matched_rules=matched,
            signals=signals,
        )


def mention_context(
    mention: Mention, signals: dict[str, float], tz: tzinfo = UTC, now: datetime | None = None
) -> dict[str, Any]:
    """The field values rules see: text case-folded, lists lower-cased, local hour and weekday."""
    moment = (mention.created_at or now or datetime.now(UTC)).astimezone(tz)
    author = mention.author
    context: dict[str, Any] = {
        "text": mention.text.casefold(),
        "platform": mention.platform,
        "kind": mention.kind,
        "lang": mention.lang,
        "public": mention.public,
        "author.id": author.id,
        "author.handle": (author.handle or "").casefold(),
        "author.name": (author.name or "").casefold(),
        "author.followers": author.followers,
        "author.verified": author.verified,
        "hashtags": [tag.casefold().lstrip("#") for tag in mention.hashtags]
        or [tag.casefold() for tag in _HASHTAG.findall(mention.text)],
        "mentions": [handle.casefold().lstrip("@") for handle in mention.mentions]
        or [handle.casefold() for handle in _HANDLE.findall(mention.text)],
        "urls": [url.casefold() for url in mention.urls],
        "rating": mention.rating,
        "hour": moment.hour,
        "weekday": WEEKDAYS[moment.weekday()],
    }
    context.update({f"signals.{name}": value for name, value in signals.items()})
    return context
