"""Benchmark: the cost of every signal per mention (with the language of a mention whose platform
sent none), and what loading them adds to a cold routing worker, printed beside VADER alone (the
floor every version of Switchboard pays).

Run: `make bench` (or `python -m bench.signals`). Uses the real tweets of ../shared/data.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable

from bench.rules import load_texts
from bench.timing import cold_start_ms
from chalicelib.classify import compute_signals, enrich
from chalicelib.classify.language import detect_language
from chalicelib.classify.sentiment import sentiment
from chalicelib.classify.text_model import load_model
from chalicelib.models import Author, Mention
from chalicelib.stats import percentile

COLD_START = {
    "vader alone": "from chalicelib.classify.sentiment import sentiment; sentiment('warm up')",
    "all signals": (
        "from chalicelib.classify import compute_signals, enrich;"
        " from chalicelib.models import Mention;"
        " compute_signals(enrich(Mention(id='x:1', platform='x', text='warm up')))"
    ),
}


def per_mention_us(call: Callable[[Mention], object], mentions: list[Mention]) -> list[float]:
    """Microseconds per call over every mention (after one warm-up call)."""
    call(mentions[0])
    timings = []
    for mention in mentions:
        start = time.perf_counter()
        call(mention)
        timings.append((time.perf_counter() - start) * 1e6)
    return timings


def run() -> int:
    """Print both tables."""
    mentions = [
        Mention(id=f"x:{i}", platform="x", text=t, author=Author(followers=i % 5000))
        for i, t in enumerate(load_texts())
    ]
    floor = per_mention_us(lambda m: sentiment(m.text), mentions)
    complaint = per_mention_us(lambda m: load_model("complaint").probabilities(m.text), mentions)
    full = per_mention_us(lambda m: compute_signals(enrich(m)), mentions)
    print(f"{len(mentions)} real tweets; per-mention cost (µs)")
    print(f"{'':<16}{'p50':>8}{'p99':>8}{'mean':>8}")
    rows = (("vader alone", floor), ("complaint model", complaint), ("all signals", full))
    for name, timings in rows:
        print(
            f"{name:<16}{percentile(timings, 0.5):>8.0f}{percentile(timings, 0.99):>8.0f}"
            f"{statistics.mean(timings):>8.0f}"
        )
    print(f"ratio all/vader (mean): {statistics.mean(full) / statistics.mean(floor):.1f}x")
    languages = Counter(detect_language(m.text) for m in mentions)
    shares = ", ".join(
        f"{lang or 'unsure'} {n / len(mentions):.1%}" for lang, n in languages.most_common(4)
    )
    print(f"language of these (English-corpus) tweets, no platform field: {shares}")
    print("\ncold start: import + first mention (ms, median of 5 fresh interpreters)")
    costs = {name: cold_start_ms(statement) for name, statement in COLD_START.items()}
    for name, cost in costs.items():
        print(f"{name:<16}{cost:>8.0f}")
    print(f"added by the models and cues: {costs['all signals'] - costs['vader alone']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(run())
