"""Calls to platform APIs: one small HTTP client and the three ways a call can end badly.

- PlatformRetryLater: nothing was posted (429, 5xx, connection refused); retry after `delay`.
- PlatformRejected: the platform refused for good (other 4xx); the reason is its own error.
- PlatformOutcomeUnknown: the request may have been posted (timeout or connection lost after
  sending); never retried, so a reply is posted at most once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json import loads
from typing import Any, BinaryIO, cast

import requests
from urllib3.exceptions import NewConnectionError

from chalicelib.platforms.base import text_of

DEFAULT_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 900
CREDENTIALS_RETRY_SECONDS = 900
"""What a platform refuses Switchboard's credentials for is tried again this much later (a token
just replaced in the secret reaches the workers within 5 minutes)."""


class PlatformError(Exception):
    """A platform API call that did not succeed (one of the three below)."""


class PlatformRetryLater(PlatformError):
    """Nothing was posted; try again after `delay` seconds."""

    def __init__(self, reason: str, delay: int = DEFAULT_RETRY_SECONDS) -> None:
        super().__init__(reason)
        self.delay = max(1, min(delay, MAX_RETRY_SECONDS))


class PlatformRejected(PlatformError):
    """The platform refused the reply; retrying cannot help. `answer`: what it said."""

    def __init__(self, reason: str, answer: Any = None) -> None:
        super().__init__(reason)
        self.answer = answer


class PlatformUnauthorized(PlatformRejected):
    """The platform did not accept Switchboard's credentials (HTTP 401, or its own way of saying
    so): expired, revoked, wrong or missing. Not the reply's fault: replies wait for new ones."""


class PlatformGone(PlatformRejected):
    """What the call was about no longer exists (HTTP 404 or 410), e.g. a deleted comment."""


class PlatformOutcomeUnknown(PlatformError):
    """The reply may or may not have been posted."""


@dataclass(frozen=True)
class PostedReply:
    """What the platform answered: its id for the reply, and a link when there is one."""

    id: str
    url: str | None = None


def retry_delay(headers: Mapping[str, str], now: float | None = None) -> int:
    """Seconds to wait from `Retry-After` or `x-rate-limit-reset` (epoch seconds; a reset already
    past, e.g. from a skewed clock, waits one second)."""
    found = {name.lower(): value for name, value in headers.items()}
    if found.get("retry-after", "").isdigit():
        return int(found["retry-after"])
    if found.get("x-rate-limit-reset", "").isdigit():
        return max(1, int(found["x-rate-limit-reset"]) - int(now or time.time()) + 1)
    return DEFAULT_RETRY_SECONDS


def raise_for_status(status: int, headers: Mapping[str, str], body: Any) -> None:
    """Map an HTTP answer to the error it means, if any."""
    if status < 400:
        return
    if status == 429:
        raise PlatformRetryLater(f"rate limited: {_describe(body)}", retry_delay(headers))
    if status >= 500:
        raise PlatformRetryLater(f"platform error {status}: {_describe(body)}")
    if status in (404, 410):
        raise PlatformGone(f"{status}: {_describe(body)}", body)
    if status == 401:
        raise PlatformUnauthorized(f"{status}: {_describe(body)}", body)
    raise PlatformRejected(f"{status}: {_describe(body)}", body)


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error") or body.get("errors") or body.get("detail") or body
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return str(body)[:500]


def translate_network_error(exc: requests.RequestException) -> Exception:
    """Before the request left (refused, connect timeout): retry. Otherwise: unknown outcome."""
    if isinstance(exc, requests.ConnectTimeout):
        return PlatformRetryLater(f"could not connect: {exc}")
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return PlatformRetryLater(f"could not connect: {reason}")
    return PlatformOutcomeUnknown(f"no answer from the platform: {exc}")


def call(
    method: str,
    url: str,
    timeout: float,
    *,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    throttled: Callable[[Mapping[str, str], Any], int | None] | None = None,
) -> dict[str, Any]:
    """One HTTP call to a platform API; returns the JSON answer or raises a Platform* error.
    `throttled` recognises a platform's own rate-limit errors (seconds to wait, or None)."""
    try:
        response = requests.request(
            method, url, params=params, json=json, data=data, headers=headers, timeout=timeout
        )
    except requests.RequestException as exc:
        raise translate_network_error(exc) from exc
    raw = response.text  # decoded once, for the JSON and the lone surrogates it may escape
    try:
        body: Any = text_of(loads(raw), raw)
    except ValueError:
        body = raw
    if response.status_code >= 400 and throttled is not None:
        delay = throttled(response.headers, body)
        if delay is not None:
            raise PlatformRetryLater(f"rate limited: {_describe(body)}", delay)
    raise_for_status(response.status_code, response.headers, body)
    return body if isinstance(body, dict) else {"body": body}


def open_stream(url: str, timeout: float, headers: Mapping[str, str]) -> BinaryIO:
    """GET a platform's file; the open stream of its body, or a Platform* error."""
    try:
        response = requests.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.RequestException as exc:
        raise translate_network_error(exc) from exc
    if response.status_code >= 400:
        raise_for_status(response.status_code, response.headers, response.text)
    response.raw.decode_content = True
    return cast(BinaryIO, response.raw)
