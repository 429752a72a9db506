"""One place for logging and metrics (Powertools); structured JSON in Lambda and locally."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="switchboard")
metrics = Metrics(namespace="Switchboard", service="switchboard")
