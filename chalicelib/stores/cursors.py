"""Where each poller left off, so a poll asks only for what is new, and named sets of what it
follows (the YouTube threads the brand answered, and those awaiting its answer).

Kept as small items of the mentions table, id `poller#<name>` (never a mention id: those are
`platform:native`), attribute `cursor` or the string set `members`; no TTL attribute, so they
stay until deleted.
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

    def delete(self, name: str) -> None:
        """Forget a cursor or a set."""
        ...

    def add(self, name: str, members: set[str]) -> None:
        """Add members to the set `name` (atomic: concurrent adds are all kept)."""
        ...

    def members(self, name: str) -> set[str]:
        """The members of the set `name` (empty when there is none)."""
        ...

    def discard(self, name: str, members: set[str]) -> None:
        """Remove members from the set `name` (atomic)."""
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

    def delete(self, name: str) -> None:
        """Delete the item."""
        self._client.delete_item(TableName=self._table, Key=_key(name))

    def add(self, name: str, members: set[str]) -> None:
        """`ADD members :m` on the item."""
        if members:
            self._update(name, "ADD", members)

    def members(self, name: str) -> set[str]:
        """Consistent read of the set."""
        item = self._client.get_item(TableName=self._table, Key=_key(name), ConsistentRead=True)
        return set(item.get("Item", {}).get("members", {}).get("SS", []))

    def discard(self, name: str, members: set[str]) -> None:
        """`DELETE members :m` on the item."""
        if members:
            self._update(name, "DELETE", members)

    def _update(self, name: str, action: str, members: set[str]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_key(name),
            UpdateExpression=f"{action} members :m",
            ExpressionAttributeValues={":m": {"SS": sorted(members)}},
        )


class MemoryCursorStore:
    """In-memory twin for tests."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}
        self.sets: dict[str, set[str]] = {}

    def get(self, name: str) -> str | None:
        """The saved position."""
        return self.cursors.get(name)

    def put(self, name: str, value: str) -> None:
        """Save the position."""
        self.cursors[name] = value

    def delete(self, name: str) -> None:
        """Forget it."""
        self.cursors.pop(name, None)
        self.sets.pop(name, None)

    def add(self, name: str, members: set[str]) -> None:
        """Add to the set."""
        self.sets.setdefault(name, set()).update(members)

    def members(self, name: str) -> set[str]:
        """A copy of the set."""
        return set(self.sets.get(name, ()))

    def discard(self, name: str, members: set[str]) -> None:
        """Remove from the set."""
        self.sets.get(name, set()).difference_update(members)
