"""A deployed stage reaches YouTube with the brand account's OAuth refresh token: Google's access
tokens live an hour, so Switchboard exchanges the refresh token at Google's token endpoint (the
fake checks the form RFC 6749 §6 and Google document) and refreshes as each one runs out."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import Mention
from chalicelib.platforms import google_oauth
from tests.integration.conftest import CREDENTIALS, bodies, receive_all
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_replies import drain_outbox, get, reply, reply_service, store
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_youtube_poller import CHANNEL, poll, thread

COMMENT = "youtube:UgzComment1"


@pytest.fixture
def refreshing(fakes: FakePlatforms) -> FakePlatforms:
    """The stage holds a refresh token, its OAuth client, and no access token of its own."""
    os.environ.update(
        {
            "YOUTUBE_ACCESS_TOKEN": "",
            "YOUTUBE_REFRESH_TOKEN": CREDENTIALS.youtube_refresh_token,
            "YOUTUBE_CLIENT_ID": CREDENTIALS.youtube_client_id,
            "YOUTUBE_CLIENT_SECRET": CREDENTIALS.youtube_client_secret,
            "GOOGLE_TOKEN_URL": f"{fakes.url}/google/token",
        }
    )
    wiring.reset()

    return fakes


def answer(client: Client, stack: dict[str, str], text: str) -> dict[str, Any]:
    """Reply to the stored comment through the API and the outbox worker; the reply record."""
    status, queued = reply(client, {"mention_id": COMMENT, "text": text})
    assert status == 202, queued
    drain_outbox(stack)
    return get(client, f"/replies/{queued['reply_id']}")


def comment() -> None:
    store(Mention(id=COMMENT, platform="youtube", kind="comment", text="Where is part 2?"))


def token_requests(fakes: FakePlatforms) -> list[Any]:
    return [r for r in fakes.requests if r.platform == "google"]


def test_replies_and_polls_use_an_access_token_from_the_refresh_token(
    client: Client, stack: dict[str, str], refreshing: FakePlatforms
) -> None:
    comment()
    assert answer(client, stack, "Next Friday!")["status"] == "sent"
    assert answer(client, stack, "And the one after.")["status"] == "sent"
    refreshing.youtube_threads[CHANNEL] = [thread(1, "Love this channel!", timedelta(0))]
    poll()
    drain_intake(stack)
    assert "youtube:Ugcomment1" in routed_mentions(stack)
    [exchange] = token_requests(refreshing)  # one token for the hour, however many calls
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    assert exchange.body == {
        "grant_type": "refresh_token",
        "refresh_token": CREDENTIALS.youtube_refresh_token,
        "client_id": CREDENTIALS.youtube_client_id,
        "client_secret": CREDENTIALS.youtube_client_secret,
    }
    [issued] = refreshing.google_tokens
    calls = refreshing.accepted("youtube")  # two replies, the poll's reads, the video's
    assert {r.headers["authorization"] for r in calls} == {f"Bearer {issued}"}
    paths = {"/youtube/v3/comments", "/youtube/v3/commentThreads", "/youtube/v3/videos"}
    assert {r.path for r in calls} == paths


def test_a_token_is_refreshed_before_it_runs_out(
    client: Client, stack: dict[str, str], refreshing: FakePlatforms
) -> None:
    comment()
    assert answer(client, stack, "Next Friday!")["status"] == "sent"
    [first] = refreshing.google_tokens
    settings = wiring.get_settings()
    assert google_oauth.bearer(settings) == first  # cached while it has time left
    near_its_end = time.time() + 3599 - google_oauth.EARLY_SECONDS + 1
    renewed = google_oauth.bearer(settings, clock=lambda: near_its_end)
    assert renewed != first and renewed in refreshing.google_tokens
    assert len(token_requests(refreshing)) == 2


def test_a_token_google_refuses_early_is_refreshed_once_and_the_reply_posted_once(
    client: Client, stack: dict[str, str], refreshing: FakePlatforms
) -> None:
    comment()
    assert answer(client, stack, "Next Friday!")["status"] == "sent"
    refreshing.google_tokens.clear()  # revoked: the cached token is refused with a 401
    assert answer(client, stack, "And the one after.")["status"] == "sent"
    assert len(token_requests(refreshing)) == 2 and len(refreshing.accepted("youtube")) == 2


def test_a_revoked_refresh_token_keeps_the_reply_queued_until_a_new_one_is_stored(
    client: Client,
    stack: dict[str, str],
    refreshing: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials refused are no fault of the reply: it stays queued saying what to do, is
    tried again 15 minutes apart, then waits in the dead-letter queue, its author told;
    redriven once a working refresh token is stored, it is posted, once."""
    from chalicelib.errors import PoisonRecord, RetryLater
    from chalicelib.platforms.outbound import CREDENTIALS_RETRY_SECONDS
    from chalicelib.services.replies import CREDENTIALS_ATTEMPTS

    comment()
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"admin": "U0ADMIN"}))  # who replies here
    os.environ["YOUTUBE_REFRESH_TOKEN"] = "1//revoked-when-the-password-changed"
    wiring.reset()
    _, queued = reply(client, {"mention_id": COMMENT, "text": "Next Friday!"})
    body = json.dumps({"reply_id": queued["reply_id"]})
    receive_all(stack["outbox"])  # the reply's own message: sent by hand below
    for attempt in range(1, CREDENTIALS_ATTEMPTS + 1):
        if attempt < CREDENTIALS_ATTEMPTS:
            with pytest.raises(RetryLater) as later:
                reply_service().send(body)
            assert later.value.delay == CREDENTIALS_RETRY_SECONDS == 900
        else:
            with pytest.raises(PoisonRecord, match="switchboard dlq outbox --redrive"):
                reply_service().send(body)
        waiting = get(client, f"/replies/{queued['reply_id']}")
        assert (waiting["status"], waiting["attempts"]) == ("queued", attempt)
        assert "invalid_grant" in waiting["last_error"]
        assert "store the new YOUTUBE_REFRESH_TOKEN" in waiting["last_error"]
        told = [m["alert"]["heading"] for m in bodies(stack["outbox"])]
        assert len(told) == (attempt == CREDENTIALS_ATTEMPTS)  # once, when it is given up
    assert told[0].startswith(
        f"[NORMAL] your reply ({queued['reply_id']}) to a support case is not posted yet"
        " (youtube refused Switchboard's credentials"
    )
    assert refreshing.accepted("youtube") == []
    os.environ["YOUTUBE_REFRESH_TOKEN"] = CREDENTIALS.youtube_refresh_token  # stored anew
    wiring.reset()
    reply_service().send(body)  # redriven
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert len(refreshing.accepted("youtube")) == 1


def test_a_token_endpoint_that_fails_leaves_the_reply_queued_for_a_retry(
    client: Client, stack: dict[str, str], refreshing: FakePlatforms
) -> None:
    """Nothing was posted without a token: a retry, never `uncertain`."""
    comment()
    refreshing.fail_next(503, {"error": "backend_error"})
    _, queued = reply(client, {"mention_id": COMMENT, "text": "Next Friday!"})
    body = json.dumps({"reply_id": queued["reply_id"]})
    with pytest.raises(Exception, match="platform error 503"):
        reply_service().send(body)
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "queued"
    reply_service().send(body)
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert len(refreshing.accepted("youtube")) == 1


def test_without_a_refresh_token_the_fixed_access_token_is_sent(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    comment()
    assert answer(client, stack, "Next Friday!")["status"] == "sent"
    assert token_requests(fakes) == []
    [posted] = fakes.accepted("youtube")
    assert posted.headers["authorization"] == f"Bearer {CREDENTIALS.youtube_access_token}"
