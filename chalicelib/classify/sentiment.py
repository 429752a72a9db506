"""Social-media sentiment: the VADER compound score in [-1, 1]."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound score of `text`, rounded to 3 decimals; 0.0 for empty text."""
    if not text.strip():
        return 0.0
    return round(float(_analyzer().polarity_scores(text)["compound"]), 3)
