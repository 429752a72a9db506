"""Rule conditions: parsed once from the rule format into predicates that explain themselves.

A condition is `{all: [...]}`, `{any: [...]}`, `{not: {...}}` or `{FIELD: {OPERATOR: VALUE, ...}}`
(several fields or operators in one mapping must all hold). A compiled Predicate answers two
questions: `holds(context)` (fast, for every candidate rule) and `why(context)` (the reason in
words, asked only of rules that matched).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import date
from typing import Any

import re2

from chalicelib.errors import did_you_mean
from chalicelib.models import SIGNALS
from chalicelib.rules.keywords import find_term, term_key

# Field kinds decide which operators apply.
TEXT, STRING, LIST, NUMBER, BOOL, DATE = "text", "string", "list", "number", "bool", "date"
FIELDS: dict[str, str] = {
    "text": TEXT,
    "platform": STRING,
    "kind": STRING,
    "lang": STRING,
    "public": BOOL,
    "author.id": STRING,
    "author.handle": TEXT,
    "author.name": TEXT,
    "author.followers": NUMBER,
    "author.verified": BOOL,
    "author.labels": LIST,
    "hashtags": LIST,
    "mentions": LIST,
    "urls": LIST,
    "rating": NUMBER,
    "engagement": NUMBER,
    "standby": BOOL,
    "conversation.department": STRING,
    "replied_post.id": STRING,
    "replied_post.text": TEXT,
    "history.cases": NUMBER,
    "history.waiting": NUMBER,
    "signals.lang": STRING,  # the one signal that is not a number: the mention's `lang`
    "hour": NUMBER,
    "weekday": STRING,
    "date": DATE,  # the local business date, YYYY-MM-DD: a campaign's or an outage's days
}
SIGNAL_PREFIX = "signals."
OPERATORS: dict[str, set[str]] = {
    TEXT: {"contains_any", "contains_all", "matches", "equals", "in"},
    STRING: {"equals", "in", "matches"},
    LIST: {"contains_any", "contains_all", "matches"},
    NUMBER: {"gte", "lte", "equals", "in"},
    BOOL: {"equals"},
    DATE: {"gte", "lte", "equals", "in"},
}
MAX_PATTERN_LENGTH = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # invalid patterns are reported to the admin, not to stderr

Context = Mapping[str, Any]
"""Field values of one mention (text fields normalised, list fields lower-cased); a missing
value reads as None."""
HITS = "_keyword_hits"
"""Context key of the compiled engine's keyword scan (the keys of the terms in the text), None
without it."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while compiling thousands of small objects.

    Compiling a large ruleset allocates closures by the ten thousand; each full collection
    would walk all of them again, which makes compilation quadratic. Nothing compiled here
    forms garbage cycles, so pausing is safe.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ConditionError(ValueError):
    """A condition that cannot be compiled; `path` says where (e.g. when.all[0].text.gte)."""

    def __init__(self, reason: str, *segments: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments = list(segments)

    def inside(self, segment: str) -> ConditionError:
        """The same error, one level further out (paths are built only on failure)."""
        self.segments.insert(0, segment)
        return self

    def __str__(self) -> str:
        return f"{''.join(self.segments)}: {self.reason}"


_HOLDS: Any = object()
"""Default of `Predicate.rest`: all of the condition is left to check."""


class Predicate:
    """A compiled condition.

    `required`: text keywords (term keys) of which at least one must occur for the condition to
    hold, or None when it can hold without any; `rest`: what is left to check once one of
    `required` is known to occur (None: nothing, the condition holds); `terms`: every text
    keyword inside it.
    """

    __slots__ = ("describe", "holds", "required", "rest", "terms", "why")

    def __init__(
        self,
        holds: Callable[[Context], bool],
        why: Callable[[Context], str],
        describe: Callable[[], str],
        required: frozenset[str] | None = None,
        terms: frozenset[str] = frozenset(),
        rest: Callable[[Context], bool] | None = _HOLDS,
    ) -> None:
        self.holds = holds
        self.why = why
        self.describe = describe
        self.required = required
        self.terms = terms
        self.rest = holds if rest is _HOLDS else rest

    def test(self, context: Context) -> str | None:
        """The reason the condition holds, or None."""
        return self.why(context) if self.holds(context) else None


def condition_schemas() -> dict[str, Any]:
    """JSON Schema definitions of a condition (`Condition`: `all`, `any`, `not` or fields,
    each with the operators of its kind), for editors to check and complete rules as they are
    written; refer to them as `#/$defs/Condition`."""
    values = {NUMBER: {"type": "number"}, BOOL: {"type": "boolean"}}
    date = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

    def operator(kind: str, op: str) -> dict[str, Any]:
        value = date if kind == DATE else values.get(kind, {"type": "string"})
        if op in ("contains_any", "contains_all"):
            return {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
        if op == "matches":
            return {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_LENGTH}
        return {"type": "array", "minItems": 1, "items": value} if op == "in" else value

    def tests(kind: str) -> dict[str, Any]:
        ops = {op: operator(kind, op) for op in sorted(OPERATORS[kind])}
        return {"type": "object", "minProperties": 1, "additionalProperties": False,
                "properties": ops}  # fmt: skip

    listed = {**FIELDS, **{SIGNAL_PREFIX + name: NUMBER for name in SIGNALS}}
    several = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Condition"}}
    condition = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "all": several,
            "any": several,
            "not": {"$ref": "#/$defs/Condition"},
            **{field: {"$ref": f"#/$defs/{kind.title()}Tests"} for field, kind in listed.items()},
        },
    }
    kinds = sorted(set(FIELDS.values()))
    return {"Condition": condition, **{f"{kind.title()}Tests": tests(kind) for kind in kinds}}


def compile_condition(spec: Any, root: str = "when", any_signal: bool = False) -> Predicate:
    """Compile a condition, raising ConditionError that names the path of the fault.
    `any_signal`: a `signals.NAME` no signal has compiles too, reading nothing (a ruleset
    published before its name was refused still routes as it did)."""
    try:
        return _compile(spec, any_signal)
    except ConditionError as exc:
        raise exc.inside(root) from None


def _compile(spec: Any, any_signal: bool) -> Predicate:
    if not isinstance(spec, dict) or not spec:
        raise ConditionError("a condition must be a non-empty mapping")
    parts = []
    for key, value in spec.items():
        try:
            parts.append(_compile_entry(key, value, any_signal))
        except ConditionError as exc:
            raise exc.inside(f".{key}") from None
    return parts[0] if len(parts) == 1 else _all_of(parts)


def field_kind(name: str, any_signal: bool = False) -> str | None:
    """The kind of a rule field, or None when there is no such field (`any_signal`: every
    `signals.NAME` is a number, whether a signal has that name or not)."""
    if name in FIELDS:
        return FIELDS[name]
    signal = name.removeprefix(SIGNAL_PREFIX)
    if signal != name and (signal in SIGNALS or (any_signal and signal)):
        return NUMBER
    return None


def _compile_entry(key: str, value: Any, any_signal: bool) -> Predicate:
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError("must be a non-empty list of conditions")
        children = []
        for i, item in enumerate(value):
            try:
                children.append(_compile(item, any_signal))
            except ConditionError as exc:
                raise exc.inside(f"[{i}]") from None
        return _all_of(children) if key == "all" else _any_of(children)
    if key == "not":
        return _not(_compile(value, any_signal))
    kind = field_kind(key, any_signal)
    if kind is None:
        known = [*FIELDS, *(SIGNAL_PREFIX + name for name in SIGNALS)]
        raise ConditionError(
            f"unknown field {key!r}; {did_you_mean(key, known)}fields are"
            f" {', '.join(FIELDS)}, and signals.NAME for {', '.join(SIGNALS)}"
        )
    if not isinstance(value, dict) or not value:
        raise ConditionError("expected a mapping of operator to value")
    tests = []
    for op, arg in value.items():
        try:
            tests.append(_compile_operator(key, kind, op, arg))
        except ConditionError as exc:
            raise exc.inside(f".{op}") from None
    return tests[0] if len(tests) == 1 else _all_of(tests)


def _conjunction(checks: list[Callable[[Context], bool]]) -> Callable[[Context], bool]:
    if len(checks) == 1:
        return checks[0]

    def holds(ctx: Context) -> bool:  # a loop: faster than all() on the hot path
        for check in checks:  # noqa: SIM110
            if not check(ctx):
                return False
        return True

    return holds


def _all_of(children: list[Predicate]) -> Predicate:
    keyed = [child for child in children if child.required is not None]
    # The child with the fewest required keywords decides when the whole can hold; once one of
    # them occurs, what is left is that child's rest and every other child.
    chosen = min(keyed, key=lambda child: len(child.required or ())) if keyed else None
    left = [child.holds for child in children if child is not chosen]
    if chosen is not None and chosen.rest is not None:
        left.append(chosen.rest)
    whys = [child.why for child in children]
    return Predicate(
        _conjunction([child.holds for child in children]),
        lambda ctx: " and ".join([why(ctx) for why in whys]),
        lambda: "(" + " and ".join(child.describe() for child in children) + ")",
        chosen.required if chosen else None,
        frozenset().union(*(child.terms for child in children)),
        _conjunction(left) if left else None,
    )


def _any_of(children: list[Predicate]) -> Predicate:
    checks = [child.holds for child in children]

    def holds(ctx: Context) -> bool:  # a loop: faster than any() on the hot path
        for check in checks:  # noqa: SIM110
            if check(ctx):
                return True
        return False

    def why(ctx: Context) -> str:
        return next(child.why(ctx) for child in children if child.holds(ctx))

    required = None
    if all(child.required is not None for child in children):
        required = frozenset().union(*(child.required or () for child in children))
    return Predicate(
        holds,
        why,
        lambda: "(" + " or ".join(child.describe() for child in children) + ")",
        required,
        frozenset().union(*(child.terms for child in children)),
        # Whichever child's keyword occurs, that child holds when it has nothing left to check.
        None if all(child.rest is None for child in children) else holds,
    )


def _not(child: Predicate) -> Predicate:
    check = child.holds
    return Predicate(
        lambda ctx: not check(ctx),
        lambda ctx: f"not {child.describe()}",
        lambda: f"not {child.describe()}",
        terms=child.terms,
    )


def _compile_operator(field: str, kind: str, op: str, arg: Any) -> Predicate:
    if op not in OPERATORS[kind]:
        allowed = sorted(OPERATORS[kind])
        raise ConditionError(
            f"operator {op!r} does not apply to {field}; {did_you_mean(op, allowed)}"
            f"use {', '.join(allowed)}"
        )
    if op in ("contains_any", "contains_all"):
        terms = _string_list(arg)
        if kind == TEXT:
            return _text_contains(field, terms, every=op == "contains_all")
        return _list_contains(field, terms, every=op == "contains_all")
    if op == "matches":
        return _matches(field, arg)
    if op in ("gte", "lte"):
        if kind == DATE:
            return _compare(field, op, _iso_date(arg))
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise ConditionError("expected a number")
        return _compare(field, op, float(arg))
    if op == "in":
        if not isinstance(arg, list) or not arg:
            raise ConditionError("expected a non-empty list")
        return _member(field, kind, arg)
    return _member(field, kind, [arg])


def _string_list(arg: Any) -> list[str]:
    if (
        not isinstance(arg, list)
        or not arg
        or not all(isinstance(item, str) and item.strip(" *") for item in arg)
    ):
        raise ConditionError("expected a non-empty list of non-empty strings")
    return arg


def _text_contains(field: str, raw_terms: list[str], every: bool) -> Predicate:
    """Keywords in a text field: the compiled engine's scan for `text`, else a search per term."""
    keys = list(dict.fromkeys(term_key(raw) for raw in raw_terms))
    wanted = frozenset(keys)
    scanned = field == "text"

    def found(ctx: Context) -> AbstractSet[str]:
        scan: AbstractSet[str] | None = ctx[HITS] if scanned else None
        if scan is not None:
            return scan
        text = ctx[field]
        return {key for key in keys if find_term(text, key)}

    quoted = ", ".join(repr(raw) for raw in raw_terms)
    # Only `text` is scanned by the compiled engine, so only there do keywords make candidates.
    required, terms = (wanted, wanted) if scanned else (None, frozenset[str]())
    if every:

        def holds_all(ctx: Context) -> bool:
            return wanted.issubset(found(ctx))

        return Predicate(
            holds_all,
            lambda ctx: f"{field} contains all of {quoted}",
            lambda: f"{field} contains all of [{quoted}]",
            required,
            terms,
            None if scanned and len(wanted) == 1 else holds_all,
        )

    # A whole-word term matches itself, so when it is the only one present it is the reason.
    itself = {key: f"{field} contains {key!r}" for key in keys if not key.endswith("*")}

    def why(ctx: Context) -> str:  # asked only when the condition holds, so a term occurs
        occurring = found(ctx)
        present = [key for key in keys if key in occurring]
        if len(present) == 1 and present[0] in itself:
            return itself[present[0]]
        text = ctx[field]
        hits = (hit for key in present if (hit := find_term(text, key)))
        first = min(hits, key=lambda hit: hit[0])  # the leftmost; on a tie, the first listed
        return f"{field} contains {first[1]!r}"

    def holds_any(ctx: Context) -> bool:
        return not wanted.isdisjoint(found(ctx))

    return Predicate(
        holds_any,
        why,
        lambda: f"{field} contains any of [{quoted}]",
        required,
        terms,
        None if scanned else holds_any,  # a candidate already has one of the keywords
    )


def _list_contains(field: str, terms: list[str], every: bool) -> Predicate:
    wanted = frozenset(term.casefold().lstrip("#@") for term in terms)
    verb = "all of" if every else "any of"

    def present(ctx: Context) -> frozenset[str]:
        return wanted.intersection(ctx[field])

    return Predicate(
        (lambda ctx: present(ctx) == wanted) if every else (lambda ctx: bool(present(ctx))),
        lambda ctx: f"{field} include {', '.join(sorted(present(ctx)))}",
        lambda: f"{field} include {verb} {sorted(wanted)}",
    )


def _matches(field: str, pattern: Any) -> Predicate:
    if not isinstance(pattern, str) or not pattern:
        raise ConditionError("expected a regular expression string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConditionError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc.args[0])
        raise ConditionError(f"invalid RE2 pattern: {reason}") from None

    def first(ctx: Context) -> str | None:
        value = ctx[field]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (match := compiled.search(item)):
                return str(match.group(0))
        return None

    return Predicate(
        lambda ctx: first(ctx) is not None,
        lambda ctx: f"{field} matches /{pattern}/ at {first(ctx)!r}",
        lambda: f"{field} matches /{pattern}/",
    )


def _iso_date(value: Any) -> str:
    """A date as rules write it, YYYY-MM-DD (so that dates compare as strings do)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            if date.fromisoformat(value).isoformat() == value:
                return value
    raise ConditionError(f"{value!r} is not a date written YYYY-MM-DD")


def _compare(field: str, op: str, bound: float | str) -> Predicate:
    symbol = ">=" if op == "gte" else "<="
    if op == "gte":

        def holds(ctx: Context) -> bool:
            value = ctx[field]
            return value is not None and value >= bound
    else:

        def holds(ctx: Context) -> bool:
            value = ctx[field]
            return value is not None and value <= bound

    tail = f" {symbol} {_shown(bound)}"
    return Predicate(
        holds,
        lambda ctx: f"{field} {_shown(ctx[field])}{tail}",
        lambda: f"{field}{tail}",
    )


def _shown(value: float | str) -> str:
    """A field value in a reason: whole numbers in full (12345678, not 1.23457e+07), dates as
    they are."""
    return str(value) if type(value) in (int, str) else f"{value:g}"


def _member(field: str, kind: str, values: list[Any]) -> Predicate:
    expected = {NUMBER: (int, float), BOOL: (bool,)}.get(kind, (str,))
    for value in values:
        if not isinstance(value, expected) or (kind == NUMBER and isinstance(value, bool)):
            raise ConditionError(f"{value!r} is not a valid value for {field}")
    if kind == DATE:
        values = [_iso_date(value) for value in values]
    folded = {v.casefold() if isinstance(v, str) else v for v in values}

    def holds(ctx: Context) -> bool:
        value = ctx[field]
        key = value.casefold() if isinstance(value, str) else value
        return value is not None and key in folded

    shown = f"in {values!r}" if len(values) > 1 else f"is {values[0]!r}"
    return Predicate(holds, lambda ctx: f"{field} is {ctx[field]!r}", lambda: f"{field} {shown}")
