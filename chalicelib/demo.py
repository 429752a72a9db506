"""`switchboard demo`: send the signed sample deliveries (tests/events/) to a running API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chalicelib.models import native_id
from chalicelib.platforms.signatures import b64_signature, hex_signature, standard_webhooks_sign
from chalicelib.settings import Settings

EVENTS_DIR = Path(__file__).resolve().parents[1] / "tests" / "events"


@dataclass(frozen=True)
class Sample:
    """One sample delivery and the department each of its mentions should reach."""

    name: str
    platform: str
    body: bytes
    expect: dict[str, str]


def load_samples(directory: Path = EVENTS_DIR) -> list[Sample]:
    """The samples listed in `manifest.json`, bodies as the exact bytes to sign."""
    manifest = json.loads((directory / "manifest.json").read_text())
    return [
        Sample(
            item["file"], item["platform"], (directory / item["file"]).read_bytes(), item["expect"]
        )
        for item in manifest
    ]


def signed_headers(platform: str, body: bytes, settings: Settings, now: float) -> dict[str, str]:
    """The headers the platform itself would send with `body`."""
    headers = {"Content-Type": "application/json"}
    if platform == "x":
        key = settings.x_consumer_secret.encode()
        headers["x-twitter-webhooks-signature"] = b64_signature(key, body, prefix="sha256=")
    elif platform == "meta":
        key = settings.meta_app_secret.encode()
        headers["X-Hub-Signature-256"] = hex_signature(key, body, prefix="sha256=")
    elif platform == "slack":
        base = f"v0:{int(now)}:".encode() + body
        headers["X-Slack-Request-Timestamp"] = str(int(now))
        headers["X-Slack-Signature"] = hex_signature(
            settings.slack_signing_secret.encode(), base, prefix="v0="
        )
    elif platform == "youtube":
        headers["Content-Type"] = "application/atom+xml"
        key = settings.websub_secret.encode()
        headers["X-Hub-Signature"] = hex_signature(key, body, "sha1", prefix="sha1=")
    elif platform == "generic":
        msg_id = f"msg_{uuid.uuid4().hex}"
        headers["webhook-id"] = msg_id
        headers["webhook-timestamp"] = str(int(now))
        headers["webhook-signature"] = standard_webhooks_sign(
            settings.webhook_secret, msg_id, int(now), body
        )
    return headers


def freshen(sample: Sample, suffix: str) -> Sample:
    """The sample with new mention ids, so it routes again instead of being a duplicate."""
    body, expect = sample.body.decode(), {}
    for mention_id, department in sample.expect.items():
        native = native_id(mention_id).rsplit("/", 1)[-1]  # Slack ids: channel/ts
        body = body.replace(native, f"{native}{suffix}")
        expect[f"{mention_id}{suffix}"] = department
    return Sample(sample.name, sample.platform, body.encode(), expect)


def run_demo(base_url: str, settings: Settings, out: TextIO, fresh: bool = False) -> int:
    """POST every sample; prints each answer and where its mentions should land with the
    stack's departments.

    With `fresh`, mention ids get a unique suffix so a second run routes again.
    """
    departments, triage = stack_departments(base_url, settings)
    failures = 0
    suffix = f"{int(time.time())}" if fresh else ""
    for sample in load_samples():
        sample = freshen(sample, suffix) if fresh else sample
        request = urllib.request.Request(
            f"{base_url.rstrip('/')}/webhooks/{sample.platform}",
            data=sample.body,
            headers=signed_headers(sample.platform, sample.body, settings, time.time()),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except urllib.error.URLError as exc:
            print(f"cannot reach {base_url}: {exc.reason}. Is `make run` running?", file=out)
            return 1
        failures += status != 200
        expected = ", ".join(
            f"{mid} → {_where(department, departments, triage)}"
            for mid, department in sample.expect.items()
        ) or ("no mention: a logged notification")
        print(f"{status}  {sample.platform:<8} {sample.name:<30} expect {expected}", file=out)
    print(f"\nRead the queues with: switchboard inbox {'|'.join(departments)}", file=out)
    return 1 if failures else 0


def stack_departments(base_url: str, settings: Settings) -> tuple[list[str], str]:
    """The departments of the stack at `base_url` and its triage, as `GET /departments` says;
    those configured here when it does not say."""
    from chalicelib.api_client import ApiClient, ApiError

    client = ApiClient(base_url, token=settings.admin_token, timeout=10)
    try:
        said = client.call("GET", "/departments")
        return [str(name) for name in said["departments"]], str(said["triage"])
    except (ApiError, KeyError, TypeError):
        return list(settings.departments), settings.triage_department


def _where(department: str, departments: list[str], triage: str) -> str:
    """Where a sample meant for `department` lands with these departments."""
    if department == "ignore" or department in departments:
        return department
    return f"{triage} (meant for {department}, not a department here)"
