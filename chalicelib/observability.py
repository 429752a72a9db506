"""One place for logging and metrics (Powertools); structured JSON in Lambda and locally."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE, SERVICE = "Switchboard", "switchboard"
QUEUED_MENTIONS = "QueuedMentions"
"""Mentions that reached a department's queue (routed there or copied), by department: what
the per-department surge alarms watch."""
FIRST_RESPONSE, SLA_BREACHES = "FirstResponseSeconds", "SlaBreaches"
"""Also emitted by department, for the dashboard's per-department SLA view."""
SATISFACTION = "SatisfactionScore"
"""Each answer to the satisfaction survey, its score (1-5) as the value, by the department whose
case it rates: the dashboard draws the average."""
TRANSFERS = "CasesTransferred"
"""Hand-overs, also by the department that let the case go: how often routing sends a
department mentions that are not its own."""

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def per_department(
    name: str, values: Mapping[str, float], unit: MetricUnit = MetricUnit.Count
) -> None:
    """Emit the metric `name` once per department, with the department as a dimension (the
    shared `metrics` carry the service dimension only)."""
    for department, value in values.items():
        dimensions = {"service": SERVICE, "department": department}
        with single_metric(
            name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions=dimensions
        ):
            pass


@contextlib.contextmanager
def metrics_flushed() -> Iterator[None]:
    """Flush the metrics a handler added when it ends, whether it returns or raises."""
    try:
        yield
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
