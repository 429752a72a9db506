"""The compiled engine (one Aho-Corasick pass) decides exactly as the plain interpreter."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.models import Author, Mention
from chalicelib.rules import Engine
from chalicelib.rules.engine import MentionContext
from chalicelib.rules.keywords import KeywordIndex, term_key
from chalicelib.rules.schema import validate_ruleset

DEPARTMENTS = ["support", "pr", "marketing", "triage"]
WORDS = [
    "refund",
    "order",
    "never arrived",
    "love",
    "pr",
    "fire",
    "#fail",
    "café",
    "dm'd",
    "co-op",
    "straße",
    "e. coli",
    "ok",
    "a",
    "x_y",
    "über",
]
TERMS = st.builds(lambda w, star: w + ("*" if star else ""), st.sampled_from(WORDS), st.booleans())
FILLERS = ["refunds", "fired", "Café", "STRASSE", "firefly", "re", "!", ",", "#", "_", "@pr", "ok."]
SEPARATORS = [" ", "", "\n  ", "-", " ... ", "\t"]


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda ts: {"text": {"contains_any": ts}}, st.lists(TERMS, min_size=1, max_size=3)
        ),
        st.builds(
            lambda ts: {"text": {"contains_all": ts}}, st.lists(TERMS, min_size=1, max_size=2)
        ),
        st.builds(lambda n: {"author.followers": {"gte": n}}, st.integers(0, 2000)),
        st.builds(lambda n: {"signals.sentiment": {"lte": n}}, st.floats(-1, 1)),
        st.builds(
            lambda ts: {"hashtags": {"contains_any": ts}},
            st.lists(st.sampled_from(["fail", "love"]), min_size=1),
        ),
    )


CONDITIONS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=6,
)


@st.composite
def rulesets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    rules = []
    for i in range(count):
        then: dict[str, Any] = {"tags": draw(st.lists(st.sampled_from(["a", "b"]), max_size=2))}
        if draw(st.booleans()):
            then["route_to"] = draw(st.sampled_from(DEPARTMENTS))
        else:
            then["skip"] = draw(st.booleans())
        if draw(st.booleans()):
            then["priority"] = draw(st.sampled_from(["low", "normal", "high", "urgent"]))
        if draw(st.booleans()):
            then["also"] = draw(st.lists(st.sampled_from(DEPARTMENTS), max_size=2))
        rules.append(
            {
                "id": f"r{i}",
                "order": draw(st.integers(0, 3)),
                "when": draw(CONDITIONS),
                "then": then,
                "continue": draw(st.booleans()),
            }
        )
    return rules


TEXTS = st.lists(st.sampled_from(WORDS + FILLERS), max_size=12).flatmap(
    lambda words: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)))
)


@settings(max_examples=400, deadline=None)
@given(
    rulesets(),
    st.lists(st.tuples(TEXTS, st.integers(0, 3000), st.floats(-1, 1)), min_size=1, max_size=5),
)
def test_compiled_and_interpreted_decisions_are_identical(
    rules: list[dict[str, Any]], mentions: list[tuple[str, int, float]]
) -> None:
    ruleset = validate_ruleset(rules, DEPARTMENTS)
    compiled = Engine(ruleset, compiled=True)
    interpreted = Engine(ruleset, compiled=False)
    for text, followers, sentiment in mentions:
        mention = Mention(id="x:1", platform="x", text=text, author=Author(followers=followers))
        signals = {"sentiment": sentiment}
        assert compiled.decide(mention, signals) == interpreted.decide(mention, signals)


def test_index_finds_whole_words_prefixes_and_first_positions() -> None:
    index = KeywordIndex({term_key(raw) for raw in ["Refund*", "refund", "PR", "never  arrived"]})
    hits = index.scan("refunds? no refund. never arrived. pr-team vs april")
    assert hits == {
        "refund*": (0, "refunds"),
        "refund": (12, "refund"),
        "never arrived": (20, "never arrived"),
        "pr": (35, "pr"),
    }


def test_compiled_engine_skips_rules_whose_keywords_are_absent() -> None:
    rules = [
        {
            "id": f"k{i}",
            "when": {"text": {"contains_any": [f"word{i}"]}},
            "then": {"route_to": "pr"},
        }
        for i in range(100)
    ]
    rules.append(
        {"id": "big", "when": {"author.followers": {"gte": 10}}, "then": {"route_to": "support"}}
    )
    engine = Engine(validate_ruleset(rules, DEPARTMENTS))
    context = MentionContext(Mention(id="x:1", platform="x", text="hello word42"), {})
    assert [engine.rules[p].id for p in engine.candidates(context)] == ["k42", "big"]
