"""The language of a mention whose platform sends none: Google's Compact Language Detector 2
(pycld2, a C extension with its tables built in: ~2.5 ms to import, ~30 µs a mention, 80+
languages), read on the text without links and handles, which are in no language."""

from __future__ import annotations

import re

import pycld2

_NOT_WORDS = re.compile(r"https?://\S+|@\w+")
# control characters, lone surrogates, non-characters: CLD2 refuses them as invalid UTF-8
_NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_LETTER = re.compile(r"[^\W\d_]")
_RETIRED_CODES = {"iw": "he", "in": "id", "jw": "jv", "ji": "yi"}  # CLD2 still uses these
MIN_LETTERS = 3


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text gives too little to go on (CLD2 unsure)."""
    words = _NOT_TEXT.sub(" ", _NOT_WORDS.sub(" ", text))
    if len(_LETTER.findall(words)) < MIN_LETTERS:
        return None
    try:
        reliable, _, languages = pycld2.detect(words)
    except (pycld2.error, UnicodeError):  # anything CLD2 cannot read is no language to report
        return None
    code = languages[0][1].split("-")[0]  # "zh-Hant" is Chinese
    code = _RETIRED_CODES.get(code, code)
    return code if reliable and len(code) == 2 and code != "un" else None
