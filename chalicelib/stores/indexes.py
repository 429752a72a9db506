"""Reading a DynamoDB index that an upgrade may have just added."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import IndexNotReady


def filled(pages: Iterable[dict[str, Any]], index: str) -> Iterator[dict[str, Any]]:
    """The Query pages of `index`; IndexNotReady while DynamoDB still fills it from its table
    after an upgrade added it (minutes to hours), rather than a wrong or empty answer."""
    try:
        yield from pages
    except ClientError as exc:
        if "backfilling" not in exc.response.get("Error", {}).get("Message", ""):
            raise
        raise IndexNotReady(
            f"the {index} index is still being filled after an upgrade added it (DynamoDB"
            " builds it from the table, minutes to hours): try again later"
        ) from None
