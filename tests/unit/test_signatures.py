"""Every vector of ../shared/reference/test_vectors.json, and the tampering cases around them."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import BadSignature
from chalicelib.platforms.signatures import (
    b64_signature,
    hex_signature,
    require_match,
    standard_webhooks_sign,
    verify_standard_webhooks,
)
from tests.conftest import SHARED

VECTORS = json.loads((SHARED / "reference" / "test_vectors.json").read_text())["vectors"]


def compute(vector: dict[str, str]) -> str:
    key, message, prefix = vector["key"], vector["message"].encode(), vector["prefix"]
    algo = vector["algo"]
    if algo == "hex_hmac_sha256":
        return hex_signature(key.encode(), message, "sha256", prefix)
    if algo == "hex_hmac_sha1":
        return hex_signature(key.encode(), message, "sha1", prefix)
    if algo == "b64_hmac_sha256":
        return b64_signature(key.encode(), message, "sha256", prefix)
    if algo == "b64_hmac_sha256_b64key":
        msg_id, stamp, body = vector["message"].split(".", 2)
        return standard_webhooks_sign(key, msg_id, int(stamp), body.encode())
    raise AssertionError(f"unknown algorithm {algo}")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict[str, str]) -> None:
    assert compute(vector) == vector["expected"]


def test_every_published_vector_is_covered() -> None:
    published = {v["id"] for v in VECTORS if v["kind"] == "published"}
    assert published == {"slack_v0", "github_sha256", "standard_webhooks_v1"}


def test_reserialised_meta_body_does_not_verify_as_the_raw_one() -> None:
    raw = next(v for v in VECTORS if v["id"] == "meta_escaped_unicode_raw")
    reserialised = json.dumps(json.loads(raw["message"]), ensure_ascii=False, separators=(",", ":"))
    signature = hex_signature(raw["key"].encode(), reserialised.encode(), prefix="sha256=")
    with pytest.raises(BadSignature):
        require_match(raw["expected"], signature, "X-Hub-Signature-256")


SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID, SW_STAMP, SW_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SW_VALID = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(signature: str, stamp: int = SW_STAMP) -> dict[str, str]:
    return {"webhook-id": SW_ID, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def test_standard_webhooks_accepts_published_signature() -> None:
    assert verify_standard_webhooks(SW_SECRET, sw_headers(SW_VALID), SW_BODY, SW_STAMP) == SW_ID


def test_standard_webhooks_secret_prefix_is_optional() -> None:
    secret = SW_SECRET.removeprefix("whsec_")
    assert verify_standard_webhooks(secret, sw_headers(SW_VALID), SW_BODY, SW_STAMP) == SW_ID


def test_standard_webhooks_rejects_changed_last_character() -> None:
    tampered = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    with pytest.raises(BadSignature, match="no webhook-signature matches"):
        verify_standard_webhooks(SW_SECRET, sw_headers(tampered), SW_BODY, SW_STAMP)


def test_standard_webhooks_rejects_tampered_body() -> None:
    with pytest.raises(BadSignature):
        verify_standard_webhooks(SW_SECRET, sw_headers(SW_VALID), b'{"test": 2432232315}', SW_STAMP)


def test_standard_webhooks_accepts_any_of_several_signatures() -> None:
    other = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    header = f"v1,{other} v2,{other} {SW_VALID} v1,{other}"
    assert verify_standard_webhooks(SW_SECRET, sw_headers(header), SW_BODY, SW_STAMP) == SW_ID


@pytest.mark.parametrize("offset", [-301, 301])
def test_standard_webhooks_rejects_timestamps_outside_five_minutes(offset: int) -> None:
    with pytest.raises(BadSignature, match=r"too (old|new)"):
        verify_standard_webhooks(SW_SECRET, sw_headers(SW_VALID), SW_BODY, SW_STAMP + offset)


def test_standard_webhooks_accepts_the_edge_of_the_window() -> None:
    assert verify_standard_webhooks(SW_SECRET, sw_headers(SW_VALID), SW_BODY, SW_STAMP + 300)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhooks_requires_all_three_headers(missing: str) -> None:
    headers = sw_headers(SW_VALID)
    del headers[missing]
    with pytest.raises(BadSignature, match="required"):
        verify_standard_webhooks(SW_SECRET, headers, SW_BODY, SW_STAMP)


def test_standard_webhooks_header_names_are_case_insensitive() -> None:
    headers = {name.upper(): value for name, value in sw_headers(SW_VALID).items()}
    assert verify_standard_webhooks(SW_SECRET, headers, SW_BODY, SW_STAMP) == SW_ID


def test_require_match_rejects_missing_value() -> None:
    with pytest.raises(BadSignature, match="missing"):
        require_match("sha256=abc", None, "X-Hub-Signature-256")
