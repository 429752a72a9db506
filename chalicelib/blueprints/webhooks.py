"""Platform webhooks: GET handshakes and POST deliveries (verify → intake queue → 200)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.blueprints.http import json_errors, json_response
from chalicelib.services.intake import accept_delivery, answer_handshake
from chalicelib.settings import get_settings

webhooks = Blueprint(__name__)

# Bodies are verified as raw bytes; these are the types platforms deliver with.
DELIVERY_CONTENT_TYPES = ["application/json", "text/plain", "application/octet-stream"]


@webhooks.route("/webhooks/{platform}", methods=["GET"])
@json_errors
def handshake(platform: str) -> Response:
    """Answer a verification handshake (X CRC, Meta hub.challenge)."""
    request = webhooks.current_request
    reply = answer_handshake(platform, request.query_params or {}, request.headers, get_settings())
    headers: dict[str, str | list[str]] = {"Content-Type": reply.content_type, **reply.headers}
    return Response(body=reply.body, status_code=reply.status, headers=headers)


@webhooks.route("/webhooks/{platform}", methods=["POST"], content_types=DELIVERY_CONTENT_TYPES)
@json_errors
def deliver(platform: str) -> Response:
    """Verify a delivery over its raw body and put it on the intake queue; then acknowledge."""
    request = webhooks.current_request
    raw = request.raw_body
    message_id = accept_delivery(
        platform,
        raw if isinstance(raw, bytes) else raw.encode(),
        request.headers,
        get_settings(),
        wiring.queues(),
        datetime.now(UTC),
    )
    return json_response({"status": "accepted", "intake_id": message_id})
