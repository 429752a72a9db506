"""Signals: the shipped text models (parity with scikit-learn), language, cues, influence, spam."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.classify import compute_signals, enrich, fallback_department
from chalicelib.classify.cues import influence, intent_cues, spam_score
from chalicelib.classify.language import detect_language
from chalicelib.classify.text_model import TextModel, char_wb_ngrams, preprocess, word_ngrams
from chalicelib.models import Author, Mention

TEXTS = [
    "@AcmeHelp my order #88213 never arrived!! https://t.co/x1 Where is it?",
    "Absolutely LOVE the new winter menu — best launch this year! #AcmeWinter",
    "I  was charged twice.\nCan you refund one?",
    "a",
    "",
    "Élégant 😍 où acheter au Canada ?",
]


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_analyzers_match_scikit_learn(analyzer: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    ngrams = (1, 2) if analyzer == "word" else (2, 5)
    reference = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams).build_analyzer()
    ours = word_ngrams if analyzer == "word" else char_wb_ngrams
    for text in TEXTS:
        assert sorted(ours(text, *ngrams)) == sorted(reference(text))


def test_exported_model_gives_scikit_learns_probabilities() -> None:
    from chalicelib.classify.training import C, export, load_complaints, pipeline

    rows = load_complaints()[:200]
    texts = [preprocess(row["text"]) for row in rows]
    fitted = pipeline(C["severity"]).fit(texts, [row["severity"] for row in rows])
    model = TextModel(export(fitted))
    expected = fitted.predict_proba(texts)
    for row, probabilities in zip(rows, expected, strict=True):
        ours = model.probabilities(row["text"])
        for label, p in zip(fitted.classes_, probabilities, strict=True):
            assert ours[label] == pytest.approx(p, abs=1e-4)


def test_signals_of_a_complaint_and_of_praise() -> None:
    complaint = Mention(
        id="x:1",
        platform="x",
        text="@AcmeHelp my order never arrived and nobody answers. Useless service.",
        author=Author(followers=20_000, verified=True),
    )
    praise = Mention(
        id="x:2", platform="x", text="Thank you so much, the crew was wonderful! Best flight ever"
    )
    a, b = compute_signals(complaint), compute_signals(praise)
    assert set(a) == set(b) and len(a) == 12
    assert a["complaint"] > 0.5 > b["complaint"]
    assert 1 <= a["severity"] <= 4 and b["severity"] == 0
    assert a["influence"] > 0.7 and b["influence"] == 0.0
    assert b["sentiment"] > 0.5 > a["sentiment"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Mi pedido no ha llegado y nadie me responde", "es"),
        ("Ma commande n'est pas arrivée et je ne sais pas pour la livraison", "fr"),
        ("Meine Bestellung ist nicht angekommen", "de"),
        ("Il mio ordine non è ancora arrivato", "it"),
        ("obrigado pela ajuda", "pt"),
        ("Zamówienie nie dotarło", "pl"),
        ("Siparişim hala gelmedi", "tr"),
        ("@AcmeHelp my order never arrived https://t.co/abc123", "en"),  # short, handle, link
        ("@united flight delayed again", "en"),
        ("注文した商品が届きません", "ja"),
        ("Мой заказ не пришёл", "ru"),
        ("הזמנה שלי לא הגיעה עדיין", "he"),  # CLD2 says "iw"
        ("ok", None),  # too little to go on
        ("😡😡😡 https://t.co/abc123 @AcmeHelp", None),
        ("bad \ud83d half of an emoji, \x00 a NUL and \ufffe a non-character", "en"),
    ],
)
def test_language_of_short_mentions(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


@given(st.text(st.characters(exclude_categories=())))  # surrogates and controls too
def test_any_text_gets_a_language_code_or_none_never_an_error(text: str) -> None:
    lang = detect_language(text)
    assert lang is None or (len(lang) == 2 and lang.isalpha())


def test_readable_says_whether_the_english_models_can_read_the_mention() -> None:
    def readable(lang: str | None) -> float:
        mention = Mention(id="x:1", platform="x", text="Mi pedido no ha llegado", lang=lang)
        return compute_signals(mention)["readable"]

    assert (readable("es"), readable("pt-BR")) == (0.0, 0.0)
    assert (readable("en"), readable("en-GB"), readable(None), readable("qme")) == (1.0,) * 4


def test_platform_language_wins_over_detection() -> None:
    told = Mention(id="x:1", platform="x", text="the order is late and the app is down", lang="pt")
    assert enrich(told).lang == "pt"
    assert enrich(told.model_copy(update={"lang": None})).lang == "en"


def test_intent_cues() -> None:
    assert intent_cues("Where can I buy this in Canada?") == {
        "question": 1.0,
        "purchase": 1.0,
        "press": 0.0,
        "legal": 0.0,
        "safety": 0.0,
    }
    cues = intent_cues("Reporter here: is the recall about food poisoning? My lawyer asks too")
    assert cues["press"] == cues["safety"] == cues["legal"] == cues["question"] == 1.0
    spellings = ("preorder", "pre-order", "pre order")
    assert all(intent_cues(f"the {s} opens friday")["purchase"] == 1.0 for s in spellings)


def test_influence_scale() -> None:
    def score(
        followers: int, verified: bool = False, public: bool = True, engagement: int = 0
    ) -> float:
        return influence(
            Mention(
                id="x:1",
                platform="x",
                text="t",
                public=public,
                author=Author(followers=followers, verified=verified),
                engagement=engagement,
            )
        )

    assert score(0) == 0.0
    assert score(100) < score(10_000) < score(1_000_000) < score(10_000_000) == 1.0
    assert score(10_000, verified=True) > score(10_000)
    assert score(10_000, public=False) == pytest.approx(score(10_000) / 2, abs=0.001)
    # the reach of the post: a small account's post that 1,000 people shared or liked reaches
    # about as far as a 100,000-follower account's
    assert score(100, engagement=1_000) == pytest.approx(score(100_100), abs=0.001)
    assert score(-5) == score(0) == 0.0  # a listening tool's nonsense count is no audience
    assert score(100) < score(100, engagement=5) < score(100, engagement=1_000)


def test_spam_score() -> None:
    def score(text: str) -> float:
        return spam_score(Mention(id="x:1", platform="x", text=text))

    assert score("Follow back for free followers!!! click here http://a http://b") >= 0.9
    assert score("#win #free #follow #rt #giveaway now") >= 0.3
    assert score("My order never arrived, can you help?") == 0.0

    posted = datetime(2026, 11, 22, 8, tzinfo=UTC)

    def by_account_opened(days_before: int) -> float:
        author = Author(created_at=posted - timedelta(days=days_before))
        text = "Deals on watches http://a"
        return spam_score(
            Mention(id="x:1", platform="x", text=text, created_at=posted, author=author)
        )

    assert by_account_opened(2) == pytest.approx(by_account_opened(400) + 0.2)
    assert by_account_opened(400) == score("Deals on watches http://a") == 0.15
    as_x_sends_it = Mention(  # the link in the text, and again expanded in the entities
        id="x:1", platform="x", text="Deals on watches https://t.co/a", urls=["https://a.example"]
    )
    assert spam_score(as_x_sends_it) == 0.15  # one link, counted once


def test_fallback_department_for_unmatched_mentions() -> None:
    def mention(text: str, public: bool = True) -> Mention:
        return Mention(id="x:1", platform="x", text=text, public=public)

    assert fallback_department(mention("buy followers now"), {"spam": 0.8}) == ("ignore", 0.8)
    department, confidence = fallback_department(
        mention("my package is two weeks late and nobody replies to my emails"), {"spam": 0.0}
    )
    assert department == "support" and 0.5 < confidence <= 1.0
    # a bare link shared in public is chatter; sent privately it is for the brand (a receipt, a
    # screenshot), so the model's `ignore` is no choice and an unsure model leaves it to triage
    link = "https://t.co/receipt1"
    assert fallback_department(mention(link), {"spam": 0.0})[0] == "ignore"
    department, confidence = fallback_department(mention(link, public=False), {"spam": 0.0})
    assert department != "ignore" and confidence < 0.5
    # ... and so is what the complaint model calls a complaint, however chatty it reads
    assert fallback_department(mention(link), {"spam": 0.0, "complaint": 0.49})[0] == "ignore"
    department, confidence = fallback_department(mention(link), {"spam": 0.0, "complaint": 0.5})
    assert department != "ignore" and confidence < 0.5
