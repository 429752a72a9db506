"""Published rulesets, one immutable version each, and the pointer to the live one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

LIVE_KEY = "live"
COUNTER_KEY = "counter"


@dataclass(frozen=True)
class RulesetVersion:
    """One published version: the whole ruleset plus who, when and why."""

    version: int
    rules: list[dict[str, Any]]
    author: str
    comment: str
    published_at: datetime


class RulesStore(Protocol):
    """Versioned storage of rulesets (the caller validates before publishing)."""

    def live_version(self) -> int | None:
        """Number of the live version, or None before the first publish."""
        ...

    def get(self, version: int) -> RulesetVersion | None:
        """One published version."""
        ...

    def publish(self, rules: list[dict[str, Any]], author: str, comment: str, now: datetime) -> int:
        """Store a new immutable version and make it live; returns its number."""
        ...


def _version_key(version: int) -> str:
    return f"version#{version:08d}"


class DynamoRulesStore:
    """Rules table with partition key `pk`: `version#N` items, a counter and the live pointer."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def live_version(self) -> int | None:
        """Read the live pointer."""
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": LIVE_KEY}}, ConsistentRead=True
        ).get("Item")
        return int(item["version"]["N"]) if item else None

    def get(self, version: int) -> RulesetVersion | None:
        """Read a version item."""
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": _version_key(version)}}
        ).get("Item")
        if not item:
            return None
        return RulesetVersion(
            version=version,
            rules=json.loads(item["rules"]["S"]),
            author=item["author"]["S"],
            comment=item["comment"]["S"],
            published_at=datetime.fromisoformat(item["published_at"]["S"]),
        )

    def publish(self, rules: list[dict[str, Any]], author: str, comment: str, now: datetime) -> int:
        """Take the next number atomically, write the version, then move the live pointer."""
        counter = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": COUNTER_KEY}},
            UpdateExpression="ADD latest :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        version = int(counter["Attributes"]["latest"]["N"])
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": _version_key(version)},
                            "rules": {"S": json.dumps(rules)},
                            "author": {"S": author},
                            "comment": {"S": comment},
                            "published_at": {"S": now.isoformat()},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {"pk": {"S": LIVE_KEY}, "version": {"N": str(version)}},
                    }
                },
            ]
        )
        return version


class MemoryRulesStore:
    """In-memory twin of DynamoRulesStore."""

    def __init__(self) -> None:
        self.versions: dict[int, RulesetVersion] = {}
        self.live: int | None = None

    def live_version(self) -> int | None:
        """The live pointer."""
        return self.live

    def get(self, version: int) -> RulesetVersion | None:
        """One version."""
        return self.versions.get(version)

    def publish(self, rules: list[dict[str, Any]], author: str, comment: str, now: datetime) -> int:
        """Append a version and make it live."""
        version = max(self.versions, default=0) + 1
        self.versions[version] = RulesetVersion(version, rules, author, comment, now)
        self.live = version
        return version
