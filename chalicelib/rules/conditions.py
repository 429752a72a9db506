"""Rule conditions: parsed once from the rule format into predicates that explain themselves.

A condition is `{all: [...]}`, `{any: [...]}`, `{not: {...}}` or `{FIELD: {OPERATOR: VALUE, ...}}`
(several fields or operators in one mapping must all hold). Each predicate returns the reason it
holds, in words, or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import re2

# Field kinds decide which operators apply.
TEXT, STRING, LIST, NUMBER, BOOL = "text", "string", "list", "number", "bool"
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
    "hashtags": LIST,
    "mentions": LIST,
    "urls": LIST,
    "rating": NUMBER,
    "hour": NUMBER,
    "weekday": STRING,
}
SIGNAL_PREFIX = "signals."
OPERATORS: dict[str, set[str]] = {
    TEXT: {"contains_any", "contains_all", "matches", "equals", "in"},
    STRING: {"equals", "in", "matches"},
    LIST: {"contains_any", "contains_all", "matches"},
    NUMBER: {"gte", "lte", "equals", "in"},
    BOOL: {"equals"},
}
MAX_PATTERN_LENGTH = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # invalid patterns are reported to the admin, not to stderr

Context = Mapping[str, Any]
"""Field values of one mention: text fields case-folded, list fields lower-cased."""


class ConditionError(ValueError):
    """A condition that cannot be compiled; the message starts with where it is."""


@dataclass(frozen=True)
class Predicate:
    """A compiled condition: `test` gives the reason it holds, or None."""

    test: Callable[[Context], str | None]
    describe: str


def compile_condition(spec: Any, path: str = "when") -> Predicate:
    """Compile a condition, raising ConditionError that names the path of the fault."""
    if not isinstance(spec, Mapping) or not spec:
        raise ConditionError(f"{path}: a condition must be a non-empty mapping")
    parts = [_compile_entry(key, value, f"{path}.{key}") for key, value in spec.items()]
    return parts[0] if len(parts) == 1 else _all_of(parts)


def _compile_entry(key: str, value: Any, path: str) -> Predicate:
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{path}: must be a non-empty list of conditions")
        children = [compile_condition(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return _all_of(children) if key == "all" else _any_of(children)
    if key == "not":
        return _not(compile_condition(value, path))
    kind = field_kind(key)
    if kind is None:
        raise ConditionError(
            f"{path}: unknown field {key!r}; fields are {', '.join(FIELDS)} and signals.*"
        )
    if not isinstance(value, Mapping) or not value:
        raise ConditionError(f"{path}: expected a mapping of operator to value")
    tests = [_compile_operator(key, kind, op, arg, f"{path}.{op}") for op, arg in value.items()]
    return tests[0] if len(tests) == 1 else _all_of(tests)


def field_kind(name: str) -> str | None:
    """The kind of a rule field, or None when there is no such field."""
    if name.startswith(SIGNAL_PREFIX) and len(name) > len(SIGNAL_PREFIX):
        return NUMBER
    return FIELDS.get(name)


def _all_of(children: list[Predicate]) -> Predicate:
    def test(ctx: Context) -> str | None:
        reasons = []
        for child in children:
            why = child.test(ctx)
            if why is None:
                return None
            reasons.append(why)
        return " and ".join(reasons)

    return Predicate(test, "(" + " and ".join(c.describe for c in children) + ")")


def _any_of(children: list[Predicate]) -> Predicate:
    def test(ctx: Context) -> str | None:
        for child in children:
            why = child.test(ctx)
            if why is not None:
                return why
        return None

    return Predicate(test, "(" + " or ".join(c.describe for c in children) + ")")


def _not(child: Predicate) -> Predicate:
    def test(ctx: Context) -> str | None:
        return f"not {child.describe}" if child.test(ctx) is None else None

    return Predicate(test, f"not {child.describe}")


def _compile_operator(field: str, kind: str, op: str, arg: Any, path: str) -> Predicate:
    if op not in OPERATORS[kind]:
        allowed = ", ".join(sorted(OPERATORS[kind]))
        raise ConditionError(f"{path}: operator {op!r} does not apply to {field}; use {allowed}")
    if op in ("contains_any", "contains_all"):
        terms = _string_list(arg, path)
        if kind == TEXT:
            return _text_contains(field, terms, every=op == "contains_all")
        return _list_contains(field, terms, every=op == "contains_all")
    if op == "matches":
        return _matches(field, arg, path)
    if op in ("gte", "lte"):
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise ConditionError(f"{path}: expected a number")
        return _compare(field, op, float(arg))
    if op == "in":
        if not isinstance(arg, list) or not arg:
            raise ConditionError(f"{path}: expected a non-empty list")
        return _member(field, kind, arg, path)
    return _member(field, kind, [arg], path)


def _string_list(arg: Any, path: str) -> list[str]:
    if (
        not isinstance(arg, list)
        or not arg
        or not all(isinstance(item, str) and item.strip(" *") for item in arg)
    ):
        raise ConditionError(f"{path}: expected a non-empty list of non-empty strings")
    return arg


def term_pattern(term: str) -> str:
    """Regex for one keyword: whole words, any whitespace between words, `*` suffix = prefix."""
    prefix = term.endswith("*")
    words = term.casefold().rstrip("*").split()
    body = r"\s+".join(re.escape(word) for word in words)
    tail = r"\w*" if prefix else ""
    return rf"(?<!\w){body}{tail}(?!\w)"


def _text_contains(field: str, terms: list[str], every: bool) -> Predicate:
    patterns = [re.compile(term_pattern(term)) for term in terms]
    quoted = ", ".join(repr(term) for term in terms)
    if every:

        def test_all(ctx: Context) -> str | None:
            text = ctx[field] or ""
            found = [p.search(text) for p in patterns]
            if all(found):
                return f"{field} contains all of {quoted}"
            return None

        return Predicate(test_all, f"{field} contains all of [{quoted}]")

    combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns))

    def test_any(ctx: Context) -> str | None:
        match = combined.search(ctx[field] or "")
        return f"{field} contains {match.group(0)!r}" if match else None

    return Predicate(test_any, f"{field} contains any of [{quoted}]")


def _list_contains(field: str, terms: list[str], every: bool) -> Predicate:
    wanted = {term.casefold().lstrip("#@") for term in terms}
    verb = "all of" if every else "any of"

    def test(ctx: Context) -> str | None:
        present = wanted & set(ctx[field])
        if present and (not every or present == wanted):
            return f"{field} include {', '.join(sorted(present))}"
        return None

    return Predicate(test, f"{field} include {verb} {sorted(wanted)}")


def _matches(field: str, pattern: Any, path: str) -> Predicate:
    if not isinstance(pattern, str) or not pattern:
        raise ConditionError(f"{path}: expected a regular expression string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConditionError(f"{path}: pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc.args[0])
        raise ConditionError(f"{path}: invalid RE2 pattern: {reason}") from None

    def test(ctx: Context) -> str | None:
        value = ctx[field]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (match := compiled.search(item)):
                return f"{field} matches /{pattern}/ at {match.group(0)!r}"
        return None

    return Predicate(test, f"{field} matches /{pattern}/")


def _compare(field: str, op: str, bound: float) -> Predicate:
    symbol = ">=" if op == "gte" else "<="

    def test(ctx: Context) -> str | None:
        value = ctx.get(field)
        if value is None:
            return None
        holds = value >= bound if op == "gte" else value <= bound
        return f"{field} {value:g} {symbol} {bound:g}" if holds else None

    return Predicate(test, f"{field} {symbol} {bound:g}")


def _member(field: str, kind: str, values: list[Any], path: str) -> Predicate:
    expected = {kind: (str,), NUMBER: (int, float), BOOL: (bool,)}.get(kind, (str,))
    for value in values:
        if not isinstance(value, expected) or (kind == NUMBER and isinstance(value, bool)):
            raise ConditionError(f"{path}: {value!r} is not a valid value for {field}")
    folded = {v.casefold() if isinstance(v, str) else v for v in values}

    def test(ctx: Context) -> str | None:
        value = ctx.get(field)
        key = value.casefold() if isinstance(value, str) else value
        return f"{field} is {value!r}" if value is not None and key in folded else None

    shown = f"in {values!r}" if len(values) > 1 else f"is {values[0]!r}"
    return Predicate(test, f"{field} {shown}")
