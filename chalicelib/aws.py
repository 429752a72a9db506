"""Lazily created boto3 clients, shared per process (boto3 honours AWS_ENDPOINT_URL)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

# The acknowledgement path has a 3-second budget (X, Slack): fail fast and let the platform retry.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def sqs() -> Any:
    """The SQS client."""
    return boto3.client("sqs", config=_CONFIG)


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    """The DynamoDB client."""
    return boto3.client("dynamodb", config=_CONFIG)


@lru_cache(maxsize=1)
def s3() -> Any:
    """The S3 client (deliveries too large for an SQS message)."""
    return boto3.client("s3", config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests switch endpoints and credentials)."""
    sqs.cache_clear()
    dynamodb.cache_clear()
    s3.cache_clear()
