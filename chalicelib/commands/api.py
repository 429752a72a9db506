"""What the commands that call the Switchboard API share: the local defaults, the client, paths,
listings and how times are shown."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar
from urllib.parse import quote

from chalicelib.api_client import ApiClient
from chalicelib.cli_text import stamp, time_left
from chalicelib.errors import SwitchboardError
from chalicelib.models import MentionRecord
from chalicelib.rules import read_yaml

LOCAL_DEFAULTS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "X_CONSUMER_SECRET": "local-x-secret",
    "META_APP_SECRET": "local-meta-secret",
    "META_VERIFY_TOKEN": "local-verify-token",
    "SLACK_SIGNING_SECRET": "local-slack-secret",
    "WEBSUB_SECRET": "local-websub-secret",
    "YOUTUBE_CHANNELS": "UCacmeChannel0000000000",
    "WEBHOOK_SECRET": "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQ=",
    "ADMIN_TOKEN": "local-admin-token",
    # the fake platforms of `make run` (chalicelib/fakeplatforms.py) accept exactly these
    "X_CONSUMER_KEY": "local-x-consumer-key",
    "X_ACCESS_TOKEN": "local-x-access-token",
    "X_ACCESS_TOKEN_SECRET": "local-x-access-secret",
    "META_PAGE_ACCESS_TOKEN": "local-meta-page-token",
    "WHATSAPP_ACCESS_TOKEN": "local-whatsapp-token",
    "WHATSAPP_BUSINESS_ACCOUNT_ID": "102290129340398",
    "YOUTUBE_ACCESS_TOKEN": "local-youtube-token",
    "SLACK_BOT_TOKEN": "xoxb-local-slack-token",
}


def use_local_defaults() -> None:
    """Fill in the local configuration (DESIGN.md §4) wherever the environment has none."""
    for name, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(name, value)


_API_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


def _api_region(url: str) -> str:
    """The region SigV4 signs for: a deployed API's, from its URL, else the configured one."""
    found = _API_REGION.search(url)
    if found:
        return found.group(1)
    if os.environ.get("AWS_DEFAULT_REGION"):
        return os.environ["AWS_DEFAULT_REGION"]
    import boto3  # the profile's region

    return boto3.Session().region_name or "us-east-1"


def api_client(args: argparse.Namespace) -> ApiClient:
    """The client of the API at the command's --url (signed with SigV4 with --iam), calling as
    $SWITCHBOARD_AUTHOR, else $USER."""
    return ApiClient(
        base_url=args.url,
        token=os.environ.get("ADMIN_TOKEN", ""),
        iam=args.iam,
        region=_api_region(args.url),
        author=os.environ.get("SWITCHBOARD_AUTHOR") or os.environ.get("USER"),
        answers=getattr(args, "answers", None),
    )


def answers_as_json(answers: list[tuple[str, str, Any]], out: TextIO) -> None:
    """What `--json` prints: each API answer a command got, one JSON document a line, in order;
    a status read again and again while waiting (a reply's send) only as it last stood."""
    kept: list[tuple[str, str, Any]] = []
    for method, path, answer in answers:
        if kept and method == "GET" and kept[-1][:2] == (method, path):
            kept.pop()
        kept.append((method, path, answer))
    for _, _, answer in kept:
        print(json.dumps(answer, ensure_ascii=False), file=out)


def mention_path(mention_id: str, action: str = "") -> str:
    """The API path of a mention (and of an action on it), its id encoded: a Slack id has a
    `/` in it (`slack:<channel>/<ts>`)."""
    return f"/mentions/{encoded(mention_id)}" + (f"/{action}" if action else "")


def case_action(args: argparse.Namespace, action: str, body: dict[str, Any]) -> MentionRecord:
    """POST `action` on the command's mention (`args.mention_id`) with `body`: the record as
    the API answers it."""
    path = mention_path(args.mention_id, action)
    return MentionRecord.model_validate(api_client(args).call("POST", path, body))


def encoded(reference: str) -> str:
    """A `platform:id` reference as one path segment (a `/` in it sent as %2F)."""
    return quote(reference, safe=":")


def listed(args: argparse.Namespace, path: str, key: str, out: TextIO) -> list[dict[str, Any]]:
    """The items an API listing returns under `key` (saying so when the API left some out: more
    than one answer holds)."""
    answer = api_client(args).call("GET", path)
    if answer.get("truncated"):
        print(
            f"(the first {len(answer[key])} only, all one answer holds: ask for fewer with"
            " --limit)",
            file=out,
        )
    return list(answer[key])


def listed_records(
    args: argparse.Namespace, path: str, key: str, out: TextIO
) -> list[MentionRecord]:
    """The mention records an API listing returns under `key` (see `listed`)."""
    return [MentionRecord.model_validate(item) for item in listed(args, path, key, out)]


def iso_stamp(iso: str) -> str:
    """An API's ISO time as agents read it (`stamp`)."""
    return stamp(datetime.fromisoformat(iso))


def take_ends(record: MentionRecord) -> str:
    """When a take ends, as an agent reads it."""
    return time_left(record.taken_until, datetime.now(UTC))


Answer = TypeVar("Answer")


def until_done(call: Callable[[], Answer], again: Callable[[Answer], bool]) -> list[Answer]:
    """The answers of `call`, made again while the last one says to (a job the API does a
    call's time at a time)."""
    answers = [call()]
    while again(answers[-1]):
        answers.append(call())
    return answers


def condition(when: str) -> Any:
    """A condition given on the command line, a rule's `when` in YAML (or JSON)."""
    import yaml  # only the commands that take a condition read YAML here

    try:
        return read_yaml(when)
    except yaml.YAMLError as exc:
        raise SwitchboardError(f"cannot read the condition: {exc}") from None
