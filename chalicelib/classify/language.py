"""A small language guesser for mentions whose platform sends no language: writing system first,
then the share of very common words of each language. Fits in Lambda (no model to load)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")
_STOPWORDS = {
    "en": "the and you to of is it for my in on this that with your i me we are not have was but",
    "es": "el la de que y en los las un una por con para es no mi se lo del al muy pero",
    "pt": "o a de que e do da em um uma para com não é os as no na meu mas muito",
    "fr": "le la les de des et est un une pour pas je vous que en du sur avec mon ne",
    "de": "der die das und ist nicht ich du ein eine mit für auf den zu von es mein aber",
    "it": "il la di che e un una per non è con sono mi ho del della lo ma molto",
    "nl": "de het een en van is niet ik je dat op met voor zijn te maar mijn",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
)


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text gives too little to go on."""
    for code, script in _SCRIPTS:
        if len(script.findall(text)) >= 2:
            return code
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < 3:
        return None
    scores = {lang: sum(w in common for w in words) for lang, common in _WORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 2 and scores[best] >= 0.15 * len(words) else None
