"""What every platform adapter provides, and helpers they share."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from chalicelib.errors import BadSignature, MalformedRequest, MethodNotAllowed, PartlyUnreadable
from chalicelib.models import MAX_ID_LENGTH, Mention, Quoted, RawDelivery
from chalicelib.observability import logger
from chalicelib.settings import Settings

T = TypeVar("T")

# Echoed challenges are reflected to the caller: keep them short and inert (WebSub §8.2).
_SAFE_CHALLENGE = re.compile(r"[A-Za-z0-9._~\-]{1,256}")


@dataclass(frozen=True)
class HandshakeReply:
    """The HTTP answer to a verification handshake."""

    body: str
    content_type: str = "text/plain"
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"X-Content-Type-Options": "nosniff"})


class Platform(Protocol):
    """One module per platform implements this (checked by mypy on the registry)."""

    NAME: str
    KEPT_HEADERS: tuple[str, ...]

    def handshake(
        self, query: Mapping[str, str], headers: Mapping[str, str], settings: Settings
    ) -> HandshakeReply:
        """Answer the platform's GET verification, or raise a SwitchboardError."""
        ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], settings: Settings, now: float
    ) -> None:
        """Authenticate a POST over the raw body bytes; raise BadSignature when it fails."""
        ...

    def decode(self, body: str) -> Any:
        """The delivery's payload (JSON for most platforms); raise MalformedRequest."""
        ...

    def check(self, payload: Any) -> HandshakeReply | None:
        """Cheap shape check at acknowledgement time (raise MalformedRequest); a reply returned
        here answers the POST instead of queuing it (Slack's url_verification)."""
        ...

    def parse(self, delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Mention]:
        """Turn a delivery into mentions, dropping the brand's own echoes."""
        ...

    def changes(self, delivery: RawDelivery) -> list[Change]:
        """What the delivery says authors did to mentions already posted: edits, deletions."""
        ...

    def answers(self, delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
        """The brand's own posts in the delivery that answer someone (its replies, its direct
        messages), wherever they were written: the platform's app or another tool."""
        ...

    def brand_posts(self, delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Quoted]:
        """The brand's own posts the delivery carries (what customers' replies to them will
        answer: `Mention.replied_post`), wherever they were written."""
        ...


def no_handshake(platform: str) -> HandshakeReply:
    """For platforms that have no GET verification."""
    raise MethodNotAllowed(f"{platform} has no verification handshake; deliveries use POST")


def echo_challenge(challenge: object, field: str = "hub.challenge") -> HandshakeReply:
    """Echo a challenge (`field` names it in errors) as text/plain, refusing anything that is
    not a short plain token."""
    if challenge is None or challenge == "":
        raise MalformedRequest(f"{field} is required")
    if not isinstance(challenge, str) or not _SAFE_CHALLENGE.fullmatch(challenge):
        raise MalformedRequest(f"{field} must be 1-256 URL-safe characters")
    return HandshakeReply(body=challenge)


@dataclass(frozen=True)
class Change:
    """An author edited a mention (`text`: the new text) or deleted it (`text` None); or, with
    `hidden` set, a moderator hid it (True) or showed it again (False); or, with `undelivered`,
    the platform could not deliver the brand's message `mention_id` (a reply it accepted); or,
    with `seen`, it was delivered to the customer's phone, or they read it, `at` then; for a
    direct conversation (`mention_id` `<platform>:dm/<customer>`, as `dm_sender` names it),
    everything the brand sent there until `upto`."""

    mention_id: str
    text: str | None = None
    hidden: bool | None = None
    undelivered: str | None = None
    seen: Literal["delivered", "read"] | None = None
    at: datetime | None = None
    upto: datetime | None = None

    def __post_init__(self) -> None:
        longest_id(self.mention_id)


def no_changes(delivery: RawDelivery) -> list[Change]:
    """For platforms whose deliveries never announce an edit or a deletion."""
    return []


@dataclass(frozen=True)
class Answer:
    """A post of the brand's that answers `to`: a mention's id (a public reply), or a direct
    message conversation, `<platform>:dm/<customer id>` (as `dm_sender` names it). `post` is
    the answer's own id, `at` when it was posted (None when the platform did not say), `via`
    the app that sent it as the platform names it (its id, its name; empty when not said), so
    a bot's or an auto-responder's message can be told from a person's (AUTOMATED_APPS)."""

    to: str
    post: str
    at: datetime | None
    via: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        longest_id(self.to, self.post)


def longest_id(*ids: str) -> None:
    """ValueError (an unreadable item) for an id longer than any a platform gives
    (MAX_ID_LENGTH): no key could be made of it."""
    for each in ids:
        if len(each) > MAX_ID_LENGTH:
            raise ValueError(f"an id of {len(each):,} characters (at most {MAX_ID_LENGTH})")


def no_answers(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Answer]:
    """For platforms whose deliveries never carry the brand's own answers."""
    return []


def no_brand_posts(delivery: RawDelivery, brand_accounts: frozenset[str]) -> list[Quoted]:
    """For platforms whose deliveries never carry the brand's own posts."""
    return []


UNREADABLE = (KeyError, TypeError, AttributeError, ValueError, OverflowError)
"""What reading a platform's JSON of an unexpected shape raises (pydantic's ValidationError is a
ValueError; an infinite number read as an int, OverflowError)."""


def read_each(items: Iterable[Any], read: Callable[[Any], Iterable[T]], platform: str) -> list[T]:
    """What each item of a delivery holds (its mentions, its edits and deletions). An item that
    cannot be read never holds back the others: they are raised with it as PartlyUnreadable,
    handled, and the delivery dead-lettered saying what could not be read."""
    found: list[T] = []
    problems = []
    for item in items:
        try:
            found.extend(read(item))
        except UNREADABLE as exc:
            problems.append(repr(exc))
    if problems:
        shown = "; ".join(problems[:3]) + ("; …" if len(problems) > 3 else "")
        raise PartlyUnreadable(
            f"unreadable {platform} delivery: {len(problems)} item(s) could not be read"
            f" ({shown}); what the rest held ({len(found)}) was handled",
            found,
        )
    return found


def read_skipping(items: Iterable[Any], read: Callable[[Any], T | None], platform: str) -> list[T]:
    """Each item read into an answer or a post of the brand's (None: it is none). One that
    cannot be read is logged and skipped: they are bookkeeping, never a reason to lose the
    delivery's mentions."""
    found = []
    for item in items:
        try:
            each = read(item)
        except UNREADABLE:
            logger.warning("unreadable item of the brand's skipped", extra={"platform": platform})
            continue
        if each is not None:
            found.append(each)
    return found


def signing_keys(secret: str, previous: str, variable: str) -> list[bytes]:
    """The current secret, required (a missing one fails closed), and while it is being
    rotated the previous one (`<variable>_PREVIOUS`): a delivery signed with either verifies."""
    if not secret:
        raise BadSignature(f"{variable} is not configured, so no delivery can be verified")
    return [secret.encode(), *([previous.encode()] if previous else [])]


def require_object(payload: Any, platform: str) -> dict[str, Any]:
    """The delivery must be a JSON object."""
    if not isinstance(payload, dict):
        raise MalformedRequest(f"a {platform} delivery must be a JSON object")
    return payload


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{number} is too large a number")
    return value


_STRICT_JSON = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)
"""Built once: json.loads with these hooks would build a decoder for every body."""


def json_body(body: str | bytes) -> Any:
    """Parse a JSON body (bytes as UTF-8), or say why it cannot be read. Strict: NaN and
    Infinity, which Python reads but JSON does not have, are refused like any other invalid
    JSON, and so is a number too large for a float (1e400), which Python reads as infinity.
    A lone surrogate it escapes becomes U+FFFD (`text_of`)."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
        return text_of(_STRICT_JSON.decode(text), text)
    except ValueError as exc:  # UnicodeDecodeError too
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedRequest("body is not valid JSON: nested too deeply to read") from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_of(value: Any, raw: str) -> Any:
    """A value decoded from the JSON text `raw` with each lone surrogate (a `\\ud83d` escape
    no other completes: valid JSON, but no character, which nothing can store or send on)
    replaced by U+FFFD, as a decoder does with broken bytes; as it came when `raw` has none."""
    if not _SURROGATE_ESCAPE.search(raw):
        return value
    return _replaced(value)


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replaced(item) for item in value]
    if isinstance(value, dict):
        return {_replaced(key): _replaced(item) for key, item in value.items()}
    return value


def load_body(delivery: RawDelivery) -> Any:
    """Parse a queued delivery's body (checked at the acknowledgement; one put on the intake
    queue by other means is not, so it can still be MalformedRequest). The routing worker asks
    twice for each delivery (`parse`, then `changes`) and is given the same object the second
    time, so adapters only read it."""
    return _decoded(delivery.body)


@functools.lru_cache(maxsize=1)
def _decoded(body: str) -> Any:
    return json_body(body)


def engagement(counters: Any, *names: str) -> int:
    """The sum of the named engagement counters a platform sent (absent or unreadable: 0)."""
    if not isinstance(counters, dict):
        return 0
    total = 0
    for name in names:
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            total += max(0, int(counters.get(name) or 0))
    return total


def from_epoch(value: Any, millis: bool = False) -> datetime | None:
    """A UTC datetime from epoch seconds or milliseconds (int or numeric string)."""
    try:
        return datetime.fromtimestamp(float(value) / (1000 if millis else 1), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # not a number, or no real date
        return None
