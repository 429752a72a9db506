"""Benchmark: what the acknowledgement path costs a cold API Lambda, and per delivery.

Cold start: a fresh interpreter importing the Chalice app, against the floor every Chalice app
on boto3 and pydantic pays (importing chalice, boto3 and pydantic alone), median of 5 runs; and
the app with what a Slack button press or slash command loads besides, against the 3 seconds
Slack waits.
Per delivery: verify + check + enqueue of a signed X delivery, with the in-memory queue twin
(so the number is Switchboard's own work, without the network), against the HMAC alone.
Run: `make bench` (or `python -m bench.webhook`).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from bench.timing import cold_start_ms
from chalicelib.demo import load_samples, signed_headers
from chalicelib.platforms.signatures import b64_signature
from chalicelib.services.intake import accept_delivery
from chalicelib.settings import Settings
from chalicelib.stats import percentile
from chalicelib.stores.payloads import MemoryPayloads
from chalicelib.stores.queues import MemoryQueues

FLOOR = "import chalice.app, boto3, pydantic"
APP = "import app"
PRESS = (
    "import app, chalicelib.services.alert_buttons, chalicelib.services.cases,"
    " chalicelib.services.replies, chalicelib.services.slack_commands, chalicelib.services.shifts"
)
"""What a Slack button press or slash command loads on a cold API function: the app, then the
case, reply and shift services (and their platform clients) those routes import when called."""
SLACK_SECONDS = 3


def run() -> int:
    """Print both comparisons."""
    floor, app, press = cold_start_ms(FLOOR), cold_start_ms(APP), cold_start_ms(PRESS)
    print("cold start of the API function (import, ms, median of 5 fresh interpreters)")
    print(f"  chalice + boto3 + pydantic (floor) {floor:>7.0f}")
    print(f"  switchboard app                    {app:>7.0f}   ratio {app / floor:.2f}x")
    share = press / (SLACK_SECONDS * 1000)
    print(
        f"  app + what Slack's requests load   {press:>7.0f}   ratio {press / floor:.2f}x"
        f"  ({share:.0%} of the {SLACK_SECONDS} s Slack waits)"
    )

    settings = Settings(x_consumer_secret="bench-secret")
    sample = next(s for s in load_samples() if s.platform == "x")
    headers = signed_headers("x", sample.body, settings, time.time())
    queues, payloads = MemoryQueues(["intake"]), MemoryPayloads()
    ack, hmac_only = [], []
    for _ in range(2000):
        start = time.perf_counter()
        accept_delivery("x", sample.body, headers, settings, queues, payloads, datetime.now(UTC))
        ack.append((time.perf_counter() - start) * 1e6)
        start = time.perf_counter()
        b64_signature(b"bench-secret", sample.body, prefix="sha256=")
        hmac_only.append((time.perf_counter() - start) * 1e6)
    print("\nper delivery (µs): verify + check + enqueue, in-memory queue")
    print(f"  HMAC-SHA256 alone (floor)  p50 {percentile(hmac_only, 0.5):>6.1f}")
    p50, p99, floor_p50 = percentile(ack, 0.5), percentile(ack, 0.99), percentile(hmac_only, 0.5)
    ratio = p50 / floor_p50
    print(f"  acknowledgement path       p50 {p50:>6.1f}  p99 {p99:>6.1f}   ratio {ratio:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(run())
