"""Signals computed from a mention: pure functions, no I/O."""

from __future__ import annotations

from chalicelib.classify.sentiment import sentiment
from chalicelib.models import Mention


def compute_signals(mention: Mention) -> dict[str, float]:
    """Every signal Switchboard computes today; a signal not built yet is absent, never faked."""
    return {"sentiment": sentiment(mention.text)}
