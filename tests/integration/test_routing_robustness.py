"""A signed delivery with any field of any type in any place, routed by the worker on the
stores as AWS runs them (moto, held to what DynamoDB and SQS refuse): it routes, or it is a
poison record dead-lettered with its reason, never a failure SQS would retry in vain."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chalicelib import aws, wiring
from chalicelib.errors import PoisonRecord
from chalicelib.models import RawDelivery, Shift
from chalicelib.settings import get_settings
from tests.helpers import RECEIVED, sample_bytes
from tests.integration.test_hostile_requests import EVERYTHING_ON
from tests.unit.test_worker_robustness import ODD, mutated_delivery

TOO_LONG = st.sampled_from(["", "a" * 3000, "😀" * 600, "x" * 70_000])
"""Values no key can take, nor an SQS message carry."""


def forget_all_mentions() -> None:
    """Empty the mentions table: each delivery is routed as new, not found a duplicate."""
    table = get_settings().mentions_table
    for page in aws.dynamodb().get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            aws.dynamodb().delete_item(TableName=table, Key={"id": item["id"]})


@pytest.mark.usefixtures("stack")
@pytest.mark.parametrize("settings", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
@pytest.mark.hypothesis  # its examples come from a nested @given
def test_any_mutated_delivery_routes_or_is_poison_on_dynamodb_and_sqs(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    """With everything on, new cases are also given out to people on shift and told in their
    chats, alerted in the departments' channels, and answered while away."""
    from chalicelib.blueprints.workers import routing_service

    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    until = datetime.now(UTC) + timedelta(hours=8)
    for department in ("support", "pr", "marketing"):
        wiring.shifts().start(Shift(department=department, agent="maya", until=until, capacity=2))
    service = routing_service()

    @hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def routed(data: st.DataObject) -> None:
        delivery = mutated_delivery(data, ODD | TOO_LONG)
        forget_all_mentions()
        with contextlib.suppress(PoisonRecord):  # dead-lettered with its reason
            service.route_delivery(delivery.to_json())  # anything else raised fails the test

    routed()


@pytest.mark.usefixtures("stack")
def test_a_post_id_longer_than_any_platform_gives_is_dead_lettered_saying_so() -> None:
    """No key could be made of it: retried, it would fail the same way five times."""
    from chalicelib.blueprints.workers import routing_service

    delivery = json.loads(sample_bytes("meta_page_comments.json"))
    delivery["entry"][0]["changes"][0]["value"]["comment_id"] = "1" * 3000
    raw = RawDelivery(platform="meta", body=json.dumps(delivery), received_at=RECEIVED)
    with pytest.raises(PoisonRecord, match="at most 400 characters"):
        routing_service().route_delivery(raw.to_json())
