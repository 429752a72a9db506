"""Test helpers: sample deliveries as the intake queue holds them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from chalicelib.models import RawDelivery
from tests.conftest import EVENTS

RECEIVED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def sample_bytes(name: str) -> bytes:
    """The exact bytes of a sample delivery under tests/events/."""
    return (EVENTS / name).read_bytes()


def delivery(platform: str, body: Any) -> RawDelivery:
    """A raw delivery around a sample file name or a JSON-able body."""
    if isinstance(body, str) and body.endswith(".json"):
        text = sample_bytes(body).decode()
    else:
        text = json.dumps(body)
    return RawDelivery(platform=platform, body=text, received_at=RECEIVED)


def food_safety_thread(*keep: int) -> bytes:
    """The food-safety sample's posts at these positions: 0 the customer's (pr, copied to
    support), 1 the brand's answer, posted from X's app a minute later."""
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    payload["tweet_create_events"] = [payload["tweet_create_events"][i] for i in keep]
    return json.dumps(payload).encode()


_TIME_FIELDS = {"time", "timestamp", "created_time"}
_MILLISECONDS = 10**12
"""Epoch times past this are in milliseconds."""


def recent_sample(name: str, hours_ago: float = 1) -> bytes:
    """A Meta sample as if it were sent `hours_ago` hours ago: its times (`time`, `timestamp`,
    `created_time`, in seconds or milliseconds) moved together, so that windows counted from
    when the customer wrote (Messenger's 24 hours, private replies' 7 days) hold whenever the
    suite runs."""
    payload = json.loads(sample_bytes(name))
    earliest = min(_seconds(payload))
    return json.dumps(_moved(payload, int(time.time() - hours_ago * 3600) - earliest)).encode()


def _seconds(node: Any) -> Iterator[int]:
    """Every time in a payload, in seconds."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _TIME_FIELDS and isinstance(value, int):
                yield value // 1000 if value >= _MILLISECONDS else value
            else:
                yield from _seconds(value)
    elif isinstance(node, list):
        for item in node:
            yield from _seconds(item)


def _moved(node: Any, shift: int) -> Any:
    """The payload with every time moved by `shift` seconds."""
    if isinstance(node, dict):
        return {
            key: value + (shift * 1000 if value >= _MILLISECONDS else shift)
            if key in _TIME_FIELDS and isinstance(value, int)
            else _moved(value, shift)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_moved(item, shift) for item in node]
    return node


class LambdaContext:
    """What the Lambda runtime passes a handler, as far as Switchboard reads it: the time left,
    here the given seconds one call after another (the last one from then on)."""

    def __init__(self, *seconds_left: float) -> None:
        self._left = list(seconds_left)

    def get_remaining_time_in_millis(self) -> int:
        left = self._left.pop(0) if len(self._left) > 1 else self._left[0]
        return int(left * 1000)


def emitted_by_department(out: str, name: str) -> dict[str, list[float]]:
    """The per-department values of metric `name` in the EMF lines printed."""
    blobs = [json.loads(line) for line in out.splitlines() if "_aws" in line]
    return {b["department"]: b[name] for b in blobs if name in b and "department" in b}
