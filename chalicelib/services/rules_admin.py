"""Admins own routing: read, edit, publish, roll back and dry-run rulesets.

Every change goes through `validate_ruleset`, so no path can publish an invalid ruleset, and
every change is a new immutable version with its author and comment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.classify import compute_signals, enrich
from chalicelib.errors import Conflict, MalformedRequest, NotFound, SwitchboardError
from chalicelib.evaluation import score
from chalicelib.models import Mention, MentionRecord, Priority
from chalicelib.rules import Ruleset, default_ruleset, routable, validate_ruleset
from chalicelib.rules.engine import Decision
from chalicelib.rules.examples import example_problems, with_examples_held
from chalicelib.services.routing import decide, engine_for
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore, opens_case
from chalicelib.stores.rules import RulesetVersion, RulesStore, VersionConflict
from chalicelib.stores.traffic import Observed, TrafficStore

MAX_DRY_RUN_MENTIONS = 5000


class InvalidRuleset(SwitchboardError):
    """The ruleset failed validation; `problems` list each rule, field and reason."""

    status = 400
    code = "invalid_ruleset"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def to_body(self) -> dict[str, Any]:
        """JSON body with every problem listed."""
        return {**super().to_body(), "problems": self.problems}


@dataclass(frozen=True)
class Verdict:
    """What the people who worked a case say of it: where it belonged (the department that
    has it now, for a case they answered or handed over) and how urgent it was (the priority
    the last of them set, for a case they re-prioritised)."""

    department: str | None
    handed_over: bool
    priority: Priority | None = None

    @classmethod
    def of(cls, record: MentionRecord | None) -> Verdict | None:
        """The verdict on a case (None: nobody answered, moved or re-prioritised it yet, it
        was closed without a reply, ignored, deleted, or it is a follow-up, which goes with its
        case)."""
        if record is None or not opens_case(record) or record.deleted_at is not None:
            return None
        routing = record.message.routing
        moved = bool(routing.transfers)
        department = routing.department if record.first_response_at or moved else None
        changes = routing.priority_changes
        priority = changes[-1].to_priority if changes else None
        if department is None and priority is None:
            return None
        return cls(department, moved, priority)


@dataclass(frozen=True)
class Change:
    """A mention the candidate ruleset routes differently from the live one."""

    mention: Mention
    live: Decision
    candidate: Decision
    people: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API and the CLI."""
        return {
            "id": self.mention.id,
            "text": self.mention.text,
            "live": _side(self.live),
            "candidate": _side(self.candidate),
            "people": self.people.department if self.people else None,
            "people_priority": self.people.priority if self.people else None,
        }


def _side(decision: Decision) -> dict[str, Any]:
    return {
        "department": decision.department,
        "also": decision.also,
        "priority": decision.priority,
        "tags": decision.tags,
        "hide": decision.hide,
        "rule": decision.decided_by,
        "why": next(
            (why for rid, why in decision.matched_rules if rid == decision.decided_by), None
        ),
    }


@dataclass
class DryRunReport:
    """What a candidate ruleset would change over a set of mentions."""

    source: str
    mentions: int
    live_version: int
    live_rules: list[str] = field(default_factory=list)
    candidate_rules: list[str] = field(default_factory=list)
    live_totals: Counter[str] = field(default_factory=Counter)
    candidate_totals: Counter[str] = field(default_factory=Counter)
    live_matches: Counter[str] = field(default_factory=Counter)
    candidate_matches: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)
    verdicts: list[tuple[Verdict, Decision, Decision]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    """The candidate's examples that do not hold: it cannot be published until they do."""

    def add(
        self, mention: Mention, live: Decision, candidate: Decision, people: Verdict | None = None
    ) -> None:
        """Count one mention's two decisions, and list it if they differ; the people's
        verdict on its case, when there is one, scores both."""
        if people is not None:
            self.verdicts.append((people, live, candidate))
        self.live_totals[live.department] += 1
        self.candidate_totals[candidate.department] += 1
        self.live_matches.update(rule for rule, _ in live.matched_rules)
        self.candidate_matches.update(rule for rule, _ in candidate.matched_rules)
        if _outcome(live) != _outcome(candidate):
            self.changes.append(Change(mention, live, candidate, people))

    def to_dict(self, limit: int = 200) -> dict[str, Any]:
        """JSON form; at most `limit` changes are listed (all are counted)."""
        departments = sorted(set(self.live_totals) | set(self.candidate_totals))
        return {
            "source": self.source,
            "mentions": self.mentions,
            "live_version": self.live_version,
            "changed": len(self.changes),
            "totals": {
                d: {"live": self.live_totals[d], "candidate": self.candidate_totals[d]}
                for d in departments
            },
            "rules": [
                {
                    "id": rule,
                    "live": self.live_matches[rule] if rule in self.live_rules else None,
                    "candidate": (
                        self.candidate_matches[rule] if rule in self.candidate_rules else None
                    ),
                }
                for rule in dict.fromkeys([*self.candidate_rules, *self.live_rules])
            ],
            "by_people": self._by_people(),
            "examples": self.examples,
            "changes": [change.to_dict() for change in self.changes[:limit]],
        }

    def _by_people(self) -> dict[str, Any]:
        """How many cases people answered or handed over, and how many of them each ruleset
        sends where they belonged, with its macro F1 over those departments; and how many
        they re-prioritised, and how many of those each ruleset gives the priority they set."""
        placed = [(v.department, live, cand) for v, live, cand in self.verdicts if v.department]
        gold = [department for department, _, _ in placed]
        routed_by = {
            "live": [live.department for _, live, _ in placed],
            "candidate": [candidate.department for _, _, candidate in placed],
        }
        sides: dict[str, Any] = {}
        for side, routed in routed_by.items():
            report = score(gold, routed, sorted(set(gold)))
            right = sum(g == r for g, r in zip(gold, routed, strict=True))
            sides[side] = {"right": right, "macro_f1": round(report.macro_f1, 3)}
        handed = sum(verdict.handed_over for verdict, _, _ in self.verdicts)
        urgent = [(v.priority, live, cand) for v, live, cand in self.verdicts if v.priority]
        priorities = {
            "live": sum(set_to == live.priority for set_to, live, _ in urgent),
            "candidate": sum(set_to == candidate.priority for set_to, _, candidate in urgent),
        }
        return {
            "mentions": len(gold),
            "handed_over": handed,
            **sides,
            "reprioritised": {"mentions": len(urgent), **priorities},
        }


@dataclass
class RulesAdmin:
    """The rules admin service used by the admin API."""

    store: RulesStore
    traffic: TrafficStore
    settings: Settings
    mentions: MentionStore | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def live(self) -> RulesetVersion:
        """The live version (the repository default, as version 0, before any publish)."""
        version = self.store.live_version()
        published = self.store.get(version) if version is not None else None
        if published is None:
            default = default_ruleset(self.settings.departments, self.settings.triage_department)
            return RulesetVersion(
                0, default.dump(), "switchboard", "built-in default", self.clock()
            )
        return published

    def validate(self, rules: Any, examples: bool = True, published: bool = False) -> Ruleset:
        """Validate rule data against the format and the departments, and (`examples`) the
        rules' examples against what they match; `published`: rules published before (as
        `validate_ruleset` has it)."""
        if not isinstance(rules, list):
            raise InvalidRuleset(["rules must be a list of rules"])
        try:
            ruleset = validate_ruleset(rules, self.settings.departments, published)
            return with_examples_held(ruleset, self.settings) if examples else ruleset
        except ValueError as exc:
            raise InvalidRuleset(getattr(exc, "problems", [str(exc)])) from None

    def publish(
        self,
        rules: Any,
        author: str,
        comment: str,
        expected_version: int | None = None,
        action: str = "publish",
        source_version: int | None = None,
    ) -> int:
        """Validate and publish a whole ruleset as a new live version (a rollback's examples
        are not checked again: it goes back to what was live, as it routes now: to triage
        what it sent to a department there is no longer, `routable`)."""
        earlier = action == "rollback"
        ruleset = self.validate(rules, examples=not earlier, published=earlier)
        if earlier:
            ruleset = routable(ruleset, self.settings.departments, self.settings.triage_department)
        try:
            return self.store.publish(
                ruleset.dump(),
                author,
                comment,
                self.clock(),
                expected_live=expected_version,
                action=action,
                source_version=source_version,
            )
        except VersionConflict as exc:
            raise Conflict(str(exc)) from None

    def get_rule(self, rule_id: str) -> dict[str, Any]:
        """One rule of the live ruleset."""
        for rule in self.live().rules:
            if rule.get("id") == rule_id:
                return rule
        raise NotFound(f"no rule {rule_id!r} in the live ruleset")

    def put_rule(self, rule_id: str, rule: Any, author: str, create_only: bool = False) -> int:
        """Add or replace one rule (publishing a new version)."""
        if not isinstance(rule, dict):
            raise MalformedRequest("a rule must be a JSON object")
        rule = {**rule, "id": rule.get("id", rule_id)}
        if rule["id"] != rule_id:
            raise MalformedRequest(f"the body's id {rule['id']!r} differs from {rule_id!r}")
        live = self.live()
        rules = [r for r in live.rules if r.get("id") != rule_id]
        exists = len(rules) != len(live.rules)
        if create_only and exists:
            raise Conflict(f"rule {rule_id!r} exists; PUT /admin/rules/{rule_id} replaces it")
        verb = "replaced" if exists else "added"
        position = next((i for i, r in enumerate(live.rules) if r.get("id") == rule_id), None)
        rules.insert(position if position is not None else len(rules), rule)
        return self.publish(rules, author, f"{verb} rule {rule_id}", live.version or None)

    def delete_rule(self, rule_id: str, author: str) -> int:
        """Remove one rule (publishing a new version)."""
        live = self.live()
        rules = [r for r in live.rules if r.get("id") != rule_id]
        if len(rules) == len(live.rules):
            raise NotFound(f"no rule {rule_id!r} in the live ruleset")
        return self.publish(rules, author, f"deleted rule {rule_id}", live.version or None)

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Version summaries, newest first, with the live one marked."""
        live = self.store.live_version()
        return [
            {**version.summary(), "live": version.version == live}
            for version in self.store.history(limit)
        ]

    def rollback(self, version: int, author: str, comment: str = "") -> int:
        """Publish a copy of an earlier version as the new live version."""
        earlier = self.store.get(version)
        if earlier is None:
            raise NotFound(f"no ruleset version {version}")
        note = f"rollback to v{version}" + (f": {comment}" if comment else "")
        return self.publish(earlier.rules, author, note, action="rollback", source_version=version)

    def dry_run(
        self, candidate: Any, mentions: list[Mention] | None = None, limit: int = 1000
    ) -> DryRunReport:
        """Replay a candidate ruleset against recent traffic (or given mentions) and report
        every mention whose department, copies, priority, tags or hiding would change, how many
        mentions each rule matches under each ruleset and, among the replayed cases people
        answered or handed over (their records say), how many each ruleset sends where the
        people said they belonged; and which of the candidate's examples do not hold (a dry
        run is how one finds out what a change does: it is not refused for them)."""
        limit = max(1, min(limit, MAX_DRY_RUN_MENTIONS))
        candidate_rules = self.validate(candidate, examples=False)
        candidate_engine = engine_for(candidate_rules, -1, self.settings)
        live = self.live()
        live_rules = self.validate(live.rules, examples=False, published=True)
        live_engine = engine_for(live_rules, live.version, self.settings)
        cases: dict[str, MentionRecord] = {}
        if mentions is None:
            observed = self.traffic.recent(limit, self.clock(), self.settings.traffic_keep_days)
            source = f"recent traffic (last {self.settings.traffic_keep_days} days)"
            if self.mentions is not None:
                cases = self.mentions.get_many([item.mention.id for item in observed])
        else:
            observed = [
                Observed(m, compute_signals(m), self.clock()) for m in map(enrich, mentions[:limit])
            ]
            source = "given mentions"
        report = DryRunReport(
            source=source,
            mentions=len(observed),
            live_version=live.version,
            live_rules=[rule.id for rule in live_rules.root if rule.enabled],
            candidate_rules=[rule.id for rule in candidate_rules.root if rule.enabled],
            examples=example_problems(
                candidate_rules, self.settings.triage_department, self.settings.timezone
            ),
        )
        for item in observed:
            replay = (self.settings, item.signals, item.routed_at, item.conversation, item.history)
            report.add(
                item.mention,
                decide(item.mention, live_engine, *replay),
                decide(item.mention, candidate_engine, *replay),
                Verdict.of(cases.get(item.mention.id)),
            )
        return report


def _outcome(
    decision: Decision,
) -> tuple[str, tuple[str, ...], str, tuple[str, ...], str | None]:
    """What a department (and the public) sees of a decision: where, the copies, the priority,
    the tags, and whether a rule hides the comment."""
    return (
        decision.department,
        tuple(sorted(decision.also)),
        decision.priority,
        tuple(sorted(decision.tags)),
        decision.hide,
    )
