"""Routing rules: format, compiler and engine (pure; no I/O beyond reading a rules file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from chalicelib.rules.engine import Engine
from chalicelib.rules.schema import Rule, Ruleset, RulesetInvalid, routable, validate_ruleset

DEFAULT_RULES_PATH = Path(__file__).with_name("default.yaml")

__all__ = [
    "DEFAULT_RULES_PATH",
    "Engine",
    "Rule",
    "Ruleset",
    "RulesetInvalid",
    "default_ruleset",
    "load_rules_file",
    "parse_rules_text",
    "read_yaml",
    "routable",
    "validate_ruleset",
]


class _RulesLoader(yaml.SafeLoader):
    """Safe YAML, except that a date (2026-11-27) stays the text it is, as in JSON: rules
    compare dates as YYYY-MM-DD text, and rulesets are stored as JSON."""


_RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(text: str) -> Any:
    """Rule data from YAML text, dates left as text (yaml.YAMLError when it cannot be read)."""
    return yaml.load(text, Loader=_RulesLoader)


def parse_rules_text(text: str) -> Any:
    """Rule data from YAML or JSON text (JSON is YAML, but its errors read better)."""
    stripped = text.lstrip()
    try:
        if stripped.startswith(("[", "{")):
            return json.loads(text)
        return read_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RulesetInvalid([f"cannot parse rules: {exc}"]) from None


def load_rules_file(path: Path, departments: list[str] | None, published: bool = False) -> Ruleset:
    """Read and validate a ruleset file (`published`: as `validate_ruleset` has it)."""
    data = parse_rules_text(path.read_text(encoding="utf-8"))
    return validate_ruleset(data, departments, published)


def default_ruleset(departments: list[str], triage: str) -> Ruleset:
    """The built-in default ruleset, as it routes with these departments (`routable`: what
    it sends to a department there is not, say `marketing`, goes to `triage`)."""
    loaded = load_rules_file(DEFAULT_RULES_PATH, departments, published=True)
    return routable(loaded, departments, triage)
