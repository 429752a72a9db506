"""Cheap, explainable signals: influence, spam likelihood and the intent cues a router needs."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from chalicelib.models import Mention
from chalicelib.rules.keywords import normalise_text

_QUESTION = re.compile(
    r"\?|^(how|what|when|where|why|who|which|can|could|would|will|is|are|do|does|did)\b"
    r"|\b(can|could) (you|i|someone)\b|\bany (update|news|idea)\b"
)
_CUES = {
    "purchase": r"\b(buy|buying|purchase|pre[- ]?order|order one|in stock|price|how much|"
    r"where can i (get|buy|find)|want (one|it|this)|take my money|available in)\b",
    "press": r"\b(journalist|reporter|press|media|article|story|blog|blogger|newspaper|"
    r"interview|for comment|writing a piece|tv|cnn|bbc|news)\b",
    "legal": r"\b(lawyer|attorney|sue|suing|lawsuit|legal action|court|class action|"
    r"regulator|ombudsman|trading standards|consumer affairs|faa|fda|ftc|scam|fraud)\b",
    "safety": r"\b(food poisoning|sick|hospital|injur\w*|unsafe|danger\w*|fire|burn\w*|"
    r"explod\w*|allerg\w*|choking|recall|contaminat\w*|poison\w*|died|death)\b",
}
_CUE_PATTERNS = {name: re.compile(pattern) for name, pattern in _CUES.items()}
_SPAM = re.compile(
    r"\b(follow ?back|followback|free followers|gain followers|promoteback|click here|"
    r"retweet to win|rt to win|dm me for|check out my|giveaway|promo code|discount code|"
    r"earn \$|make money|work from home|crypto|bitcoin|onlyfans)\b"
)
_REPEAT = re.compile(r"(.)\1{4,}")
NEW_ACCOUNT = timedelta(days=30)
"""An account opened this shortly before it posts is more likely a throwaway or a bot."""
ENGAGED_AUDIENCE = 100
"""Readers each repost, quote, reply or like is taken to add to a post's audience (the order of
a typical account's followers)."""


def intent_cues(text: str) -> dict[str, float]:
    """1.0 or 0.0 for question, purchase, press, legal and safety cues in the text."""
    folded = normalise_text(text)
    cues = {"question": float(bool(_QUESTION.search(folded)))}
    cues.update({name: float(bool(p.search(folded))) for name, p in _CUE_PATTERNS.items()})
    return cues


def influence(mention: Mention) -> float:
    """0..1: the post's likely audience on a log scale (1 at 10 million): the author's followers
    plus ENGAGED_AUDIENCE for each engagement the post already has; raised for verified
    accounts, halved for private messages nobody else sees."""
    audience = max(0, mention.author.followers) + ENGAGED_AUDIENCE * max(0, mention.engagement)
    reach = math.log10(audience + 1) / 7
    score = min(1.0, reach + (0.15 if mention.author.verified else 0.0))
    return round(score if mention.public else score / 2, 3)


def spam_score(mention: Mention) -> float:
    """0..1: known spam phrases, link and hashtag stuffing, repeated characters, shouting,
    repeated words, and an account opened less than NEW_ACCOUNT before the post."""
    text = mention.text
    folded = normalise_text(text)
    words = folded.split()
    score = 0.6 if _SPAM.search(folded) else 0.0
    links = max(folded.count("http"), len(mention.urls))  # X lists the text's links again
    score += 0.15 * min(links, 3)
    hashtags = folded.count("#")
    if words and hashtags / len(words) > 0.3:
        score += 0.3
    if _REPEAT.search(folded):
        score += 0.1
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.1
    if words and len(set(words)) / len(words) < 0.5 and len(words) > 6:
        score += 0.2
    opened = mention.author.created_at
    if opened is not None and (mention.created_at or datetime.now(UTC)) - opened < NEW_ACCOUNT:
        score += 0.2
    return round(min(score, 1.0), 3)
