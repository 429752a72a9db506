"""HTTP helpers shared by the blueprints: JSON errors and bearer authentication."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Response

from chalicelib.errors import SwitchboardError, Unauthorized
from chalicelib.observability import logger
from chalicelib.settings import get_settings


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response that says so in its Content-Type."""
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def error_response(error: SwitchboardError) -> Response:
    """A SwitchboardError as a JSON response with its status."""
    return json_response(error.to_body(), error.status)


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SwitchboardErrors raised by a view into JSON error responses."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except SwitchboardError as error:
            if error.status >= 500:
                logger.error(error.message, extra={"code": error.code})
            else:
                logger.info(error.message, extra={"code": error.code, "status": error.status})
            return error_response(error)

    return wrapper


def require_bearer(headers: Mapping[str, str]) -> None:
    """Locally, admin routes need `Authorization: Bearer $ADMIN_TOKEN` (IAM when deployed)."""
    expected = get_settings().admin_token
    given = headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise Unauthorized("send Authorization: Bearer <ADMIN_TOKEN>")
