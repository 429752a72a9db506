"""The rule format (DESIGN.md §4) as pydantic models: one source of truth for every path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chalicelib.errors import did_you_mean, explain, problems
from chalicelib.models import (
    HISTORY_LIMIT,
    Conversation,
    EarlierCase,
    History,
    Mention,
    Priority,
)
from chalicelib.rules.conditions import (
    ConditionError,
    Predicate,
    compile_condition,
    condition_schemas,
    gc_paused,
)

IGNORE = "ignore"
PUBLISHED = "published"
"""Validation context key: the rules were published before (see `validate_ruleset`)."""


class Action(BaseModel):
    """What a matching rule does."""

    model_config = ConfigDict(extra="forbid")

    route_to: str | None = None
    also: list[str] = Field(default_factory=list)
    priority: Priority | None = None
    tags: list[str] = Field(default_factory=list)
    skip: bool = Field(default=False, description="decide 'ignore': no department queue")
    hide: bool = Field(
        default=False,
        description="hide the comment on the platform (Facebook, Instagram and YouTube comments,"
        " replies to the brand on X): out of public view, off the SLA clock",
    )

    @property
    def department(self) -> str | None:
        """The department this action decides, if any."""
        return IGNORE if self.skip else self.route_to


MAX_EXAMPLES = 50
"""The most examples a rule has (each is classified when its ruleset is checked)."""


@dataclass(frozen=True)
class Example:
    """A rule's example as routing would see it: the mention, the department of the mention it
    continues (`conversation`), the author's earlier cases (`history`), and whether the rule
    must match it."""

    matches: bool
    mention: Mention
    conversation: Conversation | None = None
    history: History | None = None


EXAMPLE_CONTEXT = ("matches", "conversation", "history")
"""What an example may say besides a mention's fields."""
EARLIER = datetime(2026, 1, 1, tzinfo=UTC)
"""When an example's earlier cases were routed (no rule reads it)."""


def read_example(example: str | dict[str, Any]) -> Example:
    """A rule's example (a text alone, or a normalised mention's fields: on x unless it says;
    `matches`, true unless it says; `conversation`, the department of what it continues;
    `history`, `{cases, waiting}`: how many earlier cases its author opened, and how many of
    them wait); ValueError for what is no example."""
    fields = {"text": example} if isinstance(example, str) else dict(example)
    said = {name: fields.pop(name) for name in EXAMPLE_CONTEXT if name in fields}
    matches = said.get("matches", True)
    if not isinstance(matches, bool):
        raise ValueError("matches is true or false")
    unknown = sorted(set(fields) - set(Mention.model_fields))
    if unknown:
        raise ValueError(
            f"no field {', '.join(unknown)} (a mention's fields, matches, conversation, history)"
        )
    try:
        platform = fields.setdefault("platform", "x")
        mention = Mention.model_validate({"id": f"{platform}:example", **fields})
    except ValidationError as exc:
        raise ValueError(problems(exc)) from None
    continues = said.get("conversation")
    if continues is not None and not isinstance(continues, str):
        raise ValueError("conversation is the department of the mention it continues")
    conversation = (
        Conversation(mention_id=f"{platform}:earlier", department=continues) if continues else None
    )
    return Example(matches, mention, conversation, _history(said.get("history")))


def _history(earlier: Any) -> History | None:
    """An example's `history` (`{cases: 3, waiting: 1}`) as routing gives it to rules."""
    if earlier is None:
        return None
    counts = earlier if isinstance(earlier, dict) else {"": earlier}
    cases, waiting = counts.get("cases", 0), counts.get("waiting", 0)
    numbers = all(isinstance(n, int) and not isinstance(n, bool) for n in (cases, waiting))
    if set(counts) - {"cases", "waiting"} or not numbers or not 0 <= waiting <= cases:
        raise ValueError("history is {cases: N, waiting: M}, M of the N earlier cases waiting")
    if cases > HISTORY_LIMIT:
        raise ValueError(f"history counts at most {HISTORY_LIMIT} earlier cases")
    listed = [
        EarlierCase(
            id=f"x:earlier{n}",
            department="support",
            routed_at=EARLIER,
            state="waiting" if n < waiting else "answered",
        )
        for n in range(cases)
    ]
    return History(days=30, cases=listed)


class Rule(BaseModel):
    """One routing rule."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    name: str = ""
    order: int = 100
    enabled: bool = True
    when: dict[str, Any]
    then: Action
    continue_: bool = Field(default=False, alias="continue")
    examples: list[str | dict[str, Any]] = Field(
        default_factory=list,
        max_length=MAX_EXAMPLES,
        description="mentions the rule must match (a text, or a mention's fields, with what"
        " it continues, `conversation`, and its author's earlier cases, `history`), or with"
        " `matches: false` must not: checked before the ruleset is published",
    )
    _predicate: Predicate | None = PrivateAttr(default=None)

    @field_validator("examples")
    @classmethod
    def _readable(cls, examples: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for number, example in enumerate(examples, 1):
            try:
                read_example(example)
            except ValueError as exc:
                raise ValueError(f"example #{number}: {exc}") from None
        return examples

    @model_validator(mode="after")
    def _compile(self, info: ValidationInfo) -> Rule:
        published = bool(info.context and info.context.get(PUBLISHED))
        try:
            self._predicate = compile_condition(self.when, any_signal=published)
        except ConditionError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def predicate(self) -> Predicate:
        """The compiled condition (compiled once, when the rule was validated)."""
        # Read the private slot directly: pydantic's attribute hook costs ~10 µs a call, and a
        # 10,000-rule engine reads this once per rule.
        predicate: Predicate | None = (self.__pydantic_private__ or {}).get("_predicate")
        if predicate is None:
            predicate = self._predicate = compile_condition(self.when, any_signal=True)
        return predicate


class Ruleset(RootModel[list[Rule]]):
    """An ordered list of rules; ids are unique."""

    @field_validator("root")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules

    def dump(self) -> list[dict[str, Any]]:
        """Plain data in the rule format (aliases, no defaults), for files and storage."""
        return [
            rule.model_dump(by_alias=True, exclude_defaults=True, mode="json") for rule in self.root
        ]


class RulesetInvalid(ValueError):
    """A ruleset failed validation; `problems` say which rule, which field and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_ruleset(data: Any, departments: list[str] | None, published: bool = False) -> Ruleset:
    """Validate rule data against the format and the configured departments (None: not known
    here, so not checked: the API a file is sent to checks them). `published`: a
    ruleset published before (to route with, or to go back to), whose `signals.NAME` no signal
    has still compiles, reading nothing, as it did when it was published, and whose departments
    no longer configured are let be (`routable` sends their mentions to triage)."""
    try:
        with gc_paused():
            ruleset = Ruleset.model_validate(data, context={PUBLISHED: published})
    except ValidationError as exc:
        raise RulesetInvalid([_describe(err, data) for err in exc.errors()]) from None
    if departments is None:
        return ruleset
    allowed = {*departments, IGNORE}
    problems = [
        f"rule {rule.id!r}: then: unknown department {target!r}; "
        f"{did_you_mean(target, allowed)}the departments configured are"
        f" {', '.join(sorted(allowed))}"
        for rule in ruleset.root
        for target in [rule.then.department, *rule.then.also]
        if target is not None and target not in allowed and not published
    ]
    if problems:
        raise RulesetInvalid(problems)
    return ruleset


def ruleset_schema() -> dict[str, Any]:
    """The JSON Schema of a ruleset file, its conditions spelled out (`condition_schemas`), for
    an editor to check and complete rules as they are written."""
    schema = Ruleset.model_json_schema(by_alias=True)
    schema["$defs"] |= condition_schemas()
    when = schema["$defs"]["Rule"]["properties"]["when"]
    when.clear()
    when["$ref"] = "#/$defs/Condition"
    return schema


def routable(ruleset: Ruleset, departments: list[str], triage: str) -> Ruleset:
    """The ruleset as it can route with the departments configured now: a rule that routes to
    one there is no longer (DEPARTMENTS changed since it was published, or the built-in
    default names `marketing` where there is none) routes to `triage` instead, tagged
    `meant-for-NAME`, and copies to one are left out; the same ruleset when nothing is gone."""
    allowed = {*departments, IGNORE}
    rules = [_routable(rule, allowed, triage) for rule in ruleset.root]
    if all(new is old for new, old in zip(rules, ruleset.root, strict=True)):
        return ruleset
    return Ruleset(rules)


def _routable(rule: Rule, allowed: set[str], triage: str) -> Rule:
    then = rule.then
    gone = [d for d in [then.route_to, *then.also] if d is not None and d not in allowed]
    if not gone:
        return rule
    action = then.model_copy(
        update={
            "route_to": triage if then.route_to in gone else then.route_to,
            "also": [d for d in then.also if d in allowed],
            "tags": [*then.tags, *(f"meant-for-{d}" for d in gone)],
        }
    )
    return rule.model_copy(update={"then": action})


def _describe(error: Any, data: Any) -> str:
    loc = list(error["loc"])
    where = ""
    if loc and isinstance(loc[0], int):
        index = loc.pop(0)
        rule_id = data[index].get("id") if isinstance(data[index], dict) else None
        where = f"rule {rule_id!r} (#{index + 1})" if rule_id else f"rule #{index + 1}"
    field = ".".join(str(part) for part in loc)
    return ": ".join(part for part in (where, field, explain(error, Rule)) if part)
