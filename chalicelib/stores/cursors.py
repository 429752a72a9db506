"""Where each poller left off, so a poll asks only for what is new.

Kept as small items of the mentions table, id `poller#<name>` (never a mention id: those are
`platform:native`), attribute `cursor`; no TTL attribute, so they stay.
"""

from __future__ import annotations

from typing import Any, Protocol


class CursorStore(Protocol):
    """A named position per polled source."""

    def get(self, name: str) -> str | None:
        """The position saved under `name`, or None before the first poll."""
        ...

    def put(self, name: str, value: str) -> None:
        """Save the position reached."""
        ...


def _key(name: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"poller#{name}"}}


class DynamoCursorStore:
    """Cursors on the DynamoDB mentions table."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, name: str) -> str | None:
        """Consistent read of the cursor item."""
        item = self._client.get_item(TableName=self._table, Key=_key(name), ConsistentRead=True)
        cursor = item.get("Item", {}).get("cursor")
        return str(cursor["S"]) if cursor else None

    def put(self, name: str, value: str) -> None:
        """Overwrite the cursor item."""
        self._client.put_item(TableName=self._table, Item={**_key(name), "cursor": {"S": value}})


class MemoryCursorStore:
    """In-memory twin for tests."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        """The saved position."""
        return self.cursors.get(name)

    def put(self, name: str, value: str) -> None:
        """Save the position."""
        self.cursors[name] = value
