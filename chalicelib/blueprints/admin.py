"""Admin API for routing rules: read, edit, publish, test on real traffic, history, rollback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.blueprints.http import (
    PROTECTED,
    integer,
    json_body,
    json_errors,
    json_response,
    query_param,
    require_caller,
)
from chalicelib.errors import MalformedRequest, NotFound
from chalicelib.models import Mention
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.services.rules_admin import RulesAdmin

admin = Blueprint(__name__)


def _service() -> RulesAdmin:
    from chalicelib.services.rules_admin import RulesAdmin  # the engine and models load here

    return RulesAdmin(wiring.rules(), wiring.traffic(), get_settings(), wiring.mentions())


def _query(name: str) -> str | None:
    return query_param(admin.current_request, name)


@admin.route("/admin/rules", methods=["GET"], authorizer=PROTECTED)
@json_errors
def get_rules() -> Response:
    """The live ruleset, or `?version=N` for an earlier one."""
    request = admin.current_request
    require_caller(request)
    service = _service()
    wanted = integer(_query("version"), "version")
    version = service.live() if wanted is None else service.store.get(wanted)
    if version is None:
        raise NotFound(f"no ruleset version {wanted}")
    return json_response({**version.summary(), "rules": version.rules})


@admin.route("/admin/rules", methods=["POST"], authorizer=PROTECTED)
@json_errors
def post_rules() -> Response:
    """Publish a whole ruleset (`{"rules": [...], "comment", "expected_version"}`) or add one
    rule (a rule object)."""
    request = admin.current_request
    author = require_caller(request)
    body = json_body(request)
    if not isinstance(body, dict):
        raise MalformedRequest("expected a JSON object")
    service = _service()
    if "rules" in body:
        version = service.publish(
            body["rules"],
            author,
            str(body.get("comment") or "published"),
            integer(body.get("expected_version"), "expected_version"),
        )
    elif "id" in body:
        version = service.put_rule(str(body["id"]), body, author, create_only=True)
    else:
        raise MalformedRequest('send {"rules": [...]} to publish or a rule object to add one')
    return json_response({"version": version}, 201)


@admin.route("/admin/rules/test", methods=["POST"], authorizer=PROTECTED)
@json_errors
def test_rules() -> Response:
    """Dry-run a candidate ruleset over recent traffic or the given mentions."""
    request = admin.current_request
    require_caller(request)
    body = json_body(request)
    if not isinstance(body, dict) or "rules" not in body:
        raise MalformedRequest('send {"rules": [...], "mentions": [...] (optional), "limit": N}')
    mentions = None
    if body.get("mentions") is not None:
        if not isinstance(body["mentions"], list):
            raise MalformedRequest("mentions must be a list of normalised mentions")
        try:
            mentions = [Mention.model_validate(m) for m in body["mentions"]]
        except ValueError as exc:
            raise MalformedRequest(f"invalid mention: {exc}") from None
    limit = integer(body.get("limit"), "limit") or 1000
    report = _service().dry_run(body["rules"], mentions, limit)
    return json_response(report.to_dict())


@admin.route("/admin/rules/versions", methods=["GET"], authorizer=PROTECTED)
@json_errors
def versions() -> Response:
    """Every published version, newest first: who, when, why, and which one is live."""
    request = admin.current_request
    require_caller(request)
    limit = integer(_query("limit"), "limit") or 50
    return json_response({"versions": _service().history(limit)})


@admin.route("/admin/rules/rollback", methods=["POST"], authorizer=PROTECTED)
@json_errors
def rollback() -> Response:
    """Make an earlier version live again (as a new version copying it)."""
    request = admin.current_request
    author = require_caller(request)
    body = json_body(request)
    version = integer(body.get("version") if isinstance(body, dict) else None, "version")
    if version is None:
        raise MalformedRequest('send {"version": N, "comment": "..."}')
    new = _service().rollback(version, author, str(body.get("comment") or ""))
    return json_response({"version": new, "rolled_back_to": version}, 201)


@admin.route("/admin/rules/{rule_id}", methods=["GET"], authorizer=PROTECTED)
@json_errors
def get_rule(rule_id: str) -> Response:
    """One rule of the live ruleset."""
    require_caller(admin.current_request)
    return json_response(_service().get_rule(rule_id))


@admin.route("/admin/rules/{rule_id}", methods=["PUT"], authorizer=PROTECTED)
@json_errors
def put_rule(rule_id: str) -> Response:
    """Add or replace one rule; publishes a new version."""
    request = admin.current_request
    author = require_caller(request)
    version = _service().put_rule(rule_id, json_body(request), author)
    return json_response({"version": version})


@admin.route("/admin/rules/{rule_id}", methods=["DELETE"], authorizer=PROTECTED)
@json_errors
def delete_rule(rule_id: str) -> Response:
    """Remove one rule; publishes a new version."""
    author = require_caller(admin.current_request)
    return json_response({"version": _service().delete_rule(rule_id, author)})
