"""Platform webhooks: GET handshakes and POST deliveries (verify → intake queue → 200); the
buttons pressed on Switchboard's Slack alerts (Slack's Interactivity Request URL), and its slash
command."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.blueprints.http import json_errors, json_response
from chalicelib.observability import metrics_flushed
from chalicelib.platforms.base import HandshakeReply
from chalicelib.services.intake import accept_delivery, answer_handshake
from chalicelib.settings import get_settings

webhooks = Blueprint(__name__)

# Bodies are verified as raw bytes; these are the types platforms deliver with.
FORM = "application/x-www-form-urlencoded"
"""What Slack posts interactions as."""
DELIVERY_CONTENT_TYPES = [
    "application/json",
    "application/atom+xml",  # WebSub (YouTube)
    "text/plain",
    "application/octet-stream",
]


def _reply(reply: HandshakeReply) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": reply.content_type, **reply.headers}
    return Response(body=reply.body, status_code=reply.status, headers=headers)


@webhooks.route("/webhooks/{platform}", methods=["GET"])
@json_errors
def handshake(platform: str) -> Response:
    """Answer a verification handshake (X CRC, Meta hub.challenge, WebSub intent)."""
    request = webhooks.current_request
    query = dict(request.query_params or {})
    return _reply(answer_handshake(platform, query, request.headers, get_settings()))


@webhooks.route("/webhooks/{platform}", methods=["POST"], content_types=DELIVERY_CONTENT_TYPES)
@json_errors
def deliver(platform: str) -> Response:
    """Verify a delivery over its raw body and put it on the intake queue; then acknowledge."""
    request = webhooks.current_request
    with metrics_flushed():
        accepted = accept_delivery(
            platform,
            _raw_body(request),
            request.headers,
            get_settings(),
            wiring.queues(),
            wiring.payloads(),
            datetime.now(UTC),
        )
    if isinstance(accepted, HandshakeReply):
        return _reply(accepted)
    return json_response({"status": "accepted", "intake_id": accepted})


@webhooks.route(
    "/webhooks/slack/actions",
    methods=["POST"],
    content_types=[FORM],
)
@json_errors
def slack_action() -> Response:
    """A button pressed on an alert ("Take it", "Reply…", "Give back", "Approve"…), or a modal
    sent, verified over its raw body: 200 with what was done, or why not (that person is told
    in Slack)."""
    from chalicelib.services.alert_buttons import AlertButtons  # the case side: off the webhooks

    request = webhooks.current_request
    buttons = AlertButtons(
        get_settings(),
        wiring.queues(),
        wiring.cases,
        wiring.reply_service,
        wiring.replies,
        wiring.templates,
        wiring.shift_service,
    )
    return json_response(buttons.answer(_raw_body(request), request.headers, datetime.now(UTC)))


@webhooks.route(
    "/webhooks/slack/commands",
    methods=["POST"],
    content_types=[FORM],
)
@json_errors
def slack_command() -> Response:
    """The app's slash command (`/switchboard next support`), verified over its raw body: 200
    with Slack's ephemeral answer, for whoever typed it alone."""
    from chalicelib.services.slack_commands import SlackCommands  # the case side: off the webhooks

    request = webhooks.current_request
    commands = SlackCommands(
        get_settings(),
        wiring.cases,
        wiring.shift_service,
        wiring.awaiting_approval,
        wiring.replies,
        wiring.traffic,
    )
    return json_response(commands.answer(_raw_body(request), request.headers, datetime.now(UTC)))


def _raw_body(request: Request) -> bytes:
    """The body as the platform signed it."""
    raw = request.raw_body
    return raw if isinstance(raw, bytes) else raw.encode()
