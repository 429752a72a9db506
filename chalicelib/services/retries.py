"""An outbox worker's platform call that is safe to repeat (a hide, an alert): its failures as
the batch processor reads them, retried later or dead-lettered with the platform's reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import PoisonRecord, RetryLater
from chalicelib.observability import metrics

T = TypeVar("T")


def repeatable_call(what: str, call: Callable[[], T], hint: str = "") -> T:
    """Run `call` (`what` it does, for the reasons): RetryLater while the platform cannot (a
    rate limit after the wait it asks for, no answer, refused credentials every 15 minutes
    until a redrive), PoisonRecord with the platform's reason (and `hint`) when it will not."""
    from chalicelib.platforms.outbound import (  # requests: off the routing worker's imports
        CREDENTIALS_RETRY_SECONDS,
        DEFAULT_RETRY_SECONDS,
        PlatformOutcomeUnknown,
        PlatformRejected,
        PlatformRetryLater,
        PlatformUnauthorized,
    )

    try:
        return call()
    except PlatformRetryLater as exc:
        raise RetryLater(f"{what}: {exc}", exc.delay) from exc
    except PlatformUnauthorized as exc:
        metrics.add_metric(name="PlatformCredentialsRefused", unit="Count", value=1)
        reason = f"{what}: the platform refused Switchboard's credentials ({exc})"
        raise RetryLater(reason, CREDENTIALS_RETRY_SECONDS) from exc
    except PlatformOutcomeUnknown as exc:  # safe to repeat
        raise RetryLater(f"{what}: {exc}", DEFAULT_RETRY_SECONDS) from exc
    except PlatformRejected as exc:
        raise PoisonRecord(f"{what}: refused: {exc}{hint}") from exc
