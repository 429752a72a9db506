"""Queues by logical name ("intake", "support", "support-dlq", ...): SQS and an in-memory twin."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import Settings

SQS_BATCH_LIMIT = 10
SQS_MAX_MESSAGE_BYTES = 262_144
"""A queue's default MaximumMessageSize, and what one SendMessageBatch may carry in all (bodies
and attributes)."""
SQS_MAX_DELAY_SECONDS = 900
"""The longest SQS keeps a message it was sent out of sight (DelaySeconds)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """A message body with string attributes, and how many seconds SQS is to keep it out of
    sight once sent (`delay`; SQS keeps it SQS_MAX_DELAY_SECONDS at most)."""

    body: str
    attributes: dict[str, str] = field(default_factory=dict)
    delay: int = 0


class QueueSendError(RuntimeError):
    """Some or all messages could not be sent (missing queue, AWS error); the caller retries.
    `sent` holds the positions, in the batch, of the messages that did reach the queue."""

    def __init__(self, message: str, sent: frozenset[int] = frozenset()) -> None:
        super().__init__(message)
        self.sent = sent


class Queues(Protocol):
    """Sending to Switchboard's queues."""

    def send(self, queue: str, message: OutgoingMessage) -> str:
        """Send one message; returns its message id."""
        ...

    def send_batch(self, queue: str, messages: list[OutgoingMessage]) -> None:
        """Send messages in as few calls as allowed; raise QueueSendError, naming those that
        were sent, if any fails."""
        ...

    def delay_retry(self, queue: str, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again only after `seconds` (backoff)."""
        ...


def batches(messages: list[OutgoingMessage]) -> Iterator[tuple[int, list[OutgoingMessage]]]:
    """The messages in SendMessageBatch calls, each with the position of its first: at most
    ten a call, and no more than SQS_MAX_MESSAGE_BYTES together (one bigger than that goes
    alone, for SQS to refuse by itself)."""
    start, size = 0, 0
    chunk: list[OutgoingMessage] = []
    for position, message in enumerate(messages):
        weight = message_size(message)
        if chunk and (len(chunk) == SQS_BATCH_LIMIT or size + weight > SQS_MAX_MESSAGE_BYTES):
            yield start, chunk
            start, chunk, size = position, [], 0
        chunk.append(message)
        size += weight
    if chunk:
        yield start, chunk


def message_size(message: OutgoingMessage) -> int:
    """What SQS counts of a message: its body and each attribute's name, type and value."""
    attributes = sum(len(f"{k}String{v}".encode()) for k, v in message.attributes.items())
    return len(message.body.encode()) + attributes


def _attributes(message: OutgoingMessage) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in message.attributes.items()
    }


def _delayed(message: OutgoingMessage) -> dict[str, int]:
    """SendMessage's DelaySeconds for the message, if it has one."""
    return {"DelaySeconds": min(message.delay, SQS_MAX_DELAY_SECONDS)} if message.delay else {}


@contextlib.contextmanager
def _as_send_error(queue: str, sent: frozenset[int] = frozenset()) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise QueueSendError(f"cannot send to {queue}: {exc}", sent) from exc


MAX_RECEIVE_COUNT = 5
"""Receives of a message before its queue's redrive policy moves it to the dead-letter queue."""

PEEK_SECONDS = 30
"""How long reading a queue holds each message it shows: the next receive returns others."""


def receive_each(client: Any, url: str, limit: int, visibility: int) -> Iterator[dict[str, Any]]:
    """Every message of a queue once (at most `limit` receive calls), each hidden from other
    readers for `visibility` seconds, with its attributes, SentTimestamp and receive count."""
    seen: set[str] = set()
    for _ in range(limit):
        batch = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def peek_each(client: Any, url: str, limit: int) -> Iterator[dict[str, Any]]:
    """Every message of a queue once, for reading only. Each is held for PEEK_SECONDS while the
    rest are read (a message shown at once again would hide the others), then released; as a
    receive counts towards the queue's redrive policy, one received before is queued anew
    instead (its receive count back to none), so reading a queue never dead-letters it."""
    counted = True  # unless the queue says it has no redrive policy (a dead-letter queue)
    with contextlib.suppress(BotoCoreError, ClientError):
        redrive = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        counted = "RedrivePolicy" in redrive.get("Attributes", {})
    held: list[dict[str, Any]] = []
    try:
        for message in receive_each(client, url, limit, PEEK_SECONDS):
            held.append(message)
            yield message
    finally:
        for message in held:
            # best effort: a message not released shows again by itself within PEEK_SECONDS
            with contextlib.suppress(BotoCoreError, ClientError):
                if counted and int(message["Attributes"].get("ApproximateReceiveCount", 1)) > 1:
                    move(client, message, url, url)  # to the back of the queue, counted afresh
                else:
                    client.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )


def read_queue(client: Any, url: str, limit: int, take: bool) -> Iterator[dict[str, Any]]:
    """A queue's messages to take (held PEEK_SECONDS each, for the caller to delete or move)
    or, without `take`, to read only (`peek_each`)."""
    if take:
        return receive_each(client, url, limit, PEEK_SECONDS)
    return peek_each(client, url, limit)


def move(
    client: Any,
    message: dict[str, Any],
    from_url: str,
    to_url: str,
    leave_out: Collection[str] = (),
) -> None:
    """Send a received message (`Body`, its string `MessageAttributes` but `leave_out`) to
    `to_url`, then delete it from `from_url` by its `ReceiptHandle`: a failure in between leaves
    a copy in both, never none."""
    attributes = {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in message.get("MessageAttributes", {}).items()
        if name not in leave_out and "StringValue" in value
    }
    client.send_message(QueueUrl=to_url, MessageBody=message["Body"], MessageAttributes=attributes)
    client.delete_message(QueueUrl=from_url, ReceiptHandle=message["ReceiptHandle"])


class SqsQueues:
    """Queues on Amazon SQS; URLs from settings, else looked up by name once."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._urls: dict[str, str] = dict(settings.queue_urls)

    def url(self, queue: str) -> str:
        """The queue URL of a logical queue name."""
        if queue not in self._urls:
            name = self._settings.queue_name(queue)
            self._urls[queue] = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[queue]

    def send(self, queue: str, message: OutgoingMessage) -> str:
        """Send one message; returns its SQS message id."""
        with _as_send_error(queue):
            response = self._client.send_message(
                QueueUrl=self.url(queue),
                MessageBody=message.body,
                MessageAttributes=_attributes(message),
                **_delayed(message),
            )
        return str(response["MessageId"])

    def send_batch(self, queue: str, messages: list[OutgoingMessage]) -> None:
        """SendMessageBatch in as few calls as SQS's limits allow (`batches`); any failed entry
        raises QueueSendError."""
        for start, chunk in batches(messages):
            with _as_send_error(queue, frozenset(range(start))):
                response = self._client.send_message_batch(
                    QueueUrl=self.url(queue),
                    Entries=[
                        {
                            "Id": str(i),
                            "MessageBody": m.body,
                            "MessageAttributes": _attributes(m),
                            **_delayed(m),
                        }
                        for i, m in enumerate(chunk)
                    ],
                )
            failed = response.get("Failed") or []
            if failed:
                reasons = ", ".join(f"{f.get('Code')}: {f.get('Message')}" for f in failed)
                sent = {start + int(s["Id"]) for s in response.get("Successful") or []}
                raise QueueSendError(
                    f"{len(failed)} message(s) not sent to {queue}: {reasons}",
                    frozenset(range(start)) | sent,
                )

    def delay_retry(self, queue: str, receipt_handle: str, seconds: int) -> None:
        """ChangeMessageVisibility (at most SQS's 12 hours)."""
        with _as_send_error(queue):
            self._client.change_message_visibility(
                QueueUrl=self.url(queue),
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=min(seconds, 43_200),
            )


class MemoryQueues:
    """In-memory twin of SqsQueues: messages kept in lists by queue name."""

    def __init__(self, names: list[str] | None = None) -> None:
        self.messages: dict[str, list[OutgoingMessage]] = {name: [] for name in names or []}
        self.delays: dict[str, int] = {}
        self._ids = itertools.count(1)

    def _queue(self, queue: str) -> list[OutgoingMessage]:
        if queue not in self.messages:
            raise QueueSendError(f"queue {queue!r} does not exist")
        return self.messages[queue]

    def send(self, queue: str, message: OutgoingMessage) -> str:
        """Append one message; returns a sequential id."""
        self._queue(queue).append(message)
        return f"msg-{next(self._ids)}"

    def send_batch(self, queue: str, messages: list[OutgoingMessage]) -> None:
        """Append all messages."""
        self._queue(queue).extend(messages)

    def delay_retry(self, queue: str, receipt_handle: str, seconds: int) -> None:
        """Remember the requested delay."""
        self._queue(queue)
        self.delays[receipt_handle] = seconds
