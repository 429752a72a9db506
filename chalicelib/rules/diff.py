"""Readable differences between two rulesets: rules added, removed, changed and reordered."""

from __future__ import annotations

import difflib
from typing import Any

import yaml


class _ExpandingDumper(yaml.SafeDumper):
    """Writes a list shared through a YAML anchor (`&praise-words`) in full wherever it is used,
    never as a generated `&id001`/`*id001` alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(rules: list[dict[str, Any]]) -> str:
    """Rules as YAML in the rule format, keys in their natural order."""
    return yaml.dump(rules, Dumper=_ExpandingDumper, sort_keys=False, allow_unicode=True, width=100)


def ruleset_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, Any]:
    """How `new` differs from `old`, by rule id: `added` and `changed` in `new`'s order,
    `removed` in `old`'s, and `order`, the rules both have in `new`'s order when that moved
    (else None)."""
    before = {rule["id"]: rule for rule in old}
    after = {rule["id"]: rule for rule in new}
    common_before = [r for r in before if r in after]
    common_after = [r for r in after if r in before]
    return {
        "added": [r for r in after if r not in before],
        "removed": [r for r in before if r not in after],
        "changed": [r for r in common_after if after[r] != before[r]],
        "order": common_after if common_before != common_after else None,
    }


def diff_rulesets(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Lines describing how `new` differs from `old` (empty when they are the same)."""
    before = {rule["id"]: rule for rule in old}
    after = {rule["id"]: rule for rule in new}
    changes = ruleset_changes(old, new)
    lines: list[str] = []
    for rule_id in changes["added"]:
        lines.append(f"+ added rule {rule_id}")
        lines += ["    " + line for line in dump_yaml([after[rule_id]]).splitlines()]
    for rule_id in changes["removed"]:
        lines.append(f"- removed rule {rule_id}")
    for rule_id in changes["changed"]:
        lines.append(f"~ changed rule {rule_id}")
        changed = difflib.unified_diff(
            dump_yaml([before[rule_id]]).splitlines(),
            dump_yaml([after[rule_id]]).splitlines(),
            lineterm="",
            n=1,
        )
        lines += ["    " + line for line in list(changed)[2:]]
    if changes["order"] is not None:
        lines.append("~ order: " + ", ".join(changes["order"]))
    return lines
