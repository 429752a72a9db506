"""A ruleset with anything in any place never crashes its validation or, once valid, routing:
an admin is told what is wrong (RulesetInvalid), never met with an error of another kind."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.classify import compute_signals
from chalicelib.models import Mention
from chalicelib.rules import DEFAULT_RULES_PATH, Engine, RulesetInvalid, parse_rules_text
from chalicelib.rules.examples import with_examples_held
from chalicelib.rules.schema import validate_ruleset
from chalicelib.settings import Settings
from tests.unit.test_worker_robustness import ODD, paths, replaced

DEFAULT = parse_rules_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
SETTINGS = Settings()
WHAT_ADMINS_WRITE = st.one_of(
    ODD,
    st.sampled_from(["(a+)+$", "(?<=a)b", "(a)\\1", "[", "signals.complain", "marketing", "*"]),
    st.sampled_from(["text", "all", "any", "not", "contains_any", "matches", "gte", "route_to"]),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.sampled_from(["text", "gte", "all", "equals"]), ODD, max_size=2),
)
MENTIONS = [
    Mention(id="x:1", platform="x", text="@AcmeHelp my order never arrived, I will sue"),
    Mention(id="x:2", platform="x", text="love the new blender! where can I buy it?"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mutated_ruleset_is_refused_saying_why_or_routes(data: st.DataObject) -> None:
    rules = DEFAULT
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        place = data.draw(st.sampled_from(list(paths(rules))))
        rules = replaced(rules, place, data.draw(WHAT_ADMINS_WRITE))
    with contextlib.suppress(RulesetInvalid):  # told what is wrong: anything else fails
        ruleset = with_examples_held(validate_ruleset(rules, SETTINGS.departments), SETTINGS)
        engine = Engine(ruleset)
        for mention in MENTIONS:
            engine.decide(mention, compute_signals(mention)).routing(mention.lang)
