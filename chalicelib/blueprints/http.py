"""HTTP helpers shared by the blueprints: JSON errors and bearer authentication."""

from __future__ import annotations

import functools
import hmac
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from chalice import IAMAuthorizer, Response
from chalice.app import ChaliceViewError, Request, RouteEntry
from pydantic import BaseModel, ValidationError

from chalicelib.errors import (
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    SwitchboardError,
    Unauthorized,
    UnsupportedMediaType,
    problems,
)
from chalicelib.observability import logger
from chalicelib.platforms.base import json_body as strict_json
from chalicelib.settings import get_settings

M = TypeVar("M", bound=BaseModel)

# Deployed (AUTH_MODE=iam, set by infra/ before Chalice packages the app), API Gateway checks
# SigV4 on the protected routes. Locally the routes have no authorizer and the bearer token is
# checked by require_caller.
PROTECTED = IAMAuthorizer() if os.environ.get("AUTH_MODE") == "iam" else None


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response that says so in its Content-Type."""
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


RESPONSE_BUDGET_BYTES = 5_000_000
"""A Lambda answers with 6 MB at most (API Gateway would turn more into a bare 502): a listing
keeps what fits in this, the rest left for a narrower request."""


def listing(key: str, items: Iterable[dict[str, Any]], **fields: Any) -> Response:
    """A JSON listing `{**fields, key: [...]}` of the items, in order, that fit in
    RESPONSE_BUDGET_BYTES as JSON; `"truncated": true` when some were left out."""
    kept: list[dict[str, Any]] = []
    size = 0
    for item in items:
        size += len(json.dumps(item, separators=(",", ":"))) + 1
        if size > RESPONSE_BUDGET_BYTES:
            return json_response({**fields, key: kept, "truncated": True})
        kept.append(item)
    return json_response({**fields, key: kept})


def error_response(error: SwitchboardError) -> Response:
    """A SwitchboardError as a JSON response with its status."""
    return json_response(error.to_body(), error.status)


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SwitchboardErrors raised by a view into JSON error responses, and anything
    unexpected (a store that failed) into a JSON 500 whose cause is logged, not shown."""

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
        except ChaliceViewError:
            raise
        except Exception:
            logger.exception("unexpected error in a view")
            body = {"error": "internal", "message": "an unexpected error; it has been logged"}
            return json_response(body, 500)

    return wrapper


def chalice_refusals(
    routes: Mapping[str, Mapping[str, RouteEntry]],
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """An HTTP middleware putting the refusals Chalice makes before any view runs (a body type
    the route does not read: 415; a method the path does not take: 405) in Switchboard's error
    body, `{"error", "message"}`, saying what the route takes; status and headers kept."""

    def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        body = response.body
        if not isinstance(body, dict) or body.keys() != {"Code", "Message"}:
            return response
        context = request.context or {}
        path = str(context.get("resourcePath", ""))
        methods = routes.get(path, {})
        if body["Code"] == "UnsupportedMediaType":
            given = request.headers.get("content-type") or "a body without a type"
            route = methods.get(str(context.get("httpMethod", "")))
            takes = ", ".join(route.content_types) if route else "another type"
            refusal: SwitchboardError = UnsupportedMediaType(
                f"{given} is not read here; send {takes}"
            )
        elif body["Code"] == "MethodNotAllowedError":
            method = str(context.get("httpMethod", ""))
            refusal = MethodNotAllowed(f"{path} takes {', '.join(methods)}, not {method}")
        else:
            return response
        response.body = refusal.to_body()
        return response

    return middleware


def require_caller(request: Request) -> str:
    """Authenticate an admin, mention or reply call; returns who is calling.

    Deployed (AUTH_MODE=iam), API Gateway's IAM authorizer has checked the SigV4 signature and
    the caller is its IAM identity. Locally (AUTH_MODE=token) the caller sends
    `Authorization: Bearer $ADMIN_TOKEN` and may name itself in `X-Switchboard-Author`.
    """
    if get_settings().auth_mode == "iam":
        identity = (request.context or {}).get("identity") or {}
        caller = identity.get("userArn") or identity.get("caller")
        if not caller:
            raise Unauthorized("this route needs a SigV4-signed request (IAM)")
        return str(caller)
    require_bearer(request.headers)
    return str(request.headers.get("x-switchboard-author") or "admin")


def json_body(request: Request) -> Any:
    """The request's JSON body, or MalformedRequest saying why it cannot be read."""
    return strict_json(request.raw_body or b"{}")


def query_param(request: Request, name: str) -> str | None:
    """One query-string parameter of the request, if given."""
    params: dict[str, str] = dict(request.query_params or {})
    return params.get(name)


def integer(value: Any, name: str) -> int | None:
    """A number from a query string or a JSON body (None when absent), or MalformedRequest."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedRequest(f"{name} must be an integer") from None


def known_department(department: str) -> str:
    """A configured department, or NotFound naming those there are."""
    departments = get_settings().departments
    if department not in departments:
        raise NotFound(f"no department {department!r}; departments: {', '.join(departments)}")
    return department


def limit_param(request: Request, maximum: int, default: int = 50, name: str = "limit") -> int:
    """A count in the query string (`limit`, or `name`), from 1 to `maximum`, or
    MalformedRequest."""
    count = integer(query_param(request, name), name)
    count = default if count is None else count
    if not 1 <= count <= maximum:
        raise MalformedRequest(f"{name} must be from 1 to {maximum}")
    return count


def request_model(request: Request, model: type[M]) -> M:
    """The request's JSON body as `model`, or MalformedRequest saying what is wrong."""
    try:
        return model.model_validate(json_body(request))
    except ValidationError as exc:
        raise MalformedRequest(problems(exc, model=model)) from None


def require_bearer(headers: Mapping[str, str]) -> None:
    """`Authorization: Bearer $ADMIN_TOKEN`, compared in constant time."""
    expected = get_settings().admin_token
    given = headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise Unauthorized("send Authorization: Bearer <ADMIN_TOKEN>")
