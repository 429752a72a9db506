"""Slack Events API and YouTube WebSub intake: vectors, handshakes and parsing."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.errors import BadSignature, MalformedRequest, NotFound, PoisonRecord
from chalicelib.models import Attachment, Quoted
from chalicelib.platforms import slack, youtube
from chalicelib.platforms.base import Change
from chalicelib.settings import Settings
from tests.helpers import delivery, sample_bytes

# Published vector V1 (slack-sdk tests / Slack docs).
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
    b"IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_HEADERS = {
    "X-Slack-Request-Timestamp": str(SLACK_TS),
    "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}
SETTINGS = Settings(
    slack_signing_secret=SLACK_SECRET,
    websub_secret="It's a Secret to Everybody",
    youtube_channels=["UCacme"],
)


def test_slack_published_signature_verifies_at_its_time() -> None:
    slack.verify(SLACK_BODY, SLACK_HEADERS, SETTINGS, SLACK_TS)


def test_slack_published_signature_is_stale_with_the_real_clock() -> None:
    with pytest.raises(BadSignature, match="five minutes"):
        slack.verify(SLACK_BODY, SLACK_HEADERS, SETTINGS, time.time())


def test_slack_tampered_body_and_missing_timestamp_fail() -> None:
    with pytest.raises(BadSignature):
        slack.verify(SLACK_BODY + b"------", SLACK_HEADERS, SETTINGS, SLACK_TS)
    with pytest.raises(BadSignature, match="Timestamp"):
        slack.verify(SLACK_BODY, {"X-Slack-Signature": "v0=00"}, SETTINGS, SLACK_TS)


@pytest.mark.parametrize("stamp", ["1" * 5000, "\u00b2", "\u0661\u0665\u0663", "-1531420618", " 1"])
def test_slack_timestamps_that_are_not_epoch_seconds_are_refused(stamp: str) -> None:
    """Digits Python's int() refuses (too many, superscripts) or reads as non-ASCII numerals are
    a 401, not a crash of the acknowledgement."""
    headers = {**SLACK_HEADERS, "X-Slack-Request-Timestamp": stamp}
    with pytest.raises(BadSignature, match="unreadable X-Slack-Request-Timestamp"):
        slack.verify(SLACK_BODY, headers, SETTINGS, SLACK_TS)


def test_slack_url_verification_published_v5_is_answered_with_the_challenge() -> None:
    body = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}  # fmt: skip
    reply = slack.check(body)
    assert reply is not None and reply.status == 200
    assert json.loads(reply.body) == {"challenge": body["challenge"]}


@pytest.mark.parametrize("challenge", [None, "", {"a": 1}, 42, ["x"], "<script>"])
def test_slack_url_verification_without_a_plain_challenge_is_malformed(challenge: object) -> None:
    with pytest.raises(MalformedRequest, match="url_verification challenge"):
        slack.check({"type": "url_verification", "challenge": challenge})


def test_slack_app_mention_is_a_mention_and_bots_are_dropped() -> None:
    [mention] = slack.parse(delivery("slack", "slack_app_mention.json"), frozenset())
    assert mention.id == "slack:C0COMMUNITY/1795336000.000200"
    assert mention.kind == "mention" and mention.author.id == "U0CUSTOMER"
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    payload["event"]["bot_id"] = "B0ACME"
    assert slack.parse(delivery("slack", payload), frozenset()) == []
    assert slack.parse(delivery("slack", "slack_app_mention.json"), frozenset({"U0CUSTOMER"})) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "event_callback", "event": 7},
        {"type": "event_callback", "event": {"type": ["app_mention"]}},
        {"type": "event_callback", "event": {"type": "app_mention", "ts": "1.2"}},  # no channel
    ],
)
def test_unreadable_slack_event_is_poison(payload: object) -> None:
    with pytest.raises(PoisonRecord, match="unreadable Slack event"):
        slack.parse(delivery("slack", payload), frozenset())


def test_slack_thread_message_is_a_reply() -> None:
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    payload["event"].update(type="message", ts="1795336100.000300", thread_ts="1795336000.000200")
    [reply] = slack.parse(delivery("slack", payload), frozenset())
    assert reply.kind == "reply" and reply.in_reply_to == "slack:C0COMMUNITY/1795336000.000200"


@pytest.mark.parametrize(
    ("subtype", "routed"),
    [
        ("file_share", True),  # a screenshot of the error, with the words
        ("thread_broadcast", True),  # a thread reply also sent to the channel
        ("me_message", True),
        ("channel_join", False),
        ("bot_message", False),
    ],
)
def test_what_a_person_writes_with_a_file_or_to_the_channel_is_a_message(
    subtype: str, routed: bool
) -> None:
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    link = "https://acme.slack.com/files/U0CUSTOMER/F0SHOT/checkout.png"
    shot = {"id": "F0SHOT", "name": "checkout.png", "mimetype": "image/png", "permalink": link}
    payload["event"].update(type="message", subtype=subtype, files=[shot])
    found = slack.parse(delivery("slack", payload), frozenset())
    assert [m.urls for m in found] == ([[link]] if routed else [])
    screenshot = Attachment(kind="image", url=link, mime_type="image/png", filename="checkout.png")
    assert [m.attachments for m in found] == ([[screenshot]] if routed else [])


def query(**extra: str) -> dict[str, str]:
    return {
        "hub.mode": "subscribe",
        "hub.topic": "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCacme",
        "hub.challenge": "abc123",
        "hub.lease_seconds": "864000",
        **extra,
    }


def test_websub_intent_is_confirmed_for_configured_channels_only() -> None:
    assert youtube.handshake(query(), {}, SETTINGS).body == "abc123"
    unknown = "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCother"
    with pytest.raises(NotFound):
        youtube.handshake(query(**{"hub.topic": unknown}), {}, SETTINGS)
    with pytest.raises(MalformedRequest, match="lease"):
        youtube.handshake(query(**{"hub.lease_seconds": ""}), {}, SETTINGS)
    assert youtube.handshake(
        query(**{"hub.mode": "unsubscribe", "hub.lease_seconds": ""}), {}, SETTINGS
    )


def test_a_denied_websub_subscription_is_acknowledged_and_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    denied = {
        "hub.mode": "denied",
        "hub.topic": "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCacme",
        "hub.reason": "topic not found",
    }
    with caplog.at_level("ERROR"):
        answer = youtube.handshake(denied, {}, SETTINGS)
    assert (answer.status, answer.body) == (200, "")
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.getMessage() == "the WebSub hub denied a subscription"
    assert logged.__dict__["reason"] == "topic not found"
    with pytest.raises(MalformedRequest, match="subscribe, unsubscribe or denied"):
        youtube.handshake({**denied, "hub.mode": "publish"}, {}, SETTINGS)


def test_websub_signature_derived_d4_and_tampering() -> None:
    signed = {"X-Hub-Signature": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"}
    youtube.verify(b"Hello, World!", signed, SETTINGS, 0)
    with pytest.raises(BadSignature):
        youtube.verify(b"Hello, World?", signed, SETTINGS, 0)
    with pytest.raises(BadSignature, match="missing"):
        youtube.verify(b"Hello, World!", {}, SETTINGS, 0)


CHANNELS = frozenset({"UCacmeChannel0000000000"})


def test_websub_notification_is_an_atom_feed_with_no_mentions() -> None:
    feed = youtube.decode(sample_bytes("youtube_new_video.xml").decode())
    assert youtube.check(feed) is None
    raw = delivery("youtube", "x_late_delivery.json").model_copy(
        update={"body": sample_bytes("youtube_new_video.xml").decode()}
    )
    assert youtube.parse(raw, frozenset()) == []
    # the video it announces is kept for the comments under it, if the channel is the brand's
    assert youtube.brand_posts(raw, CHANNELS) == [
        Quoted(id="youtube:AcmeVid0001", text="Winter menu: behind the scenes", author="Acme")
    ]
    assert youtube.brand_posts(raw, frozenset({"UCsomeoneElse"})) == []
    absurd = raw.body.replace("<entry>", f"<entry><yt:videoId>{'v' * 500}</yt:videoId>", 1)
    absurd = absurd.replace("</feed>", raw.body[raw.body.index("<entry>") :])  # and a good one
    kept = youtube.brand_posts(raw.model_copy(update={"body": absurd}), CHANNELS)
    assert [post.id for post in kept] == ["youtube:AcmeVid0001"]  # the unreadable one skipped
    with pytest.raises(MalformedRequest, match="XML"):
        youtube.decode("{not xml")
    with pytest.raises(MalformedRequest, match="Atom"):
        youtube.check(youtube.decode("<rss/>"))


def test_a_brand_persons_thread_reply_sent_to_the_channel_too_answers_the_thread() -> None:
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    thread = payload["event"]["ts"]
    payload["event"].update(
        type="message", subtype="thread_broadcast", user="U0AGENT", ts="1795336200.000100",
        thread_ts=thread,
    )  # fmt: skip
    [answer] = slack.answers(delivery("slack", payload), frozenset({"U0AGENT"}))
    assert answer.to == f"slack:C0COMMUNITY/{thread}"


def test_edited_and_deleted_slack_messages_are_named() -> None:
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "C0COMMUNITY",
               "deleted_ts": "1795336000.000200", "ts": "1795336100.000100"}  # fmt: skip
    payload = {"type": "event_callback", "event": deleted}
    assert slack.changes(delivery("slack", payload)) == [
        Change("slack:C0COMMUNITY/1795336000.000200")
    ]
    assert slack.parse(delivery("slack", payload), frozenset()) == []
    message = {"ts": "1795336000.000200", "text": "checkout is down again"}
    changed = {"type": "message", "subtype": "message_changed", "channel": "C0COMMUNITY",
               "message": message}  # fmt: skip
    edited = slack.changes(delivery("slack", {"type": "event_callback", "event": changed}))
    assert edited == [Change("slack:C0COMMUNITY/1795336000.000200", "checkout is down again")]
    assert slack.changes(delivery("slack", "slack_app_mention.json")) == []


def test_a_brand_persons_message_in_a_thread_answers_it() -> None:
    payload = json.loads(sample_bytes("slack_app_mention.json"))
    payload["event"].update(
        type="message", user="U0ACMESTAFF", ts="1795336100.000300", thread_ts="1795336000.000200"
    )
    staff = frozenset({"U0ACMESTAFF"})
    [answer] = slack.answers(delivery("slack", payload), staff)
    assert answer.to == "slack:C0COMMUNITY/1795336000.000200"
    assert answer.post == "slack:C0COMMUNITY/1795336100.000300"
    assert slack.answers(delivery("slack", payload), frozenset()) == []  # a customer's reply
    payload["event"].pop("thread_ts")  # a message of their own, answering nobody
    assert slack.answers(delivery("slack", payload), staff) == []
    assert youtube.answers(delivery("youtube", "x"), staff) == []  # notifications are videos
