"""What DynamoDB can keep an item under."""

from __future__ import annotations

PARTITION_KEY_BYTES = 2048
"""The longest partition key value DynamoDB takes, in bytes of UTF-8."""
SORT_KEY_BYTES = 1024
"""The longest sort key value DynamoDB takes, in bytes of UTF-8."""


def storable(key: str, most: int = PARTITION_KEY_BYTES) -> bool:
    """Whether an item can be kept under `key` (1 to `most` bytes of UTF-8). Nothing is ever
    kept under one that cannot, and DynamoDB refuses to look it up (a ValidationException), so
    reading it finds nothing instead of failing."""
    try:
        return 0 < len(key.encode("utf-8")) <= most
    except UnicodeEncodeError:  # a lone surrogate
        return False
