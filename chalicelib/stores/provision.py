"""Create Switchboard's queues and tables on an AWS endpoint (the local emulator, tests).

Deployed, infra/ (CDK) owns these resources; this mirrors them for `make run` and the tests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.rules import default_ruleset
from chalicelib.settings import Settings
from chalicelib.stores.mentions import (
    AUTHOR_INDEX,
    AUTHOR_INDEX_ATTRIBUTES,
    LIST_INDEX,
    OPEN_INDEX,
    REPORT_INDEX,
    REPORT_INDEX_ATTRIBUTES,
    SAID_INDEX,
    WAITING_INDEX,
)
from chalicelib.stores.queues import MAX_RECEIVE_COUNT
from chalicelib.stores.replies import MENTION_INDEX, PENDING_INDEX
from chalicelib.stores.rules import RulesStore

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
WORKER_VISIBILITY_SECONDS = 60


def create_queues(sqs: Any, settings: Settings) -> dict[str, str]:
    """Every queue with its `-dlq` and a redrive policy; returns logical name → URL."""
    urls: dict[str, str] = {}
    for logical in settings.all_queues:
        dlq_url = sqs.create_queue(
            QueueName=settings.queue_name(f"{logical}-dlq"),
            Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        urls[logical] = sqs.create_queue(
            QueueName=settings.queue_name(logical),
            Attributes={
                "RedrivePolicy": json.dumps(redrive),
                "VisibilityTimeout": str(WORKER_VISIBILITY_SECONDS),
            },
        )["QueueUrl"]
        urls[f"{logical}-dlq"] = dlq_url
    return urls


def create_tables(dynamodb: Any, settings: Settings) -> None:
    """Mentions (with its sparse indexes: open mentions and each department's waiting cases by
    deadline, each author's cases by time), rules, traffic and replies
    tables, on demand, with TTL where records expire."""
    existing = set(dynamodb.list_tables()["TableNames"])
    tables = {
        settings.mentions_table: (("id", "HASH"),),
        settings.rules_table: (("pk", "HASH"), ("sk", "RANGE")),
        settings.traffic_table: (("day", "HASH"), ("sk", "RANGE")),
        settings.replies_table: (("reply_id", "HASH"),),
    }
    for table, keys in tables.items():
        if table in existing:
            continue
        extra: dict[str, Any] = {}
        attributes = [name for name, _ in keys]
        if table == settings.replies_table:
            attributes += ["pending", "created_at", "mention_id"]
            extra["GlobalSecondaryIndexes"] = [
                _index(PENDING_INDEX, "pending", "created_at"),
                _index(MENTION_INDEX, "mention_id", "created_at"),
            ]
        if table == settings.mentions_table:
            attributes += ["open", "waiting", "sla_due_at", "author", "routed_at"]
            attributes += ["listed", "department", "said_by"]
            extra["GlobalSecondaryIndexes"] = [
                _index(OPEN_INDEX, "open", "sla_due_at"),
                _index(WAITING_INDEX, "waiting", "sla_due_at"),
                _index(AUTHOR_INDEX, "author", "routed_at", AUTHOR_INDEX_ATTRIBUTES),
                _index(LIST_INDEX, "listed", "routed_at"),
                _index(REPORT_INDEX, "department", "routed_at", REPORT_INDEX_ATTRIBUTES),
                _index(SAID_INDEX, "said_by", "routed_at", ()),
            ]
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        dynamodb.get_waiter("table_exists").wait(TableName=table)
    for table in (settings.mentions_table, settings.traffic_table):
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )


def _index(
    name: str, partition: str, sort: str, projected: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A global secondary index projecting every attribute, or only `projected` ones (none:
    the keys only)."""
    projection: dict[str, Any] = {"ProjectionType": "ALL"}
    if projected == ():
        projection = {"ProjectionType": "KEYS_ONLY"}
    elif projected is not None:
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projected)}
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ],
        "Projection": projection,
    }


def create_bucket(s3: Any, settings: Settings) -> None:
    """The payload bucket (deliveries too large for an SQS message), unless it exists."""
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if settings.payload_bucket in existing:
        return
    region = s3.meta.region_name
    placed = {} if region == "us-east-1" else {"LocationConstraint": region}  # us-east-1: none
    extra = {"CreateBucketConfiguration": placed} if placed else {}
    s3.create_bucket(Bucket=settings.payload_bucket, **extra)


def seed_default_rules(store: RulesStore, settings: Settings) -> int:
    """Publish the repository's default ruleset unless a version is already live."""
    live = store.live_version()
    if live is not None:
        return live
    ruleset = default_ruleset(settings.departments, settings.triage_department)
    return store.publish(ruleset.dump(), "switchboard", "default ruleset", datetime.now(UTC))
