"""Mention records and the claim that makes routing idempotent: DynamoDB and an in-memory twin.

A mention is first *claimed* (conditional put, status "claimed", with a lease), then routed, then
*completed* (status "routed" or "ignored" with the full decision). A redelivered mention finds a
completed record and is skipped; one whose worker died mid-way is reclaimed after the lease.
"""

from __future__ import annotations

import contextlib
import enum
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.models import MentionRecord


class Claim(enum.Enum):
    """Outcome of trying to claim a mention for routing."""

    CLAIMED = "claimed"  # ours to route
    DONE = "done"  # already routed: a duplicate
    BUSY = "busy"  # another worker holds a live lease: retry later


class MentionStore(Protocol):
    """Claims and records of mentions."""

    def claim(self, mention_id: str, now: datetime, lease: timedelta) -> Claim:
        """Claim a mention for routing unless it is done or leased to another worker."""
        ...

    def release(self, mention_id: str) -> None:
        """Give a claim back after a failure, so a retry can route the mention."""
        ...

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Store the routed record; it expires (TTL) at `expires_at`."""
        ...

    def get(self, mention_id: str) -> MentionRecord | None:
        """The completed record of a mention, if any."""
        ...


class DynamoMentionStore:
    """Mentions table: partition key `id`, TTL attribute `expires_at`."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def claim(self, mention_id: str, now: datetime, lease: timedelta) -> Claim:
        """Conditional put: absent, or claimed with an expired lease."""
        stamp = int(now.timestamp())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": mention_id},
                    "status": {"S": "claimed"},
                    "lease_until": {"N": str(stamp + int(lease.total_seconds()))},
                    "expires_at": {"N": str(stamp + 86_400)},
                },
                ConditionExpression="attribute_not_exists(id) OR "
                "(#status = :claimed AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}, ":now": {"N": str(stamp)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item", {})
            return Claim.BUSY if old.get("status", {}).get("S") == "claimed" else Claim.DONE
        return Claim.CLAIMED

    def release(self, mention_id: str) -> None:
        """Delete the claim if it is still only a claim."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.delete_item(
                TableName=self._table,
                Key={"id": {"S": mention_id}},
                ConditionExpression="#status = :claimed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}},
            )

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Overwrite the claim with the routed record."""
        routing = record.message.routing
        item = {
            "id": {"S": record.id},
            "status": {"S": record.status},
            "department": {"S": routing.department},
            "priority": {"S": routing.priority},
            "routed_at": {"S": record.routed_at.isoformat()},
            "record": {"S": record.model_dump_json(by_alias=True)},
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        }
        if routing.sla_due_at is not None:
            item["sla_due_at"] = {"S": routing.sla_due_at.isoformat()}
        self._client.put_item(TableName=self._table, Item=item)

    def get(self, mention_id: str) -> MentionRecord | None:
        """Read a completed record."""
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": mention_id}}, ConsistentRead=True
        ).get("Item")
        if not item or "record" not in item:
            return None
        return MentionRecord.model_validate_json(item["record"]["S"])


class MemoryMentionStore:
    """In-memory twin of DynamoMentionStore."""

    def __init__(self) -> None:
        self.leases: dict[str, datetime] = {}
        self.records: dict[str, MentionRecord] = {}

    def claim(self, mention_id: str, now: datetime, lease: timedelta) -> Claim:
        """Claim unless completed or leased."""
        if mention_id in self.records:
            return Claim.DONE
        if mention_id in self.leases and self.leases[mention_id] >= now:
            return Claim.BUSY
        self.leases[mention_id] = now + lease
        return Claim.CLAIMED

    def release(self, mention_id: str) -> None:
        """Drop the lease."""
        self.leases.pop(mention_id, None)

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Keep the record (expiry is not simulated)."""
        self.leases.pop(record.id, None)
        self.records[record.id] = record

    def get(self, mention_id: str) -> MentionRecord | None:
        """The record, if completed."""
        return self.records.get(mention_id)
