"""Linear text models at runtime, in pure Python: TF-IDF features and a linear layer.

The artifacts are trained offline by `chalicelib.classify.training` (scikit-learn's
TfidfVectorizer + LogisticRegression) and exported as gzip'd JSON; this module rebuilds exactly
the same features (same tokenisation, n-grams, sublinear TF, IDF, per-block L2 norm), so the
Lambda needs neither scikit-learn nor numpy. Parity with scikit-learn is a test.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).with_name("models")
_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"@\w+")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")


def preprocess(text: str) -> str:
    """Mask links and handles: they name nothing a model should learn from."""
    return _HANDLE.sub(" @user ", _URL.sub(" http ", text))


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's word analyzer: lower-cased `\\b\\w\\w+\\b` tokens, then n-grams."""
    tokens = _WORD.findall(text.lower())
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `char_wb` analyzer: character n-grams inside space-padded words."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < size:
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:
                break
    return grams


ANALYZERS = {"word": word_ngrams, "char_wb": char_wb_ngrams}


class TextModel:
    """A trained linear classifier over TF-IDF blocks."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.classes: list[Any] = spec["classes"]
        self.intercept: list[float] = spec["intercept"]
        self.blocks = [
            (ANALYZERS[b["analyzer"]], b["ngram_range"][0], b["ngram_range"][1], b["vocab"])
            for b in spec["blocks"]
        ]
        self.binary = len(self.classes) == 2 and len(self.intercept) == 1

    def scores(self, text: str) -> list[float]:
        """Raw linear scores (one for a binary model, one per class otherwise)."""
        totals = list(self.intercept)
        for analyzer, low, high, vocab in self.blocks:
            # Each block's TF-IDF vector is L2-normalised: sum the unnormalised products and
            # the squares in one pass, then divide once.
            sums = [0.0] * len(totals)
            squares = 0.0
            for gram, count in _grams(text, analyzer, low, high).items():
                entry = vocab.get(gram)
                if entry is None:
                    continue
                weight = entry[0] if count == 1 else (1.0 + math.log(count)) * entry[0]
                squares += weight * weight
                for i, coef in enumerate(entry[1]):
                    sums[i] += weight * coef
            if squares:
                norm = math.sqrt(squares)
                for i, total in enumerate(sums):
                    totals[i] += total / norm
        return totals

    def probabilities(self, text: str) -> dict[Any, float]:
        """Class probabilities (logistic for two classes, softmax for more)."""
        scores = self.scores(text)
        if self.binary:
            positive = 1.0 / (1.0 + math.exp(-scores[0]))
            return {self.classes[0]: 1.0 - positive, self.classes[1]: positive}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.classes, exps, strict=True)}


@lru_cache(maxsize=32)
def _grams(
    text: str, analyzer: Callable[[str, int, int], list[str]], low: int, high: int
) -> Counter[str]:
    """N-gram counts of a text, shared by every model scoring the same text (read-only)."""
    return Counter(analyzer(preprocess(text), low, high))


def save_model(spec: dict[str, Any], path: Path) -> None:
    """Write a model artifact (gzip'd JSON, floats rounded to keep it small); no name or time in
    the gzip header, so retraining on the same data rewrites the same bytes."""
    data = json.dumps(spec, separators=(",", ":")).encode()
    with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as handle:
        handle.write(data)


@cache
def load_model(name: str) -> TextModel:
    """A shipped model by name, loaded once per container."""
    with gzip.open(MODELS_DIR / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        return TextModel(json.load(handle))
