"""Shared fixtures. The environment is set before the app is imported (Chalice reads it then)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# `make test` (CI) runs every property test on the same examples each time, so a run is
# reproducible and a change lands or not on its own merits; `make fuzz` explores new ones.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "X_CONSUMER_SECRET": "test-x-secret",
    "META_APP_SECRET": "test-meta-secret",
    "META_VERIFY_TOKEN": "test-verify-token",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
    "WEBSUB_SECRET": "It's a Secret to Everybody",
    "YOUTUBE_CHANNELS": "UCacmeChannel0000000000",
    "WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "ADMIN_TOKEN": "test-admin-token",
    "BRAND_ACCOUNTS": "2244994945",
    "POWERTOOLS_METRICS_NAMESPACE": "SwitchboardTest",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
os.environ.update(TEST_ENV)
os.environ.pop("AWS_ENDPOINT_URL", None)  # moto's in-process mock, never a real endpoint
os.environ.pop("INTAKE_QUEUE_ARN", None)
for name in ("SWITCHBOARD_AUTHOR", "USER"):  # the CLI names its caller from these: tests see
    os.environ.pop(name, None)  # the API's default, `admin`, whoever runs them

EVENTS = Path(__file__).parent / "events"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def fresh_wiring() -> Iterator[None]:
    """Every test starts with settings, clients and stores read anew, and leaves the
    environment as it found it (the CLI fills in local defaults)."""
    from chalicelib import wiring

    saved = dict(os.environ)
    wiring.reset()
    yield
    os.environ.clear()
    os.environ.update(saved)
    wiring.reset()
