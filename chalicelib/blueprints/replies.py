"""Replies API: departments answer a mention, in their own words or from a saved reply;
Switchboard posts it to the platform (for a department whose replies need approval, once a
second person approved it)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Blueprint, Response
from pydantic import ValidationError

from chalicelib import wiring
from chalicelib.blueprints.http import (
    PROTECTED,
    json_errors,
    json_response,
    known_department,
    limit_param,
    listing,
    request_model,
    require_caller,
)
from chalicelib.blueprints.mentions import routed_case
from chalicelib.errors import MalformedRequest, NotFound
from chalicelib.models import (
    ApproveRequest,
    ReasonRequest,
    ReplyRequest,
    ReplyTemplate,
    TemplateRequest,
)
from chalicelib.services.templates import check_placeholders

replies = Blueprint(__name__)
MAX_LISTED = 200


@replies.route("/replies", methods=["POST"], authorizer=PROTECTED)
@json_errors
def post_reply() -> Response:
    """Queue a reply: 202 {reply_id, status}."""
    request = replies.current_request
    author = require_caller(request)
    body = request_model(request, ReplyRequest)
    reply = wiring.reply_service().submit(body, author)
    return json_response({"reply_id": reply.reply_id, "status": reply.status}, 202)


@replies.route("/replies/{reply_id}", methods=["GET"], authorizer=PROTECTED)
@json_errors
def get_reply(reply_id: str) -> Response:
    """Status, attempts, last error, and the platform's id and link once sent."""
    require_caller(replies.current_request)
    reply = wiring.replies().get(reply_id)
    if reply is None:
        raise NotFound(f"no reply {reply_id!r}")
    return json_response(reply.model_dump(mode="json"))


@replies.route("/mentions/{mention_id}/replies", methods=["GET"], authorizer=PROTECTED)
@json_errors
def replies_to_mention(mention_id: str) -> Response:
    """What was answered to a mention: its replies, whatever became of them, oldest first
    (`limit`, 1-200)."""
    request = replies.current_request
    require_caller(request)
    record = routed_case(mention_id)
    found = wiring.replies().to_mention(record.id, limit_param(request, MAX_LISTED))
    return listing("replies", (r.model_dump(mode="json") for r in found), mention_id=record.id)


@replies.route("/replies/{reply_id}/approve", methods=["POST"], authorizer=PROTECTED)
@json_errors
def approve_reply(reply_id: str) -> Response:
    """A second person approves a pending reply, `{"force"?}`: it is queued and posted (a
    409 when its case was answered or closed since it was written, unless forced)."""
    request = replies.current_request
    reviewer = require_caller(request)
    body = request_model(request, ApproveRequest)
    reply = wiring.reply_service().approve(reply_id, reviewer, body.force)
    return json_response(reply.model_dump(mode="json"))


@replies.route("/replies/{reply_id}/reject", methods=["POST"], authorizer=PROTECTED)
@json_errors
def reject_reply(reply_id: str) -> Response:
    """Turn down a pending reply, with the reason: it is never posted."""
    request = replies.current_request
    reviewer = require_caller(request)
    body = request_model(request, ReasonRequest)
    reply = wiring.reply_service().reject(reply_id, reviewer, body.reason)
    return json_response(reply.model_dump(mode="json"))


@replies.route("/departments/{department}/approvals", methods=["GET"], authorizer=PROTECTED)
@json_errors
def pending_replies(department: str) -> Response:
    """A department's replies waiting for approval, oldest first (`limit`, 1-200)."""
    request = replies.current_request
    require_caller(request)
    pending = wiring.replies().pending(
        known_department(department), limit_param(request, MAX_LISTED)
    )
    shown = (r.model_dump(mode="json") for r in pending)
    return listing("pending", shown, department=department)


@replies.route("/templates", methods=["GET"], authorizer=PROTECTED)
@json_errors
def list_templates() -> Response:
    """The saved replies, by id."""
    require_caller(replies.current_request)
    saved = wiring.templates().all()
    return listing("templates", (t.model_dump(mode="json") for t in saved))


@replies.route("/templates/{template_id}", methods=["PUT"], authorizer=PROTECTED)
@json_errors
def put_template(template_id: str) -> Response:
    """Add or replace a saved reply, `{"text", "language"?, "translations"?}` (placeholders
    `{name}`, `{handle}`): 200."""
    request = replies.current_request
    author = require_caller(request)
    body = request_model(request, TemplateRequest)
    check_placeholders(body.text)
    for language, text in body.translations.items():
        check_placeholders(text, f"translations.{language}")
    try:
        template = ReplyTemplate(
            id=template_id, updated_by=author, updated_at=datetime.now(UTC), **dict(body)
        )
    except ValidationError:
        raise MalformedRequest(
            "a template id is 1-64 lowercase letters, digits and dashes, a letter or digit first"
        ) from None
    wiring.templates().put(template)
    return json_response(template.model_dump(mode="json"))


@replies.route("/templates/{template_id}", methods=["DELETE"], authorizer=PROTECTED)
@json_errors
def delete_template(template_id: str) -> Response:
    """Remove a saved reply (replies written from it keep their text): 200."""
    require_caller(replies.current_request)
    if not wiring.templates().delete(template_id):
        raise NotFound(f"no template {template_id!r}")
    return json_response({"deleted": template_id})
