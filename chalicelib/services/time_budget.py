"""How long a Lambda invocation has left, and whether to start more work in it: a worker that
starts what it cannot finish is stopped mid-way by its timeout (a batch comes back whole, a post
is left uncertain, metrics go unsent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TimeLeft = Callable[[], float]
"""Seconds the invocation has left."""


def from_context(context: Any) -> TimeLeft | None:
    """The time left of a Lambda context (None when run locally: no limit)."""
    if context is None:
        return None
    return lambda: float(context.get_remaining_time_in_millis()) / 1000


def short_of_time(time_left: TimeLeft | None, reserve: float) -> bool:
    """Whether less than `reserve` seconds are left (never, without a limit)."""
    return time_left is not None and time_left() < reserve
