"""The compiled engine (one Aho-Corasick pass) decides exactly as the plain interpreter."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.models import Author, Mention
from chalicelib.rules import Engine
from chalicelib.rules.engine import MentionContext
from chalicelib.rules.keywords import KeywordIndex, find_term, normalise_text, term_key, words_of
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
SEPARATORS = [" ", "", "\n  ", "-", " ... ", "\t", "\u00a0", "’"]


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


def test_index_finds_whole_words_prefixes_and_phrases() -> None:
    keys = {term_key(raw) for raw in ["Refund*", "refund", "PR", "never  arrived", "april", "ok"]}
    index = KeywordIndex(keys)
    text = "refunds? no refund. never arrived. pr-team vs aprils, okay"
    assert index.words_in(text) == {"refund", "pr"}
    assert index.phrases_in(text) == {"refund*", "never arrived"}
    assert index.words_in("refund  never\narrived") == {"refund"}  # whitespace not collapsed


def term_regex(key: str) -> re.Pattern[str]:
    """The specification of a term: a whole-word match on normalised text."""
    if key.endswith("*"):
        return re.compile(rf"(?<!\w){re.escape(key[:-1])}\w*(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")


@settings(max_examples=300, deadline=None)
@given(TERMS, TEXTS)
def test_find_term_is_the_first_whole_word_match(raw: str, text: str) -> None:
    key, normalised = term_key(raw), normalise_text(text)
    match = term_regex(key).search(normalised)
    expected = (match.start(), match.group(0)) if match else None
    assert find_term(normalised, key) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZé_1 .,’😀\nß-İ\u0301\u00a0"), max_size=30))
def test_words_of_finds_every_word_of_the_word_regex(text: str) -> None:
    # Pieces with a non-word character may come along; they can never equal a word term.
    words = set(words_of(text))
    assert {word for word in words if re.fullmatch(r"\w+", word)} == set(re.findall(r"\w+", text))


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
