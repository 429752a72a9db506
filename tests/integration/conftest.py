"""Fixtures on moto's in-process AWS: provisioned queues and tables, the Chalice test client."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import aws, wiring
from chalicelib.demo import signed_headers
from chalicelib.fakeplatforms import Credentials, FakePlatforms
from chalicelib.settings import get_settings
from chalicelib.stores.provision import (
    create_bucket,
    create_queues,
    create_tables,
    seed_default_rules,
)

EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)


REFUSED: list[str] = []
"""What the stores asked of AWS that it would refuse, in the running test: a test fails on any,
even where the app goes on without it (best-effort bookkeeping logs the error and carries on)."""


def refused(what: str) -> AssertionError:
    """The error a call AWS would refuse raises (kept in REFUSED as well)."""
    REFUSED.append(what)
    return AssertionError(what)


@pytest.fixture(autouse=True)
def nothing_aws_refuses() -> Iterator[None]:
    """Fail a test that asked AWS for something it would refuse, even if the app carried on."""
    REFUSED.clear()
    yield
    assert REFUSED == [], f"AWS would refuse: {REFUSED}"


def refuse_what_dynamodb_refuses(params: dict[str, Any], model: Any, **_: Any) -> None:
    """What DynamoDB refuses with a ValidationException and moto lets through: a key read by
    GetItem, UpdateItem, DeleteItem or BatchGetItem longer than a partition key may be (2,048
    bytes), more than 25 items written in a batch, an empty set, a number it cannot hold, an
    empty ExpressionAttributeNames or ExpressionAttributeValues ("must not be empty"), or one
    with a name or value no expression uses ("unused in expressions")."""
    if model.name == "BatchWriteItem" and sum(map(len, params["RequestItems"].values())) > 25:
        raise refused("BatchWriteItem of more than 25 items: DynamoDB refuses it")
    keys = [params.get("Key") or {}]
    if model.name == "BatchGetItem":
        keys += [key for asked in params["RequestItems"].values() for key in asked["Keys"]]
    for key in keys:
        for value in key.values():
            if len(value.get("S", "").encode("utf-8", "surrogatepass")) > 2048:
                raise refused(f"{model.name} of a key over 2,048 bytes: DynamoDB refuses it")
    values = [
        *params.get("ExpressionAttributeValues", {}).values(),
        *params.get("Item", {}).values(),
    ]
    if any(value.get(kind) == [] for value in values for kind in ("SS", "NS", "BS")):
        raise refused(f"{model.name} with an empty set: DynamoDB refuses it")
    numbers = [value["N"] for value in values if "N" in value]
    if not all(a_dynamodb_number(number) for number in numbers):
        raise refused(f"{model.name} with a number DynamoDB refuses: {numbers}")
    used = " ".join(str(params.get(name, "")) for name in EXPRESSIONS)
    for key in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if key not in params:
            continue
        if not params[key]:
            raise refused(f"{model.name} with an empty {key}: DynamoDB refuses it")
        unused = [k for k in params[key] if not re.search(rf"{re.escape(k)}(?!\w)", used)]
        if unused:
            raise refused(f"{model.name}: {key} {unused} unused: DynamoDB refuses it")


def a_dynamodb_number(text: str) -> bool:
    """Whether DynamoDB takes a number: at most 38 significant digits, between 1E-130 and
    9.99…E+125 in magnitude (or 0); no NaN or Infinity."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return False
    if not number.is_finite():
        return False
    if number == 0:
        return True
    digits = len(number.normalize().as_tuple().digits)
    return digits <= 38 and Decimal("1E-130") <= abs(number) < Decimal("1E126")


NOT_IN_SQS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What SQS refuses in a message body (InvalidMessageContents) and moto lets through."""


def refuse_what_sqs_refuses(params: dict[str, Any], model: Any, **_: Any) -> None:
    """Messages SQS refuses and moto lets through: a body that is empty or has a character SQS
    does not allow (U+FFFE, U+FFFF, a control character, a lone surrogate), more than ten
    message attributes, an attribute with an empty value, more than a queue's default 256 KiB
    in one call."""
    messages = {"SendMessage": [params], "SendMessageBatch": params.get("Entries", [])}
    size = sum(
        len(message.get("MessageBody", "").encode("utf-8", "surrogatepass"))
        + sum(
            len(f"{k}{v.get('DataType', '')}{v.get('StringValue', '')}".encode())
            for k, v in message.get("MessageAttributes", {}).items()
        )
        for message in messages.get(model.name, [])
    )
    if size > 262_144:  # a queue's default MaximumMessageSize, and a batch's most
        raise refused(f"{model.name} of {size:,} bytes: SQS refuses it")
    for message in messages.get(model.name, []):
        body = message.get("MessageBody", "")
        found = NOT_IN_SQS.search(body)
        if not body or found:
            raise refused(f"{model.name}: SQS refuses a body {body[:40]!r}")
        attributes = message.get("MessageAttributes", {})
        empty = [name for name, value in attributes.items() if not value.get("StringValue")]
        if len(attributes) > 10 or empty:
            raise refused(f"{model.name}: SQS refuses attributes {sorted(attributes)}")


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    """Every queue and table, the default ruleset published; yields logical name → queue URL."""
    with mock_aws():
        wiring.reset()
        aws.dynamodb().meta.events.register(
            "provide-client-params.dynamodb.*", refuse_what_dynamodb_refuses
        )
        aws.sqs().meta.events.register("provide-client-params.sqs.*", refuse_what_sqs_refuses)
        settings = get_settings()
        urls = create_queues(aws.sqs(), settings)
        create_tables(aws.dynamodb(), settings)
        create_bucket(aws.s3(), settings)
        seed_default_rules(wiring.rules(), settings)
        yield urls


CREDENTIALS = Credentials(x_consumer_secret="test-x-secret", meta_app_secret="test-meta-secret")


@pytest.fixture
def fakes(stack: dict[str, str]) -> Iterator[FakePlatforms]:
    """The fake platform APIs, with every platform client of the app pointed at them."""
    fake = FakePlatforms(CREDENTIALS).start()
    os.environ.update(
        {
            "X_API_BASE_URL": f"{fake.url}/x",
            "GRAPH_API_BASE_URL": f"{fake.url}/graph",
            "YOUTUBE_API_BASE_URL": f"{fake.url}/youtube/v3",
            "SLACK_API_BASE_URL": f"{fake.url}/slack/api",
            "X_CONSUMER_KEY": CREDENTIALS.x_consumer_key,
            "X_ACCESS_TOKEN": CREDENTIALS.x_access_token,
            "X_ACCESS_TOKEN_SECRET": CREDENTIALS.x_access_token_secret,
            "META_PAGE_ACCESS_TOKEN": CREDENTIALS.meta_page_access_token,
            "WHATSAPP_ACCESS_TOKEN": CREDENTIALS.whatsapp_access_token,
            "YOUTUBE_ACCESS_TOKEN": CREDENTIALS.youtube_access_token,
            "SLACK_BOT_TOKEN": CREDENTIALS.slack_bot_token,
            "PLATFORM_TIMEOUT_SECONDS": "2",
        }
    )
    wiring.reset()
    yield fake
    fake.stop()


@pytest.fixture
def client(stack: dict[str, str]) -> Iterator[Client]:
    """The Chalice test client on the real app."""
    from app import app

    with Client(app) as test_client:
        yield test_client


def post_signed(client: Client, platform: str, body: bytes, **overrides: str) -> Any:
    """POST a body signed the way the platform signs it."""
    headers = signed_headers(platform, body, get_settings(), time.time())
    headers.update(overrides)
    return client.http.post(f"/webhooks/{platform}", headers=headers, body=body)


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in a queue (received and deleted)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = (
            aws.sqs()
            .receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            .get("Messages", [])
        )
        if not batch:
            return messages
        for message in batch:
            aws.sqs().delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def bodies(queue_url: str) -> list[dict[str, Any]]:
    """Decoded JSON bodies of every message in a queue."""
    return [json.loads(m["Body"]) for m in receive_all(queue_url)]


@pytest.fixture
def api_url(stack: dict[str, str]) -> Iterator[str]:
    """The app served over real HTTP (as `make run` serves it) on a free port."""
    import threading

    from chalice.config import Config

    from app import app
    from chalicelib.devstack import local_server

    plain = app.__class__  # Chalice swaps in its local-server subclass: swapped back after
    server = local_server(app, Config(chalice_stage="dev"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    app.__class__ = plain
