"""The routing core: the live-ruleset cache, conversations and the department model fallback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.classify import compute_signals, enrich
from chalicelib.models import (
    Author,
    CaseState,
    Conversation,
    EarlierCase,
    History,
    Mention,
    Routing,
)
from chalicelib.rules import DEFAULT_RULES_PATH, Engine, Ruleset, load_rules_file
from chalicelib.services.routing import EngineCache, decide, engine_for
from chalicelib.settings import Settings
from chalicelib.stores.rules import MemoryRulesStore

NO_RULES = Ruleset.model_validate([])
PRAISE = Mention(id="x:1", platform="x", text="Thank you so much, the crew was wonderful!")


def test_unpublished_store_keeps_the_default_engine_and_picks_up_a_publish() -> None:
    from datetime import UTC, datetime

    store = MemoryRulesStore()
    cache = EngineCache(store, Settings(), ttl=0)
    first = cache.engine()
    assert cache.engine() is first and first.version == 0
    store.publish([], "ana", "empty", datetime.now(UTC))
    assert cache.engine().version == 1


def test_no_rule_means_the_department_model_decides_and_says_so() -> None:
    settings = Settings(classifier_threshold=0.5)
    decision = decide(PRAISE, engine_for(NO_RULES, 0, settings), settings, compute_signals(PRAISE))
    assert decision.department == "marketing" and decision.decided_by == "classifier"
    assert decision.matched_rules[-1][1].startswith("department model: marketing with probability")
    confidence = decision.routing(PRAISE.lang).confidence  # the message carries it as a number
    assert decision.routing(PRAISE.lang).decided_by == "classifier"  # and what decided
    assert confidence is not None and 0.5 <= confidence <= 1
    assert f"with probability {confidence:.2f}" in decision.matched_rules[-1][1]


def test_model_choices_outside_the_configured_departments_go_to_triage() -> None:
    settings = Settings(departments=["support", "pr", "triage"], classifier_threshold=0.5)
    decision = decide(PRAISE, engine_for(NO_RULES, 0, settings), settings, compute_signals(PRAISE))
    assert decision.department == "triage" and decision.decided_by is None
    assert decision.matched_rules[-1][1].endswith(", not a department here: left to triage")


def test_unsure_model_leaves_the_mention_to_triage_and_says_so() -> None:
    settings = Settings(classifier_threshold=1.0)
    decision = decide(PRAISE, engine_for(NO_RULES, 0, settings), settings, compute_signals(PRAISE))
    assert decision.department == "triage" and decision.decided_by is None
    assert decision.routing(None).decided_by is None  # nothing decided: triage
    assert decision.matched_rules[-1][1].endswith(", under 1.0: left to triage")
    assert decision.confidence is not None and decision.confidence < 1.0


def test_a_rule_decision_carries_no_model_confidence() -> None:
    settings = Settings()
    mention = Mention(id="x:1", platform="x", text="@Acme my order never arrived, nobody answers")
    decision = decide(mention, default_engine(settings), settings, compute_signals(mention))
    assert decision.decided_by == "service-problem" and decision.routing(None).confidence is None


@pytest.mark.parametrize(
    ("text", "lang", "department"),
    [
        # the English department model would call this German complaint chatter (ignore)
        ("@Acme Meine Bestellung ist nicht angekommen", "de", "triage"),
        ("@Acme Mi pedido no ha llegado y nadie me responde", "es", "triage"),
        ("@Acme Mi pedido no ha llegado y nadie me responde", "es-419", "triage"),
        # English, a language nobody could tell, or X's code for media only: the model decides
        ("Thank you so much, the crew was wonderful!", "en", "marketing"),
        ("Thank you so much, the crew was wonderful!", None, "marketing"),
        ("Thank you so much, the crew was wonderful!", "qme", "marketing"),
    ],
)
def test_the_english_department_model_only_reads_english(
    text: str, lang: str | None, department: str
) -> None:
    settings = Settings(classifier_threshold=0.5)
    mention = Mention(id="x:5", platform="x", text=text, lang=lang)
    decision = decide(
        mention, engine_for(NO_RULES, 0, settings), settings, compute_signals(mention)
    )
    assert decision.department == department
    if department == "triage":
        assert decision.matched_rules == [
            ("classifier", f"in {lang}, the department model reads English only: left to triage")
        ]


def test_a_reply_no_rule_decides_stays_with_its_conversation() -> None:
    settings = Settings(classifier_threshold=0.5)
    engine = engine_for(NO_RULES, 0, settings)
    follow_up = PRAISE.model_copy(update={"id": "x:2", "kind": "reply", "in_reply_to": "x:900"})
    pr_case = Conversation(mention_id="x:1", department="pr")
    decision = decide(follow_up, engine, settings, compute_signals(follow_up), None, pr_case)
    assert decision.department == "pr" and decision.decided_by == "conversation"
    assert decision.matched_rules == [("conversation", "continues x:1, routed to pr")]

    picture = follow_up.model_copy(update={"text": ""})  # no text to read: still its conversation
    decision = decide(picture, engine, settings, {}, None, pr_case)
    assert decision.department == "pr"

    ignored = Conversation(mention_id="x:1", department="ignore")  # nobody has it: not followed
    decision = decide(follow_up, engine, settings, compute_signals(follow_up), None, ignored)
    assert decision.decided_by == "classifier"


def test_a_rule_still_decides_a_reply_first() -> None:
    settings = Settings()
    rules = Ruleset.model_validate(
        [{"id": "safety", "when": {"text": {"contains_any": ["hospital"]}},
          "then": {"route_to": "pr"}}]
    )  # fmt: skip
    follow_up = Mention(id="x:3", platform="x", kind="reply", text="now I am in hospital")
    decision = decide(
        follow_up,
        engine_for(rules, 0, settings),
        settings,
        compute_signals(follow_up),
        None,
        Conversation(mention_id="x:1", department="support"),
    )
    assert decision.department == "pr" and decision.decided_by == "safety"


def test_rules_can_read_the_conversation_department() -> None:
    settings = Settings()
    rules = Ruleset.model_validate(
        [
            {
                "id": "pr-follow-ups-are-urgent",
                "when": {"conversation.department": {"in": ["pr"]}},
                "then": {"priority": "urgent", "tags": ["follow-up"]},
                "continue": True,
            }
        ]
    )
    engine = engine_for(rules, 0, settings)
    follow_up = Mention(id="x:3", platform="x", kind="reply", text="any news?")
    pr_case = Conversation(mention_id="x:1", department="pr")
    decision = decide(follow_up, engine, settings, {}, None, pr_case)
    assert (decision.department, decision.priority, decision.tags) == (
        "pr",
        "urgent",
        ["follow-up"],
    )
    assert decision.matched_rules[0] == (
        "pr-follow-ups-are-urgent",
        "conversation.department is 'pr'",
    )
    alone = decide(follow_up, engine, settings, {}, None, None)  # no conversation: no match
    assert alone.priority == "normal" and "follow-up" not in alone.tags


def default_engine(settings: Settings) -> Engine:
    """The engine of the repository's default ruleset."""
    return engine_for(load_rules_file(DEFAULT_RULES_PATH, settings.departments), 1, settings)


def test_default_rules_keep_follow_ups_with_their_case_but_escalate_safety() -> None:
    settings = Settings()
    engine = default_engine(settings)
    support_case = Conversation(mention_id="x:1", department="support")

    def routed(text: str, conversation: Conversation | None) -> str:
        mention = Mention(id="x:9", platform="x", kind="reply", text=text, in_reply_to="x:900")
        signals = compute_signals(mention)
        return decide(mention, engine, settings, signals, None, conversation).department

    thanks = "@AcmeHelp that worked, thank you so much, you are the best!"
    assert routed(thanks, None) == "marketing"  # praise, on its own
    assert routed(thanks, support_case) == "support"  # the end of a support case
    hurt = "@AcmeHelp the replacement charger caught fire and burned my hand"
    assert routed(hurt, support_case) == "pr"  # an escalation still goes to pr
    receipt = "@Acme https://t.co/receipt1"  # evidence in a case, not a link share
    assert routed(receipt, None) == "ignore" and routed(receipt, support_case) == "support"
    # sent to a care account, a link is evidence in a case even when the case is not known
    assert routed("@AcmeHelp https://t.co/receipt1", None) == "support"
    dm = Mention(id="x:8", platform="x", kind="dm", public=False, text="https://t.co/receipt1")
    decision = decide(dm, engine, settings, compute_signals(dm))
    assert decision.department == "triage"  # a private link is for the brand: a human looks


def default_route(text: str) -> tuple[str, str]:
    """The department and deciding rule of a public X mention under the default ruleset."""
    settings = Settings()
    mention = enrich(Mention(id="x:9", platform="x", text=text))
    decision = decide(mention, default_engine(settings), settings, compute_signals(mention))
    return decision.department, decision.matched_rules[0][0]


@pytest.mark.parametrize(
    ("text", "department", "rule"),
    [
        # a link nobody speaks in is a share; naming a paper does not make it a press request
        ("Acme shares close at record high https://t.co/abc123", "ignore", "link-share"),
        (
            "@Acme Acme to open 40 stores next year - Daily Business Reporter https://t.co/ab",
            "ignore",
            "link-share",
        ),
        # an upbeat share is still a share; praise or a campaign post with a link is marketing's
        ("Acme shares soar to a record high, a big win https://t.co/abc1", "ignore", "link-share"),
        (
            "Loving the new Acme blender, smoothies daily https://t.co/abc1",
            "marketing",
            "strong-praise",
        ),
        (
            "New flavours from @Acme this spring #acmesquad #sponsored https://t.co/abc1",
            "marketing",
            "partnership-and-campaigns",
        ),
        # ... but a shared story of a hazard is still a pr matter
        (
            "Acme toasters recalled after they caught fire https://t.co/abc123",
            "pr",
            "health-and-safety",
        ),
        # a post that @mentions nobody is talk about the brand, unless pr or a complaint
        ("watching the game tonight with an #acme soda", "ignore", "not-addressed"),
        ("Looking for comment from Acme on the outage for a story", "pr", "press-and-media"),
        ("#acme my order never arrived and nobody answers", "support", "service-problem"),
        # praise that asks something is a question for support
        ("@Acme love the new app! can I use it offline?", "support", "question"),
        # words that only look like an allegation
        ("@Acme thank you, the hospitality on board was superb", "marketing", "strong-praise"),
        ("@Acme to add insult to injury my bag is lost too", "support", "service-problem"),
        ("@Acme the new app is sick!", "marketing", "strong-praise"),
        ("@Acme thanks for ignoring all my tweets", "support", "sarcastic-thanks"),
        ("@Acme thanks a lot for nothing!", "support", "sarcastic-thanks"),
        (
            "just want to thank @AcmeHelp @Acme for ignoring me for three days",
            "support",
            "sarcastic-thanks",
        ),
        ("@Acme thanks for the quick fix!", "marketing", "strong-praise"),
        ("@Acme really enjoyed the flight, the crew was fun", "marketing", "strong-praise"),
        (
            "@Acme you have the nicest gate agent, multiple delays and she is still pleasant",
            "marketing",
            "strong-praise",
        ),
        ("@Acme I did not enjoy waiting 3 hours for my bag", "support", "service-problem"),
        # the chatter rules read English: a photo of a broken order in Spanish is no share
        ("@Acme mi pedido llegó roto, miren https://t.co/abc1", "triage", "classifier"),
        ("Pedido de #Acme nunca llegó, pésimo servicio", "triage", "classifier"),
        # warm praise for a problem solved is a testimonial; sarcastic praise is still a complaint
        (
            "@Acme a huge shoutout to your customer service for getting me on a flight home"
            " after my cancellation, amazing team!",
            "marketing",
            "strong-praise",
        ),
        (
            "@Acme Great Job! 3 power outages in 3 months! Oh, and thanks for responding to my DM",
            "support",
            "service-problem",
        ),
        ("@Acme I'm sick of living in this airport!! #getittogether", "support", "negative-tone"),
        ("@AcmeHelp I blocked her but she is still harassing me, help", "support", "question"),
        (
            "@AcmeBank there's a fraudulent charge on my card, please block it",
            "support",
            "question",
        ),
        (
            "@Acme so when does the fee start, as seen in a comparison article?",
            "support",
            "question",
        ),
        # a product wish said warmly is marketing's, an angry one support's
        (
            "Dear @Acme please bring back the potato cakes, I have been craving them since 2009",
            "marketing",
            "product-wish",
        ),
        ("@Acme BRING BACK THE SAUCE! #lifeover", "support", "classifier"),
        ("@Acme please bring back my old plan, the new one costs more", "support", "question"),
        # VADER finds a polite request warm; it is still a request
        ("@AcmeSupport please help", "support", "question"),
        ("@Acme hi how do I log into my free sports account please", "support", "question"),
        (
            "@AcmeAir please check my name change request, the flight is tomorrow. thanks",
            "support",
            "question",
        ),
        ("@Acme please make sure the driver calls first, thanks", "support", "question"),
        ("@Acme YOU ARE THE BEST!!! FOLLOW ME PLEASE", "marketing", "strong-praise"),
        # a warm tone without a praise word is praise when said to someone, a mood otherwise
        ("@Acme the new flavor is delicious 😍", "marketing", "strong-praise"),
        ("what a beautiful morning, so happy today", "ignore", "classifier"),
        ("Loving my new #Acme sneakers", "marketing", "strong-praise"),
        # ... and the allegations they are confused with
        ("@Acme your store manager sexually harassed my daughter", "pr", "discrimination"),
        ("I'm writing an article about Acme's delivery delays", "pr", "press-and-media"),
        # who it is sent to: a care account has cases, a regulator makes it a pr matter
        ("@AcmeSupport Yes. I do.", "support", "care-account"),
        ("@AskAcme as requested. https://t.co/abc1", "support", "care-account"),
        ("@skincare as requested. https://t.co/abc1", "ignore", "link-share"),  # a word, no desk
        (
            "@Acme @FTC three months and still no refund for a kettle you never shipped",
            "pr",
            "legal-and-regulators",
        ),
        # a contest question said warmly is marketing's though the complaint model leans (0.57)
        (
            "@Acme when will the summer contest be back? it was fun",
            "marketing",
            "partnership-and-campaigns",
        ),
        # what is wrong with the product itself, and hygiene
        ("@Acme the bread I bought today is mouldy", "support", "service-problem"),
        ("@Acme theres a hair in my burrito", "support", "service-problem"),
        (
            "@Acme your Main St store is unsanitary, roaches by the counter",
            "pr",
            "health-and-safety",
        ),
        # a purchase question is a sales lead (priority normal), not a campaign entry (low)
        ("@Acme where can I buy this in Leeds?", "marketing", "purchase-intent"),
        ("@Acme when does the preorder open? want one", "marketing", "purchase-intent"),
        # ... also written "pre order", which names an order but is no order gone wrong
        ("@Acme can I pre order the X2 in blue?", "marketing", "pre-order"),
        ("@Acme pre-order still not shipped after two weeks", "support", "service-problem"),
        ("@Acme can I cancel my pre order?", "support", "service-problem"),
        # a complaint hashtag files a complaint, even said to nobody; a happy "no #fail" does not
        ("#Acme checkout page GUI #Fail #EpicFail", "support", "complaint-hashtag"),
        ("Acme app lost my playlist again #neveragain", "support", "complaint-hashtag"),
        (
            "Baked bread with the new #Acme oven, it came out amazing, no #fail today! Love it",
            "marketing",
            "strong-praise",
        ),
    ],
)
def test_default_rules_tell_shares_chatter_and_idioms_from_requests(
    text: str, department: str, rule: str
) -> None:
    assert default_route(text) == (department, rule)


@pytest.mark.parametrize(
    "text",
    [
        "@Acme if you want our loyalty you need to do better than that",
        "@Acme you should know that we care a lot about the safety of our kids, for good reason",
    ],
)
def test_a_warm_tone_that_makes_demands_is_not_praise(text: str) -> None:
    assert compute_signals(Mention(id="x:1", platform="x", text=text))["sentiment"] >= 0.6
    assert default_route(text)[0] != "marketing"


def test_a_reply_to_someone_else_that_only_tags_the_brand_along_is_chatter() -> None:
    settings = Settings()
    engine = default_engine(settings)

    def routed(text: str, tagged_along: bool, stored: bool = False) -> tuple[str, str]:
        mention = Mention(id="x:9", platform="x", text=text, tagged_along=tagged_along, lang="en")
        signals = compute_signals(mention)
        if stored:  # signals stored before there was an `addressed` signal, as a dry-run replays
            del signals["addressed"]
        decision = decide(mention, engine, settings, signals)
        return decision.department, decision.matched_rules[0][0]

    chat = "@jamie_r @Acme haha same, see you at the game tonight"
    assert routed(chat, tagged_along=True) == ("ignore", "not-addressed")
    assert routed(chat, tagged_along=False)[1] != "not-addressed"
    assert routed(chat, tagged_along=True, stored=True)[1] != "not-addressed"
    # a complaint is the brand's business however its handle got there; a question is for the
    # person the reply answers (asked into the air, or with the handle typed, it is the brand's)
    complaint = "@jamie_r @Acme same here, my order never arrived and nobody answers"
    assert routed(complaint, tagged_along=True) == ("support", "service-problem")
    question = "@jamie_r @Acme do you know when the sale ends?"
    assert routed(question, tagged_along=True) == ("ignore", "not-addressed")
    assert routed(question, tagged_along=False) == ("support", "question")
    # a warm tone without a praise word is praise said to the brand, not to a friend
    warm = "@jamie_r @Acme so happy for you, what a day!"
    assert routed(warm, tagged_along=False) == ("marketing", "strong-praise")
    assert routed(warm, tagged_along=True)[0] != "marketing"
    assert routed(warm, tagged_along=True, stored=True) == ("marketing", "strong-praise")


def test_criticism_with_a_large_audience_is_copied_to_pr_at_high_priority() -> None:
    settings = Settings()
    engine = default_engine(settings)

    def routed(text: str, followers: int, verified: bool = False, public: bool = True) -> Routing:
        author = Author(followers=followers, verified=verified)
        mention = Mention(id="x:9", platform="x", text=text, author=author, public=public)
        return decide(mention, engine, settings, compute_signals(mention)).routing(mention.lang)

    lost = "@Acme my order never arrived and nobody answers"
    big = routed(lost, 100_000)
    assert (big.department, big.also, big.priority) == ("support", ["pr"], "high")
    assert "high-reach" in big.tags and big.queues == ["support", "pr"]
    assert big.matched_rules[0].id == "high-reach-criticism"
    assert "signals.influence 0.714 >= 0.7" in big.matched_rules[0].why
    assert routed(lost, 20_000, verified=True).also == ["pr"]  # verified: a smaller audience
    small = routed(lost, 1_000)
    assert (small.department, small.also, small.priority) == ("support", [], "normal")
    assert routed(lost, 100_000, public=False).also == []  # a private message is no audience
    # praise from a large account is marketing's, as from anyone
    praise = routed("@Acme thank you, the crew was wonderful!", 100_000)
    assert (praise.department, praise.also) == ("marketing", [])
    # an allegation keeps its own department and urgency
    hurt = routed("@Acme my kid got food poisoning from your burger", 100_000)
    assert (hurt.department, hurt.also, hurt.priority) == ("pr", ["support"], "urgent")
    # the copy never brings back what a later rule ignores: a retweet reaches no queue
    shared = routed("RT @jamie_r: Acme is the worst, never again", 100_000)
    assert [rule.id for rule in shared.matched_rules] == ["high-reach-criticism", "retweet-share"]
    assert shared.department == "ignore" and shared.queues == []


def test_a_customer_complaining_again_while_a_case_waits_is_raised_and_tagged() -> None:
    settings = Settings()
    engine = default_engine(settings)
    week = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def history(*states: CaseState) -> History:
        cases = [EarlierCase(id=f"x:{i}", department="support", routed_at=week, state=s)
                 for i, s in enumerate(states)]  # fmt: skip
        return History(days=30, cases=cases)

    def routed(text: str, earlier: History | None) -> Routing:
        mention = Mention(id="x:9", platform="x", text=text, author=Author(id="42"))
        signals = compute_signals(mention)
        return decide(mention, engine, settings, signals, None, None, earlier).routing(None)

    chasing = "@Acme still no refund for my order, hello??"
    first = routed(chasing, None)
    assert (first.department, first.priority, first.tags) == ("support", "normal", ["problem"])
    again = routed(chasing, history("waiting"))
    assert (again.department, again.priority) == ("support", "high")
    assert again.tags == ["chasing", "problem"]
    assert again.matched_rules[0].why == "history.waiting 1 >= 1 and signals.complaint 0.93 >= 0.5"
    assert again.history == history("waiting")  # the department sees which cases
    answered = routed(chasing, history("answered"))  # answered before: a new case like any
    assert (answered.priority, answered.tags) == ("normal", ["problem"])
    third = routed(chasing, history("answered", "closed"))
    assert (third.priority, third.tags) == ("normal", ["repeat-contact", "problem"])
    # a department still decides as for anyone; a fan praising again is not chasing
    fan = routed("@Acme love the new flavour!", history("waiting"))
    assert (fan.department, fan.priority, fan.tags) == ("marketing", "low", ["praise"])
    spam = routed("Follow me and I follow back! #followback", history("waiting"))
    assert spam.department == "ignore" and spam.queues == []


def test_rules_read_the_history_fields_as_zero_when_the_author_has_none() -> None:
    settings = Settings()
    rules = Ruleset.model_validate(
        [{"id": "first-timers", "when": {"history.cases": {"equals": 0}}, "then": {"tags": ["new"]},
          "continue": True}]
    )  # fmt: skip
    engine = engine_for(rules, 0, settings)
    mention = Mention(id="x:9", platform="x", text="hi @Acme")
    assert decide(mention, engine, settings, {}).tags == ["new"]
