"""YouTube Data API access tokens: Google's OAuth 2.0 access tokens live an hour, so a deployed
stage keeps the brand account's refresh token and exchanges it at Google's token endpoint
(RFC 6749 §6) as each access token runs out. Without a refresh token, the fixed
YOUTUBE_ACCESS_TOKEN is sent as it is (the local fakes, a quick trial).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.platforms.outbound import (
    PlatformOutcomeUnknown,
    PlatformRejected,
    PlatformRetryLater,
    PlatformUnauthorized,
    call,
)
from chalicelib.settings import Settings

EARLY_SECONDS = 300
"""A token is refreshed this long before Google says it expires (clock skew, slow calls)."""


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


_tokens: dict[tuple[str, str, str], _Token] = {}
_lock = threading.Lock()


def bearer(settings: Settings, clock: Callable[[], float] = time.time) -> str:
    """The access token to send: the cached one while it has more than EARLY_SECONDS left,
    else a fresh one from the refresh token; raises Platform* errors (never an unknown outcome:
    nothing was posted yet)."""
    if not settings.youtube_refresh_token:
        return settings.youtube_access_token
    key = _key(settings)
    with _lock:
        token = _tokens.get(key)
        if token is None or token.renew_at <= clock():
            token = _refresh(settings, clock())
            _tokens[key] = token
        return token.value


def forget(settings: Settings) -> None:
    """Drop the cached access token (Google refused it before its time: revoked, rotated)."""
    with _lock:
        _tokens.pop(_key(settings), None)


def _key(settings: Settings) -> tuple[str, str, str]:
    return settings.google_token_url, settings.youtube_client_id, settings.youtube_refresh_token


def _refresh(settings: Settings, now: float) -> _Token:
    """`POST {google_token_url}` (form: grant_type=refresh_token, refresh_token, client_id,
    client_secret) → `{"access_token", "expires_in", "token_type": "Bearer", …}`."""
    if not (settings.youtube_client_id and settings.youtube_client_secret):
        raise PlatformUnauthorized(
            "YOUTUBE_REFRESH_TOKEN needs YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET, the OAuth"
            " client it was issued to"
        )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": settings.youtube_refresh_token,
        "client_id": settings.youtube_client_id,
        "client_secret": settings.youtube_client_secret,
    }
    try:
        answer = call(
            "POST", settings.google_token_url, settings.platform_timeout_seconds, data=form
        )
    except PlatformOutcomeUnknown as exc:
        raise PlatformRetryLater(f"no YouTube access token: {exc}") from exc
    except PlatformRejected as exc:
        raise PlatformUnauthorized(
            f"Google refused the YouTube refresh token ({exc}): authorise the brand's YouTube"
            " account again and store the new YOUTUBE_REFRESH_TOKEN"
        ) from exc
    value, lifetime = answer.get("access_token"), answer.get("expires_in", 3600)
    if not isinstance(value, str) or not value or not isinstance(lifetime, int | float):
        raise PlatformRetryLater(f"Google's token endpoint answered without a token: {answer}")
    return _Token(value, now + max(0.0, float(lifetime) - EARLY_SECONDS))
