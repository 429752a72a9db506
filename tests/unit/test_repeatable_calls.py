"""A hide or an alert the outbox worker posts: each platform failure becomes a retry after the
right wait, or a dead letter with the platform's reason."""

from __future__ import annotations

import pytest

from chalicelib.errors import PoisonRecord, RetryLater
from chalicelib.platforms.outbound import (
    CREDENTIALS_RETRY_SECONDS,
    DEFAULT_RETRY_SECONDS,
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformRejected,
    PlatformRetryLater,
    PlatformUnauthorized,
)
from chalicelib.services.retries import repeatable_call


def failing(exc: PlatformError) -> object:
    raise exc


@pytest.mark.parametrize(
    ("failure", "delay", "said"),
    [
        (PlatformRetryLater("429 rate limited", 120), 120, "hide x:1: 429 rate limited"),
        (
            PlatformUnauthorized("401 invalid token"),
            CREDENTIALS_RETRY_SECONDS,  # a token replaced in the secret reaches the workers
            "hide x:1: the platform refused Switchboard's credentials (401 invalid token)",
        ),
        (PlatformOutcomeUnknown("no answer in 10 s"), DEFAULT_RETRY_SECONDS, "no answer in 10 s"),
    ],
)
def test_what_the_platform_cannot_do_now_is_tried_again_later(
    failure: PlatformError, delay: int, said: str
) -> None:
    with pytest.raises(RetryLater) as retry:
        repeatable_call("hide x:1", lambda: failing(failure))
    assert retry.value.delay == delay
    assert said in str(retry.value)


def test_what_the_platform_will_not_do_is_dead_lettered_with_its_reason() -> None:
    refused = PlatformRejected("(#10) Permission denied")
    with pytest.raises(PoisonRecord, match=r"hide x:1: refused: \(#10\) Permission denied; ask"):
        repeatable_call("hide x:1", lambda: failing(refused), hint="; ask a Page admin")


def test_a_call_that_succeeds_answers_what_it_answered() -> None:
    assert repeatable_call("alert", lambda: {"ok": True}) == {"ok": True}
