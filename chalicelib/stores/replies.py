"""Replies and their at-most-once state: DynamoDB and an in-memory twin.

queued → sending (claimed, before the platform call) → sent | failed | uncertain; a failed
attempt that certainly posted nothing goes back to queued; a sent reply the platform then could
not deliver (WhatsApp says so) ends undelivered. A reply of a department whose replies
need approval starts pending → queued (approved) | rejected. Every transition is conditional,
so two workers can never both send the same reply, nor two reviewers both decide one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.models import Reply, ReplyStatus
from chalicelib.stores.indexes import filled
from chalicelib.stores.keys import storable
from chalicelib.stores.queues import OutgoingMessage, Queues


class ReplyStore(Protocol):
    """Storage of replies."""

    def create(self, reply: Reply) -> Reply:
        """Store a new reply; if its id exists, return the stored one instead (idempotent)."""
        ...

    def get(self, reply_id: str) -> Reply | None:
        """One reply."""
        ...

    def start_sending(self, reply_id: str, now: datetime, lease: timedelta) -> bool:
        """queued → sending (attempts + 1); False when the reply is not queued."""
        ...

    def lease_expired(self, reply_id: str, now: datetime) -> bool:
        """Whether a `sending` reply's worker has had more than its lease."""
        ...

    def finish(
        self, reply_id: str, status: ReplyStatus, was: ReplyStatus = "sending", **fields: Any
    ) -> None:
        """Move a reply that is `was` (sending: to queued, sent, failed, uncertain; sent: to
        undelivered) to `status` with fields; one that is not is left as it is."""
        ...

    def review(self, reviewed: Reply) -> bool:
        """Store a pending reply's review (`reviewed`: queued or rejected, with who and when);
        False when it is no longer pending (another reviewer was first)."""
        ...

    def pending(self, department: str, limit: int = 50) -> list[Reply]:
        """The department's replies waiting for approval, oldest first."""
        ...

    def to_mention(self, mention_id: str, limit: int = 50) -> list[Reply]:
        """The replies written to a mention, whatever became of them, oldest first."""
        ...

    def erase(self, reply_id: str, why: str) -> None:
        """Store the reply as `Reply.erased` has it (its customer asked to be forgotten); out of
        the pending index."""
        ...


PENDING_INDEX = "pending-by-time"
MENTION_INDEX = "by-mention"
"""Every reply by the mention it answers and its time (`mention_id`, `created_at`)."""


OUTBOX = "outbox"
"""The queue the reply worker reads."""


def outbox_message(reply_id: str) -> OutgoingMessage:
    """The outbox message that has the reply worker post a stored reply."""
    return OutgoingMessage(json.dumps({"reply_id": reply_id}))


def reply_id_of(seed: str) -> str:
    """The id of the one reply `seed` stands for (the same id every time it is asked for)."""
    return "r_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def send_automatic(replies: ReplyStore, queues: Queues, reply: Reply) -> None:
    """Store a message Switchboard sends by itself (once per id) and queue it on the outbox,
    unless one stored before has been taken up already."""
    stored = replies.create(reply)
    if stored.status == "queued" and stored.attempts == 0:
        queues.send(OUTBOX, outbox_message(stored.reply_id))


def posted_as(post: str) -> str:
    """The key the mention store holds the id of the reply posted as `post` under, for a
    platform that reports later what became of it (REPORTS_DELIVERY)."""
    return f"reply/{post}"


REPORTS_DELIVERY = frozenset({"whatsapp"})
"""Platforms whose webhooks say when a reply they accepted could not be delivered."""


def replied_in(conversation: str) -> str:
    """The key the mention store holds the latest replies sent in a direct conversation under
    (`<platform>:dm/<customer>`), with when the sending of each began (`conversation_replies`),
    for a platform that says up to when the customer has received or read the conversation
    (RECEIPTS_UP_TO)."""
    return f"replied/{conversation}"


RECEIPT_REPLIES = 10
"""The latest replies of a direct conversation its receipts can still mark."""


def conversation_replies(held: tuple[str, datetime] | None) -> list[tuple[str, datetime]]:
    """The replies a conversation's hold lists, the latest first, each with when its sending
    began (`r_2@<time> r_1@<time>`; a hold of one id alone began at the hold's time)."""
    if held is None:
        return []
    listed, at = held
    found = []
    for entry in listed.split():
        reply_id, _, began = entry.partition("@")
        found.append((reply_id, datetime.fromisoformat(began) if began else at))
    return found


def with_reply(held: tuple[str, datetime] | None, reply_id: str, began: datetime) -> str:
    """A conversation's hold with a new reply first (the oldest beyond RECEIPT_REPLIES gone)."""
    listed = [(reply_id, began), *conversation_replies(held)][:RECEIPT_REPLIES]
    return " ".join(f"{each}@{at.isoformat()}" for each, at in listed)


RECEIPTS_UP_TO = frozenset({"messenger", "instagram", "x"})
"""Platforms whose webhooks say up to which time or message a customer has received or read a
direct conversation (Messenger's watermarks, Instagram's seen message, X's last read event)."""


class DynamoReplyStore:
    """Replies table, key `reply_id`; the reply is kept as attributes plus its JSON."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, reply: Reply) -> Reply:
        """Conditional put on the id."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._item(reply),
                ConditionExpression="attribute_not_exists(reply_id)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            existing = self.get(reply.reply_id)
            if existing is not None:
                return existing
            raise
        return reply

    def get(self, reply_id: str) -> Reply | None:
        """Strongly consistent read."""
        if not storable(reply_id):
            return None
        item = self._client.get_item(
            TableName=self._table, Key={"reply_id": {"S": reply_id}}, ConsistentRead=True
        ).get("Item")
        return Reply.model_validate_json(item["doc"]["S"]) if item else None

    def start_sending(self, reply_id: str, now: datetime, lease: timedelta) -> bool:
        """Read-then-conditional-write on the status (the write fails if another won)."""
        reply = self.get(reply_id)
        if reply is None or reply.status != "queued":
            return False
        claimed = reply.model_copy(update={"status": "sending", "attempts": reply.attempts + 1})
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._item(claimed),
                    "lease_until": {"N": str(int((now + lease).timestamp()))},
                },
                ConditionExpression="#s = :queued AND attempts = :attempts",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": "queued"},
                    ":attempts": {"N": str(reply.attempts)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def lease_expired(self, reply_id: str, now: datetime) -> bool:
        """Compare the lease with `now`."""
        item = self._client.get_item(
            TableName=self._table, Key={"reply_id": {"S": reply_id}}, ConsistentRead=True
        ).get("Item", {})
        return int(item.get("lease_until", {}).get("N", "0")) < now.timestamp()

    def finish(
        self, reply_id: str, status: ReplyStatus, was: ReplyStatus = "sending", **fields: Any
    ) -> None:
        """Conditional on the reply still being `was`."""
        reply = self.get(reply_id)
        if reply is None:
            return
        done = reply.model_copy(update={"status": status, **fields})
        # A worker that lost a race finds the reply already finished: nothing to do then.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.put_item(
                TableName=self._table,
                Item=self._item(done),
                ConditionExpression="#s = :was",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":was": {"S": was}},
            )

    def review(self, reviewed: Reply) -> bool:
        """Conditional on the reply still being `pending`; it leaves the pending index."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._item(reviewed),
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": {"S": "pending"}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def erase(self, reply_id: str, why: str) -> None:
        """Rewrite its JSON and status in place (a sending reply keeps its lease)."""
        reply = self.get(reply_id)
        if reply is None:
            return
        erased = reply.erased(why)
        self._client.update_item(
            TableName=self._table,
            Key={"reply_id": {"S": reply_id}},
            UpdateExpression="SET doc = :doc, #s = :status REMOVE pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":doc": {"S": erased.model_dump_json()},
                ":status": {"S": erased.status},
            },
        )

    def pending(self, department: str, limit: int = 50) -> list[Reply]:
        """Query the sparse index of pending replies by department and time."""
        return self._query(PENDING_INDEX, "pending", department, limit)

    def to_mention(self, mention_id: str, limit: int = 50) -> list[Reply]:
        """Query the index of replies by mention and time."""
        return self._query(MENTION_INDEX, "mention_id", mention_id, limit)

    def _query(self, index: str, partition: str, value: str, limit: int) -> list[Reply]:
        """The replies of one partition of an index, oldest first (across 1 MB pages until
        `limit`)."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression="#partition = :value",
            ExpressionAttributeNames={"#partition": partition},
            ExpressionAttributeValues={":value": {"S": value}},
            PaginationConfig={"MaxItems": limit},
        )
        items = (item for page in filled(pages, index) for item in page["Items"])
        return [Reply.model_validate_json(item["doc"]["S"]) for item in items]

    @staticmethod
    def _item(reply: Reply) -> dict[str, Any]:
        item = {
            "reply_id": {"S": reply.reply_id},
            "status": {"S": reply.status},
            "attempts": {"N": str(reply.attempts)},
            "mention_id": {"S": reply.mention_id},
            "created_at": {"S": reply.created_at.isoformat()},
            "doc": {"S": reply.model_dump_json()},
        }
        if reply.status == "pending" and reply.approval_department:  # in the index of those
            item["pending"] = {"S": reply.approval_department}  # waiting, by department
        return item


class MemoryReplyStore:
    """In-memory twin of DynamoReplyStore."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.leases: dict[str, datetime] = {}

    def create(self, reply: Reply) -> Reply:
        """Keep it unless the id exists."""
        return self.replies.setdefault(reply.reply_id, reply)

    def get(self, reply_id: str) -> Reply | None:
        """One reply."""
        return self.replies.get(reply_id)

    def start_sending(self, reply_id: str, now: datetime, lease: timedelta) -> bool:
        """queued → sending."""
        reply = self.replies.get(reply_id)
        if reply is None or reply.status != "queued":
            return False
        self.replies[reply_id] = reply.model_copy(
            update={"status": "sending", "attempts": reply.attempts + 1}
        )
        self.leases[reply_id] = now + lease
        return True

    def lease_expired(self, reply_id: str, now: datetime) -> bool:
        """Compare the lease with `now`."""
        return self.leases.get(reply_id, now) < now or reply_id not in self.leases

    def finish(
        self, reply_id: str, status: ReplyStatus, was: ReplyStatus = "sending", **fields: Any
    ) -> None:
        """Only from `was`."""
        reply = self.replies.get(reply_id)
        if reply is not None and reply.status == was:
            self.replies[reply_id] = reply.model_copy(update={"status": status, **fields})

    def review(self, reviewed: Reply) -> bool:
        """Only from pending."""
        reply = self.replies.get(reviewed.reply_id)
        if reply is None or reply.status != "pending":
            return False
        self.replies[reviewed.reply_id] = reviewed
        return True

    def erase(self, reply_id: str, why: str) -> None:
        """Replace it erased."""
        reply = self.replies.get(reply_id)
        if reply is not None:
            self.replies[reply_id] = reply.erased(why)

    def pending(self, department: str, limit: int = 50) -> list[Reply]:
        """Pending replies of `department`, oldest first."""
        found = [
            r
            for r in self.replies.values()
            if r.status == "pending" and r.approval_department == department
        ]
        return sorted(found, key=lambda r: r.created_at)[:limit]

    def to_mention(self, mention_id: str, limit: int = 50) -> list[Reply]:
        """The mention's replies, oldest first."""
        found = [r for r in self.replies.values() if r.mention_id == mention_id]
        return sorted(found, key=lambda r: r.created_at)[:limit]
