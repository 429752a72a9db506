"""Who is on shift in each department, kept in the rules table under pk `shift#<department>`
(sk: the person), with when the shift ends, how many waiting cases they take at most, the
languages they answer in, whether they are away and when they were last given a new case."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from chalicelib.models import Shift


class ShiftStore(Protocol):
    """The departments' shifts."""

    def start(self, shift: Shift) -> None:
        """`shift.agent` is on shift in `shift.department` until `shift.until`, given at most
        `capacity` waiting cases at once (None: no limit), in `languages` (none: any). A shift
        started again is extended or cut short, its capacity and languages set anew, not away;
        when they were last given a case stays (`shift.last_assigned_at` is not read)."""
        ...

    def away(self, department: str, agent: str, away: bool) -> bool:
        """`agent` is away from (or back on) their shift in `department`; False when they are
        not on one."""
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

    def start(self, shift: Shift) -> None:
        """UpdateItem (keeps `last_assigned_at`; capacity and languages, a string set, are
        removed when not given, and so is `away`)."""
        values: dict[str, Any] = {":until": {"S": shift.until.isoformat()}}
        sets, removes = ["#until = :until"], ["away"]  # started again: back from any break
        if shift.capacity is None:
            removes.append("#capacity")
        else:
            sets.append("#capacity = :capacity")
            values[":capacity"] = {"N": str(shift.capacity)}
        if shift.languages:
            sets.append("languages = :languages")
            values[":languages"] = {"SS": sorted(set(shift.languages))}
        else:
            removes.append("languages")
        self._client.update_item(
            TableName=self._table,
            Key=_key(shift.department, shift.agent),
            UpdateExpression=f"SET {', '.join(sets)}"
            + (f" REMOVE {', '.join(removes)}" if removes else ""),
            ExpressionAttributeNames={"#until": "until", "#capacity": "capacity"},
            ExpressionAttributeValues=values,
        )

    def away(self, department: str, agent: str, away: bool) -> bool:
        """A conditional UpdateItem: the shift's item is there."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(department, agent),
                UpdateExpression="SET away = :away",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":away": {"BOOL": away}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

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
        languages=sorted(item.get("languages", {}).get("SS", [])),
        away=item.get("away", {}).get("BOOL", False),
        last_assigned_at=datetime.fromisoformat(last["S"]) if last else None,
    )


class MemoryShiftStore:
    """In-memory twin of DynamoShiftStore."""

    def __init__(self) -> None:
        self.shifts: dict[tuple[str, str], Shift] = {}

    def start(self, shift: Shift) -> None:
        """Keep it, with when they were last given a case."""
        key = (shift.department, shift.agent)
        earlier = self.shifts.get(key)
        self.shifts[key] = shift.model_copy(
            update={
                "languages": sorted(set(shift.languages)),
                "last_assigned_at": earlier.last_assigned_at if earlier else None,
            }
        )

    def away(self, department: str, agent: str, away: bool) -> bool:
        """Note it, while the shift is there."""
        shift = self.shifts.get((department, agent))
        if shift is None:
            return False
        self.shifts[(department, agent)] = shift.model_copy(update={"away": away})
        return True

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
