"""Rotating a platform's signing secret: with `<SECRET>_PREVIOUS` set, deliveries signed with
the old or the new secret verify, so none is refused between the platform's switch and ours."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.demo import signed_headers
from chalicelib.errors import BadSignature
from chalicelib.platforms import get_platform, x
from chalicelib.platforms.signatures import b64_signature
from chalicelib.settings import Settings

OLD = {
    "X_CONSUMER_SECRET": "old-x-secret",
    "META_APP_SECRET": "old-meta-secret",
    "SLACK_SIGNING_SECRET": "old-slack-secret",
    "WEBHOOK_SECRET": "whsec_b2xkLXdlYmhvb2stc2VjcmV0",
    "WEBSUB_SECRET": "old-websub-secret",
}
NEW = {
    "X_CONSUMER_SECRET": "new-x-secret",
    "META_APP_SECRET": "new-meta-secret",
    "SLACK_SIGNING_SECRET": "new-slack-secret",
    "WEBHOOK_SECRET": "whsec_bmV3LXdlYmhvb2stc2VjcmV0",
    "WEBSUB_SECRET": "new-websub-secret",
}
ROTATING = Settings.from_env({**NEW, **{f"{name}_PREVIOUS": value for name, value in OLD.items()}})
BODY = json.dumps({"for_user_id": "1", "object": "page", "type": "event_callback"}).encode()


@pytest.mark.parametrize("platform", ["x", "meta", "slack", "generic", "youtube"])
def test_old_and_new_secrets_both_verify_while_rotating(platform: str) -> None:
    now = time.time()
    adapter = get_platform(platform)
    for signer in (Settings.from_env(OLD), Settings.from_env(NEW)):
        adapter.verify(BODY, signed_headers(platform, BODY, signer, now), ROTATING, now)
    old_headers = signed_headers(platform, BODY, Settings.from_env(OLD), now)
    with pytest.raises(BadSignature):  # the previous secret removed: the old one is refused
        adapter.verify(BODY, old_headers, Settings.from_env(NEW), now)
    stranger = Settings.from_env(dict.fromkeys(OLD, "whsec_c3RyYW5nZXI="))
    stranger_headers = signed_headers(platform, BODY, stranger, now)
    with pytest.raises(BadSignature):  # neither secret: refused
        adapter.verify(BODY, stranger_headers, ROTATING, now)


def test_the_crc_answers_with_the_current_secret() -> None:
    reply = x.handshake({"crc_token": "challenge"}, {}, ROTATING)
    expected = b64_signature(b"new-x-secret", b"challenge", prefix="sha256=")
    assert json.loads(reply.body) == {"response_token": expected}
