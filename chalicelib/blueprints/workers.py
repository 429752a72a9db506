"""SQS workers. Heavy imports (classifier, rules) load inside the handler, off the webhook path."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, Rate
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib import wiring
from chalicelib.observability import metrics_flushed
from chalicelib.services.time_budget import from_context
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.services.replies import ReplyService
    from chalicelib.services.routing import RoutingService

workers = Blueprint(__name__)
Service = TypeVar("Service", "RoutingService", "ReplyService")
_built: dict[str, Any] = {}


def _current(name: str, build: Callable[[Settings], Service]) -> Service:
    """One service per container, built again whenever the settings are read anew (a value
    changed in the stage's secret, a new token, must reach a warm worker)."""
    settings = get_settings()
    service = _built.get(name)
    if service is None or service.settings is not settings:
        service = _built[name] = build(settings)
    return service


def _source(logical: str) -> dict[str, Any]:
    """Deployed, CDK passes the queue ARN; locally the queue is found by name."""
    arn = os.environ.get(f"{logical.upper()}_QUEUE_ARN")
    if arn:
        return {"queue": None, "queue_arn": arn}
    return {"queue": os.environ.get("QUEUE_PREFIX", "switchboard-") + logical, "queue_arn": None}


def routing_service() -> RoutingService:
    """The routing service with the real stores and the current settings."""
    from chalicelib.services.routing import EngineCache, RoutingService

    def build(settings: Settings) -> RoutingService:
        return RoutingService(
            queues=wiring.queues(),
            mentions=wiring.mentions(),
            engines=EngineCache(wiring.rules(), settings),
            settings=settings,
            traffic=wiring.traffic(),
            payloads=wiring.payloads(),
            replies=wiring.replies(),
            shifts=wiring.shifts(),
        )

    return _current("routing", build)


_INTAKE = _source("intake")
_OUTBOX = _source("outbox")


@workers.on_sqs_message(
    queue=_INTAKE["queue"], queue_arn=_INTAKE["queue_arn"], batch_size=10, name="route_mentions"
)
def route_mentions(event: SQSEvent) -> dict[str, Any]:
    """Route a batch of intake deliveries; failed records are reported for retry."""
    from chalicelib.services.batches import process_batch

    service = routing_service()
    service.time_left = from_context(event.context)
    with metrics_flushed():
        return process_batch(
            event.to_dict(), service.route_delivery, service.queues, "intake", event.context
        )


def reply_service() -> ReplyService:
    """The reply service with the real stores and the current settings."""
    return _current("replies", wiring.reply_service)


@workers.on_sqs_message(
    queue=_OUTBOX["queue"], queue_arn=_OUTBOX["queue_arn"], batch_size=5, name="send_replies"
)
def send_replies(event: SQSEvent) -> dict[str, Any]:
    """Post queued replies to the platforms, at most once each, hide the comments rules want
    hidden, and post the alerts to Slack."""
    from chalicelib.services.alert_desk import AlertDesk
    from chalicelib.services.alerts import is_alert_message
    from chalicelib.services.batches import process_batch
    from chalicelib.services.moderation import Moderation, is_hide_message

    service = reply_service()
    service.time_left = from_context(event.context)
    moderation = Moderation(service.mentions, service.queues, service.settings)
    alerts = AlertDesk(service.settings, service.mentions, service.replies, service.queues)

    def send(body: str) -> None:
        """A reply to post, a comment a rule wants hidden, or an alert."""
        if is_hide_message(body):
            return moderation.perform(body)
        if is_alert_message(body):
            return alerts.send(body)
        return service.send(body)

    def gave_up(body: str, reason: str) -> None:
        """A reply whose retries ran out is told to its author."""
        if not is_hide_message(body) and not is_alert_message(body):
            service.dead_lettered(body, reason)

    with metrics_flushed():
        return process_batch(
            event.to_dict(), send, service.queues, "outbox", event.context, gave_up
        )


@workers.schedule(Rate(1, unit=Rate.MINUTES), name="check_sla")
def check_sla(event: CloudWatchEvent) -> dict[str, Any]:
    """Escalate mentions past their first-response deadline; give the waiting cases nobody has
    to those on shift with room for more; at DIGEST_HOUR, post each department's day."""
    from functools import cache

    from chalicelib.services.digest import post_digests
    from chalicelib.services.sla import SlaCheck

    settings = get_settings()
    mentions, queues = wiring.mentions(), wiring.queues()
    with metrics_flushed():
        check = SlaCheck(mentions, queues, settings, time_left=from_context(event.context))
        escalated = check.run()
        # read once, and only when someone with room could be given a case
        awaiting = cache(wiring.awaiting_approval)
        given = wiring.shift_service().top_up(awaiting)
        digests = post_digests(mentions, queues, settings, datetime.now(UTC))
    return {"escalated": escalated, "given": [str(each) for each in given], "digests": digests}


@workers.schedule(Rate(5, unit=Rate.MINUTES), name="poll_platforms")
def poll_platforms(event: CloudWatchEvent) -> dict[str, Any]:
    """Queue what platforms do not push: YouTube comments and the replies in threads the brand
    answered, X mentions a webhook missed."""
    from chalicelib.services.polling import Poller, sources

    settings = get_settings()
    with metrics_flushed():
        cursors = wiring.cursors()
        found = sources(settings, cursors, datetime.now(UTC))
        poller = Poller(
            wiring.queues(),
            cursors,
            found,
            payloads=wiring.payloads(),
            time_left=from_context(event.context),
            reserve=settings.platform_call_reserve,
        )
        queued = poller.run()
    return {"queued": queued}
