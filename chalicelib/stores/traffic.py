"""Recent traffic kept for dry-runs: each routed mention with the signals it had, for a few days.

DynamoDB key: `day` (UTC date, the partition) and `sk` (routed-at timestamp + mention id), TTL
attribute `expires_at`. Reading walks back day by day, newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.models import Conversation, History, Mention

BATCH_WRITE_LIMIT = 25


@dataclass(frozen=True)
class Observed:
    """A mention as it was routed: the text and the signals the rules saw, the conversation it
    continued and its author's earlier cases."""

    mention: Mention
    signals: dict[str, float]
    routed_at: datetime
    conversation: Conversation | None = None
    history: History | None = None


class TrafficStore(Protocol):
    """Recent mentions for replaying candidate rulesets."""

    def record(self, observed: list[Observed], keep: timedelta) -> None:
        """Keep these mentions for `keep`."""
        ...

    def recent(self, limit: int, now: datetime, days: int) -> list[Observed]:
        """Up to `limit` mentions of the last `days` days, newest first."""
        ...

    def forget(self, mention_id: str, routed_at: datetime) -> None:
        """Drop the mention routed at `routed_at` (its author deleted it)."""
        ...


class DynamoTrafficStore:
    """Traffic table on DynamoDB."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, observed: list[Observed], keep: timedelta) -> None:
        """BatchWriteItem in chunks of 25 (unprocessed items are retried once)."""
        requests = [{"PutRequest": {"Item": _item(o, keep)}} for o in observed]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            chunk = {self._table: requests[start : start + BATCH_WRITE_LIMIT]}
            left = self._client.batch_write_item(RequestItems=chunk).get("UnprocessedItems")
            if left:
                self._client.batch_write_item(RequestItems=left)

    def recent(self, limit: int, now: datetime, days: int) -> list[Observed]:
        """Query day partitions from today backwards."""
        found: list[Observed] = []
        for back in range(days):
            day = (now - timedelta(days=back)).date().isoformat()
            paginator = self._client.get_paginator("query")
            pages = paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="#day = :day",
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues={":day": {"S": day}},
                ScanIndexForward=False,
            )
            for page in pages:
                for item in page["Items"]:
                    found.append(_from_item(item))
                    if len(found) >= limit:
                        return found
        return found

    def forget(self, mention_id: str, routed_at: datetime) -> None:
        """DeleteItem on the mention's day and sort key."""
        self._client.delete_item(TableName=self._table, Key=_key(mention_id, routed_at))


def _key(mention_id: str, routed: datetime) -> dict[str, dict[str, str]]:
    return {
        "day": {"S": routed.date().isoformat()},
        "sk": {"S": f"{routed.isoformat()}#{mention_id}"},
    }


def _item(observed: Observed, keep: timedelta) -> dict[str, Any]:
    routed = observed.routed_at
    item = {
        **_key(observed.mention.id, routed),
        "mention": {"S": observed.mention.model_dump_json()},
        "signals": {"S": json.dumps(observed.signals)},
        "routed_at": {"S": routed.isoformat()},
        "expires_at": {"N": str(int((routed + keep).timestamp()))},
    }
    for name in ("conversation", "history"):
        value = getattr(observed, name)
        if value is not None:
            item[name] = {"S": value.model_dump_json()}
    return item


def _from_item(item: dict[str, Any]) -> Observed:
    return Observed(
        mention=Mention.model_validate_json(item["mention"]["S"]),
        signals=json.loads(item["signals"]["S"]),
        routed_at=datetime.fromisoformat(item["routed_at"]["S"]),
        conversation=(
            Conversation.model_validate_json(item["conversation"]["S"])
            if "conversation" in item
            else None
        ),
        history=History.model_validate_json(item["history"]["S"]) if "history" in item else None,
    )


class MemoryTrafficStore:
    """In-memory twin of DynamoTrafficStore."""

    def __init__(self) -> None:
        self.observed: list[Observed] = []

    def record(self, observed: list[Observed], keep: timedelta) -> None:
        """Keep them (expiry is not simulated)."""
        self.observed.extend(observed)

    def recent(self, limit: int, now: datetime, days: int) -> list[Observed]:
        """Newest first within the window."""
        since = now - timedelta(days=days)
        window = [o for o in self.observed if o.routed_at > since]
        return sorted(window, key=lambda o: o.routed_at, reverse=True)[:limit]

    def forget(self, mention_id: str, routed_at: datetime) -> None:
        """Drop it."""
        self.observed = [
            o for o in self.observed if (o.mention.id, o.routed_at) != (mention_id, routed_at)
        ]
