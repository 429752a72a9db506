"""HMAC signature schemes used by the platforms, over raw bytes, compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from chalicelib.errors import BadSignature


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    """Raw HMAC digest of `message` under `key`."""
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def hex_signature(key: bytes, message: bytes, algorithm: str = "sha256", prefix: str = "") -> str:
    """`prefix` + lowercase hex HMAC (Meta, GitHub, WebSub, Slack style)."""
    return prefix + hmac_digest(key, message, algorithm).hex()


def b64_signature(key: bytes, message: bytes, algorithm: str = "sha256", prefix: str = "") -> str:
    """`prefix` + standard base64 HMAC (X CRC and delivery style)."""
    return prefix + base64.b64encode(hmac_digest(key, message, algorithm)).decode("ascii")


def require_match(expected: str | list[str], received: str | None, what: str) -> None:
    """Raise BadSignature unless `received` equals `expected`, or one of them (one per signing
    key while a secret is rotated); every comparison runs, each in constant time."""
    if not received:
        raise BadSignature(f"missing {what}")
    given = received.strip().encode()
    candidates = [expected] if isinstance(expected, str) else expected
    matches = [hmac.compare_digest(candidate.encode(), given) for candidate in candidates]
    if not any(matches):
        raise BadSignature(f"{what} does not match the body")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive: one lower-cased copy to look them up in."""
    return {name.lower(): value for name, value in headers.items()}


def standard_webhooks_secret(secret: str) -> bytes:
    """Decode a Standard Webhooks secret (`whsec_` prefix optional, base64 body)."""
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not valid base64") from exc


def standard_webhooks_sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature a Standard Webhooks sender puts in `webhook-signature`."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    return b64_signature(standard_webhooks_secret(secret), to_sign, prefix="v1,")


def verify_standard_webhooks(
    secret: str | list[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: int = 300,
) -> str:
    """Verify a Standard Webhooks delivery; returns the `webhook-id`.

    All three headers are required, the timestamp must be within `tolerance` seconds of `now`
    and any one of the space-separated `v1,` signatures must match.
    """
    found = lower_headers(headers)
    msg_id = found.get("webhook-id") or found.get("svix-id")
    stamp = found.get("webhook-timestamp") or found.get("svix-timestamp")
    signatures = found.get("webhook-signature") or found.get("svix-signature")
    if not (msg_id and stamp and signatures):
        raise BadSignature("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadSignature("webhook-timestamp is not an integer") from None
    if timestamp < now - tolerance:
        raise BadSignature("webhook-timestamp is too old")
    if timestamp > now + tolerance:
        raise BadSignature("webhook-timestamp is too new")
    secrets = [secret] if isinstance(secret, str) else secret
    expected = [standard_webhooks_sign(s, msg_id, timestamp, body).encode() for s in secrets]
    for candidate in signatures.split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(e, candidate.encode()) for e in expected):
            return msg_id
    raise BadSignature("no webhook-signature matches the body")
