"""Mention records and the claim that makes routing idempotent: DynamoDB and an in-memory twin.

A mention is first *claimed* (conditional put, status "claimed", with a lease), then routed, then
*completed* (status "routed" or "ignored" with the full decision). A redelivered mention finds a
completed record and is skipped; one whose worker died mid-way is reclaimed after the lease. A
worker whose attempt failed after some department queues had the message releases the claim
with that *progress*: the retry sends the same message to the other queues only.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from chalicelib.models import CaseState, EarlierCase, Mention, MentionRecord


class EditConflict(RuntimeError):
    """The record changed (another edit, a deletion) since it was read: read it again."""


class Claim(enum.Enum):
    """Outcome of trying to claim a mention for routing."""

    CLAIMED = "claimed"  # ours to route
    DONE = "done"  # already routed: a duplicate
    BUSY = "busy"  # another worker holds a live lease: retry later


@dataclass(frozen=True)
class Progress:
    """How far a failed attempt at routing a mention got: the message it decided (RoutedMention
    JSON) and the queues that already have it."""

    message: str
    sent: frozenset[str]


class MentionStore(Protocol):
    """Claims and records of mentions."""

    def claim(
        self, mention_id: str, now: datetime, lease: timedelta
    ) -> tuple[Claim, Progress | None]:
        """Claim a mention for routing unless it is done or leased to another worker; a claim
        comes with the progress an earlier, failed attempt left (else None)."""
        ...

    def release(self, mention_id: str, progress: Progress | None = None) -> None:
        """Give a claim back after a failure, so a retry can route the mention; with progress
        when some queues already have its message."""
        ...

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Store the routed record; it expires (TTL) at `expires_at`."""
        ...

    def get(self, mention_id: str) -> MentionRecord | None:
        """The completed record of a mention, if any."""
        ...

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """The completed records of these mentions, by id (those without one left out)."""
        ...

    def record_response(self, mention_id: str, at: datetime, post: str) -> float | None:
        """Set the first response, the brand's `post` at `at` (only the first counts); returns
        the response time in seconds when this was the first, else None."""
        ...

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Routed mentions past their SLA deadline with no response and no escalation yet."""
        ...

    def mark_escalated(self, mention_id: str, at: datetime) -> None:
        """Record that an overdue mention was escalated (it leaves the overdue list)."""
        ...

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """The cases of `department` waiting for a first response, the soonest deadline first
        (escalated ones stay; answered, closed, hidden and deleted ones leave)."""
        ...

    def mark_deleted(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """The author deleted the mention: redact its record and take it off the SLA clock, or,
        not routed yet, leave a tombstone so a late delivery of it is not routed; returns the
        record as it was (None when there was none)."""
        ...

    def mark_hidden(self, mention_id: str, at: datetime | None) -> None:
        """A moderator hid the mention (`at`): it leaves the SLA clock; or showed it again
        (None): back on the clock unless it was answered, escalated, closed or deleted
        meanwhile."""
        ...

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """A department closed the case without a reply: it leaves the SLA clock (closed once:
        a second close keeps the first)."""
        ...

    def reopen(self, mention_id: str) -> None:
        """A closed case is open again: back on the SLA clock unless it was answered, hidden or
        deleted meanwhile."""
        ...

    def rewrite(self, record: MentionRecord, since: datetime | None) -> None:
        """Store a routed mention's record as changed (an edit); deadline and answer stay.
        `since`: the `edited_at` of the record as it was read; raises EditConflict when it was
        edited again, deleted (a deleted mention's text never comes back) or handed over to
        another department meanwhile."""
        ...

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Store `record`, handed over from `from_department` to its department now: the
        waiting list it is on (if any) and the author index follow, and whoever took it in
        `from_department` has it no more. EditConflict when it left `from_department`, was
        edited or was deleted meanwhile."""
        ...

    def handed_over(self, department: str, since: datetime, limit: int) -> list[MentionRecord]:
        """The cases routed to `department` since `since` that people handed over to another
        (where they are now, by whom and why in their transfers), newest first."""
        ...

    def take(self, mention_id: str, by: str, now: datetime, until: datetime) -> bool:
        """`by` takes the mention to answer it until `until`, unless someone else's take runs
        past `now` (then False; their own take is extended)."""
        ...

    def leave(self, mention_id: str, by: str) -> bool:
        """`by` gives back a mention they took (False: they do not hold it)."""
        ...

    def rescue(self, record: MentionRecord) -> None:
        """Store `record`, an ignored mention a person sent to a department, as routed: on that
        department's waiting list and the SLA check's, among its author's cases and the cases
        handed over from `ignore`. EditConflict when it is no longer ignored."""
        ...

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """The mentions routing ignored since `since` (and nobody rescued), newest first."""
        ...

    def supersede(self, mention_id: str, at: datetime) -> None:
        """A later version of this post opened its case first (an edit routed before the post
        it was made from): unless the post has a claim or a record already, leave a tombstone
        so that it is not routed as a second case when it comes late."""
        ...

    def link(self, key: str, mention_id: str, expires_at: datetime) -> None:
        """Remember that `key` (a brand reply's `platform:native` id, a direct-message sender)
        continues the conversation of `mention_id`, until `expires_at` (TTL)."""
        ...

    def conversation_of(self, key: str) -> MentionRecord | None:
        """The record of the mention `key` continues: the mention itself when `key` is a routed
        mention's id, else the one linked to `key`; None for others."""
        ...

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        """Keep what happened (`at`) to a mention or conversation not routed yet (`key`: the
        brand's answer post to it, a moderator hiding it) until `expires_at`; a later event
        under the same key replaces it."""
        ...

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """What is held under `key` and not expired at `now`: (what, when it happened)."""
        ...

    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        """The cases `author` (an `author_key`) opened since `since`, newest first, at most
        `limit`."""
        ...


def dm_sender(mention: Mention) -> str | None:
    """The conversation key of a direct message: its platform and sender."""
    if mention.kind != "dm" or not mention.author.id:
        return None
    return f"{mention.platform}:dm/{mention.author.id}"


def follow_up(mention_id: str) -> str:
    """The link key naming the latest mention that continues `mention_id`'s conversation."""
    return f"follow-up/{mention_id}"


def author_key(mention: Mention) -> str | None:
    """Who wrote a mention, as its platform knows them (`x:12345`); None when not said."""
    return f"{mention.platform}:{mention.author.id}" if mention.author.id else None


def opens_case(record: MentionRecord) -> bool:
    """Whether a record is a case of its own: routed to a department, not a follow-up of another
    (a reply in its conversation, another direct message within it)."""
    return record.status == "routed" and record.message.routing.conversation is None


def case_of(store: MentionStore, mention_id: str) -> MentionRecord | None:
    """The record of the case `mention_id` names: the mention's own, or, for a version of an
    edited post (X gives each edit an id), the case of that post; None for anything else (a
    brand reply linked to a case is not the case)."""
    record = store.conversation_of(mention_id)
    return record if record is not None and record.names(mention_id) else None


def unanswered(store: MentionStore, record: MentionRecord, steps: int = 20) -> list[MentionRecord]:
    """The routed mentions an answer to `record` answers: itself and what its author wrote
    before it in the same conversation (each mention continues the one before: a second direct
    message, a reply to their own post), back to the first the brand answered or one by someone
    else; deleted ones left out. Empty when `record` was answered already."""
    found: list[MentionRecord] = []
    author = record.message.mention.author.id
    current: MentionRecord | None = record
    for _ in range(steps):
        if current is None or current.first_response_at is not None:
            break
        if current.message.mention.author.id != author:
            break
        if current.status == "routed" and current.deleted_at is None:
            found.append(current)
        earlier = current.message.routing.conversation
        current = store.get(earlier.mention_id) if earlier else None
    return found


OPEN_INDEX = "open-by-due"
WAITING_INDEX = "waiting-by-due"
AUTHOR_INDEX = "cases-by-author"
BATCH_GET_LIMIT = 100
LIST_INDEX = "listed-by-time"
"""One sparse index by `routed_at` for two lists a record is in one of at most (one index: a
CloudFormation update adds no more than one to a table): `listed` is `ignored` for what
routing ignored, `handed-over:<department>` for a case people handed over from the department
routing chose (`handed-over:ignore` for an ignored one they rescued)."""
IGNORED = "ignored"


def handed_over_list(department: str) -> str:
    """The `listed` value of the cases handed over from `department`."""
    return f"handed-over:{department}"


_ENDINGS: tuple[tuple[str, CaseState], ...] = (
    ("deleted_at", "deleted"),
    ("hidden_at", "hidden"),
    ("closed_at", "closed"),
    ("first_response_at", "answered"),
)
"""What ends a case's wait, by the record field that says it happened; the first that applies
names its state."""
AUTHOR_INDEX_ATTRIBUTES = ("department", *(field for field, _ in _ENDINGS))
"""What the author index projects besides its keys (`author`, `routed_at`): enough to list an
author's earlier cases (department, state) without reading their records."""


def _has(record: MentionRecord, field: str) -> bool:
    """Whether the record's `field` is set."""
    return getattr(record, field) is not None


def _case_state(happened: Callable[[str], bool]) -> CaseState:
    """A case's state, given whether each of the `_ENDINGS` fields is set."""
    return next((state for field, state in _ENDINGS if happened(field)), "waiting")


def due_key(moment: datetime) -> str:
    """A deadline as a fixed-format UTC string, so that deadlines sort as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            "record": {"S": record.model_dump_json(by_alias=True)},
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        }
        if routing.sla_due_at is not None:
            item["sla_due_at"] = {"S": due_key(routing.sla_due_at)}
            if record.status == "routed":
                item["open"] = {"S": "1"}  # in the sparse index of mentions awaiting an answer
                item["waiting"] = {"S": routing.department}  # and in its department's list
        author = author_key(record.message.mention)
        if author is not None and opens_case(record):
            item["author"] = {"S": author}  # in the sparse index of each author's cases
        if record.status == "ignored":
            item["listed"] = {"S": IGNORED}  # in the list of what routing ignored
        self._client.put_item(TableName=self._table, Item=item)

    def get(self, mention_id: str) -> MentionRecord | None:
        """Read a completed record."""
        item = self._client.get_item(
            TableName=self._table, Key={"id": {"S": mention_id}}, ConsistentRead=True
        ).get("Item")
        return _record(item) if item and "record" in item else None

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """BatchGetItem, 100 keys a call; keys DynamoDB leaves unprocessed are asked again
        (three times at most: then they count as not found)."""
        found: dict[str, MentionRecord] = {}
        unique = list(dict.fromkeys(mention_ids))
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

    def record_response(self, mention_id: str, at: datetime, post: str) -> float | None:
        """Conditional update: only a routed mention's first response is kept."""
        record = self.get(mention_id)
        if record is None:
            return None
        seconds = (at - _clock_start(record)).total_seconds()
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": mention_id}},
                UpdateExpression="SET first_response_at = :at, response_seconds = :s,"
                " first_response_post = :post REMOVE #open, waiting",
                ConditionExpression="attribute_exists(#record) AND "
                "attribute_not_exists(first_response_at)",
                ExpressionAttributeNames={"#open": "open", "#record": "record"},
                ExpressionAttributeValues={
                    ":at": {"S": at.isoformat()},
                    ":s": {"N": str(seconds)},
                    ":post": {"S": post},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return seconds

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Query the sparse index of open mentions by deadline."""
        items = self._client.query(
            TableName=self._table,
            IndexName=OPEN_INDEX,
            KeyConditionExpression="#open = :one AND sla_due_at < :now",
            ExpressionAttributeNames={"#open": "open"},
            ExpressionAttributeValues={":one": {"S": "1"}, ":now": {"S": due_key(now)}},
            Limit=limit,
        )["Items"]
        return [_record(item) for item in items]

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """Query the sparse index of waiting cases by department and deadline."""
        items = self._client.query(
            TableName=self._table,
            IndexName=WAITING_INDEX,
            KeyConditionExpression="waiting = :department",
            ExpressionAttributeValues={":department": {"S": department}},
            Limit=limit,
        )["Items"]
        return [_record(item) for item in items]

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
                ":record": {"S": record.redacted(at).model_dump_json(by_alias=True)},
                ":at": {"S": at.isoformat()},
            },
        )
        return record

    def mark_hidden(self, mention_id: str, at: datetime | None) -> None:
        """Set `hidden_at` and leave the open index; or remove it and, for a routed mention with
        a deadline and no answer, escalation or deletion, rejoin the index."""
        key = {"id": {"S": mention_id}}
        if at is not None:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET hidden_at = :at REMOVE #open, waiting",
                ConditionExpression="attribute_exists(#record)",
                ExpressionAttributeNames={"#open": "open", "#record": "record"},
                ExpressionAttributeValues={":at": {"S": at.isoformat()}},
            )
            return
        self._client.update_item(
            TableName=self._table, Key=key, UpdateExpression="REMOVE hidden_at"
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
    ) -> None:
        """An update made only where `condition` holds (else nothing happens)."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """Set closed_at, closed_by and closed_reason and leave the indexes, unless closed."""
        self._update_if(
            {"id": {"S": mention_id}},
            "SET closed_at = :at, closed_by = :by, closed_reason = :why REMOVE #open, waiting",
            "attribute_exists(#record) AND attribute_not_exists(closed_at)",
            {"#open": "open", "#record": "record"},
            {":at": {"S": at.isoformat()}, ":by": {"S": by}, ":why": {"S": reason}},
        )

    def take(self, mention_id: str, by: str, now: datetime, until: datetime) -> bool:
        """Set taken_by and taken_until, on condition that nobody else's take runs past now."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": mention_id}},
                UpdateExpression="SET taken_by = :by, taken_until = :until",
                ConditionExpression="attribute_exists(#record) AND (attribute_not_exists(taken_by)"
                " OR taken_by = :by OR taken_until <= :now)",
                ExpressionAttributeNames={"#record": "record"},
                ExpressionAttributeValues={
                    ":by": {"S": by},
                    ":until": {"S": due_key(until)},
                    ":now": {"S": due_key(now)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def leave(self, mention_id: str, by: str) -> bool:
        """Remove taken_by and taken_until, on condition that `by` holds them."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": mention_id}},
                UpdateExpression="REMOVE taken_by, taken_until",
                ConditionExpression="taken_by = :by",
                ExpressionAttributeValues={":by": {"S": by}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

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

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Replace the record's JSON and its `department` on condition that it is still
        `from_department`'s and unedited, undeleted since read; then its `waiting` entry,
        where it has one."""
        to = {":to": {"S": record.message.routing.department}}
        update, values = "SET #record = :record, department = :to", dict(to)
        if opens_case(record):  # on the list of the department routing chose (the first)
            update += ", listed = if_not_exists(listed, :listed)"
            values[":listed"] = {"S": handed_over_list(from_department)}
        update += " REMOVE taken_by, taken_until"  # whoever took it in the old department
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
            ":record": {"S": record.model_dump_json(by_alias=True)},
            ":department": {"S": department},
        }
        unchanged = "attribute_not_exists(edited_at)"
        if since is not None:
            unchanged = f"({unchanged} OR edited_at = :since)"
            values[":since"] = {"S": since.isoformat()}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": record.id}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(#record) AND attribute_not_exists(deleted_at)"
                f" AND {unchanged} AND department = :department",
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
        record = self.get(key)
        if record is not None:
            return record
        link = self._client.get_item(
            TableName=self._table, Key=_link_key(key), ConsistentRead=True
        ).get("Item")
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

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """Read `held#<key>`; one past its expiry (DynamoDB deletes them late) is none."""
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

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """Query the sparse index of ignored mentions."""
        return [_record(item) for item in self._newest(LIST_INDEX, "listed", IGNORED, since, limit)]

    def _newest(
        self, index: str, partition: str, value: str, since: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """The items of one partition of an index sorted by `routed_at` since `since`, newest
        first."""
        return self._client.query(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression="#partition = :value AND routed_at >= :since",
            ExpressionAttributeNames={"#partition": partition},
            ExpressionAttributeValues={
                ":value": {"S": value},
                ":since": {"S": since.astimezone(UTC).isoformat()},
            },
            ScanIndexForward=False,
            Limit=limit,
        )["Items"]

    def rescue(self, record: MentionRecord) -> None:
        """Make the ignored item routed, on condition that it is still ignored: the record, its
        department and the attributes of the sparse indexes a routed case is in."""
        routing = record.message.routing
        names = {"#status": "status", "#record": "record"}
        values = {
            ":routed": {"S": "routed"},
            ":ignored": {"S": "ignored"},
            ":record": {"S": record.model_dump_json(by_alias=True)},
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
                state=_case_state(item.__contains__),
            )
            for item in items
        ]


def _link_key(key: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"link#{key}"}}  # never a mention id: those are platform:native


def _record(item: dict[str, Any]) -> MentionRecord:
    record = MentionRecord.model_validate_json(item["record"]["S"])
    updates: dict[str, Any] = {}
    if "first_response_at" in item:
        updates["first_response_at"] = datetime.fromisoformat(item["first_response_at"]["S"])
        updates["response_seconds"] = float(item["response_seconds"]["N"])
        if "first_response_post" in item:
            updates["first_response_post"] = item["first_response_post"]["S"]
    for moment in ("escalated_at", "closed_at"):
        if moment in item:
            updates[moment] = datetime.fromisoformat(item[moment]["S"])
    for text in ("closed_by", "closed_reason"):
        if text in item:
            updates[text] = item[text]["S"]
    taken = item.get("taken_by")  # comes and goes too, beside the JSON
    if taken or record.taken_by is not None:
        updates["taken_by"] = taken["S"] if taken else None
        updates["taken_until"] = datetime.fromisoformat(item["taken_until"]["S"]) if taken else None
    # hidden_at comes and goes: the attribute alone says it (an edit's JSON may hold an old one)
    hidden = item.get("hidden_at")
    if hidden or record.hidden_at is not None:
        updates["hidden_at"] = datetime.fromisoformat(hidden["S"]) if hidden else None
    return record.model_copy(update=updates) if updates else record


def _waiting(record: MentionRecord) -> bool:
    """Whether a record waits for a first response (the in-memory twin of the sparse indexes):
    routed with a deadline, and not answered, closed, hidden or deleted."""
    return (
        record.status == "routed"
        and record.message.routing.sla_due_at is not None
        and not (record.first_response_at or record.closed_at or record.hidden_at)
        and record.deleted_at is None
    )


def _clock_start(record: MentionRecord) -> datetime:
    """The SLA clock starts when the customer posted (else when Switchboard routed it)."""
    return record.message.mention.created_at or record.routed_at


class MemoryMentionStore:
    """In-memory twin of DynamoMentionStore."""

    def __init__(self) -> None:
        self.leases: dict[str, datetime] = {}
        self.records: dict[str, MentionRecord] = {}
        self.links: dict[str, str] = {}
        self.holding: dict[str, tuple[str, datetime, datetime]] = {}
        self.progress: dict[str, Progress] = {}
        self.tombstones: set[str] = set()

    def claim(
        self, mention_id: str, now: datetime, lease: timedelta
    ) -> tuple[Claim, Progress | None]:
        """Claim unless completed, deleted or leased; hand over the progress a release left."""
        if mention_id in self.records or mention_id in self.tombstones:
            return Claim.DONE, None
        if mention_id in self.leases and self.leases[mention_id] >= now:
            return Claim.BUSY, None
        self.leases[mention_id] = now + lease
        return Claim.CLAIMED, self.progress.pop(mention_id, None)

    def release(self, mention_id: str, progress: Progress | None = None) -> None:
        """Drop the lease; keep the progress, if any queue has the message."""
        if mention_id in self.records:
            return
        self.leases.pop(mention_id, None)
        if progress is not None and progress.sent:
            self.progress[mention_id] = progress

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Keep the record (expiry is not simulated)."""
        self.leases.pop(record.id, None)
        self.records[record.id] = record

    def get(self, mention_id: str) -> MentionRecord | None:
        """The record, if completed."""
        return self.records.get(mention_id)

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """The records there are, by id."""
        return {i: self.records[i] for i in mention_ids if i in self.records}

    def record_response(self, mention_id: str, at: datetime, post: str) -> float | None:
        """First response only."""
        record = self.records.get(mention_id)
        if record is None or record.first_response_at is not None:
            return None
        seconds = (at - _clock_start(record)).total_seconds()
        self.records[mention_id] = record.model_copy(
            update={
                "first_response_at": at,
                "response_seconds": seconds,
                "first_response_post": post,
            }
        )
        return seconds

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Waiting, not escalated, past the deadline."""
        return [
            r
            for r in self.records.values()
            if _waiting(r)
            and r.escalated_at is None
            and due_key(r.message.routing.sla_due_at or now) < due_key(now)
        ][:limit]

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """Waiting and routed to `department`; by deadline."""
        found = [
            r
            for r in self.records.values()
            if _waiting(r) and r.message.routing.department == department
        ]
        found.sort(key=lambda r: due_key(r.message.routing.sla_due_at or r.routed_at))
        return found[:limit]

    def mark_escalated(self, mention_id: str, at: datetime) -> None:
        """Set escalated_at."""
        record = self.records[mention_id]
        self.records[mention_id] = record.model_copy(update={"escalated_at": at})

    def mark_deleted(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Redact the record, or keep a tombstone (as a record-less done claim)."""
        record = self.records.get(mention_id)
        if record is None:
            self.supersede(mention_id, at)
            return None
        self.records[mention_id] = record.redacted(at)
        return record

    def mark_hidden(self, mention_id: str, at: datetime | None) -> None:
        """Set or clear hidden_at (`overdue` leaves hidden mentions out)."""
        record = self.records[mention_id]
        self.records[mention_id] = record.model_copy(update={"hidden_at": at})

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """Close it, unless closed."""
        record = self.records[mention_id]
        if record.closed_at is None:
            closed = {"closed_at": at, "closed_by": by, "closed_reason": reason}
            self.records[mention_id] = record.model_copy(update=closed)

    def reopen(self, mention_id: str) -> None:
        """Clear the close (`overdue` and `waiting` read the fields)."""
        record = self.records[mention_id]
        reopened = {"closed_at": None, "closed_by": None, "closed_reason": None}
        self.records[mention_id] = record.model_copy(update=reopened)

    def take(self, mention_id: str, by: str, now: datetime, until: datetime) -> bool:
        """Take it, unless someone else's take runs past `now`."""
        record = self.records[mention_id]
        if record.taken_by not in (None, by) and record.taken_until and record.taken_until > now:
            return False
        self.records[mention_id] = record.model_copy(
            update={"taken_by": by, "taken_until": until.replace(microsecond=0)}
        )
        return True

    def leave(self, mention_id: str, by: str) -> bool:
        """Give it back, if `by` holds it."""
        record = self.records[mention_id]
        if record.taken_by != by:
            return False
        self.records[mention_id] = record.model_copy(update={"taken_by": None, "taken_until": None})
        return True

    def supersede(self, mention_id: str, at: datetime) -> None:
        """A tombstone (a deletion's too), unless the mention is claimed or routed."""
        if not any(mention_id in held for held in (self.records, self.leases, self.progress)):
            self.tombstones.add(mention_id)

    def rewrite(self, record: MentionRecord, since: datetime | None) -> None:
        """Replace the record, keeping the response and escalation it has, unless it was
        edited since `since` or deleted."""
        self._replace(record, since, record.message.routing.department)

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Replace the record as `rewrite` does, unless it left `from_department` meanwhile;
        the take, if any, ends."""
        self._replace(record, record.edited_at, from_department)
        untaken = {"taken_by": None, "taken_until": None}
        self.records[record.id] = self.records[record.id].model_copy(update=untaken)

    def _replace(self, record: MentionRecord, since: datetime | None, department: str) -> None:
        """Replace the record, keeping what the store tracks beside it, unless it was edited
        since `since`, deleted, or is no longer `department`'s."""
        stored = self.records[record.id]
        moved = stored.message.routing.department != department
        if stored.deleted_at is not None or stored.edited_at != since or moved:
            raise EditConflict(f"{record.id} was changed or deleted meanwhile")
        kept = (
            "first_response_at",
            "response_seconds",
            "first_response_post",
            "escalated_at",
            "hidden_at",
            "closed_at",
            "closed_by",
            "closed_reason",
            "taken_by",
            "taken_until",
        )
        self.records[record.id] = record.model_copy(update={k: getattr(stored, k) for k in kept})

    def link(self, key: str, mention_id: str, expires_at: datetime) -> None:
        """Keep the link (expiry is not simulated)."""
        self.links[key] = mention_id

    def conversation_of(self, key: str) -> MentionRecord | None:
        """The key's own record, else the linked one."""
        return self.records.get(key) or self.records.get(self.links.get(key, ""))

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        """Keep it, with its expiry."""
        self.holding[key] = (what, at, expires_at)

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """What is held, unless expired."""
        what, at, expires_at = self.holding.get(key, ("", now, now))
        return (what, at) if expires_at > now else None

    def handed_over(self, department: str, since: datetime, limit: int) -> list[MentionRecord]:
        """The cases whose first hand-over took them from `department`, newest first."""
        return self._newest(
            lambda r: (
                opens_case(r)
                and bool(r.message.routing.transfers)
                and r.message.routing.transfers[0].from_department == department
            ),
            since,
            limit,
        )

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """The ignored records, newest first."""
        return self._newest(lambda r: r.status == "ignored" and r.deleted_at is None, since, limit)

    def _newest(
        self, kept: Callable[[MentionRecord], bool], since: datetime, limit: int
    ) -> list[MentionRecord]:
        found = [r for r in self.records.values() if kept(r) and r.routed_at >= since]
        return sorted(found, key=lambda r: r.routed_at, reverse=True)[:limit]

    def rescue(self, record: MentionRecord) -> None:
        """Replace the ignored record with the routed one."""
        if self.records[record.id].status != "ignored":
            raise EditConflict(f"{record.id} is no longer ignored")
        self.records[record.id] = record

    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        """The records that open a case by `author` since `since`, newest first."""
        found = [
            r
            for r in self.records.values()
            if opens_case(r) and author_key(r.message.mention) == author and r.routed_at >= since
        ]
        found.sort(key=lambda r: r.routed_at, reverse=True)
        return [
            EarlierCase(
                id=r.id,
                department=r.message.routing.department,
                routed_at=r.routed_at,
                state=_case_state(partial(_has, r)),
            )
            for r in found[:limit]
        ]
