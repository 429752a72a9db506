"""Test helpers: sample deliveries as the intake queue holds them."""

from __future__ import annotations

import json
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
