"""A rule's examples, checked: each mention a rule says it matches must be matched by it, and reach
it in the ruleset (no earlier rule stops there first); each it says it does not match (`matches:
false`) must not be. The mentions get their signals as routing would give them (the models, so
an example can read `signals.complaint`), with the earlier cases (`history`) and the
conversation (`conversation`) it says it has, none unless it says. Checked before a ruleset is
published (`switchboard rules validate`, `rules push`, the admin routes that publish: it is
refused until they hold) and listed by a dry run; never when routing loads a ruleset."""

from __future__ import annotations

from datetime import tzinfo

from chalicelib.classify import compute_signals, enrich
from chalicelib.cli_text import shortened
from chalicelib.rules.engine import Engine, MentionContext
from chalicelib.rules.schema import Ruleset, RulesetInvalid, read_example
from chalicelib.settings import Settings


def example_problems(ruleset: Ruleset, triage: str, tz: tzinfo) -> list[str]:
    """What is wrong with the ruleset's examples, one line each (none: every one holds)."""
    engine = Engine(ruleset, triage=triage, tz=tz)
    found = []
    for rule in ruleset.root:
        for number, example in enumerate(rule.examples, 1):
            read = read_example(example)
            mention = enrich(read.mention)
            signals = compute_signals(mention)
            seen = (None, read.conversation, read.history)  # as routing gives them to rules
            why = rule.predicate.test(MentionContext(mention, signals, tz, *seen))
            said = f"rule {rule.id!r}: example #{number} ({shortened(mention.text, 60)!r})"
            if not read.matches:
                if why is not None:
                    found.append(f"{said} must not match, but does: {why}")
                continue
            if why is None:
                found.append(f"{said} must match, but does not")
                continue
            if not rule.enabled:
                continue
            matched = [
                rule_id for rule_id, _ in engine.decide(mention, signals, *seen).matched_rules
            ]
            if rule.id not in matched:
                first = f": rule {matched[-1]!r} decides first" if matched else ""
                found.append(f"{said} matches, but never reaches it{first}")
    return found


def with_examples_held(ruleset: Ruleset, settings: Settings) -> Ruleset:
    """`ruleset`, once its examples hold; RulesetInvalid saying which do not."""
    wrong = example_problems(ruleset, settings.triage_department, settings.timezone)
    if wrong:
        raise RulesetInvalid(wrong)
    return ruleset
