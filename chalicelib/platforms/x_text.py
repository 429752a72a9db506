"""How X counts a post's length toward its 280 (twitter-text's v3 configuration).

Text is NFC-normalised; every link counts 23 (X wraps it in t.co); an emoji, with its modifiers
and zero-width-joined parts, counts 2; other characters count 1 in the ranges below (Latin,
Greek, Cyrillic, Hebrew, Arabic, Indic scripts…, general punctuation) and 2 elsewhere (Chinese,
Japanese, Korean…). Links without a scheme are recognised for `www.` and the common top-level
domains only, so a rare one is counted by its characters.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
LINK_WEIGHT = 23
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_TLDS = "com|net|org|io|co|ly|me|app|dev|info|biz|gov|edu|uk|us|ca|au|de|fr|es|it|nl|jp|in|br"
_LINK = re.compile(
    rf"\bhttps?://\S+|\bwww\.\S+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/\S*)?", re.IGNORECASE
)
_EMOJI_PART = (
    r"(?:[\U0001F1E6-\U0001F1FF]{2}"  # a flag: two regional indicators
    r"|[0-9#*]\uFE0F?\u20E3"  # a keycap
    r"|[\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF\U0001F000-\U0001FAFF]"
    r"[\uFE0F\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]*)"  # skin tones, tag sequences
)
_EMOJI = re.compile(rf"{_EMOJI_PART}(?:\u200D{_EMOJI_PART})*")


def _weight(character: str) -> int:
    point = ord(character)
    return 1 if any(low <= point <= high for low, high in _LIGHT_RANGES) else 2


def weighted_length(text: str) -> int:
    """The length X gives `text` against MAX_WEIGHTED_LENGTH."""
    text = unicodedata.normalize("NFC", text)
    links = len(_LINK.findall(text))
    text = _LINK.sub("", text)
    emoji = len(_EMOJI.findall(text))
    return LINK_WEIGHT * links + 2 * emoji + sum(map(_weight, _EMOJI.sub("", text)))
