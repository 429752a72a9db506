"""One place for logging and metrics (Powertools); structured JSON in Lambda and locally."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="switchboard")
metrics = Metrics(namespace="Switchboard", service="switchboard")


@contextlib.contextmanager
def metrics_flushed() -> Iterator[None]:
    """Flush the metrics a handler added when it ends, whether it returns or raises."""
    try:
        yield
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
