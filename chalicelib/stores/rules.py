"""Published rulesets: immutable numbered versions and the pointer to the live one.

Every publish, edit and rollback writes a new version that records the whole ruleset, who, when,
why and what kind of change it was; nothing is ever overwritten, so the versions are the audit
trail. A rollback to version N publishes a copy of N (`source_version = N`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.errors import PayloadTooLarge

VERSIONS_PK = "version"
POINTER_PK = "pointer"
MAX_VERSION_BYTES = 380_000
"""What one version may take in its DynamoDB item (400 KB at most): the ruleset gzip'd, the
comment and the author. 10,000 rules like the benchmark's take about 240,000."""


class VersionConflict(RuntimeError):
    """The live version is not the one the caller based its change on."""


@dataclass(frozen=True)
class RulesetVersion:
    """One published version: the whole ruleset plus who, when, why and how."""

    version: int
    rules: list[dict[str, Any]]
    author: str
    comment: str
    published_at: datetime
    action: str = "publish"
    source_version: int | None = None

    def summary(self) -> dict[str, Any]:
        """The version without its rules, for history listings."""
        return {
            "version": self.version,
            "author": self.author,
            "comment": self.comment,
            "published_at": self.published_at.isoformat(),
            "action": self.action,
            "source_version": self.source_version,
            "rule_count": len(self.rules),
        }


def packed(rules: list[dict[str, Any]], author: str, comment: str) -> bytes:
    """The ruleset as a version keeps it (gzip'd JSON); PayloadTooLarge when the version would
    not fit in its item."""
    blob = gzip.compress(json.dumps(rules, separators=(",", ":")).encode(), mtime=0)
    size = len(blob) + len(author.encode()) + len(comment.encode())
    if size > MAX_VERSION_BYTES:
        raise PayloadTooLarge(
            f"this version would take {size:,} bytes (its {len(rules):,} rules gzip'd, the"
            f" comment and the author); one holds at most {MAX_VERSION_BYTES:,}: fewer or"
            " shorter rules (one rule can list many keywords)"
        )
    return blob


class RulesStore(Protocol):
    """Versioned storage of rulesets (callers validate before publishing)."""

    def live_version(self) -> int | None:
        """Number of the live version, or None before the first publish."""
        ...

    def get(self, version: int) -> RulesetVersion | None:
        """One published version."""
        ...

    def history(self, limit: int = 50) -> list[RulesetVersion]:
        """The newest versions first."""
        ...

    def publish(
        self,
        rules: list[dict[str, Any]],
        author: str,
        comment: str,
        now: datetime,
        expected_live: int | None = None,
        action: str = "publish",
        source_version: int | None = None,
    ) -> int:
        """Store a new immutable version and make it live; returns its number.

        With `expected_live`, raises VersionConflict unless that version is still live.
        """
        ...


class DynamoRulesStore:
    """Rules table, key (`pk`, `sk`): versions under pk "version" (sk = zero-padded number),
    the live pointer and the version counter under pk "pointer"."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def live_version(self) -> int | None:
        """Read the live pointer."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": POINTER_PK}, "sk": {"S": "live"}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["version"]["N"]) if item else None

    def get(self, version: int) -> RulesetVersion | None:
        """Read a version item."""
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": VERSIONS_PK}, "sk": {"S": f"{version:010d}"}}
        ).get("Item")
        return _from_item(item) if item else None

    def history(self, limit: int = 50) -> list[RulesetVersion]:
        """Query the versions, newest first (across 1 MB pages until `limit`)."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": VERSIONS_PK}},
            ScanIndexForward=False,
            PaginationConfig={"MaxItems": limit, "PageSize": limit},
        )
        return [_from_item(item) for page in pages for item in page["Items"]][:limit]

    def publish(
        self,
        rules: list[dict[str, Any]],
        author: str,
        comment: str,
        now: datetime,
        expected_live: int | None = None,
        action: str = "publish",
        source_version: int | None = None,
    ) -> int:
        """Take the next number atomically, then write the version and move the pointer in one
        transaction (conditional on the expected live version)."""
        blob = packed(rules, author, comment)
        if expected_live is not None and self.live_version() != expected_live:
            raise _stale(expected_live)  # checked first too, so a refused push takes no number
        counter = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": POINTER_PK}, "sk": {"S": "counter"}},
            UpdateExpression="ADD latest :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        version = int(counter["Attributes"]["latest"]["N"])
        item = {
            "pk": {"S": VERSIONS_PK},
            "sk": {"S": f"{version:010d}"},
            "version": {"N": str(version)},
            "rules_gz": {"B": blob},
            "author": {"S": author},
            "comment": {"S": comment},
            "published_at": {"S": now.isoformat()},
            "action": {"S": action},
        }
        if source_version is not None:
            item["source_version"] = {"N": str(source_version)}
        pointer: dict[str, Any] = {
            "TableName": self._table,
            "Item": {"pk": {"S": POINTER_PK}, "sk": {"S": "live"}, "version": {"N": str(version)}},
        }
        if expected_live is not None:
            pointer["ConditionExpression"] = "version = :expected"
            pointer["ExpressionAttributeValues"] = {":expected": {"N": str(expected_live)}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": pointer},
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise _stale(expected_live) from exc
        return version


def _stale(expected: int | None) -> VersionConflict:
    return VersionConflict(f"version {expected} is no longer live; pull, merge and push again")


def _from_item(item: dict[str, Any]) -> RulesetVersion:
    """A version item: its rules gzip'd (`rules_gz`) or, written before they were, as JSON."""
    if "rules_gz" in item:
        rules = json.loads(gzip.decompress(item["rules_gz"]["B"]))
    else:
        rules = json.loads(item["rules"]["S"])
    return RulesetVersion(
        version=int(item["version"]["N"]),
        rules=rules,
        author=item["author"]["S"],
        comment=item["comment"]["S"],
        published_at=datetime.fromisoformat(item["published_at"]["S"]),
        action=item.get("action", {}).get("S", "publish"),
        source_version=int(item["source_version"]["N"]) if "source_version" in item else None,
    )


class MemoryRulesStore:
    """In-memory twin of DynamoRulesStore."""

    def __init__(self) -> None:
        self.versions: dict[int, RulesetVersion] = {}
        self.live: int | None = None
        self._counter = 0

    def live_version(self) -> int | None:
        """The live pointer."""
        return self.live

    def get(self, version: int) -> RulesetVersion | None:
        """One version."""
        return self.versions.get(version)

    def history(self, limit: int = 50) -> list[RulesetVersion]:
        """Newest first."""
        return [self.versions[v] for v in sorted(self.versions, reverse=True)[:limit]]

    def publish(
        self,
        rules: list[dict[str, Any]],
        author: str,
        comment: str,
        now: datetime,
        expected_live: int | None = None,
        action: str = "publish",
        source_version: int | None = None,
    ) -> int:
        """Append a version and make it live (refused as DynamoRulesStore refuses it)."""
        packed(rules, author, comment)
        self._counter += (
            1  # numbers are taken even by a publish that then conflicts, as in DynamoDB
        )
        if expected_live is not None and expected_live != self.live:
            raise VersionConflict(
                f"version {expected_live} is no longer live; pull, merge and push again"
            )
        version = self._counter
        self.versions[version] = RulesetVersion(
            version, rules, author, comment, now, action, source_version
        )
        self.live = version
        return version
