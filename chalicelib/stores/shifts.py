"""Who is on shift in each department, kept in the rules table under pk `shift#<department>`
(sk: the person), with when the shift ends, how many waiting cases they take at most and when
they were last given a new case."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from chalicelib.models import Shift


class ShiftStore(Protocol):
    """The departments' shifts."""

    def start(
        self, department: str, agent: str, until: datetime, capacity: int | None = None
    ) -> None:
        """`agent` is on shift in `department` until `until`, given at most `capacity` waiting
        cases at once (None: no limit). A shift started again is extended or cut short, its
        capacity set anew; when they were last given a case stays."""
        ...

    def end(self, department: str, agent: str) -> bool:
        """`agent`'s shift ends now; False when they were not on shift."""
        ...

    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        """Those whose shift in `department` runs past `now`, by name."""
        ...

    def assigned(
        self, department: str, agent: str, at: datetime, previous: datetime | None
    ) -> bool:
        """`agent` is given a new case `at`, if their last was still `previous` and they are
        still on shift; False when another worker gave them one meanwhile, or the shift ended."""
        ...


def _key(department: str, agent: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"shift#{department}"}, "sk": {"S": agent}}


class DynamoShiftStore:
    """Shifts in the rules table."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def start(
        self, department: str, agent: str, until: datetime, capacity: int | None = None
    ) -> None:
        """UpdateItem (keeps `last_assigned_at`)."""
        values: dict[str, Any] = {":until": {"S": until.isoformat()}}
        if capacity is None:
            update = "SET #until = :until REMOVE #capacity"
        else:
            update = "SET #until = :until, #capacity = :capacity"
            values[":capacity"] = {"N": str(capacity)}
        self._client.update_item(
            TableName=self._table,
            Key=_key(department, agent),
            UpdateExpression=update,
            ExpressionAttributeNames={"#until": "until", "#capacity": "capacity"},
            ExpressionAttributeValues=values,
        )

    def end(self, department: str, agent: str) -> bool:
        """DeleteItem, saying whether there was one."""
        old = self._client.delete_item(
            TableName=self._table, Key=_key(department, agent), ReturnValues="ALL_OLD"
        )
        return "Attributes" in old

    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        """Query the department's partition (a few items), then keep the shifts still on."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"shift#{department}"}},
        )
        shifts = [_shift(department, item) for page in pages for item in page["Items"]]
        return [shift for shift in shifts if shift.until > now]

    def assigned(
        self, department: str, agent: str, at: datetime, previous: datetime | None
    ) -> bool:
        """A conditional UpdateItem: the shift's item is there, its last turn `previous`."""
        values = {":at": {"S": at.isoformat()}}
        if previous is None:
            unchanged = "attribute_not_exists(last_assigned_at)"
        else:
            unchanged = "last_assigned_at = :previous"
            values[":previous"] = {"S": previous.isoformat()}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(department, agent),
                UpdateExpression="SET last_assigned_at = :at",
                ConditionExpression=f"attribute_exists(pk) AND {unchanged}",
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _shift(department: str, item: dict[str, Any]) -> Shift:
    last = item.get("last_assigned_at")
    capacity = item.get("capacity")
    return Shift(
        department=department,
        agent=item["sk"]["S"],
        until=datetime.fromisoformat(item["until"]["S"]),
        capacity=int(capacity["N"]) if capacity else None,
        last_assigned_at=datetime.fromisoformat(last["S"]) if last else None,
    )


class MemoryShiftStore:
    """In-memory twin of DynamoShiftStore."""

    def __init__(self) -> None:
        self.shifts: dict[tuple[str, str], Shift] = {}

    def start(
        self, department: str, agent: str, until: datetime, capacity: int | None = None
    ) -> None:
        """Keep it, with when they were last given a case."""
        earlier = self.shifts.get((department, agent))
        last = earlier.last_assigned_at if earlier else None
        self.shifts[(department, agent)] = Shift(
            department=department,
            agent=agent,
            until=until,
            capacity=capacity,
            last_assigned_at=last,
        )

    def end(self, department: str, agent: str) -> bool:
        """Forget it."""
        return self.shifts.pop((department, agent), None) is not None

    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        """Those still on, by name."""
        return [
            shift
            for (where, _), shift in sorted(self.shifts.items())
            if where == department and shift.until > now
        ]

    def assigned(
        self, department: str, agent: str, at: datetime, previous: datetime | None
    ) -> bool:
        """Note it, while the shift is there and its last turn `previous`."""
        shift = self.shifts.get((department, agent))
        if shift is None or shift.last_assigned_at != previous:
            return False
        self.shifts[(department, agent)] = shift.model_copy(update={"last_assigned_at": at})
        return True
