"""A rule's examples: the mentions it must match (a text, or a mention's fields) and, with
`matches: false`, must not; checked with the signals routing would give them, and against the
whole ruleset (an earlier rule that stops first is named)."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest

from chalicelib.rules import RulesetInvalid, validate_ruleset
from chalicelib.rules.examples import example_problems

DEPARTMENTS = ["support", "pr", "marketing", "triage"]


def problems(*rules: dict[str, Any]) -> list[str]:
    """What is wrong with the examples of `rules`, as a ruleset."""
    return example_problems(validate_ruleset(list(rules), DEPARTMENTS), "triage", UTC)


def rule(rule_id: str, when: dict[str, Any], *examples: Any, **more: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "when": when,
        "then": {"route_to": "support"},
        "examples": list(examples),
        **more,
    }


NEVER_ARRIVED = {"text": {"contains_any": ["never arrived", "not arrived"]}}


def test_examples_that_hold_say_nothing() -> None:
    late = rule(
        "late",
        NEVER_ARRIVED,
        "@AcmeHelp my parcel never arrived",
        {"text": "the parcel arrived today, thanks", "matches": False},
    )
    assert problems(late) == []


def test_an_example_the_rule_misses_or_one_it_must_not_match_is_named_with_why() -> None:
    late = rule(
        "late",
        NEVER_ARRIVED,
        "where is my parcel?",
        {"text": "it never arrived, but the refund did", "matches": False},
    )
    assert problems(late) == [
        "rule 'late': example #1 ('where is my parcel?') must match, but does not",
        "rule 'late': example #2 ('it never arrived, but the refund did') must not match, but"
        " does: text contains 'never arrived'",
    ]


def test_an_example_an_earlier_rule_takes_first_is_named_with_that_rule() -> None:
    refunds = rule("refunds", {"text": {"contains_any": ["refund"]}}, order=10)
    late = rule("late", NEVER_ARRIVED, "never arrived, I want a refund", order=20)
    assert problems(refunds, late) == [
        "rule 'late': example #1 ('never arrived, I want a refund') matches, but never reaches"
        " it: rule 'refunds' decides first"
    ]
    refunds["continue"] = True  # it lets the rules after it look
    assert problems(refunds, late) == []


def test_examples_are_mentions_with_the_signals_routing_gives_them() -> None:
    angry = rule(
        "angry-and-heard",
        {"all": [{"signals.complaint": {"gte": 0.5}}, {"author.followers": {"gte": 10000}}]},
        {
            "text": "@AcmeHelp worst service ever, my order never came and nobody answers",
            "author": {"followers": 25000},
        },
        {"text": "@AcmeHelp thanks, the blender works great", "author": {"followers": 25000}},
    )
    assert problems(angry) == [
        "rule 'angry-and-heard': example #2 ('@AcmeHelp thanks, the blender works great') must"
        " match, but does not"
    ]
    on_instagram = rule("instagram", {"platform": {"equals": "instagram"}}, "hi")
    assert problems(on_instagram)[0].endswith("must match, but does not")  # on x unless said
    on_instagram["examples"] = [{"platform": "instagram", "text": "hi"}]
    assert problems(on_instagram) == []


def test_examples_say_what_they_continue_and_their_authors_earlier_cases() -> None:
    chasing = rule(
        "chasing",
        {"history.waiting": {"gte": 1}},
        {"text": "still nothing?", "history": {"cases": 2, "waiting": 1}},
        {"text": "still nothing?", "history": {"cases": 2, "waiting": 0}, "matches": False},
        {"text": "still nothing?", "matches": False},  # a first case
    )
    follow_up = rule(
        "follow-up",
        {"conversation.department": {"equals": "pr"}},
        {"text": "thanks, done", "conversation": "pr"},
        {"text": "thanks, done", "conversation": "support", "matches": False},
    )
    assert problems(chasing, follow_up) == []
    chasing["examples"][1]["history"]["waiting"] = 3  # more waiting than there are
    with pytest.raises(RulesetInvalid, match=re.escape("history is {cases: N, waiting: M}")):
        problems(chasing)


@pytest.mark.parametrize(
    ("said", "says"),
    [
        ({"history": {"cases": 11}}, "history counts at most 10 earlier cases"),
        ({"history": {"cases": "two"}}, "history is {cases: N, waiting: M}"),
        ({"history": {"open": 1}}, "history is {cases: N, waiting: M}"),
        ({"history": 3}, "history is {cases: N, waiting: M}"),
        ({"conversation": {"department": "pr"}}, "conversation is the department of the mention"),
    ],
)
def test_an_examples_history_or_conversation_must_read(said: dict[str, Any], says: str) -> None:
    with pytest.raises(RulesetInvalid, match=re.escape(says)):
        validate_ruleset([rule("late", NEVER_ARRIVED, {"text": "hi", **said})], DEPARTMENTS)


def test_a_disabled_rules_examples_are_checked_against_its_condition_alone() -> None:
    off = rule("late", NEVER_ARRIVED, "it never arrived", "where is it?", enabled=False)
    assert problems(off) == ["rule 'late': example #2 ('where is it?') must match, but does not"]


@pytest.mark.parametrize(
    ("example", "says"),
    [
        ({"txt": "typo"}, "example #1: no field txt (a mention's fields, matches, conversation,"),
        ({"text": "hi", "matches": "yes"}, "example #1: matches is true or false"),
        ({"text": "hi", "author": {"followers": "many"}}, "example #1: author.followers:"),
        (5, "examples.0.str: Input should be a valid string"),  # nor a dict
    ],
)
def test_an_example_that_is_no_mention_makes_the_ruleset_invalid(example: Any, says: str) -> None:
    with pytest.raises(RulesetInvalid) as invalid:
        validate_ruleset([rule("late", NEVER_ARRIVED, example)], DEPARTMENTS)
    problem = invalid.value.problems[0]
    assert problem.startswith("rule 'late' (#1): examples")
    assert says in problem
