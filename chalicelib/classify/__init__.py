"""Signals computed from a mention: pure functions, no I/O.

Every routed message carries these signals (numbers, usable in rules as `signals.NAME`; its
signals block adds `lang`, the mention's language, which rules read as `signals.lang`):
sentiment (VADER compound, -1..1), complaint (probability), severity (0-4), influence (0..1),
spam (0..1), readable (1 when the English-trained models can read the mention, else 0),
addressed (0 when the brand was only tagged along in a reply to someone else, else 1) and the
intent cues question, purchase, press, legal, safety (0 or 1).
"""

from __future__ import annotations

from chalicelib.classify.cues import influence, intent_cues, spam_score
from chalicelib.classify.language import detect_language
from chalicelib.classify.sentiment import sentiment
from chalicelib.classify.text_model import load_model
from chalicelib.models import Mention

COMPLAINT_THRESHOLD = 0.5
MODELS_LANGUAGE = "en"  # the text models learned from English tweets


def enrich(mention: Mention) -> Mention:
    """The mention with a detected language when the platform sent none."""
    if mention.lang is not None:
        return mention
    return mention.model_copy(update={"lang": detect_language(mention.text)})


def in_models_language(mention: Mention) -> bool:
    """Whether the text models can read the mention: English, or a language nobody could tell
    (too short, or a platform code such as X's `qme`, media only)."""
    code = (mention.lang or "").split("-")[0].lower()
    return len(code) != 2 or code == MODELS_LANGUAGE


def fallback_department(mention: Mention, signals: dict[str, float]) -> tuple[str, float]:
    """The department model's choice for a mention no rule decided, with its probability;
    likely spam is `ignore`. A private message is addressed to the brand, and so is what the
    complaint model calls a complaint, so the model's `ignore` (learned from public tweets
    addressed to nobody) is not a choice for either (an unsure choice goes to triage)."""
    if signals.get("spam", 0.0) >= 0.6:
        return "ignore", signals["spam"]
    probabilities = load_model("department").probabilities(mention.text)
    for_the_brand = not mention.public or signals.get("complaint", 0.0) >= COMPLAINT_THRESHOLD
    choices = [label for label in probabilities if not for_the_brand or label != "ignore"]
    best = max(choices, key=lambda label: probabilities[label])
    return str(best), probabilities[best]


def compute_signals(mention: Mention) -> dict[str, float]:
    """Every signal for one mention."""
    text = mention.text
    complaint = load_model("complaint").probabilities(text)[1] if text.strip() else 0.0
    severity = 0
    if complaint >= COMPLAINT_THRESHOLD:
        levels = load_model("severity").probabilities(text)  # learned from complaints alone
        severity = max(levels, key=lambda level: levels[level])
    return {
        "sentiment": sentiment(text),
        "complaint": round(complaint, 3),
        "severity": float(severity),
        "influence": influence(mention),
        "spam": spam_score(mention),
        "readable": 1.0 if in_models_language(mention) else 0.0,
        "addressed": 0.0 if mention.tagged_along else 1.0,
        **intent_cues(text),
    }
