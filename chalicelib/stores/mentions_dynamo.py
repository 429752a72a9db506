"""Mention records on DynamoDB: partition key `id`, TTL `expires_at`, and the indexes the
waiting lists, the SLA check, the author history, the listings and the reports read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import RecordFull
from chalicelib.models import MAX_NOTES, MAX_NOTES_BYTES, EarlierCase, MentionRecord, Note
from chalicelib.stores.indexes import filled
from chalicelib.stores.keys import storable
from chalicelib.stores.mentions import (
    AUTHOR_INDEX,
    IGNORED,
    LIST_INDEX,
    MAX_ALERTS,
    OPEN_INDEX,
    REPORT_INDEX,
    SAID_INDEX,
    WAITING_INDEX,
    CaseTimes,
    Claim,
    EditConflict,
    FirstResponse,
    PostedAlert,
    Progress,
    Score,
    answered_list,
    author_key,
    case_state,
    clock_start,
    due_key,
    first_response,
    handed_over_list,
    opens_case,
    passed_list,
    rated_list,
    surveyed_list,
)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Before anything Switchboard stored: an index read from it reads all."""
BATCH_GET_LIMIT = 100
"""Keys per BatchGetItem call (DynamoDB's limit)."""
TRANSACTION_TRIES = 3
"""Times a transaction a concurrent write cancelled is tried."""


class DynamoMentionStore:
    """Mentions table: partition key `id`, TTL attribute `expires_at`."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def claim(
        self, mention_id: str, now: datetime, lease: timedelta
    ) -> tuple[Claim, Progress | None]:
        """Conditional put: absent, or claimed with an expired lease (or released)."""
        stamp = int(now.timestamp())
        try:
            response = self._client.put_item(
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
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item", {})
            busy = old.get("status", {}).get("S") == "claimed"
            return (Claim.BUSY if busy else Claim.DONE), None
        old = response.get("Attributes", {})
        if "pending" not in old:
            return Claim.CLAIMED, None
        return Claim.CLAIMED, Progress(old["pending"]["S"], frozenset(old["sent"]["SS"]))

    def release(self, mention_id: str, progress: Progress | None = None) -> None:
        """Delete the claim if it is still only a claim; with progress, keep it on the claim
        and end the lease instead."""
        condition = {
            "ConditionExpression": "#status = :claimed",
            "ExpressionAttributeNames": {"#status": "status"},
        }
        claimed = {":claimed": {"S": "claimed"}}
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            if progress is None or not progress.sent:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"id": {"S": mention_id}},
                    ExpressionAttributeValues=claimed,
                    **condition,
                )
                return
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": mention_id}},
                UpdateExpression="SET lease_until = :zero, pending = :message, sent = :sent",
                ExpressionAttributeValues={
                    **claimed,
                    ":zero": {"N": "0"},
                    ":message": {"S": progress.message},
                    ":sent": {"SS": sorted(progress.sent)},
                },
                **condition,
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
            "record": {"S": _json(record)},
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        }
        if routing.sla_due_at is not None:
            item["sla_due_at"] = {"S": due_key(routing.sla_due_at)}
            if record.status == "routed":
                item["open"] = {"S": "1"}  # in the sparse index of mentions awaiting an answer
                item["waiting"] = {"S": routing.department}  # and in its department's list
        author = author_key(record.message.mention)
        if author is not None:
            item["said_by"] = {"S": author}  # in the index of all each author wrote
            if opens_case(record):
                item["author"] = {"S": author}  # and in the sparse index of their cases
        if routing.rates is not None:  # a satisfaction survey answer, in its department's list
            item["listed"] = {"S": rated_list(routing.rates.department)}
            item["score"] = {"N": str(routing.rates.score)}
            if routing.rates.agent is not None:
                item["agent"] = {"S": routing.rates.agent}
        elif record.status == "ignored":
            item["listed"] = {"S": IGNORED}  # in the list of what routing ignored
        if record.taken_by is not None and record.taken_until is not None:  # the case's take
            item["taken_by"] = {"S": record.taken_by}
            item["taken_until"] = {"S": due_key(record.taken_until)}
        with _within_item_limit(record.id):
            self._client.put_item(TableName=self._table, Item=item)

    def get(self, mention_id: str) -> MentionRecord | None:
        """Read a completed record."""
        item = self._item(mention_id)
        return _record(item) if item else None

    def _item(self, mention_id: str) -> dict[str, Any] | None:
        """A completed record's item, as stored."""
        if not storable(mention_id):
            return None
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": mention_id}}, ConsistentRead=True
        ).get("Item")
        return item if item and "record" in item else None

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """BatchGetItem, 100 keys a call; keys DynamoDB leaves unprocessed are asked again
        (three times at most: then they count as not found)."""
        found: dict[str, MentionRecord] = {}
        unique = [key for key in dict.fromkeys(mention_ids) if storable(key)]
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys = [{"id": {"S": i}} for i in unique[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table: {"Keys": keys}}
            for _ in range(3):
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self._table, []):
                    if "record" in item:
                        found[item["id"]["S"]] = _record(item)
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def record_response(
        self, mention_id: str, at: datetime, post: str, by: str | None = None
    ) -> float | None:
        """Conditional update: only a routed mention's first response is kept; one `by` a
        person is written in the same transaction as an item `answered#<mention id>` in the list
        index's partition of the case's department (`first_responses`), kept as long."""
        item = self._item(mention_id)
        if item is None:
            return None
        record = _record(item)
        seconds = (at - clock_start(record)).total_seconds()
        values = {":at": {"S": at.isoformat()}, ":s": {"N": str(seconds)}, ":post": {"S": post}}
        sets = "SET first_response_at = :at, response_seconds = :s, first_response_post = :post"
        if by is not None:
            sets += ", first_response_by = :by"
            values[":by"] = {"S": by}
        update = {
            "TableName": self._table,
            "Key": {"id": {"S": mention_id}},
            "UpdateExpression": f"{sets} REMOVE #open, waiting",
            "ConditionExpression": "attribute_exists(#record) AND "
            "attribute_not_exists(first_response_at)",
            "ExpressionAttributeNames": {"#open": "open", "#record": "record"},
            "ExpressionAttributeValues": values,
        }
        if by is None:
            try:
                self._client.update_item(**update)
            except self._client.exceptions.ConditionalCheckFailedException:
                return None
            return seconds
        answered = {
            "TableName": self._table,
            "Item": {
                **_answered_item(record, first_response(record, at, by), at),
                **({"expires_at": item["expires_at"]} if "expires_at" in item else {}),
            },
        }
        return seconds if self._transact([{"Update": update}, {"Put": answered}]) else None

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Write `items` in one transaction, tried again (up to TRANSACTION_TRIES) while a
        concurrent write to the same items cancels it; False when the first one's condition
        failed."""
        for attempt in range(TRANSACTION_TRIES):
            try:
                self._client.transact_write_items(TransactItems=items)
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False
                if attempt == TRANSACTION_TRIES - 1:
                    raise
        return False

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Query the sparse index of open mentions by deadline."""
        return self._first(
            limit,
            IndexName=OPEN_INDEX,
            KeyConditionExpression="#open = :one AND sla_due_at < :now",
            ExpressionAttributeNames={"#open": "open"},
            ExpressionAttributeValues={":one": {"S": "1"}, ":now": {"S": due_key(now)}},
        )

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """Query the sparse index of waiting cases by department and deadline."""
        return self._first(
            limit,
            IndexName=WAITING_INDEX,
            KeyConditionExpression="waiting = :department",
            ExpressionAttributeValues={":department": {"S": department}},
        )

    def _first(self, limit: int, **query: Any) -> list[MentionRecord]:
        """The first `limit` records a Query finds, across its 1 MB pages."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table, PaginationConfig={"MaxItems": limit}, **query
        )
        return [_record(item) for page in pages for item in page["Items"]]

    def mark_escalated(self, mention_id: str, at: datetime) -> None:
        """Set escalated_at and leave the index."""
        self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": mention_id}},
            UpdateExpression="SET escalated_at = :at REMOVE #open",
            ExpressionAttributeNames={"#open": "open"},
            ExpressionAttributeValues={":at": {"S": at.isoformat()}},
        )

    def mark_deleted(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Rewrite the record redacted, out of the open index (and, ignored, off the ignored
        list: nothing is left to rescue); else a `deleted` tombstone (a day, like a claim) that
        later claims find done."""
        record = self.get(mention_id)
        if record is None:
            self._tombstone(mention_id, "deleted", at)
            return None
        removed = "#open, waiting, listed" if record.status == "ignored" else "#open, waiting"
        self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": mention_id}},
            UpdateExpression=f"SET #record = :record, deleted_at = :at REMOVE {removed}",
            ExpressionAttributeNames={"#record": "record", "#open": "open"},
            ExpressionAttributeValues={
                ":record": {"S": _json(record.redacted(at))},
                ":at": {"S": at.isoformat()},
            },
        )
        return record

    def said_by(self, author: str, limit: int) -> list[str]:
        """Query the index of all each author wrote, and the index of their cases (records
        stored before the first had `said_by`); forgotten records are in neither."""
        found: dict[str, None] = {}
        for index, partition in ((SAID_INDEX, "said_by"), (AUTHOR_INDEX, "author")):
            for item in self._newest(index, partition, author, EPOCH, limit):
                found[item["id"]["S"]] = None
        return list(found)[:limit]

    def forget(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Rewrite the record forgotten, out of every index that lists it by author or waits on
        it (the report index keeps its department and times, and the list of survey answers its
        score)."""
        record = self.get(mention_id)
        if record is None or record.forgotten_at is not None:
            return None
        forgotten = record.forgotten(at)
        values = {
            ":record": {"S": _json(forgotten)},
            ":deleted": {"S": (record.deleted_at or at).isoformat()},
        }
        sets = "SET #record = :record, deleted_at = :deleted"
        for name in ("closed_reason", "hidden_reason"):  # kept beside the JSON
            erased = getattr(forgotten, name)
            if erased is not None:
                sets += f", {name} = :{name}"
                values[f":{name}"] = {"S": erased}
        listed = "" if record.message.routing.rates is not None else " listed,"
        self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": mention_id}},
            UpdateExpression=f"{sets} REMOVE #open, waiting,{listed} author, said_by, taken_by,"
            " taken_until, notes, notes_bytes",
            ExpressionAttributeNames={"#record": "record", "#open": "open"},
            ExpressionAttributeValues=values,
        )
        return record

    def mark_hidden(
        self, mention_id: str, at: datetime | None, by: str | None = None, why: str | None = None
    ) -> None:
        """Set `hidden_at` (with `hidden_by`, `hidden_reason`) and leave the open index; or
        remove them and, for a routed mention with a deadline and no answer, escalation or
        deletion, rejoin the index."""
        key = {"id": {"S": mention_id}}
        if at is not None:
            values = {":at": {"S": at.isoformat()}}
            sets = "SET hidden_at = :at"
            for name, value in (("hidden_by", by), ("hidden_reason", why)):
                if value is not None:
                    sets += f", {name} = :{name}"
                    values[f":{name}"] = {"S": value}
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=f"{sets} REMOVE #open, waiting",
                ConditionExpression="attribute_exists(#record)",
                ExpressionAttributeNames={"#open": "open", "#record": "record"},
                ExpressionAttributeValues=values,
            )
            return
        self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="REMOVE hidden_at, hidden_by, hidden_reason",
        )
        self._back_on_clock(key)

    def reopen(self, mention_id: str) -> None:
        """Remove closed_at, closed_by and closed_reason, then rejoin the indexes if waiting."""
        key = {"id": {"S": mention_id}}
        self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="REMOVE closed_at, closed_by, closed_reason",
        )
        self._back_on_clock(key)

    def unanswer(self, mention_id: str, post: str) -> bool:
        """Conditional on `post` being the first response, in one transaction with the deletion
        of its `answered#` item; then rejoin the indexes."""
        key = {"id": {"S": mention_id}}
        cleared = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "REMOVE first_response_at, response_seconds, first_response_post,"
            " first_response_by",
            "ConditionExpression": "first_response_post = :post",
            "ExpressionAttributeValues": {":post": {"S": post}},
        }
        answered = {"TableName": self._table, "Key": {"id": {"S": _answered_key(mention_id)}}}
        if not self._transact([{"Update": cleared}, {"Delete": answered}]):
            return False
        self._back_on_clock(key)
        return True

    def _back_on_clock(self, key: dict[str, Any]) -> None:
        """A routed mention with a deadline that nothing answered, closed, hid or deleted joins
        its department's waiting list again, and, unless escalated already, the SLA check's."""
        waiting = (
            "#status = :routed AND attribute_exists(sla_due_at) AND attribute_not_exists"
            "(first_response_at) AND attribute_not_exists(deleted_at) AND attribute_not_exists"
            "(closed_at) AND attribute_not_exists(hidden_at)"
        )
        status = {"#status": "status"}, {":routed": {"S": "routed"}}
        self._update_if(key, "SET waiting = department", waiting, *status)
        self._update_if(
            key,
            "SET #open = :one",
            f"{waiting} AND attribute_not_exists(escalated_at)",
            {**status[0], "#open": "open"},
            {**status[1], ":one": {"S": "1"}},
        )

    def _update_if(
        self,
        key: dict[str, Any],
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        """An update made only where `condition` holds (else nothing happens: False). Empty
        `names` or `values` are left out, as DynamoDB refuses them (moto does not)."""
        request: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            with _within_item_limit(key["id"]["S"]):
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    **request,
                )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """Set closed_at, closed_by and closed_reason and leave the indexes, unless closed."""
        self._update_if(
            {"id": {"S": mention_id}},
            "SET closed_at = :at, closed_by = :by, closed_reason = :why REMOVE #open, waiting",
            "attribute_exists(#record) AND attribute_not_exists(closed_at)",
            {"#open": "open", "#record": "record"},
            {":at": {"S": at.isoformat()}, ":by": {"S": by}, ":why": {"S": reason}},
        )

    def rate(self, mention_id: str, score: int, at: datetime) -> None:
        """Set rating and rated_at beside the record's JSON."""
        self._update_if(
            {"id": {"S": mention_id}},
            "SET rating = :score, rated_at = :at",
            "attribute_exists(#record)",
            {"#record": "record"},
            {":score": {"N": str(score)}, ":at": {"S": at.isoformat()}},
        )

    def take(
        self,
        mention_id: str,
        by: str,
        now: datetime,
        until: datetime,
        passed_from: str | None = None,
    ) -> bool:
        """Set taken_by and taken_until, on condition that nobody else's take runs past now;
        add `passed_from` to the passed_over set."""
        update = "SET taken_by = :by, taken_until = :until"
        values: dict[str, Any] = {
            ":by": {"S": by},
            ":until": {"S": due_key(until)},
            ":now": {"S": due_key(now)},
        }
        if passed_from is not None:
            update += " ADD passed_over :from"
            values[":from"] = {"SS": [passed_from]}
        return self._update_if(
            {"id": {"S": mention_id}},
            update,
            "attribute_exists(#record) AND (attribute_not_exists(taken_by) OR taken_by = :by"
            " OR taken_until <= :now)",
            {"#record": "record"},
            values,
        )

    def leave(self, mention_id: str, by: str, given_back: bool = True) -> bool:
        """Remove taken_by and taken_until, on condition that `by` holds them; set
        given_back_by (`given_back`)."""
        return self._update_if(
            {"id": {"S": mention_id}},
            ("SET given_back_by = :by " if given_back else "") + "REMOVE taken_by, taken_until",
            "taken_by = :by",
            {},
            {":by": {"S": by}},
        )

    def rewrite(self, record: MentionRecord, since: datetime | None) -> None:
        """Replace the record's JSON (the SLA index and response fields are untouched) on
        condition that `edited_at` is still `since`, no deletion came first and no hand-over
        moved it (records edited before `edited_at` was kept beside the JSON pass either
        way)."""
        self._replace(
            record,
            since,
            record.message.routing.department,
            "SET #record = :record, edited_at = :edited",
            {":edited": {"S": (record.edited_at or datetime.now(UTC)).isoformat()}},
        )

    def reprioritise(self, record: MentionRecord, since: datetime | None) -> None:
        """Replace the record's JSON and its `sla_due_at` (which the open and waiting indexes
        sort by) on the conditions of `rewrite`."""
        due = record.message.routing.sla_due_at
        update, values = "SET #record = :record", {}
        if due is not None:
            update += ", sla_due_at = :due"
            values[":due"] = {"S": due_key(due)}
        self._replace(record, since, record.message.routing.department, update, values)

    def add_note(self, mention_id: str, note: Note) -> bool:
        """Append to the `notes` attribute (beside the JSON, which other writes replace) and
        add its size to `notes_bytes`, on condition that the record exists with fewer than
        MAX_NOTES and room for it within MAX_NOTES_BYTES."""
        entry: dict[str, Any] = {
            "by": {"S": note.by},
            "at": {"S": note.at.isoformat()},
            "text": {"S": note.text},
        }
        if note.told:
            entry["told"] = {"L": [{"S": name} for name in note.told]}
        return self._update_if(
            {"id": {"S": mention_id}},
            "SET notes = list_append(if_not_exists(notes, :none), :note),"
            " notes_bytes = if_not_exists(notes_bytes, :zero) + :bytes",
            "attribute_exists(#record) AND (attribute_not_exists(notes) OR size(notes) < :most)"
            " AND (attribute_not_exists(notes_bytes) OR notes_bytes <= :room)",
            {"#record": "record"},
            {
                ":none": {"L": []},
                ":note": {"L": [{"M": entry}]},
                ":most": {"N": str(MAX_NOTES)},
                ":zero": {"N": "0"},
                ":bytes": {"N": str(note.size)},
                ":room": {"N": str(MAX_NOTES_BYTES - note.size)},
            },
        )

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Replace the record's JSON, its `department` and deadline on condition that it is
        still `from_department`'s and unedited, undeleted since read; then its `waiting` entry,
        where it has one."""
        routing = record.message.routing
        to = {":to": {"S": routing.department}}
        update, values = "SET #record = :record, department = :to", dict(to)
        if routing.sla_due_at is not None:
            update += ", sla_due_at = :due"
            values[":due"] = {"S": due_key(routing.sla_due_at)}
        if opens_case(record):  # on the list of the department routing chose (the first)
            update += ", listed = if_not_exists(listed, :listed)"
            values[":listed"] = {"S": handed_over_list(from_department)}
        update += " REMOVE taken_by, taken_until, given_back_by, passed_over"  # the old one's
        self._replace(record, record.edited_at, from_department, update, values)
        self._update_if(
            {"id": {"S": record.id}}, "SET waiting = :to", "attribute_exists(waiting)", {}, to
        )

    def _replace(
        self,
        record: MentionRecord,
        since: datetime | None,
        department: str,
        update: str,
        values: dict[str, Any],
    ) -> None:
        """Update the record's item with its JSON as `:record`, on condition that it exists,
        was not deleted, was last edited at `since` (or never) and is still `department`'s."""
        values = {
            **values,
            ":record": {"S": _json(record)},
            ":department": {"S": department},
        }
        unchanged = "attribute_not_exists(edited_at)"
        if since is not None:
            unchanged = f"({unchanged} OR edited_at = :since)"
            values[":since"] = {"S": since.isoformat()}
        try:
            with _within_item_limit(record.id):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": record.id}},
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(#record) AND attribute_not_exists"
                    f"(deleted_at) AND {unchanged} AND department = :department",
                    ExpressionAttributeNames={"#record": "record"},
                    ExpressionAttributeValues=values,
                )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise EditConflict(f"{record.id} was changed or deleted meanwhile") from None

    def supersede(self, mention_id: str, at: datetime) -> None:
        """A `superseded` tombstone, like a deletion's."""
        self._tombstone(mention_id, "superseded", at)

    def _tombstone(self, mention_id: str, status: str, at: datetime) -> None:
        """A record-less item (a day, like a claim) that later claims find done; none where the
        mention already has a claim or a record."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": mention_id},
                    "status": {"S": status},
                    f"{status}_at": {"S": at.isoformat()},
                    "expires_at": {"N": str(int(at.timestamp()) + 86_400)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )

    def link(self, key: str, mention_id: str, expires_at: datetime) -> None:
        """An item `link#<key>` naming the mention (a later link for the same key replaces it)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                **_link_key(key),
                "mention_id": {"S": mention_id},
                "expires_at": {"N": str(int(expires_at.timestamp()))},
            },
        )

    def conversation_of(self, key: str) -> MentionRecord | None:
        """The key's own record, else the one its link names."""
        record, linked = self.get(key), _link_key(key)
        if record is not None or not storable(linked["id"]["S"]):
            return record
        link = self._client.get_item(TableName=self._table, Key=linked, ConsistentRead=True).get(
            "Item"
        )
        return self.get(link["mention_id"]["S"]) if link else None

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        """An item `held#<key>` (TTL `expires_at`)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "id": {"S": f"held#{key}"},
                "what": {"S": what},
                "at": {"S": at.isoformat()},
                "expires_at": {"N": str(int(expires_at.timestamp()))},
            },
        )

    def labels_of(self, author: str) -> list[str]:
        """Read the string set of `labels#<author>` (eventually consistent: a label given a
        second ago may reach the next mention only)."""
        key = f"labels#{author}"
        if not storable(key):
            return []
        item = self._client.get_item(TableName=self._table, Key={"id": {"S": key}}).get("Item", {})
        return sorted(item.get("labels", {}).get("SS", []))

    def label(self, author: str, add: list[str], remove: list[str]) -> list[str]:
        """ADD to and DELETE from the string set of `labels#<author>` (two updates when both:
        one expression may not name an attribute twice); no expiry: labels stay until taken
        away, or until the author is forgotten."""
        after: dict[str, Any] | None = None
        for operation, names in (("ADD", add), ("DELETE", remove)):
            if names:
                after = self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": f"labels#{author}"}},
                    UpdateExpression=f"{operation} labels :names",
                    ExpressionAttributeValues={":names": {"SS": sorted(set(names))}},
                    ReturnValues="ALL_NEW",
                ).get("Attributes", {})
        if after is None:
            return self.labels_of(author)
        return sorted(after.get("labels", {}).get("SS", []))

    def drop(self, key: str) -> None:
        """Delete the items `link#<key>` and `held#<key>`."""
        for item_id in (f"link#{key}", f"held#{key}"):
            self._client.delete_item(TableName=self._table, Key={"id": {"S": item_id}})

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """Read `held#<key>`; one past its expiry (DynamoDB deletes them late) is none."""
        if not storable(f"held#{key}"):
            return None
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"held#{key}"}}, ConsistentRead=True
        ).get("Item")
        if not item or int(item["expires_at"]["N"]) <= now.timestamp():
            return None
        return item["what"]["S"], datetime.fromisoformat(item["at"]["S"])

    def handed_over(self, department: str, since: datetime, limit: int) -> list[MentionRecord]:
        """Query the sparse index of handed-over cases by the department they were routed to."""
        items = self._newest(LIST_INDEX, "listed", handed_over_list(department), since, limit)
        return [_record(item) for item in items]

    def handed_over_count(self, department: str, since: datetime) -> int:
        """Count the partition of the list index (Select COUNT)."""
        value = handed_over_list(department)
        pages = self._pages(LIST_INDEX, "listed", value, since, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """Query the sparse index of ignored mentions."""
        return [_record(item) for item in self._newest(LIST_INDEX, "listed", IGNORED, since, limit)]

    def mark_passed_on(
        self, mention_id: str, department: str, by: str, at: datetime, expires_at: datetime
    ) -> None:
        """An item `passed#<mention id>#<at>` in the list index's partition of the department."""
        stamp = at.astimezone(UTC).isoformat()
        self._client.put_item(
            TableName=self._table,
            Item={
                "id": {"S": f"passed#{mention_id}#{stamp}"},
                "listed": {"S": passed_list(department)},
                "routed_at": {"S": stamp},
                "by": {"S": by},
                "expires_at": {"N": str(int(expires_at.timestamp()))},
            },
        )

    def passed_on(self, department: str, since: datetime, limit: int) -> list[str]:
        """Query the list index's partition of `department`'s passed-on takes."""
        items = self._newest(LIST_INDEX, "listed", passed_list(department), since, limit)
        return [item["by"]["S"] for item in items]

    def add_alert(self, key: str, alert: PostedAlert, expires_at: datetime) -> int:
        """Append to the list of an item `alerted#<key>`, unless it has MAX_ALERTS."""
        posted = {"channel": {"S": alert.channel}, "ts": {"S": alert.ts}, "text": {"S": alert.text}}
        try:
            kept = self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": f"alerted#{key}"}},
                UpdateExpression="SET alerts = list_append(if_not_exists(alerts, :none), :one),"
                " expires_at = :expires",
                ConditionExpression="attribute_not_exists(alerts) OR size(alerts) < :max",
                ExpressionAttributeValues={
                    ":none": {"L": []},
                    ":one": {"L": [{"M": posted}]},
                    ":expires": {"N": str(int(expires_at.timestamp()))},
                    ":max": {"N": str(MAX_ALERTS)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return 0  # as many as a case keeps
        return len(kept["Attributes"]["alerts"]["L"])

    def alerts_of(self, key: str) -> list[PostedAlert]:
        """The list of the item `alerted#<key>`."""
        if not storable(f"alerted#{key}"):
            return []
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": f"alerted#{key}"}}, ConsistentRead=True
        ).get("Item")
        return [
            PostedAlert(each["M"]["channel"]["S"], each["M"]["ts"]["S"], each["M"]["text"]["S"])
            for each in (item or {}).get("alerts", {}).get("L", [])
        ]

    def drop_alerts(self, key: str) -> None:
        """Delete the item `alerted#<key>`."""
        self._client.delete_item(TableName=self._table, Key={"id": {"S": f"alerted#{key}"}})

    def mark_surveyed(
        self, reply_id: str, department: str, at: datetime, expires_at: datetime
    ) -> None:
        """An item `surveyed#<reply id>` in the list index's partition of the department."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "id": {"S": f"surveyed#{reply_id}"},
                "listed": {"S": surveyed_list(department)},
                "routed_at": {"S": at.astimezone(UTC).isoformat()},
                "expires_at": {"N": str(int(expires_at.timestamp()))},
            },
        )

    def surveyed_count(self, department: str, since: datetime) -> int:
        """Count the department's partition of surveys in the list index (Select COUNT)."""
        pages = self._pages(LIST_INDEX, "listed", surveyed_list(department), since, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def first_responses(self, department: str, since: datetime, limit: int) -> list[FirstResponse]:
        """Query the list index's partition of the first responses to `department`'s cases."""
        items = self._newest(LIST_INDEX, "listed", answered_list(department), since, limit)
        return [
            FirstResponse(
                by=item["by"]["S"],
                seconds=float(item["response_seconds"]["N"]),
                on_time=item["on_time"]["BOOL"],
            )
            for item in items
        ]

    def ratings(self, department: str, since: datetime, limit: int) -> list[Score]:
        """Query the list index's partition of `department`'s survey answers for their scores."""
        items = self._newest(LIST_INDEX, "listed", rated_list(department), since, limit)
        return [(int(item["score"]["N"]), item.get("agent", {}).get("S")) for item in items]

    def department_cases(self, department: str, since: datetime, limit: int) -> list[CaseTimes]:
        """Query the report index's partition of `department`."""
        items = self._newest(REPORT_INDEX, "department", department, since, limit)
        return [_times(item) for item in items]

    def _newest(
        self, index: str, partition: str, value: str, since: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """The items of one partition of an index sorted by `routed_at` since `since`, newest
        first, at most `limit`."""
        pages = self._pages(index, partition, value, since, PaginationConfig={"MaxItems": limit})
        return [item for page in pages for item in page["Items"]]

    def _pages(
        self, index: str, partition: str, value: str, since: datetime, **extra: Any
    ) -> Iterator[dict[str, Any]]:
        """The Query pages of one partition of an index by `routed_at` since `since`, newest
        first; IndexNotReady while DynamoDB still fills the index after an upgrade added it."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression="#partition = :value AND routed_at >= :since",
            ExpressionAttributeNames={"#partition": partition},
            ExpressionAttributeValues={
                ":value": {"S": value},
                ":since": {"S": since.astimezone(UTC).isoformat()},
            },
            ScanIndexForward=False,
            **extra,
        )
        yield from filled(pages, index)

    def rescue(self, record: MentionRecord) -> None:
        """Make the ignored item routed, on condition that it is still ignored: the record, its
        department and the attributes of the sparse indexes a routed case is in."""
        routing = record.message.routing
        names = {"#status": "status", "#record": "record"}
        values = {
            ":routed": {"S": "routed"},
            ":ignored": {"S": "ignored"},
            ":record": {"S": _json(record)},
            ":to": {"S": routing.department},
        }
        sets = ["#status = :routed", "#record = :record", "department = :to"]
        if routing.sla_due_at is not None:
            names["#open"] = "open"
            values |= {":due": {"S": due_key(routing.sla_due_at)}, ":one": {"S": "1"}}
            sets += ["sla_due_at = :due", "#open = :one", "waiting = :to"]
        author = author_key(record.message.mention)
        removed = " REMOVE listed"  # off the ignored list
        if opens_case(record):  # a case of its own, not a follow-up: listed as rescued
            values[":listed"] = {"S": handed_over_list("ignore")}
            sets.append("listed = :listed")
            removed = ""
            if author is not None:
                values[":author"] = {"S": author}
                sets.append("author = :author")
        try:
            with _within_item_limit(record.id):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": record.id}},
                    UpdateExpression=f"SET {', '.join(sets)}{removed}",
                    ConditionExpression="#status = :ignored AND attribute_exists(#record)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise EditConflict(f"{record.id} is no longer ignored") from None

    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        """Query the sparse index of cases by author, newest first."""
        items = self._newest(AUTHOR_INDEX, "author", author, since, limit)
        return [
            EarlierCase(
                id=item["id"]["S"],
                department=item["department"]["S"],
                routed_at=datetime.fromisoformat(item["routed_at"]["S"]),
                state=case_state(item.__contains__),
            )
            for item in items
        ]


@contextlib.contextmanager
def _within_item_limit(mention_id: str) -> Iterator[None]:
    """DynamoDB's refusal of a write that would take the item past 400 KB, as RecordFull."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if "exceeded the maximum allowed size" not in error.get("Message", ""):
            raise
        raise RecordFull(
            f"{mention_id}'s record would pass DynamoDB's 400 KB item limit: this cannot be kept"
            " on it"
        ) from None


def _link_key(key: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"link#{key}"}}  # never a mention id: those are platform:native


def _times(item: dict[str, Any]) -> CaseTimes:
    """A report index item as the report reads it."""

    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]["S"]) if name in item else None

    seconds = item.get("response_seconds")
    return CaseTimes(
        routed_at=datetime.fromisoformat(item["routed_at"]["S"]),
        due=moment("sla_due_at"),
        state=case_state(item.__contains__),
        answered_at=moment("first_response_at"),
        response_seconds=float(seconds["N"]) if seconds else None,
        escalated="escalated_at" in item,
    )


def _answered_key(mention_id: str) -> str:
    """The id of the item that counts a case's first response by a person."""
    return f"answered#{mention_id}"


def _answered_item(record: MentionRecord, response: FirstResponse, at: datetime) -> dict[str, Any]:
    """The item that counts `response`, sent `at`, among the first responses to `record`'s
    department."""
    return {
        "id": {"S": _answered_key(record.id)},
        "listed": {"S": answered_list(record.message.routing.department)},
        "routed_at": {"S": at.astimezone(UTC).isoformat()},
        "by": {"S": response.by},
        "response_seconds": {"N": str(response.seconds)},
        "on_time": {"BOOL": response.on_time},
    }


def _json(record: MentionRecord) -> str:
    """The record as its item's `record` attribute keeps it: without the notes, which an
    attribute of their own holds (appended to, never rewritten)."""
    return record.model_dump_json(by_alias=True, exclude={"notes"})


def _record(item: dict[str, Any]) -> MentionRecord:
    record = MentionRecord.model_validate_json(item["record"]["S"])
    updates: dict[str, Any] = {}
    if "first_response_at" in item:
        updates["first_response_at"] = datetime.fromisoformat(item["first_response_at"]["S"])
        updates["response_seconds"] = float(item["response_seconds"]["N"])
        for text in ("first_response_post", "first_response_by"):
            if text in item:
                updates[text] = item[text]["S"]
    if "rating" in item:
        updates["rating"] = int(item["rating"]["N"])
    for moment in ("escalated_at", "closed_at", "rated_at"):
        if moment in item:
            updates[moment] = datetime.fromisoformat(item[moment]["S"])
    for text in ("closed_by", "closed_reason"):
        if text in item:
            updates[text] = item[text]["S"]
    taken = item.get("taken_by")  # comes and goes too, beside the JSON
    if taken or record.taken_by is not None:
        updates["taken_by"] = taken["S"] if taken else None
        updates["taken_until"] = datetime.fromisoformat(item["taken_until"]["S"]) if taken else None
    given_back = item.get("given_back_by")  # the attribute alone says it, as for the take
    if given_back or record.given_back_by is not None:
        updates["given_back_by"] = given_back["S"] if given_back else None
    passed = item.get("passed_over")  # a string set, beside the JSON
    if passed or record.passed_over:
        updates["passed_over"] = sorted(passed["SS"]) if passed else []
    if "notes" in item:  # appended beside the JSON
        updates["notes"] = [
            Note(
                by=note["by"]["S"],
                at=datetime.fromisoformat(note["at"]["S"]),
                text=note["text"]["S"],
                told=[name["S"] for name in note.get("told", {}).get("L", [])],
            )
            for note in (entry["M"] for entry in item["notes"]["L"])
        ]
    # hidden_at comes and goes: the attribute alone says it (an edit's JSON may hold an old one)
    hidden = item.get("hidden_at")
    if hidden or record.hidden_at is not None:
        updates["hidden_at"] = datetime.fromisoformat(hidden["S"]) if hidden else None
        for text in ("hidden_by", "hidden_reason"):
            updates[text] = item[text]["S"] if hidden and text in item else None
    return record.model_copy(update=updates) if updates else record
