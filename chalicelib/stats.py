"""Small statistics shared by the reports and the benchmarks."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values by nearest rank (the smallest value with at least q of them at
    or below it); values must not be empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]
