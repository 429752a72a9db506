"""Rule format validation and the engine's decisions and explanations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.models import Author, Mention, Quoted, Routing
from chalicelib.rules import (
    DEFAULT_RULES_PATH,
    Engine,
    RulesetInvalid,
    load_rules_file,
    parse_rules_text,
)
from chalicelib.rules.examples import example_problems
from chalicelib.rules.schema import routable, validate_ruleset

DEPARTMENTS = ["support", "pr", "marketing", "triage"]


def engine(*rules: dict[str, Any]) -> Engine:
    return Engine(validate_ruleset(list(rules), DEPARTMENTS), version=3)


def rule(rule_id: str, when: dict[str, Any], **then: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {k: then.pop(k) for k in ("order", "continue") if k in then}
    return {"id": rule_id, "when": when, "then": then or {"route_to": "support"}, **extra}


def route(e: Engine, m: Mention, signals: dict[str, float]) -> Routing:
    return e.decide(m, signals).routing(m.lang)


def mention(text: str, **fields: Any) -> Mention:
    return Mention(id="x:1", platform="x", text=text, **fields)


def problems(data: Any) -> list[str]:
    with pytest.raises(RulesetInvalid) as raised:
        validate_ruleset(data, DEPARTMENTS)
    return raised.value.problems


def test_default_ruleset_is_valid_and_its_examples_hold() -> None:
    ruleset = load_rules_file(DEFAULT_RULES_PATH, DEPARTMENTS)
    assert len(ruleset.root) >= 10
    assert sum(len(rule.examples) for rule in ruleset.root) >= 10
    assert example_problems(ruleset, "triage", UTC) == []


def test_keywords_match_whole_words_case_insensitively() -> None:
    e = engine(rule("pr", {"text": {"contains_any": ["PR", "fire"]}}, route_to="pr"))
    assert route(e, mention("Flights to PR are late"), {}).department == "pr"
    assert route(e, mention("Flights to Puerto Rico"), {}).department == "triage"
    assert route(e, mention("the staff got fired"), {}).department == "triage"
    assert route(e, mention("it caught FIRE!"), {}).matched_rules[0].why == "text contains 'fire'"


def test_star_suffix_matches_word_endings_and_phrases_span_whitespace() -> None:
    e = engine(rule("r", {"text": {"contains_any": ["refund*", "never arrived"]}}))
    assert route(e, mention("still no REFUNDS"), {}).department == "support"
    assert route(e, mention("it never\n  arrived"), {}).department == "support"
    assert route(e, mention("refurbished"), {}).department == "triage"


def test_contains_all_needs_every_term() -> None:
    e = engine(rule("r", {"text": {"contains_all": ["order", "late"]}}))
    assert route(e, mention("order is late"), {}).department == "support"
    assert route(e, mention("order arrived"), {}).department == "triage"


def test_nested_all_any_not_with_explanations() -> None:
    when = {
        "all": [
            {"text": {"contains_any": ["food poisoning", "hospital"]}},
            {"any": [{"author.followers": {"gte": 1000}}, {"signals.severity": {"gte": 3}}]},
            {"not": {"platform": {"equals": "reddit"}}},
        ]
    }
    e = engine(rule("food-safety", when, route_to="pr", also=["support"], priority="urgent"))
    big = mention("Food poisoning from your wraps", author=Author(followers=1200))
    routing = route(e, big, {"sentiment": -0.6})
    assert (routing.department, routing.also, routing.priority) == ("pr", ["support"], "urgent")
    assert routing.matched_rules[0].why == (
        "text contains 'food poisoning' and author.followers 1200 >= 1000 "
        "and not platform is 'reddit'"
    )
    assert routing.ruleset_version == 3
    small = mention("Food poisoning from your wraps", author=Author(followers=10))
    assert route(e, small, {}).department == "triage"  # signals.severity absent: no match
    assert route(e, small, {"severity": 3}).department == "pr"


def test_first_match_wins_in_order_and_continue_accumulates() -> None:
    e = engine(
        rule(
            "tag-vip",
            {"author.verified": {"equals": True}},
            tags=["vip"],
            priority="high",
            **{"continue": True, "order": 1},
        ),
        rule("later", {"text": {"contains_any": ["help"]}}, route_to="support", order=20),
        rule("earlier", {"text": {"contains_any": ["help"]}}, route_to="marketing", order=10),
    )
    routing = route(e, mention("help me", author=Author(verified=True)), {})
    assert routing.department == "marketing"
    assert [m.id for m in routing.matched_rules] == ["tag-vip", "earlier"]
    assert (routing.tags, routing.priority) == (["vip"], "high")


def test_priority_escalates_to_the_highest_of_matching_continue_rules() -> None:
    e = engine(
        rule("a", {"text": {"contains_any": ["x"]}}, priority="urgent", **{"continue": True}),
        rule("b", {"text": {"contains_any": ["x"]}}, route_to="support", priority="low"),
    )
    assert route(e, mention("x"), {}).priority == "urgent"


def test_skip_decides_ignore_with_no_queues_and_disabled_rules_do_not_run() -> None:
    e = engine(
        {**rule("off", {"text": {"contains_any": ["win"]}}, route_to="pr"), "enabled": False},
        rule("spam", {"text": {"contains_any": ["win"]}}, skip=True),
    )
    routing = route(e, mention("win a prize"), {})
    assert routing.department == "ignore" and routing.queues == []


def test_a_rule_can_hide_what_it_matches_and_the_first_such_rule_is_named() -> None:
    links = {"text": {"contains_any": ["scam.example"]}}
    ruleset = validate_ruleset(
        [
            rule("spam-links", links, hide=True, tags=["scam"], **{"continue": True, "order": 1}),
            rule("giveaway", {"text": {"contains_any": ["giveaway"]}}, skip=True, hide=True),
            rule("help", {"text": {"contains_any": ["help"]}}, route_to="support"),
        ],
        DEPARTMENTS,
    )
    scam = mention("crypto giveaway at scam.example")
    for e in (Engine(ruleset), Engine(ruleset, compiled=False)):
        assert route(e, scam, {}).hide == "spam-links"  # a continue rule's hide carries on
        routing = route(e, mention("giveaway"), {})
        assert (routing.department, routing.hide) == ("ignore", "giveaway")
        assert route(e, mention("help"), {}).hide is None


def test_lists_fields_and_hashtags_found_in_text() -> None:
    e = engine(
        rule("campaign", {"hashtags": {"contains_any": ["#AcmeWinter"]}}, route_to="marketing")
    )
    assert route(e, mention("love it #acmewinter"), {}).department == "marketing"
    assert route(e, mention("love it", hashtags=["AcmeWinter"]), {}).department == "marketing"


def test_a_rule_can_read_how_far_a_post_has_spread() -> None:
    e = engine(rule("spreading", {"engagement": {"gte": 500}}, route_to="pr"))
    decision = route(e, mention("this is a disgrace", engagement=1200), {})
    assert decision.department == "pr"
    assert decision.matched_rules[0].why == "engagement 1200 >= 500"
    assert route(e, mention("this is a disgrace", engagement=3), {}).department == "triage"


def test_a_rule_can_leave_conversations_another_app_holds_to_it() -> None:
    e = engine(rule("bot-has-it", {"standby": {"equals": True}}, skip=True))
    decision = route(e, mention("where is my order", standby=True), {})
    assert decision.department == "ignore"
    assert decision.matched_rules[0].why == "standby is True"
    assert route(e, mention("where is my order"), {}).department == "triage"


def test_a_rule_can_send_the_answers_to_a_campaign_post_where_they_belong() -> None:
    e = engine(
        rule(
            "contest", {"replied_post.text": {"contains_any": ["giveaway"]}}, route_to="marketing"
        ),
        rule("launch", {"replied_post.id": {"equals": "x:77"}}, route_to="pr"),
    )
    contest = Quoted(id="x:9", text="Our big winter GIVEAWAY: reply to enter!")
    decision = route(e, mention("count me in", kind="reply", replied_post=contest), {})
    assert decision.department == "marketing"
    assert decision.matched_rules[0].why == "replied_post.text contains 'giveaway'"
    launch = Quoted(id="x:77", text="Meet the Blend 3000")
    assert route(e, mention("so loud", kind="reply", replied_post=launch), {}).department == "pr"
    assert route(e, mention("count me in: giveaway"), {}).department == "triage"


def test_numbers_in_and_local_time() -> None:
    e = engine(
        rule("weekend", {"weekday": {"in": ["sat", "sun"]}}, route_to="triage"),
        rule("night", {"hour": {"lte": 6}}, route_to="pr"),
    )
    saturday = datetime(2026, 11, 21, 12, tzinfo=UTC)
    monday_night = datetime(2026, 11, 23, 3, tzinfo=UTC)
    assert (
        route(e, mention("a", created_at=saturday), {}).matched_rules[0].why == "weekday is 'sat'"
    )
    assert route(e, mention("a", created_at=monday_night), {}).department == "pr"


def test_a_campaign_rule_holds_on_its_local_days_only() -> None:
    campaign = rule(
        "black-friday",
        {
            "all": [
                {"hashtags": {"contains_any": ["acmefriday"]}},
                {"date": {"gte": "2026-11-27", "lte": "2026-11-30"}},
            ]
        },
        route_to="marketing",
    )
    e = Engine(validate_ruleset([campaign], DEPARTMENTS), tz=ZoneInfo("Europe/Berlin"))
    thursday_night = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # Friday 00:30 in Berlin
    routed = route(e, mention("#AcmeFriday deal!", created_at=thursday_night), {})
    assert routed.department == "marketing"
    assert routed.matched_rules[0].why.endswith(
        "date 2026-11-27 >= 2026-11-27 and date 2026-11-27 <= 2026-11-30"
    )
    for before_or_after in (
        datetime(2026, 11, 26, 22, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    ):
        assert (
            route(e, mention("#AcmeFriday", created_at=before_or_after), {}).department == "triage"
        )
    one_day = engine(rule("outage", {"date": {"in": ["2026-11-24"]}}))
    assert route(one_day, mention("a", created_at=thursday_night), {}).department == "triage"


@pytest.mark.parametrize(
    ("when", "says"),
    [
        (
            {"date": {"gte": "2026-13-01"}},
            "when.date.gte: '2026-13-01' is not a date written YYYY-MM-DD",
        ),
        ({"date": {"lte": 20261127}}, "when.date.lte: 20261127 is not a date written YYYY-MM-DD"),
        ({"date": {"equals": "27/11/2026"}}, "when.date.equals: '27/11/2026' is not a date"),
        (
            {"date": {"in": ["2026-11-27", "tomorrow"]}},
            "'tomorrow' is not a date written YYYY-MM-DD",
        ),
        ({"date": {"contains_any": ["2026"]}}, "operator 'contains_any' does not apply to date"),
    ],
)
def test_a_date_that_is_no_date_is_refused_saying_so(when: dict[str, Any], says: str) -> None:
    [problem] = problems([rule("r", when)])
    assert says in problem


def test_dates_written_in_yaml_stay_dates_as_text() -> None:
    text = (
        "- id: sale\n  when: {date: {gte: 2026-11-27, in: [2026-11-28]}}\n  then: {route_to: pr}\n"
    )
    [data] = parse_rules_text(text)
    assert data["when"] == {"date": {"gte": "2026-11-27", "in": ["2026-11-28"]}}
    assert json.loads(json.dumps(data)) == data  # stored as JSON like any ruleset


def test_matches_reads_the_text_case_folded_like_the_keywords() -> None:
    e = engine(rule("regulator", {"text": {"matches": r"\bdot\b"}}))
    assert route(e, mention("still no word from the DOT"), {}).matched_rules[0].why == (
        "text matches /\\bdot\\b/ at 'dot'"
    )


def test_matches_uses_re2_and_hostile_patterns_stay_linear() -> None:
    e = engine(rule("order-number", {"text": {"matches": r"(a+)+$"}}))
    assert route(e, mention("a" * 50_000 + "!"), {}).department == "triage"
    e = engine(rule("order-number", {"text": {"matches": r"#\d{5}"}}))
    assert route(e, mention("order #88213"), {}).matched_rules[0].why == (
        "text matches /#\\d{5}/ at '#88213'"
    )


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"txt": {"contains_any": ["a"]}}, "when.txt: unknown field 'txt'; did you mean text?"),
        (
            {"signals.complain": {"gte": 0.5}},
            "unknown field 'signals.complain'; did you mean signals.complaint?",
        ),
        ({"signals.": {"gte": 0.5}}, "and signals.NAME for sentiment, complaint, severity"),
        (
            {"text": {"contain_any": ["a"]}},
            "operator 'contain_any' does not apply to text; did you mean contains_any?",
        ),
        ({"text": {"gte": 3}}, "when.text.gte: operator 'gte' does not apply to text"),
        ({"text": {"contains_any": []}}, "when.text.contains_any: expected a non-empty list"),
        ({"text": {"matches": "(unclosed"}}, "when.text.matches: invalid RE2 pattern"),
        ({"text": {"matches": "(a)\\1"}}, "when.text.matches: invalid RE2 pattern"),
        ({"all": []}, "when.all: must be a non-empty list"),
        ({"any": [{"author.followers": {"gte": "many"}}]}, "when.any[0].author.followers.gte"),
        ({"public": {"equals": "yes"}}, "when.public.equals: 'yes' is not a valid value"),
        ({"signals.lang": {"gte": 1}}, "when.signals.lang.gte: operator 'gte' does not apply"),
        ({"signals.complaint": {"equals": "en"}}, "when.signals.complaint.equals"),
        ({}, "when: a condition must be a non-empty mapping"),
    ],
)
def test_invalid_conditions_name_rule_and_path(when: dict[str, Any], message: str) -> None:
    [problem] = problems([rule("ok", {"text": {"contains_any": ["a"]}}), rule("bad-one", when)])
    assert problem.startswith("rule 'bad-one' (#2): when")
    assert message in problem


def test_a_signal_no_signal_has_is_refused_unless_it_was_published_so() -> None:
    typo = [rule("a", {"signals.complain": {"gte": 0.5}}, route_to="pr")]
    assert "did you mean signals.complaint?" in problems(typo)[0]
    published = validate_ruleset(typo, DEPARTMENTS, published=True)
    routed = route(Engine(published, version=1), mention("late, awful"), {"complaint": 0.9})
    assert routed.department == "triage"  # read nothing, as before: no rule decided


def test_a_department_no_longer_configured_is_routed_to_triage_saying_whom_it_was_meant_for() -> (
    None
):
    rules = [
        rule("praise", {"text": {"contains_any": ["love"]}}, route_to="marketing", tags=["praise"]),
        rule("press", {"text": {"contains_any": ["reporter"]}}, route_to="pr", also=["marketing"]),
    ]
    without = ["support", "pr", "triage"]
    with pytest.raises(RulesetInvalid, match="unknown department 'marketing'"):
        validate_ruleset(rules, without)  # never published so
    published = validate_ruleset(rules, without, published=True)
    usable = routable(published, without, "triage")
    praise, press = (r.then for r in usable.root)
    assert (praise.route_to, praise.tags) == ("triage", ["praise", "meant-for-marketing"])
    assert (press.route_to, press.also, press.tags) == ("pr", [], ["meant-for-marketing"])
    routed = route(Engine(usable), mention("I love it"), {})
    assert (routed.department, routed.tags) == ("triage", ["praise", "meant-for-marketing"])
    assert routable(published, DEPARTMENTS, "triage") is published  # nothing gone


def test_invalid_actions_and_ids() -> None:
    assert (
        "unknown department 'legal'"
        in problems([rule("a", {"lang": {"equals": "en"}}, route_to="legal")])[0]
    )
    assert (
        "'suport'; did you mean support? the departments configured are"
        in (problems([rule("a", {"lang": {"equals": "en"}}, also=["suport"])])[0])
    )
    assert "used twice" in problems([rule("a", {"lang": {"equals": "en"}})] * 2)[0]
    assert "priority" in problems([rule("a", {"lang": {"equals": "en"}}, priority="asap")])[0]
    assert "id" in problems([rule("Bad Id", {"lang": {"equals": "en"}})])[0]
    assert problems({"id": "a"}) == ["Input should be a valid list"]
    extra = {**rule("a", {"lang": {"equals": "en"}}), "unless": {}}
    assert problems([extra]) == [
        "rule 'a' (#1): unless: no such field; the fields here are id, name, order, enabled,"
        " when, then, continue, examples"
    ]
    misspelt = {**rule("a", {"lang": {"equals": "en"}}), "then": {"route": "pr"}}
    assert problems([misspelt]) == [
        "rule 'a' (#1): then.route: no such field; did you mean route_to? the fields here are"
        " route_to, also, priority, tags, skip, hide"
    ]


def test_rules_written_as_yaml_spell_out_shared_lists() -> None:
    """The default ruleset shares its praise words through a YAML anchor; pulled or diffed rules
    show them in full, never as a generated alias, and read back the same."""
    import yaml

    from chalicelib.rules import DEFAULT_RULES_PATH, parse_rules_text
    from chalicelib.rules.diff import dump_yaml

    source = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    rules = parse_rules_text(source)
    text = dump_yaml(rules)
    uses = source.count("praise-words")  # the anchor and each alias
    assert "&id" not in text and "*id" not in text and text.count("- impressive\n") == uses >= 2
    assert yaml.safe_load(text) == rules


def test_a_diff_says_what_was_added_removed_changed_and_reordered() -> None:
    from chalicelib.rules.diff import diff_rulesets, ruleset_changes

    spam = rule("spam", {"text": {"contains_any": ["free followers"]}})
    press = rule("press", {"text": {"contains_any": ["journalist"]}})
    legal = rule("legal", {"text": {"contains_any": ["lawsuit"]}})
    wider = rule("press", {"text": {"contains_any": ["journalist", "reporter"]}})
    assert diff_rulesets([spam, press], [spam, press]) == []
    lines = diff_rulesets([spam, press, legal], [wider, spam])
    assert lines[0] == "- removed rule legal"
    assert lines[1] == "~ changed rule press"
    assert "    +      - reporter" in lines and "    -      - journalist" not in lines
    assert lines[-1] == "~ order: press, spam"
    assert diff_rulesets([spam], [spam, legal])[0] == "+ added rule legal"
    assert ruleset_changes([spam, press, legal], [wider, spam, rule("ads", {})]) == {
        "added": ["ads"],
        "removed": ["legal"],
        "changed": ["press"],
        "order": ["press", "spam"],
    }
