"""The real stores, built lazily from settings and shared per process; tests reset them."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib import aws
from chalicelib.settings import Settings, forget_settings, get_settings
from chalicelib.stores.attachments import AttachmentFiles
from chalicelib.stores.cursors import CursorStore, DynamoCursorStore
from chalicelib.stores.mentions import MentionStore
from chalicelib.stores.mentions_dynamo import DynamoMentionStore
from chalicelib.stores.payloads import Payloads, S3Payloads
from chalicelib.stores.queues import Queues, SqsQueues
from chalicelib.stores.replies import DynamoReplyStore, ReplyStore
from chalicelib.stores.rules import DynamoRulesStore, RulesStore
from chalicelib.stores.shifts import DynamoShiftStore, ShiftStore
from chalicelib.stores.templates import DynamoTemplateStore, TemplateStore
from chalicelib.stores.traffic import DynamoTrafficStore, TrafficStore

if TYPE_CHECKING:
    from chalicelib.models import Reply
    from chalicelib.services.cases import CaseService
    from chalicelib.services.replies import ReplyService
    from chalicelib.services.shifts import ShiftService


@lru_cache(maxsize=1)
def queues() -> Queues:
    """Switchboard's SQS queues."""
    return SqsQueues(aws.sqs(), get_settings())


@lru_cache(maxsize=1)
def payloads() -> Payloads:
    """The payload bucket (its S3 client made on first use)."""
    return S3Payloads(aws.s3, get_settings().payload_bucket)


@lru_cache(maxsize=1)
def attachments() -> AttachmentFiles:
    """Customers' files fetched from WhatsApp, in the payload bucket."""
    return AttachmentFiles(aws.s3, get_settings().payload_bucket)


@lru_cache(maxsize=1)
def mentions() -> MentionStore:
    """The mentions table."""
    return DynamoMentionStore(aws.dynamodb(), get_settings().mentions_table)


@lru_cache(maxsize=1)
def rules() -> RulesStore:
    """The rules table."""
    return DynamoRulesStore(aws.dynamodb(), get_settings().rules_table)


@lru_cache(maxsize=1)
def traffic() -> TrafficStore:
    """The recent-traffic table."""
    return DynamoTrafficStore(aws.dynamodb(), get_settings().traffic_table)


@lru_cache(maxsize=1)
def replies() -> ReplyStore:
    """The replies table."""
    return DynamoReplyStore(aws.dynamodb(), get_settings().replies_table)


@lru_cache(maxsize=1)
def templates() -> TemplateStore:
    """The saved replies (kept in the rules table)."""
    return DynamoTemplateStore(aws.dynamodb(), get_settings().rules_table)


@lru_cache(maxsize=1)
def shifts() -> ShiftStore:
    """Who is on shift in each department (kept in the rules table)."""
    return DynamoShiftStore(aws.dynamodb(), get_settings().rules_table)


@lru_cache(maxsize=1)
def cursors() -> CursorStore:
    """The pollers' positions (kept in the mentions table)."""
    return DynamoCursorStore(aws.dynamodb(), get_settings().mentions_table)


def cases() -> CaseService:
    """What departments do to cases, over the mentions table and the queues."""
    from chalicelib.services.cases import CaseService  # the worker side: off the webhook path

    return CaseService(mentions(), queues(), get_settings())


def awaiting_approval() -> dict[str, Reply]:
    """The mentions whose answer waits for approval (APPROVAL_DEPARTMENTS), each with that
    answer: nobody is given them meanwhile."""
    from chalicelib.services.cases import awaiting_approval as read  # the worker side

    return read(replies(), mentions(), get_settings().approval_departments)


def shift_service() -> ShiftService:
    """Shifts: who is on, who is given which case; over the shifts and mentions tables and the
    queues."""
    from chalicelib.services.shifts import ShiftService  # the worker side: off the webhook path

    return ShiftService(shifts(), mentions(), queues(), get_settings())


def reply_service(settings: Settings | None = None) -> ReplyService:
    """Replies: written, approved, sent; over their table, the mentions, the queues and the
    saved replies (a satisfaction survey can be one), with `settings` (else the current)."""
    from chalicelib.services.replies import ReplyService  # platform clients load here

    settings = settings or get_settings()
    return ReplyService(replies(), mentions(), queues(), cursors(), settings, templates())


def reset() -> None:
    """Forget settings, clients and stores (after the environment changed)."""
    forget_settings()
    aws.reset()
    stores = (
        queues,
        payloads,
        attachments,
        mentions,
        rules,
        traffic,
        replies,
        templates,
        cursors,
        shifts,
    )
    for factory in stores:
        factory.cache_clear()
