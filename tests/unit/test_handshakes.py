"""Verification handshakes: X CRC (derived vectors D1/D2) and Meta hub.challenge (published V4)."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import BadSignature, Forbidden, MalformedRequest, MethodNotAllowed
from chalicelib.platforms import generic, meta, x
from chalicelib.settings import Settings

GIST_SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
X_SETTINGS = Settings(x_consumer_secret=GIST_SECRET)
META_SETTINGS = Settings(meta_verify_token="meatyhamhock")


def test_x_crc_answers_with_response_token_derived_d1() -> None:
    reply = x.handshake({"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"}, {}, X_SETTINGS)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert json.loads(reply.body) == {
        "response_token": "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
    }


def test_x_crc_checks_the_get_signature_when_x_sends_one_derived_d2() -> None:
    query = {"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553", "nonce": "abc123"}
    good = {"X-Twitter-Webhooks-Signature": "sha256=HLWFxLldlhIBYPpoRVMAi2xhlHOV20qhrPfaeEHVIwU="}
    assert x.handshake(query, good, X_SETTINGS).status == 200
    bad = {"x-twitter-webhooks-signature": "sha256=HLWFxLldlhIBYPpoRVMAi2xhlHOV20qhrPfaeEHVIwA="}
    with pytest.raises(BadSignature):
        x.handshake(query, bad, X_SETTINGS)


def test_x_crc_without_token_is_malformed() -> None:
    with pytest.raises(MalformedRequest, match="crc_token"):
        x.handshake({}, {}, X_SETTINGS)


def test_x_crc_fails_closed_without_a_configured_secret() -> None:
    with pytest.raises(BadSignature, match="X_CONSUMER_SECRET"):
        x.handshake({"crc_token": "foo"}, {}, Settings())


def test_meta_handshake_echoes_the_challenge_published_v4() -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": "meatyhamhock",
    }
    reply = meta.handshake(query, {}, META_SETTINGS)
    assert (reply.status, reply.body, reply.content_type) == (200, "1158201444", "text/plain")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "meatyhamhock"},
        {"hub.challenge": "1"},
    ],
)
def test_meta_handshake_refuses_wrong_token_or_mode(query: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        meta.handshake(query, {}, META_SETTINGS)


def test_meta_handshake_refuses_when_no_token_is_configured() -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    with pytest.raises(Forbidden):
        meta.handshake(query, {}, Settings())


@pytest.mark.parametrize("challenge", ["<script>alert(1)</script>", "x" * 257, ""])
def test_meta_handshake_refuses_unsafe_challenges(challenge: str) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": challenge,
        "hub.verify_token": "meatyhamhock",
    }
    with pytest.raises(MalformedRequest):
        meta.handshake(query, {}, META_SETTINGS)


def test_generic_has_no_handshake() -> None:
    with pytest.raises(MethodNotAllowed):
        generic.handshake({}, {}, Settings())
