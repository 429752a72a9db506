r"""Keyword matching for rules: whole words, case-folded, one pass over the text for every rule.

A term is a word or phrase; a trailing `*` makes its last word a prefix ("refund*"). Text is
case-folded and its whitespace collapsed before matching (`normalise_text`), so terms and text
compare word for word. A term is known by its key: the normalised stem, plus `*` for a prefix.
The plain interpreter (`find_term`, a search per term) and the compiled engine (`KeywordIndex`)
find the same terms in the same text; tests hold both to the regular expression
`(?<!\w)term(?!\w)` (a prefix: `(?<!\w)stem\w*`).
"""

from __future__ import annotations

import re

import ahocorasick

_WORD = re.compile(r"\w+")
r"""A run of word characters: exactly what `(?<!\w)` and `(?!\w)` bound."""


def normalise_text(text: str) -> str:
    """Case-fold and collapse whitespace: the form of text every rule sees."""
    return " ".join(text.casefold().split())


def term_key(raw: str) -> str:
    """The key of a rule keyword: "Never  arrived" → "never arrived", "Refund*" → "refund*"."""
    stripped = raw.strip()
    prefix = stripped.endswith("*")
    return normalise_text(stripped.rstrip("*")) + ("*" if prefix else "")


def is_word_char(char: str) -> bool:
    """Whether `char` is a word character (what `\\w` matches): letters, digits, underscore."""
    return char.isalnum() or char == "_"


def find_term(text: str, key: str) -> tuple[int, str] | None:
    """The first whole-word occurrence of a term key in normalised `text`: where it starts and
    the text it matched (a prefix term matches to the end of its word), or None."""
    prefix = key.endswith("*")
    stem = key[:-1] if prefix else key
    size = len(text)
    start = text.find(stem)
    while start != -1:
        stop = start + len(stem)
        if not (start and is_word_char(text[start - 1])):
            if prefix:
                while stop < size and is_word_char(text[stop]):
                    stop += 1
                return start, text[start:stop]
            if stop == size or not is_word_char(text[stop]):
                return start, stem
        start = text.find(stem, start + 1)
    return None


_ASCII_SEPARATORS = bytes(c for c in range(128) if not is_word_char(chr(c)))
_TO_SPACES = bytes.maketrans(_ASCII_SEPARATORS, b" " * len(_ASCII_SEPARATORS))


def words_of(text: str) -> list[str]:
    """Every run of word characters in `text`, and some pieces that hold other characters too
    (which can never equal a word).

    Turning the ASCII separators of the UTF-8 bytes into spaces through a byte table, then
    splitting, is several times faster than a regular expression and exact for every ASCII
    piece; the few pieces with other characters (which may separate words too, like an emoji or
    a curly quote) are split again by the regular expression.
    """
    pieces = text.encode().translate(_TO_SPACES).decode().split()
    if not text.isascii():
        pieces += _WORD.findall(" ".join([piece for piece in pieces if not piece.isascii()]))
    return pieces


class KeywordIndex:
    """Every term of a ruleset, found in one pass over the text.

    A single-word term (word characters only) occurs as a whole word exactly when it is one of
    the text's words, so those are found by a set intersection with the text's words
    (`words_in`); phrases, prefixes and terms with other characters go through one Aho-Corasick
    automaton (`phrases_in`).
    """

    def __init__(self, keys: set[str]) -> None:
        self._words = frozenset(key for key in keys if _WORD.fullmatch(key))
        stems: dict[str, list[str | None]] = {}
        for key in keys - self._words:
            prefix = key.endswith("*")
            slots = stems.setdefault(key[:-1] if prefix else key, [None, None])
            slots[1 if prefix else 0] = key
        self.has_phrases = bool(stems)
        self._automaton = ahocorasick.Automaton()
        for stem, (exact_key, prefix_key) in stems.items():
            self._automaton.add_word(stem, (len(stem), exact_key, prefix_key))
        if stems:
            self._automaton.make_automaton()

    def words_in(self, text: str) -> frozenset[str]:
        """The keys of the single-word terms that occur in case-folded `text` (its whitespace
        need not be collapsed)."""
        return self._words.intersection(words_of(text))

    def phrases_in(self, text: str) -> set[str]:
        """The keys of the other terms that occur as whole words in normalised `text`."""
        found: set[str] = set()
        if not self.has_phrases:
            return found
        last = len(text) - 1
        for end, (length, exact_key, prefix_key) in self._automaton.iter(text):
            start = end - length + 1
            if start and is_word_char(text[start - 1]):
                continue
            if prefix_key is not None:
                found.add(prefix_key)
            if exact_key is not None and (end == last or not is_word_char(text[end + 1])):
                found.add(exact_key)
        return found
