"""Errors that map to an HTTP status and a machine-readable code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

if TYPE_CHECKING:
    from pydantic import ValidationError


class SwitchboardError(Exception):
    """Base error; `status` is the HTTP status a client sees, `code` a stable identifier."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_body(self) -> dict[str, str]:
        """JSON error body for HTTP responses."""
        return {"error": self.code, "message": self.message}


def problems(exc: ValidationError, limit: int = 5, model: Any = None) -> str:
    """What a pydantic validation error says is wrong, on one line: `field.path: message; …`
    (a key `model` has no field for is told the fields it has there)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or 'body'}: {explain(err, model)}"
        for err in exc.errors()[:limit]
    )


def explain(error: Mapping[str, Any], model: Any = None) -> str:
    """One pydantic error's message; for a key `model` has no field for at that place, the
    fields it has there, the closest first if one is close (`then.department`: did you mean…)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] != "extra_forbidden" or model is None:
        return message
    fields = fields_at(model, error["loc"][:-1])
    if not fields:
        return message
    hint = did_you_mean(str(error["loc"][-1]), fields)
    listed = (
        f"the fields here are {', '.join(fields)}"
        if fields[1:]
        else f"the one field here is {fields[0]}"
    )
    return f"no such field; {hint}{listed}"


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """`did you mean X? ` for the choice closest to a misspelt `given`, else nothing."""
    from difflib import get_close_matches  # only for a mistake: off the webhook's imports

    close = get_close_matches(given, list(choices), n=1)
    return f"did you mean {close[0]}? " if close else ""


def fields_at(model: Any, path: Sequence[str | int]) -> list[str]:
    """The field names (aliases where set) of the pydantic model found at `path` inside
    `model` (list positions stay in the same model); empty where the path leads elsewhere."""
    for part in path:
        if isinstance(part, int):
            continue
        field = next(
            (info for name, info in model.model_fields.items() if part in (name, info.alias)),
            None,
        )
        model = None if field is None else _model_in(field.annotation)
        if model is None:
            return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (`Action`, `list[Action]`, `Action | None`)."""
    if hasattr(annotation, "model_fields"):
        return annotation
    return next(filter(None, map(_model_in, get_args(annotation))), None)


class MalformedRequest(SwitchboardError):
    """The request or delivery cannot be understood (bad JSON, missing fields)."""

    status = 400
    code = "malformed"


class BadSignature(SwitchboardError):
    """The signature or token is missing, wrong, or the timestamp is outside the window."""

    status = 401
    code = "bad_signature"


class Unauthorized(SwitchboardError):
    """Missing or wrong bearer token."""

    status = 401
    code = "unauthorized"


class Forbidden(SwitchboardError):
    """A handshake with the wrong verify token."""

    status = 403
    code = "forbidden"


class NotFound(SwitchboardError):
    """Unknown platform or resource."""

    status = 404
    code = "not_found"


class MethodNotAllowed(SwitchboardError):
    """The platform exists but does not use this method."""

    status = 405
    code = "method_not_allowed"


class UnsupportedMediaType(SwitchboardError):
    """The body is not of the type the route reads."""

    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(SwitchboardError):
    """The body is over the configured limit."""

    status = 413
    code = "payload_too_large"


class IntakeUnavailable(SwitchboardError):
    """The delivery could not be written to the intake queue; the platform should retry."""

    status = 503
    code = "intake_unavailable"


class OutboxUnavailable(SwitchboardError):
    """A reply could not be written to the outbox queue; nothing was posted, the caller retries."""

    status = 503
    code = "outbox_unavailable"


class PlatformUnavailable(SwitchboardError):
    """A platform Switchboard asked on a caller's behalf did not give what it keeps (it failed,
    or refused Switchboard's credentials); the message says which."""

    status = 502
    code = "platform_unavailable"


class Gone(SwitchboardError):
    """What was asked for existed once and no longer does (a platform keeps it only so long)."""

    status = 410
    code = "gone"


class IndexNotReady(SwitchboardError):
    """A DynamoDB index an upgrade added is still being filled from its table: no list or
    report can read it yet."""

    status = 503
    code = "index_building"


class PoisonRecord(Exception):
    """A queued record that can never succeed; it goes to the dead-letter queue with the reason."""


class PartlyUnreadable(PoisonRecord):
    """A delivery some of whose items cannot be read: what the others hold (`readable`: their
    mentions, edits, deletions) is handled, then the delivery is dead-lettered with the reason
    (routed again, it finds those done)."""

    def __init__(self, reason: str, readable: list[Any]) -> None:
        super().__init__(reason)
        self.readable = readable


class RetryLater(Exception):
    """A queued record to retry no sooner than `delay` seconds from now."""

    def __init__(self, reason: str, delay: int) -> None:
        super().__init__(reason)
        self.delay = delay


class Conflict(SwitchboardError):
    """The request conflicts with the current state (a stale version, a second private reply)."""

    status = 409
    code = "conflict"


class RecordFull(Conflict):
    """A case's item would pass DynamoDB's 400 KB limit: what was asked cannot be kept on it."""

    code = "record_full"
