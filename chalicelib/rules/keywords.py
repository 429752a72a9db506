"""Keyword matching for rules: whole words, case-folded, one Aho-Corasick pass for every rule.

A term is a word or phrase; a trailing `*` makes its last word a prefix ("refund*"). Text is
case-folded and its whitespace collapsed before matching (`normalise_text`), so terms and text
compare word for word. A term is known by its key: the normalised stem, plus `*` for a prefix.
The plain interpreter (a regex per term) and the compiled engine (Aho-Corasick) report the same
first hit of each term in the same text.
"""

from __future__ import annotations

import re

import ahocorasick

Hit = tuple[int, str]
"""Where a term first occurs in the text and the text it matched."""


def normalise_text(text: str) -> str:
    """Case-fold and collapse whitespace: the form of text every rule sees."""
    return " ".join(text.casefold().split())


def term_key(raw: str) -> str:
    """The key of a rule keyword: "Never  arrived" → "never arrived", "Refund*" → "refund*"."""
    stripped = raw.strip()
    prefix = stripped.endswith("*")
    return normalise_text(stripped.rstrip("*")) + ("*" if prefix else "")


def term_pattern(key: str) -> str:
    """Regular expression of a term key on normalised text."""
    if key.endswith("*"):
        return rf"(?<!\w){re.escape(key[:-1])}\w*(?!\w)"
    return rf"(?<!\w){re.escape(key)}(?!\w)"


class KeywordIndex:
    """Every term of a ruleset in one Aho-Corasick automaton."""

    def __init__(self, keys: set[str]) -> None:
        stems: dict[str, list[str | None]] = {}
        for key in keys:
            prefix = key.endswith("*")
            slots = stems.setdefault(key[:-1] if prefix else key, [None, None])
            slots[1 if prefix else 0] = key
        self._automaton = ahocorasick.Automaton()
        for stem, (exact_key, prefix_key) in stems.items():
            self._automaton.add_word(stem, (len(stem), exact_key, prefix_key))
        if stems:
            self._automaton.make_automaton()
        self._empty = not stems

    def scan(self, text: str) -> dict[str, Hit]:
        """The first whole-word hit of every indexed term in normalised `text`, by term key."""
        hits: dict[str, Hit] = {}
        if self._empty:
            return hits
        size = len(text)
        # Hits come in order of their end, so the first one kept for a key is its leftmost.
        for end, (length, exact_key, prefix_key) in self._automaton.iter(text):
            start = end - length + 1
            if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue
            stop = end + 1
            at_word_end = stop == size or not (text[stop].isalnum() or text[stop] == "_")
            if exact_key is not None and at_word_end and exact_key not in hits:
                hits[exact_key] = (start, exact_key)
            if prefix_key is not None and prefix_key not in hits:
                while stop < size and (text[stop].isalnum() or text[stop] == "_"):
                    stop += 1
                hits[prefix_key] = (start, text[start:stop])
        return hits
