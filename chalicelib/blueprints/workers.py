"""SQS workers. Heavy imports (classifier, rules) load inside the handler, off the webhook path."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib import wiring
from chalicelib.observability import metrics
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.services.routing import RoutingService

workers = Blueprint(__name__)

# Deployed, CDK passes the queue ARN; locally the queue is found by name.
_INTAKE_ARN = os.environ.get("INTAKE_QUEUE_ARN") or None
_INTAKE_NAME = None if _INTAKE_ARN else os.environ.get("QUEUE_PREFIX", "switchboard-") + "intake"


@lru_cache(maxsize=1)
def routing_service() -> RoutingService:
    """The routing service with the real stores (one per container)."""
    from chalicelib.services.routing import EngineCache, RoutingService

    settings = get_settings()
    return RoutingService(
        queues=wiring.queues(),
        mentions=wiring.mentions(),
        engines=EngineCache(wiring.rules(), settings),
        settings=settings,
        traffic=wiring.traffic(),
    )


@workers.on_sqs_message(
    queue=_INTAKE_NAME, queue_arn=_INTAKE_ARN, batch_size=10, name="route_mentions"
)
def route_mentions(event: SQSEvent) -> dict[str, Any]:
    """Route a batch of intake deliveries; failed records are reported for retry."""
    from chalicelib.services.batches import process_batch

    service = routing_service()
    try:
        return process_batch(
            event.to_dict(), service.route_delivery, service.queues, "intake-dlq", event.context
        )
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
