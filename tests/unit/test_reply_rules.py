"""Reply rules per platform, and how platform answers map to retry, reject or unknown."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from chalicelib.errors import MalformedRequest
from chalicelib.models import Author, Mention, ReplyRequest
from chalicelib.platforms.meta import graph_throttled
from chalicelib.platforms.outbound import (
    PlatformOutcomeUnknown,
    PlatformRejected,
    PlatformRetryLater,
    raise_for_status,
    retry_delay,
    translate_network_error,
)
from chalicelib.platforms.x_text import weighted_length
from chalicelib.services.replies import check_reply, reply_id_for
from chalicelib.services.windows import messaging_tag

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def dm(age: timedelta) -> Mention:
    return Mention(
        id="messenger:m1", platform="messenger", kind="dm", text="hi", created_at=NOW - age
    )


def test_messenger_windows() -> None:
    assert messaging_tag(dm(timedelta(hours=23)), NOW) is None
    assert messaging_tag(dm(timedelta(days=3)), NOW) == "HUMAN_AGENT"
    with pytest.raises(MalformedRequest, match="over 7 days"):
        messaging_tag(dm(timedelta(days=8)), NOW)


TWEET = Mention(id="x:1", platform="x", text="hi")
HELP_LINK = "https://help.acme.example/articles/360012345678-how-to-track-your-order?utm_source=x"


def test_x_length_counts_characters_after_trimming() -> None:
    assert (
        check_reply(ReplyRequest(mention_id="x:1", text=" " + "é" * 280 + " "), TWEET, NOW) is None
    )
    with pytest.raises(MalformedRequest, match=r"281 characters as X counts them.*x allows 280"):
        check_reply(ReplyRequest(mention_id="x:1", text="é" * 281), TWEET, NOW)


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("So sorry about the wait! " * 10 + HELP_LINK, True),  # 250 + a link counted 23
        ("の" * 140, True),  # Japanese counts 2 a character
        ("の" * 141, False),
        ("Thank you! " + "🙏🏽" * 134, True),  # an emoji with its skin tone counts 2
        ("Thank you! " + "🙏🏽" * 135, False),
    ],
)
def test_x_counts_posts_the_way_x_does(text: str, fits: bool) -> None:
    """A long help-centre link must not block a reply X would take, and Japanese or emoji
    that X would refuse are refused at once, not by the platform after queueing."""
    request = ReplyRequest(mention_id="x:1", text=text)
    if fits:
        assert check_reply(request, TWEET, NOW) is None
    else:
        with pytest.raises(MalformedRequest, match="x allows 280"):
            check_reply(request, TWEET, NOW)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hi http://test.co", 26),
        ("Test https://test.com test https://test.com test.com test", 86),
        ("H\U0001f431\u263a\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", 7),
        ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),  # skin tone; a ZWJ sequence
        ("Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29),
        ("1\u20e3 \U0001f1ef\U0001f1f5", 5),  # a keycap, a flag
        ("\uc800\ucc00\ucfff\ud0bf", 8),  # Hangul
        ("Mr.Smith e.g. 9.0", 17),  # dots that are not links
    ],
)
def test_weighted_length_follows_twitter_text_v3(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_x_direct_messages_may_be_longer_than_posts() -> None:
    direct = Mention(
        id="x:9", platform="x", kind="dm", text="hi", public=False, author=Author(id="42")
    )
    assert check_reply(ReplyRequest(mention_id="x:9", text="a" * 1000), direct, NOW) is None
    with pytest.raises(MalformedRequest, match="x allows 10000"):
        check_reply(ReplyRequest(mention_id="x:9", text="a" * 10_001), direct, NOW)
    nobody = direct.model_copy(update={"author": Author()})
    with pytest.raises(MalformedRequest, match="named no sender"):
        check_reply(ReplyRequest(mention_id="x:9", text="hi"), nobody, NOW)


def test_private_replies_only_for_recent_comments() -> None:
    comment = Mention(
        id="facebook:1_2", platform="facebook", kind="comment", text="x", created_at=NOW
    )
    request = ReplyRequest(mention_id="facebook:1_2", text="DM", private=True)
    assert check_reply(request, comment, NOW) is None
    with pytest.raises(MalformedRequest, match="within 7 days"):
        check_reply(request, comment, NOW + timedelta(days=8))


def test_reply_ids_are_stable_for_keys_and_private_replies() -> None:
    keyed = ReplyRequest(mention_id="x:1", text="a", idempotency_key="k")
    assert reply_id_for(keyed) == reply_id_for(keyed.model_copy(update={"text": "b"}))
    private = ReplyRequest(mention_id="facebook:1", text="a", private=True)
    assert reply_id_for(private) == reply_id_for(private.model_copy(update={"text": "b"}))
    plain = ReplyRequest(mention_id="x:1", text="a")
    assert reply_id_for(plain) != reply_id_for(plain)


def test_status_mapping() -> None:
    with pytest.raises(PlatformRetryLater) as limited:
        raise_for_status(429, {"x-rate-limit-reset": str(int(time.time()) + 100)}, {})
    assert 90 <= limited.value.delay <= 101
    assert retry_delay({"Retry-After": "42"}) == 42
    reset = {"x-rate-limit-reset": str(int(NOW.timestamp()) + 100)}
    assert retry_delay(reset, now=NOW.timestamp()) == 101
    assert retry_delay(reset, now=NOW.timestamp() + 3600) == 1  # already past
    with pytest.raises(PlatformRetryLater):
        raise_for_status(502, {}, "bad gateway")
    with pytest.raises(PlatformRejected, match=r"400: \(#100\) message is required"):
        raise_for_status(400, {}, {"error": {"message": "(#100) message is required"}})
    raise_for_status(201, {}, {})


def test_network_errors_before_sending_retry_and_after_are_unknown() -> None:
    refused = requests.ConnectionError(
        type("E", (), {"reason": NewConnectionError(None, "refused")})()  # type: ignore[arg-type]
    )
    assert isinstance(translate_network_error(refused), PlatformRetryLater)
    assert isinstance(translate_network_error(requests.ConnectTimeout()), PlatformRetryLater)
    assert isinstance(translate_network_error(requests.ReadTimeout()), PlatformOutcomeUnknown)
    assert isinstance(
        translate_network_error(requests.ConnectionError("reset")), PlatformOutcomeUnknown
    )


def test_fake_x_refuses_what_x_refuses() -> None:
    from chalicelib.fakeplatforms import FakePlatforms

    fake = FakePlatforms().start()
    try:
        top_level = requests.post(
            f"{fake.url}/x/2/tweets", json={"text": "a", "in_reply_to_tweet_id": "1"}
        )
        assert top_level.status_code == 401  # no OAuth 1.0a user context at all
        graph = requests.post(f"{fake.url}/graph/v25.0/123/comments", data={"message": "hi"})
        assert graph.status_code == 400 and graph.json()["error"]["code"] == 190
        token = fake.credentials.meta_page_access_token
        for proof, says in [
            ({}, "require an appsecret_proof"),
            ({"appsecret_proof": "0"}, "Invalid"),
        ]:
            graph = requests.post(
                f"{fake.url}/graph/v25.0/123/comments",
                params={"access_token": token, **proof},
                data={"message": "hi"},
            )
            assert graph.status_code == 400 and says in graph.json()["error"]["message"]
        slack = requests.post(
            f"{fake.url}/slack/api/chat.postMessage", json={"channel": "C", "text": "t"}
        )
        assert slack.json() == {"ok": False, "error": "invalid_auth"}
    finally:
        fake.stop()


def test_graph_rate_limit_errors_mean_later_not_never() -> None:
    usage = {
        "x-business-use-case-usage": json.dumps(
            {"1234": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
        )
    }
    page_limit = {"error": {"message": "(#32) Page request limit reached", "code": 32}}
    assert graph_throttled(usage, page_limit) == 7 * 60
    assert graph_throttled({}, {"error": {"message": "(#613) rate limit", "code": 613}}) == 300
    assert graph_throttled({"X-Business-Use-Case-Usage": "not json"}, page_limit) == 300
    assert graph_throttled(usage, {"error": {"message": "(#100) bad", "code": 100}}) is None
    assert graph_throttled(usage, "Service Unavailable") is None


def test_a_refused_connection_is_retried_and_a_silent_platform_is_an_unknown_outcome() -> None:
    import socket
    import threading

    from chalicelib.platforms.outbound import call

    with socket.socket() as closed:  # a port nobody listens on: nothing was sent
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(PlatformRetryLater, match="could not connect"):
        call("POST", f"http://127.0.0.1:{port}/me/messages", 2.0, json={"text": "hi"})

    with socket.socket() as silent:  # takes the request, never answers: it may have been posted
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
        with pytest.raises(PlatformOutcomeUnknown, match="no answer"):
            call("POST", f"http://127.0.0.1:{silent.getsockname()[1]}/x", 0.3, json={})
        for connection in accepted:
            connection.close()
