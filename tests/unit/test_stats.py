"""Percentiles as reports and benchmarks give them: by nearest rank."""

from __future__ import annotations

import pytest

from chalicelib.stats import percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([600.0, 7800.0], 0.5, 600.0),  # of two, the median is the lower
        ([3.0, 1.0, 2.0], 0.5, 2.0),  # unsorted in
        ([1.0, 2.0, 3.0], 0.9, 3.0),
        (list(map(float, range(1, 101))), 0.99, 99.0),
        (list(map(float, range(1, 101))), 1.0, 100.0),
        ([5.0], 0.0, 5.0),
    ],
)
def test_a_percentile_is_a_value_from_the_data(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == expected
