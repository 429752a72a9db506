"""Who may call admin, mention and reply routes."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Request

from chalicelib.blueprints.http import require_caller
from chalicelib.errors import Unauthorized


def request(headers: dict[str, str], identity: dict[str, Any] | None = None) -> Request:
    event = {
        "multiValueQueryStringParameters": None,
        "headers": headers,
        "pathParameters": None,
        "requestContext": {
            "httpMethod": "GET",
            "resourcePath": "/admin/rules",
            "identity": identity or {},
        },
        "body": None,
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    return Request(event)


def test_token_mode_needs_the_bearer_token_and_names_the_author() -> None:
    ok = {"authorization": "Bearer test-admin-token", "x-switchboard-author": "ana"}
    assert require_caller(request(ok)) == "ana"
    assert require_caller(request({"authorization": "bearer test-admin-token"})) == "admin"
    for headers in (
        {},
        {"authorization": "Bearer nope"},
        {"authorization": "Basic test-admin-token"},
    ):
        with pytest.raises(Unauthorized):
            require_caller(request(headers))


def test_iam_mode_takes_the_caller_from_the_authorizer(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("AUTH_MODE", "iam")
    wiring.reset()
    arn = "arn:aws:iam::123456789012:user/ana"
    assert require_caller(request({}, {"userArn": arn})) == arn
    with pytest.raises(Unauthorized, match="SigV4"):
        require_caller(request({"authorization": "Bearer test-admin-token"}))
