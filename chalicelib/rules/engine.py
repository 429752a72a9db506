"""The rules engine: ordered rules, first match wins unless `continue`, every match explained.

Compiled (the default), all keyword conditions of all rules are found in one pass over the text
(`KeywordIndex`) and only the rules whose required keywords occur (plus the few that need none)
are evaluated, and of those only what is left once a keyword is known to occur
(`Predicate.rest`), so the cost per mention barely grows with the number of rules.
`compiled=False` is the plain interpreter, kept as the reference the compiled engine is tested
against.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from chalicelib.models import Conversation, History, MatchedRule, Mention, Priority, Routing
from chalicelib.rules.conditions import HITS, SIGNAL_PREFIX, Context, gc_paused
from chalicelib.rules.keywords import KeywordIndex, normalise_text
from chalicelib.rules.schema import Rule, Ruleset

PRIORITY_RANK: dict[Priority, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_HANDLE = re.compile(r"(?<!\w)@(\w+)")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FOLDED = "_folded_text"
"""Context key of the mention text case-folded (the compiled engine finds single words in it
without collapsing its whitespace first)."""


@dataclass(slots=True)
class Decision:
    """What the rules decided for one mention (the engine's plain-data answer)."""

    department: str
    also: list[str]
    priority: Priority
    tags: list[str]
    ruleset_version: int
    matched_rules: list[tuple[str, str]]  # (rule id, why)
    signals: dict[str, float]
    decided_by: str | None = None  # the rule that chose the department (None: triage)
    conversation: Conversation | None = None  # the routed mention this one continues
    confidence: float | None = None  # the department model's probability, when it was asked
    history: History | None = None  # the author's earlier cases
    hide: str | None = None  # the first matching rule that hides the comment on the platform

    def routing(self, lang: str | None) -> Routing:
        """The decision as the `routing` block of a department message; its signals block also
        names the mention's language (`lang`)."""
        return Routing(
            department=self.department,
            also=self.also,
            priority=self.priority,
            tags=self.tags,
            ruleset_version=self.ruleset_version,
            matched_rules=[MatchedRule(id=rule, why=why) for rule, why in self.matched_rules],
            signals={**self.signals, "lang": lang},
            conversation=self.conversation,
            history=self.history,
            confidence=self.confidence,
            decided_by=self.decided_by,
            hide=self.hide,
        )


@dataclass(frozen=True, slots=True)
class _Step:
    """A rule flattened for the hot loop."""

    rule_id: str
    check: Callable[[Context], bool] | None  # None: the rule holds once it is a candidate
    why: Callable[[Context], str]
    department: str | None
    also: list[str]
    tags: list[str]
    priority: Priority | None
    stops: bool
    hides: bool


class Engine:
    """A ruleset compiled once, then applied to many mentions."""

    def __init__(
        self,
        ruleset: Ruleset,
        version: int = 0,
        triage: str = "triage",
        tz: tzinfo = UTC,
        compiled: bool = True,
    ) -> None:
        self.version = version
        self.triage = triage
        self.tz = tz
        with gc_paused():
            enabled = [rule for rule in ruleset.root if rule.enabled]
            self.rules: list[Rule] = sorted(enabled, key=lambda rule: rule.order)  # stable
            self._steps = [_step(rule, compiled) for rule in self.rules]
            self._index: KeywordIndex | None = None
            self._always: list[int] = []
            self._by_term: dict[str, tuple[int, ...]] = {}
            if compiled:
                terms: set[str] = set()
                by_term: dict[str, list[int]] = {}
                for position, rule in enumerate(self.rules):
                    predicate = rule.predicate
                    if predicate.required is None:
                        self._always.append(position)
                    for key in predicate.required or ():
                        by_term.setdefault(key, []).append(position)
                    terms.update(predicate.terms)
                # Tuples, built together: one pointer less to follow per candidate than lists.
                self._by_term = {key: tuple(by_term.get(key, ())) for key in terms}
                self._index = KeywordIndex(terms)

    def candidates(self, context: MentionContext) -> list[int]:
        """Positions of the rules that can match, in order (all of them for the interpreter); a
        rule reached through several of its keywords is listed once per keyword."""
        if self._index is None:
            return list(range(len(self._steps)))
        index = self._index
        hits: AbstractSet[str] = index.words_in(context[FOLDED])
        if index.has_phrases:
            hits = hits | index.phrases_in(context["text"])
        context[HITS] = hits
        by_term = self._by_term
        positions = self._always.copy()
        for key in hits:
            positions += by_term[key]
        positions.sort()  # sorting repeats beats a set union
        return positions

    def decide(
        self,
        mention: Mention,
        signals: dict[str, float],
        now: datetime | None = None,
        conversation: Conversation | None = None,
        history: History | None = None,
    ) -> Decision:
        """Route one mention; with no deciding rule it goes to triage."""
        context = MentionContext(mention, signals, self.tz, now, conversation, history)
        department: str | None = None
        also: list[str] = []
        tags: list[str] = []
        priority: Priority | None = None
        matched: list[tuple[str, str]] = []
        decided_by: str | None = None
        hide: str | None = None
        steps = self._steps
        previous = -1
        for position in self.candidates(context):
            if position == previous:
                continue
            previous = position
            step = steps[position]
            if step.check is not None and not step.check(context):
                continue
            matched.append((step.rule_id, step.why(context)))
            if department is None and step.department is not None:
                department, decided_by = step.department, step.rule_id
            also.extend(step.also)
            tags.extend(step.tags)
            if step.priority and (
                priority is None or PRIORITY_RANK[step.priority] > PRIORITY_RANK[priority]
            ):
                priority = step.priority
            if step.hides and hide is None:
                hide = step.rule_id
            if step.stops:
                break
        department = department or self.triage
        return Decision(
            department,
            [d for d in dict.fromkeys(also) if d != department] if also else also,
            priority or "normal",
            list(dict.fromkeys(tags)) if tags else tags,
            self.version,
            matched,
            signals,
            decided_by,
            conversation,
            history=history,
            hide=hide,
        )


def _step(rule: Rule, compiled: bool) -> _Step:
    action = rule.then
    predicate = rule.predicate
    # A candidate of the compiled engine already has one of its required keywords.
    check = predicate.rest if compiled and predicate.required is not None else predicate.holds
    return _Step(
        rule.id,
        check,
        predicate.why,
        action.department,
        action.also,
        action.tags,
        action.priority,
        not rule.continue_,
        action.hide,
    )


class MentionContext(dict[str, Any]):
    """The field values rules see, computed on first use: text normalised, lists lower-cased,
    local hour, weekday and date; a field with no value (an absent signal) reads as None."""

    __slots__ = ("conversation", "history", "mention", "now", "signals", "tz")

    def __init__(
        self,
        mention: Mention,
        signals: dict[str, float],
        tz: tzinfo = UTC,
        now: datetime | None = None,
        conversation: Conversation | None = None,
        history: History | None = None,
    ) -> None:
        self.mention = mention
        self.signals = signals
        self.tz = tz
        self.now = now
        self.conversation = conversation
        self.history = history

    def __missing__(self, key: str) -> Any:
        compute = _FIELDS.get(key)
        if compute is not None:
            value = compute(self)
        elif key.startswith(SIGNAL_PREFIX):
            value = self.signals.get(key[len(SIGNAL_PREFIX) :])
        else:
            value = None
        self[key] = value
        return value

    def moment(self) -> datetime:
        """When the mention was made, in the business time zone."""
        return (self.mention.created_at or self.now or datetime.now(UTC)).astimezone(self.tz)


_FIELDS: dict[str, Callable[[MentionContext], Any]] = {
    FOLDED: lambda c: c.mention.text.casefold(),
    "text": lambda c: " ".join(c[FOLDED].split()),  # normalise_text, folding once
    "platform": lambda c: c.mention.platform,
    "kind": lambda c: c.mention.kind,
    "lang": lambda c: c.mention.lang,
    "signals.lang": lambda c: c.mention.lang,
    "public": lambda c: c.mention.public,
    "author.id": lambda c: c.mention.author.id,
    "author.handle": lambda c: normalise_text(c.mention.author.handle or ""),
    "author.name": lambda c: normalise_text(c.mention.author.name or ""),
    "author.followers": lambda c: c.mention.author.followers,
    "author.verified": lambda c: c.mention.author.verified,
    "author.labels": lambda c: c.mention.author.labels,
    "hashtags": lambda c: (
        [t.casefold().lstrip("#") for t in c.mention.hashtags]
        or [t.casefold() for t in _HASHTAG.findall(c.mention.text)]
    ),
    "mentions": lambda c: (
        [h.casefold().lstrip("@") for h in c.mention.mentions]
        or [h.casefold() for h in _HANDLE.findall(c.mention.text)]
    ),
    "urls": lambda c: [url.casefold() for url in c.mention.urls],
    "rating": lambda c: c.mention.rating,
    "engagement": lambda c: c.mention.engagement,
    "standby": lambda c: c.mention.standby,
    "conversation.department": lambda c: c.conversation and c.conversation.department,
    "replied_post.id": lambda c: c.mention.replied_post and c.mention.replied_post.id,
    "replied_post.text": lambda c: normalise_text(
        c.mention.replied_post.text if c.mention.replied_post else ""
    ),
    "history.cases": lambda c: len(c.history.cases) if c.history else 0,
    "history.waiting": lambda c: c.history.waiting if c.history else 0,
    "hour": lambda c: c.moment().hour,
    "weekday": lambda c: WEEKDAYS[c.moment().weekday()],
    "date": lambda c: c.moment().date().isoformat(),
}
