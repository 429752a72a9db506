"""Replies end to end on moto: POST /replies → outbox → send_replies → the fake platform APIs."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.devstack import QueueWorker, lambda_sqs_event, scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import Author, Mention, MentionRecord, ReplyPointer, RoutedMention, Routing
from chalicelib.observability import metrics
from chalicelib.services import replies as replies_service
from chalicelib.settings import get_settings
from tests.helpers import LambdaContext, recent_sample, sample_bytes
from tests.integration.conftest import CREDENTIALS, bodies, post_signed, receive_all
from tests.integration.test_admin_api import call, live
from tests.integration.test_routing_flow import drain_intake

AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


def routed(client: Client, stack: dict[str, str], platform: str, sample: str) -> None:
    assert post_signed(client, platform, sample_bytes(sample)).status_code == 200
    drain_intake(stack)


def reply(client: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.http.post("/replies", headers=AUTH, body=json.dumps(body).encode())
    return response.status_code, json.loads(response.body)


def get(client: Client, path: str) -> dict[str, Any]:
    response = client.http.get(path, headers=AUTH)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def drain_outbox(stack: dict[str, str], patience: float = 0.0) -> None:
    """Send what the outbox has (waiting up to `patience` seconds for something to come)."""
    from app import app

    worker = QueueWorker(
        aws.sqs(), stack["outbox"], app.handler_map["send_replies"], "us-east-1", wait=0
    )
    deadline = time.monotonic() + patience
    while not worker.poll_once():
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)
    while worker.poll_once():
        pass


def reply_service() -> replies_service.ReplyService:
    """The service the outbox worker runs, on the current stores."""
    return replies_service.ReplyService(
        wiring.replies(),
        wiring.mentions(),
        wiring.queues(),
        wiring.cursors(),
        wiring.get_settings(),
        wiring.templates(),
    )


def store(mention: Mention, department: str = "support", routed_at: datetime | None = None) -> None:
    """A routed mention record, for platforms whose intake is a poller (YouTube, Slack)."""
    at = routed_at or datetime.now(UTC)
    message = RoutedMention(
        mention=mention,
        routing=Routing(department=department, sla_due_at=at + timedelta(minutes=15)),
        reply=ReplyPointer(mention_id=mention.id),
    )
    wiring.mentions().complete(
        MentionRecord(id=mention.id, status="routed", routed_at=at, message=message),
        at + timedelta(days=1),
    )


def test_x_reply_is_posted_once_and_shown_with_first_response_time(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    status, queued = reply(
        client, {"mention_id": "x:1992000000000000001", "text": "Sorry! DM us your order number."}
    )
    assert status == 202 and queued["status"] == "queued"
    drain_outbox(stack)
    [request] = fakes.accepted("x")
    assert request.path == "/x/2/tweets"
    assert request.body == {
        "text": "Sorry! DM us your order number.",
        "reply": {"in_reply_to_tweet_id": "1992000000000000001"},
    }
    assert request.headers["authorization"].startswith("OAuth ")
    sent = get(client, f"/replies/{queued['reply_id']}")
    assert sent["status"] == "sent" and sent["attempts"] == 1
    assert sent["platform_reply_url"] == f"https://x.com/i/status/{sent['platform_reply_id']}"
    answer = client.http.get(f"/mentions/x:{sent['platform_reply_id']}", headers=AUTH)
    assert answer.status_code == 404  # the brand's answer continues the case but is not it
    record = get(client, "/mentions/x:1992000000000000001")
    assert record["first_response_at"] and record["response_seconds"] > 0
    assert record["first_response_post"] == f"x:{sent['platform_reply_id']}"


def test_what_was_answered_to_a_mention_is_listed_oldest_first(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    first = reply(client, {"mention_id": "x:1992000000000000001", "text": "Sorry! DM us."})[1]
    drain_outbox(stack)
    second = reply(client, {"mention_id": "x:1992000000000000001", "text": "Any news, Dana?"})[1]
    listed = get(client, "/mentions/x:1992000000000000001/replies")
    assert listed["mention_id"] == "x:1992000000000000001"
    assert [(r["reply_id"], r["status"], r["text"]) for r in listed["replies"]] == [
        (first["reply_id"], "sent", "Sorry! DM us."),
        (second["reply_id"], "queued", "Any news, Dana?"),
    ]
    missing = client.http.get("/mentions/x:404/replies", headers=AUTH)
    assert missing.status_code == 404 and "no routed mention" in missing.body.decode()


def test_x_dm_is_answered_by_direct_message(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_dm_refund.json")
    reply(client, {"mention_id": "x:1992000000000000100", "text": "Refunded, sorry!"})
    drain_outbox(stack)
    [request] = fakes.accepted("x")
    assert request.path == "/x/2/dm_conversations/with/3001969357/messages"
    assert request.body == {"text": "Refunded, sorry!"}


def test_meta_comments_and_messages(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    for sample in ("meta_page_comments.json", "meta_instagram_comment.json", "meta_messenger.json"):
        assert post_signed(client, "meta", recent_sample(sample)).status_code == 200
    drain_intake(stack)  # written an hour ago: within Messenger's 24 hours
    comment = "facebook:122131676912594941_1213590066982748"
    reply(client, {"mention_id": comment, "text": "We're calling you now."})
    reply(client, {"mention_id": comment, "text": "Details by message.", "private": True})
    reply(
        client,
        {"mention_id": "instagram:17865799348089039", "text": "In stores in Canada next week!"},
    )
    messenger = (
        "messenger:m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48P"
        "nKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
    )
    reply(client, {"mention_id": messenger, "text": "Tracking shows a depot delay."})
    drain_outbox(stack)
    sent = {r.path: r.body for r in fakes.accepted("graph")}
    assert sent["/graph/v25.0/122131676912594941_1213590066982748/comments"] == {
        "message": "We're calling you now."
    }
    assert sent["/graph/v25.0/17865799348089039/replies"] == {
        "message": "In stores in Canada next week!"
    }
    messages = [
        r.body for r in fakes.accepted("graph") if r.path == "/graph/v25.0/448242228374517/messages"
    ]
    assert {
        "recipient": {"comment_id": "122131676912594941_1213590066982748"},
        "message": {"text": "Details by message."},
    } in messages
    answer = next(m for m in messages if m["recipient"].get("id") == "7010000000000001")
    assert answer["messaging_type"] == "RESPONSE" and "tag" not in answer  # within 24 hours


def test_messenger_after_24_hours_uses_the_human_agent_tag(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    two_days_old_message()
    assert reply(client, {"mention_id": "messenger:m_2d", "text": "Yes: it ships today."})[0] == 202
    drain_outbox(stack)
    [sent] = fakes.accepted("graph")
    assert sent.body == {
        "recipient": {"id": "42"},
        "message": {"text": "Yes: it ships today."},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
    }


def two_days_old_message() -> None:
    """A Messenger customer's "any news?" of two days ago, `messenger:m_2d`: past the standard
    24-hour window."""
    store(
        Mention(
            id="messenger:m_2d",
            platform="messenger",
            kind="dm",
            text="any news?",
            created_at=datetime.now(UTC) - timedelta(days=2),
            author=Author(id="42"),
            brand_account="448242228374517",
        )
    )


@pytest.mark.parametrize("takeable", [True, False])
def test_a_reply_in_a_conversation_another_app_holds_takes_it_over_or_says_where_to_answer(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, takeable: bool
) -> None:
    """A chatbot or Meta's inbox holds the conversation (its messages came on the standby
    channel): the Send API refuses with subcode 2018300; Switchboard takes the thread, as
    "take over" in an inbox does, and sends again, or fails the reply saying what to do."""
    text = "I need a person, the bot keeps looping"
    store(
        Mention(
            id="messenger:m_sb",
            platform="messenger",
            kind="dm",
            text=text,
            created_at=datetime.now(UTC),
            author=Author(id="77"),
            brand_account="448242228374517",
            standby=True,
        )
    )
    fakes.held_threads["77"] = takeable
    _, queued = reply(client, {"mention_id": "messenger:m_sb", "text": "Hi, Dana here."})
    drain_outbox(stack)
    calls = [(r.path.rsplit("/", 1)[1], r.status) for r in fakes.requests]
    answered = get(client, f"/replies/{queued['reply_id']}")
    if takeable:
        assert calls == [("messages", 400), ("take_thread_control", 200), ("messages", 200)]
        assert fakes.requests[1].body == {
            "recipient": {"id": "77"},
            "metadata": "a person answers through Switchboard",
        }
        assert answered["status"] == "sent"
    else:
        assert calls == [("messages", 400), ("take_thread_control", 400)]
        assert answered["status"] == "failed"
        assert "another app holds this conversation" in answered["last_error"]
        assert "conversation routing" in answered["last_error"]


@pytest.mark.parametrize(
    ("mention", "variable"),
    [
        (
            Mention(id="x:1992000000000000009", platform="x", text="@AcmeHelp hello?"),
            "X_ACCESS_TOKEN",
        ),
        (
            Mention(id="facebook:1_2", platform="facebook", kind="comment", text="hello?"),
            "META_PAGE_ACCESS_TOKEN",
        ),
        (
            Mention(id="slack:C123/1712345678.000200", platform="slack", text="Is the API down?"),
            "SLACK_BOT_TOKEN",
        ),
    ],
)
def test_credentials_a_platform_refuses_keep_the_reply_queued_and_raise_the_alarm(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    capsys: pytest.CaptureFixture[str],
    mention: Mention,
    variable: str,
) -> None:
    """A token revoked or replaced on the platform (X 401, Graph code 190, Slack invalid_auth)
    is no fault of the reply: it stays queued, tried again in 15 minutes, and the operators hear
    of it (`PlatformCredentialsRefused`), instead of every reply failing until someone notices."""
    from chalicelib.errors import RetryLater

    store(mention)
    os.environ[variable] = "revoked"
    wiring.reset()
    _, queued = reply(client, {"mention_id": mention.id, "text": "On it."})
    with pytest.raises(RetryLater):
        reply_service().send(json.dumps({"reply_id": queued["reply_id"]}))
    metrics.flush_metrics()
    waiting = get(client, f"/replies/{queued['reply_id']}")
    assert waiting["status"] == "queued" and waiting["platform_reply_id"] is None
    assert f"{mention.platform} refused Switchboard's credentials" in waiting["last_error"]
    assert '"PlatformCredentialsRefused":[1.0]' in capsys.readouterr().out


def test_whatsapp_replies_go_from_the_business_number_within_24_hours(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"admin": "U0ADMIN"}))  # who replies here
    wiring.reset()
    routed(client, stack, "meta", "meta_whatsapp.json")
    [message] = bodies(stack["support"])
    mention_id = message["mention"]["id"]
    record = wiring.mentions().get(mention_id)
    assert record is not None
    recent = record.message.mention.model_copy(update={"created_at": datetime.now(UTC)})
    store(recent)
    _, queued = reply(client, {"mention_id": mention_id, "text": "Sorry Priya, checking now."})
    drain_outbox(stack)
    [sent] = fakes.accepted("graph")
    assert sent.path == "/graph/v25.0/106540352242922/messages"
    assert sent.query["access_token"] == CREDENTIALS.whatsapp_access_token
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "text",
        "text": {"body": "Sorry Priya, checking now."},
    }
    answered = get(client, f"/replies/{queued['reply_id']}")
    assert answered["status"] == "sent" and answered["platform_reply_id"].startswith("wamid.")
    assert get(client, f"/mentions/{mention_id}")["first_response_at"] is not None

    # WhatsApp accepted the reply, then could not deliver it (the customer blocked the number):
    # the department hears of it once, however often Meta sends the status
    receive_all(stack["support"])
    failed = json.loads(sample_bytes("meta_whatsapp.json"))
    failed["entry"][0]["changes"] = failed["entry"][0]["changes"][1:]
    [status] = failed["entry"][0]["changes"][0]["value"]["statuses"]
    status.update(id=answered["platform_reply_id"], status="failed")
    status["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    for _ in range(2):
        assert post_signed(client, "meta", json.dumps(failed).encode()).status_code == 200
        drain_intake(stack)
    [copy] = bodies(stack["support"])
    assert copy["mention"]["id"] == mention_id
    assert copy["routing"]["tags"][-1] == "reply-undelivered"
    case = get(client, f"/mentions/{mention_id}")
    assert case["first_response_at"] is None  # back on the clock: nobody has answered her
    undelivered = get(client, f"/replies/{queued['reply_id']}")
    assert undelivered["status"] == "undelivered"
    assert undelivered["last_error"] == "131026 Message undeliverable"
    drain_outbox(stack)  # and whoever wrote it is told, once
    [told] = [m["text"] for m in fakes.slack_messages.values() if m["channel"] == "D0ADMIN"]
    assert told.startswith(
        f"*[NORMAL] your reply ({queued['reply_id']}) to a support case did not reach them:"
        " 131026 Message undeliverable*"
    )

    store(recent.model_copy(update={"created_at": datetime.now(UTC) - timedelta(hours=25)}))
    code, refused = reply(client, {"mention_id": mention_id, "text": "Any news?"})
    assert code == 400 and "only a message template approved in WhatsApp" in refused["message"]


def test_after_24_hours_whatsapp_customers_are_written_to_with_an_approved_template(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """Past WhatsApp's 24 hours (a message on Friday night, answered on Monday) a business may
    send only a message template approved in WhatsApp Manager: Switchboard sends it, with the
    values of its variables, and one WhatsApp does not know fails with WhatsApp's reason."""
    routed(client, stack, "meta", "meta_whatsapp.json")  # written long ago
    [message] = bodies(stack["support"])
    mention_id = message["mention"]["id"]
    template = {"name": "order_update", "language": "en_US", "parameters": ["Priya", "1182"]}
    code, queued = reply(client, {"mention_id": mention_id, "whatsapp_template": template})
    assert code == 202, queued
    drain_outbox(stack)
    [sent] = fakes.accepted("graph")
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"policy": "deterministic", "code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Priya"},
                        {"type": "text", "text": "1182"},
                    ],
                }
            ],
        },
    }
    answered = get(client, f"/replies/{queued['reply_id']}")
    assert answered["status"] == "sent" and answered["whatsapp_template"] == template
    assert answered["text"] == "[WhatsApp template order_update (en_US)]: Priya | 1182"
    assert get(client, f"/mentions/{mention_id}")["first_response_at"] is not None

    # on her phone, then read (blue ticks): the reply says when
    receipt = json.loads(sample_bytes("meta_whatsapp.json"))
    receipt["entry"][0]["changes"] = receipt["entry"][0]["changes"][1:]
    [status] = receipt["entry"][0]["changes"][0]["value"]["statuses"]
    for state, at in (("delivered", 1795400000), ("read", 1795400600)):
        status.update(id=answered["platform_reply_id"], status=state, timestamp=str(at))
        assert post_signed(client, "meta", json.dumps(receipt).encode()).status_code == 200
        drain_intake(stack)
    seen = get(client, f"/replies/{queued['reply_id']}")
    assert seen["status"] == "sent"
    assert (seen["delivered_at"], seen["read_at"]) == (
        "2026-11-23T02:13:20Z",
        "2026-11-23T02:23:20Z",
    )

    unknown = {**template, "language": "de"}
    _, queued = reply(client, {"mention_id": mention_id, "whatsapp_template": unknown})
    drain_outbox(stack)
    failed = get(client, f"/replies/{queued['reply_id']}")
    assert failed["status"] == "failed" and "132001" in failed["last_error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"mention_id": "x:1", "whatsapp_template": {"name": "hi", "language": "en"}},
            "answers a WhatsApp message only",
        ),
        (
            {"text": "Hi", "whatsapp_template": {"name": "hi", "language": "en"}},
            "one of them",
        ),
        (
            {"whatsapp_template": {"name": "hi", "language": "en", "parameters": ["a\nb"]}},
            "without new lines",
        ),
        ({"whatsapp_template": {"name": "Order Update", "language": "en"}}, "name"),
    ],
)
def test_whatsapp_templates_that_cannot_be_sent_are_refused_saying_why(
    client: Client, stack: dict[str, str], body: dict[str, Any], says: str
) -> None:
    store(Mention(id="x:1", platform="x", text="@brand hi"))
    store(Mention(id="whatsapp:wamid.1", platform="whatsapp", kind="dm", text="hi"))
    code, refused = reply(client, {"mention_id": "whatsapp:wamid.1", **body})
    assert code == 400 and says in json.dumps(refused), refused


def test_youtube_and_slack_clients(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    store(
        Mention(
            id="youtube:UgzComment1", platform="youtube", kind="comment", text="Where is part 2?"
        )
    )
    store(Mention(id="slack:C123/1712345678.000200", platform="slack", text="Is the API down?"))
    reply(client, {"mention_id": "youtube:UgzComment1", "text": "Next Friday!"})
    reply(client, {"mention_id": "slack:C123/1712345678.000200", "text": "Looking into it."})
    drain_outbox(stack)
    [yt] = fakes.accepted("youtube")
    assert yt.body == {"snippet": {"parentId": "UgzComment1", "textOriginal": "Next Friday!"}}
    [sl] = fakes.accepted("slack")
    assert sl.body == {
        "channel": "C123",
        "text": "Looking into it.",
        "thread_ts": "1712345678.000200",
    }


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (
            "channel_not_found",
            "failed",
            "channel_not_found (no such channel, or a private one the app is not in)",
        ),
        ("ratelimited", "queued", "rate limited"),
    ],
)
def test_a_slack_error_said_with_ok_false_fails_the_reply_or_waits_for_the_rate_limit(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    error: str,
    status: str,
    reason: str,
) -> None:
    store(Mention(id="slack:C123/1712345678.000200", platform="slack", text="Is the API down?"))
    _, queued = reply(client, {"mention_id": "slack:C123/1712345678.000200", "text": "Looking."})
    fakes.fail_next(200, {"ok": False, "error": error})  # Slack answers 200 and says so inside
    aws.sqs().set_queue_attributes(QueueUrl=stack["outbox"], Attributes={"VisibilityTimeout": "0"})
    from app import app

    worker = QueueWorker(
        aws.sqs(), stack["outbox"], app.handler_map["send_replies"], "us-east-1", wait=0
    )
    assert worker.poll_once() == 1
    answer = get(client, f"/replies/{queued['reply_id']}")
    assert (answer["status"], answer["attempts"], answer["last_error"]) == (status, 1, reason)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"mention_id": "x:404", "text": "hi"}, 404, "no routed mention"),
        ({"mention_id": "x:1992000000000000001", "text": "   "}, 400, "text is empty"),
        ({"mention_id": "x:1992000000000000001", "text": "x" * 281}, 400, "x allows 280"),
        (
            {"mention_id": "x:1992000000000000001", "text": "hi", "private": True},
            400,
            "private replies",
        ),
        ({"mention_id": "x:1992000000000000001"}, 400, "send the reply's text, or a template"),
        ({"mention_id": "reddit:t3_1abc23", "text": "hi"}, 400, "cannot post to reddit"),
    ],
)
def test_reply_validation(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    routed(client, stack, "generic", "generic_listening.json")
    code, answer = reply(client, body)
    assert code == status and message in answer["message"]
    assert receive_all(stack["outbox"]) == []


def test_messenger_window_closes_after_seven_days(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    old = datetime.now(UTC) - timedelta(days=8)
    store(
        Mention(
            id="messenger:m_old",
            platform="messenger",
            kind="dm",
            text="hello?",
            created_at=old,
            author=Author(id="1"),
        )
    )
    code, answer = reply(client, {"mention_id": "messenger:m_old", "text": "Sorry!"})
    assert code == 400 and "over 7 days" in answer["message"]


def test_a_message_with_no_sender_to_write_to_is_refused_at_once(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """A button tapped in a plugin names its person by `user_ref`, not an id the Send API takes."""
    store(Mention(id="messenger:m_ref", platform="messenger", kind="dm", text="Opening hours"))
    code, answer = reply(client, {"mention_id": "messenger:m_ref", "text": "9 to 5!"})
    assert code == 400 and "named no sender" in answer["message"]
    assert receive_all(stack["outbox"]) == []


def test_idempotency_key_and_one_private_reply_per_comment(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    post_signed(client, "meta", recent_sample("meta_page_comments.json"))  # within 7 days
    drain_intake(stack)
    body = {"mention_id": "x:1992000000000000001", "text": "On it", "idempotency_key": "ticket-42"}
    first, second = reply(client, body), reply(client, body)
    assert first == second and first[0] == 202
    assert reply(client, {**body, "text": "Something else"})[0] == 409
    comment = "facebook:122131676912594941_1213590066982748"
    assert reply(client, {"mention_id": comment, "text": "DM sent", "private": True})[0] == 202
    code, answer = reply(client, {"mention_id": comment, "text": "Another DM", "private": True})
    assert code == 409 and "already has a private reply" in answer["message"]
    drain_outbox(stack)
    assert len(fakes.accepted("x")) == 1 and len(fakes.accepted("graph")) == 1


def test_a_reply_the_outbox_cannot_take_is_refused_and_a_retry_sends_it_once(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    aws.sqs().delete_queue(QueueUrl=stack["outbox"])
    keyed = {"mention_id": "x:1992000000000000001", "text": "On it", "idempotency_key": "t-7"}
    code, answer = reply(client, keyed)
    assert code == 503 and answer["error"] == "outbox_unavailable"
    assert "nothing was posted" in answer["message"]
    code, answer = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hello?"})
    assert code == 503  # no key: that reply cannot be asked for again, so it is failed
    assert fakes.accepted("x") == []
    items = aws.dynamodb().scan(TableName=get_settings().replies_table)["Items"]
    stored = [wiring.replies().get(item["reply_id"]["S"]) for item in items]
    assert {(r.text, r.status) for r in stored if r} == {("On it", "queued"), ("Hello?", "failed")}

    from chalicelib.stores.provision import create_queues

    stack.update(create_queues(aws.sqs(), get_settings()))
    wiring.reset()
    code, answer = reply(client, keyed)  # the same request again, once the outbox is back
    assert code == 202 and answer["status"] == "queued"
    drain_outbox(stack)
    assert [r.body["text"] for r in fakes.accepted("x")] == ["On it"]
    assert get(client, f"/replies/{answer['reply_id']}")["status"] == "sent"


def deletion(tweet_id: str) -> bytes:
    """An Account Activity delivery saying its author deleted the post."""
    event = {"status": {"id": tweet_id, "user_id": "3001969357"}, "timestamp_ms": "1795335700000"}
    return json.dumps({"for_user_id": "2244994945", "tweet_delete_events": [event]}).encode()


def test_a_post_its_author_deleted_is_redacted_unanswerable_and_never_escalated(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import app

    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"admin": "U0ADMIN"}))  # who replies here
    wiring.reset()
    routed(client, stack, "x", "x_late_delivery.json")  # posted hours ago: overdue already
    code, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "On it!"})
    assert code == 202  # queued before the deletion arrives, sent after it
    assert post_signed(client, "x", deletion("1992000000000000001")).status_code == 200
    drain_intake(stack)
    drain_outbox(stack)
    assert fakes.accepted("x") == []
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "failed"
    [told] = [m["text"] for m in fakes.slack_messages.values() if m["channel"] == "D0ADMIN"]
    assert told.startswith(
        f"*[NORMAL] your reply ({queued['reply_id']}) to a support case was not posted:"
        " mention x:1992000000000000001 was deleted by its author"
    )
    record = get(client, "/mentions/x:1992000000000000001")
    assert record["deleted_at"] and record["message"]["mention"]["text"] == ""
    assert record["message"]["routing"]["department"] == "support"  # the case history stays
    code, answer = reply(client, {"mention_id": "x:1992000000000000001", "text": "Sorry!"})
    assert code == 409 and "deleted by its author" in answer["message"]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }
    recent = wiring.traffic().recent(10, datetime.now(UTC), 7)
    assert "x:1992000000000000001" not in [o.mention.id for o in recent]


def test_a_post_deleted_before_its_delivery_is_routed_is_never_routed(
    client: Client, stack: dict[str, str]
) -> None:
    assert post_signed(client, "x", deletion("1992000000000000004")).status_code == 200
    drain_intake(stack)
    routed(client, stack, "x", "x_praise_quote.json")  # arrives late, out of order
    assert bodies(stack["marketing"]) == []


def edited_comment(text: str) -> bytes:
    """The Page feed delivery of the sample comment edited to say `text`."""
    sample = json.loads(sample_bytes("meta_page_comments.json"))
    change = sample["entry"][0]["changes"][0]
    change["value"] |= {"verb": "edited", "message": text}
    return json.dumps(
        {"object": "page", "entry": [{**sample["entry"][0], "changes": [change]}]}
    ).encode()


def test_an_edited_comment_reaches_the_departments_with_the_case_once(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # pr, copied to support
    for department in ("pr", "support"):
        assert len(receive_all(stack[department])) == 1  # the first routing, read and deleted
    edit = edited_comment("UPDATE: the blender burned my hand.")
    for _ in range(2):  # Meta retried the delivery: one copy each
        assert post_signed(client, "meta", edit).status_code == 200
        drain_intake(stack)
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["mention"]["text"] == "UPDATE: the blender burned my hand."
        assert "edited" in copy["routing"]["tags"] and copy["routing"]["department"] == "pr"
    record = get(client, "/mentions/facebook:122131676912594941_1213590066982748")
    assert record["edited_at"] and record["message"]["mention"]["text"].startswith("UPDATE")
    assert "edited" not in record["message"]["routing"]["tags"]  # the case itself is unchanged


def moderation(verb: str) -> bytes:
    """The Page feed delivery of the sample comment hidden (`hide`) or shown again (`unhide`)."""
    sample = json.loads(sample_bytes("meta_page_comments.json"))
    change = sample["entry"][0]["changes"][0]
    value = {**change["value"], "verb": verb}
    entry = {**sample["entry"][0], "changes": [{**change, "value": value}]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def test_a_comment_the_page_hides_leaves_the_sla_clock_until_it_is_shown_again(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    routed(client, stack, "meta", "meta_page_comments.json")  # posted long ago: overdue
    for department in ("pr", "support"):
        receive_all(stack[department])  # the case itself, read

    def moderated(verb: str) -> None:
        for _ in range(2):  # Meta retried the delivery: one copy
            assert post_signed(client, "meta", moderation(verb)).status_code == 200
            drain_intake(stack)

    moderated("hide")
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["routing"]["tags"][-1] == "hidden"
    case = "facebook:122131676912594941_1213590066982748"
    assert get(client, f"/mentions/{case}")["hidden_at"]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }
    moderated("unhide")
    assert [m["routing"]["tags"][-1] for m in bodies(stack["pr"])] == ["unhidden"]
    assert get(client, f"/mentions/{case}")["hidden_at"] is None
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [case],
        "given": [],
        "digests": [],
    }


def test_a_comment_hidden_before_its_own_delivery_is_routed_is_hidden_once_it_is(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    assert post_signed(client, "meta", moderation("hide")).status_code == 200  # the filters
    drain_intake(stack)  # hid it at once, and that delivery came first
    assert bodies(stack["pr"]) == []
    routed(client, stack, "meta", "meta_page_comments.json")  # posted long ago: overdue
    for department in ("pr", "support"):
        case, hidden = bodies(stack[department])  # the case, and right behind it the news
        assert "hidden" not in case["routing"]["tags"]
        assert hidden["routing"]["tags"][-1] == "hidden"
    case_id = "facebook:122131676912594941_1213590066982748"
    assert get(client, f"/mentions/{case_id}")["hidden_at"]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }


def test_an_edited_direct_message_reaches_its_case(client: Client, stack: dict[str, str]) -> None:
    sample = json.loads(sample_bytes("meta_messenger.json"))
    [first, _echo] = sample["entry"][0]["messaging"]
    mid = first["message"]["mid"]
    routed(client, stack, "meta", "meta_messenger.json")
    assert len(receive_all(stack["support"])) == 2  # the message, and that the Page answered it

    def deliver(event: dict[str, Any]) -> None:
        body = {"object": "page", "entry": [{**sample["entry"][0], "messaging": [event]}]}
        assert post_signed(client, "meta", json.dumps(body).encode()).status_code == 200
        drain_intake(stack)

    who = {key: first[key] for key in ("sender", "recipient", "timestamp")}
    deliver({**who, "message_edit": {"mid": mid, "text": "Order 5512, sorry", "num_edit": 1}})
    [copy] = bodies(stack["support"])
    assert copy["mention"]["text"] == "Order 5512, sorry" and "edited" in copy["routing"]["tags"]
    assert get(client, f"/mentions/messenger:{mid}")["message"]["mention"]["text"].endswith("sorry")


def x_edit(first: str, *later: str, text: str) -> bytes:
    """An Account Activity delivery of the post `first` edited into `later[-1]` (X gives every
    edit a new id and lists the versions, oldest first, in its edit history)."""
    tweet = json.loads(sample_bytes("x_late_delivery.json"))["tweet_create_events"][0]
    tweet |= {"id": int(later[-1]), "id_str": later[-1], "text": text}
    tweet["edit_history"] = {"initial_tweet_id": first, "edit_tweet_ids": [first, *later]}
    return json.dumps({"for_user_id": "2244994945", "tweet_create_events": [tweet]}).encode()


def test_an_edited_x_post_updates_its_case_and_replies_answer_the_version_people_see(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    first, edit = "1992000000000000001", "1992000000000000009"
    routed(client, stack, "x", "x_late_delivery.json")
    assert len(receive_all(stack["support"])) == 1
    edited = x_edit(first, edit, text="@AcmeHelp order #88213 is lost")
    for _ in range(2):  # X retried the delivery: one copy
        assert post_signed(client, "x", edited).status_code == 200
        drain_intake(stack)
    [copy] = bodies(stack["support"])
    assert copy["mention"]["id"] == f"x:{first}" and "edited" in copy["routing"]["tags"]
    assert copy["mention"]["text"] == "@AcmeHelp order #88213 is lost"
    assert copy["mention"]["url"] == f"https://x.com/i/status/{edit}"
    assert get(client, f"/mentions/x:{edit}")["id"] == f"x:{first}"  # the case: no new one
    record = get(client, f"/mentions/x:{first}")
    assert record["versions"] == [f"x:{edit}"] and record["message"]["mention"]["text"].endswith(
        "lost"
    )
    code, queued = reply(client, {"mention_id": f"x:{edit}", "text": "Found it, sorry!"})
    assert (
        code == 202 and get(client, f"/replies/{queued['reply_id']}")["mention_id"] == f"x:{first}"
    )
    drain_outbox(stack)
    [request] = fakes.accepted("x")
    assert request.body["reply"] == {"in_reply_to_tweet_id": edit}
    assert post_signed(client, "x", deletion(edit)).status_code == 200  # deletes every version
    drain_intake(stack)
    record = get(client, f"/mentions/x:{first}")
    assert record["deleted_at"] and record["message"]["mention"]["text"] == ""
    assert record["message"]["routing"]["department"] == "support"


def test_a_late_retry_of_an_older_x_edit_does_not_undo_a_newer_one(
    client: Client, stack: dict[str, str]
) -> None:
    first, edit, newer = "1992000000000000001", "1992000000000000009", "1992000000000000010"
    routed(client, stack, "x", "x_late_delivery.json")
    later = x_edit(first, edit, newer, text="@AcmeHelp order #88213 is lost, 3 weeks now")
    earlier = x_edit(first, edit, text="@AcmeHelp order #88213 is lost")
    for body in (later, earlier):
        assert post_signed(client, "x", body).status_code == 200
        drain_intake(stack)
    [_, copy] = bodies(stack["support"])  # the case, then the newer edit only
    assert copy["mention"]["text"].endswith("3 weeks now")
    record = get(client, f"/mentions/x:{first}")
    assert record["versions"] == [f"x:{newer}"]
    assert record["message"]["mention"]["text"].endswith("3 weeks now")


def test_an_edit_that_names_the_brand_opens_the_case_that_later_edits_update(
    client: Client, stack: dict[str, str]
) -> None:
    first, named, newer = "1992000000000000020", "1992000000000000021", "1992000000000000022"
    named_text = "@AcmeHelp my order #88213 never arrived. Where is it?"
    assert post_signed(client, "x", x_edit(first, named, text=named_text)).status_code == 200
    drain_intake(stack)  # the first version did not name the brand: X never sent it
    [case] = bodies(stack["support"])
    assert case["mention"]["id"] == f"x:{named}" and case["mention"]["edit_of"] == f"x:{first}"
    final = x_edit(first, named, newer, text=f"{named_text} Still nothing.")
    assert post_signed(client, "x", final).status_code == 200
    drain_intake(stack)
    [copy] = bodies(stack["support"])
    assert copy["mention"]["id"] == f"x:{named}" and "edited" in copy["routing"]["tags"]
    assert get(client, f"/mentions/x:{newer}")["id"] == f"x:{named}"
    assert post_signed(client, "x", deletion(first)).status_code == 200
    drain_intake(stack)
    assert get(client, f"/mentions/x:{named}")["deleted_at"]


def test_a_post_that_arrives_after_its_own_edit_is_not_a_second_case(
    client: Client, stack: dict[str, str]
) -> None:
    first, edit = "1992000000000000001", "1992000000000000009"
    edited = x_edit(first, edit, text="@AcmeHelp order #88213 never arrived, 2 weeks now")
    assert post_signed(client, "x", edited).status_code == 200
    drain_intake(stack)  # the first version's delivery failed and is retried later
    routed(client, stack, "x", "x_late_delivery.json")
    [case] = bodies(stack["support"])
    assert case["mention"]["id"] == f"x:{edit}"
    assert get(client, f"/mentions/x:{first}")["id"] == f"x:{edit}"  # the one case


def test_rate_limit_is_retried_after_the_reset(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    reset = int(datetime.now(UTC).timestamp()) + 120
    fakes.fail_next(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})
    aws.sqs().set_queue_attributes(QueueUrl=stack["outbox"], Attributes={"VisibilityTimeout": "0"})
    from app import app

    worker = QueueWorker(
        aws.sqs(), stack["outbox"], app.handler_map["send_replies"], "us-east-1", wait=0
    )
    assert worker.poll_once() == 1
    waiting = get(client, f"/replies/{queued['reply_id']}")
    assert (
        waiting["status"] == "queued"
        and waiting["attempts"] == 1
        and "rate limited" in waiting["last_error"]
    )
    assert worker.poll_once() == 0  # hidden until the reset: its visibility moved to ~120 s
    assert fakes.accepted("x") == []


def test_graph_rate_limit_error_is_retried_after_the_advertised_wait(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    comment = "facebook:122131676912594941_1213590066982748"
    _, queued = reply(client, {"mention_id": comment, "text": "We're on it."})
    usage = [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 2}]
    fakes.fail_next(
        400,
        {"error": {"message": "(#32) Page request limit reached", "code": 32}},
        {"X-Business-Use-Case-Usage": json.dumps({"122131676912594941": usage})},
    )
    aws.sqs().set_queue_attributes(QueueUrl=stack["outbox"], Attributes={"VisibilityTimeout": "0"})
    from app import app

    worker = QueueWorker(
        aws.sqs(), stack["outbox"], app.handler_map["send_replies"], "us-east-1", wait=0
    )
    assert worker.poll_once() == 1
    waiting = get(client, f"/replies/{queued['reply_id']}")
    assert waiting["status"] == "queued" and "Page request limit" in waiting["last_error"]
    assert worker.poll_once() == 0  # hidden for the two minutes Graph asked for
    assert receive_all(stack["outbox-dlq"]) == []


def test_server_error_then_success_posts_once(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    fakes.fail_next(503, {"title": "Service Unavailable"})
    service = reply_service()
    body = json.dumps({"reply_id": queued["reply_id"]})
    with pytest.raises(Exception, match=r"platform error 503|X server error"):
        service.send(body)
    service.send(body)
    service.send(body)  # a late redelivery of the same message
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert (
        len(fakes.accepted("x")) == 1
        and get(client, f"/replies/{queued['reply_id']}")["attempts"] == 2
    )


def test_rejection_goes_to_the_dlq_with_the_platform_error(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    fakes.fail_next(
        403, {"detail": "You are not allowed to create a Tweet with duplicate content."}
    )
    drain_outbox(stack)
    failed = get(client, f"/replies/{queued['reply_id']}")
    assert failed["status"] == "failed" and "duplicate content" in failed["last_error"]
    [dead] = receive_all(stack["outbox-dlq"])
    assert "duplicate content" in dead["MessageAttributes"]["error"]["StringValue"]


def test_crash_after_the_platform_call_never_posts_twice(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    service = reply_service()
    body = json.dumps({"reply_id": queued["reply_id"]})
    store_ = wiring.replies()
    real_finish = store_.finish

    def crash(reply_id: str, status: str, **fields: Any) -> None:
        raise SystemExit("worker killed after the platform call")

    monkeypatch.setattr(store_, "finish", crash)
    with pytest.raises(SystemExit):
        service.send(body)
    monkeypatch.setattr(store_, "finish", real_finish)
    assert len(fakes.accepted("x")) == 1
    # SQS redelivers while the lease runs: retried later, not sent
    with pytest.raises(Exception, match="being sent by another worker"):
        service.send(body)
    # after the lease, the reply is marked uncertain and dead-lettered, never re-posted
    service.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(Exception, match="may have been posted"):
        service.send(body)
    assert len(fakes.accepted("x")) == 1
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "uncertain"


def test_a_store_failure_before_the_platform_call_leaves_the_reply_queued_for_a_retry(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading what the reply answers comes before the claim: nothing was posted, so the retry
    sends it (a claim left behind would turn it `uncertain`, never sent)."""
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    service = reply_service()
    body = json.dumps({"reply_id": queued["reply_id"]})

    def unreadable(*_: Any) -> None:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(replies_service, "answered_with", unreadable)
    with pytest.raises(ConnectionError):
        service.send(body)
    monkeypatch.undo()
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "queued"
    service.send(body)  # SQS redelivers it
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert len(fakes.accepted("x")) == 1


def test_reply_to_a_mention_no_longer_stored_is_dead_lettered_unsent_and_its_author_told(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"admin": "U0ADMIN"}))  # who replies here
    wiring.reset()
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    aws.dynamodb().delete_item(
        TableName="switchboard-mentions", Key={"id": {"S": "x:1992000000000000001"}}
    )
    drain_outbox(stack)
    assert fakes.accepted("x") == []
    failed = get(client, f"/replies/{queued['reply_id']}")
    assert failed["status"] == "failed" and "no longer stored" in failed["last_error"]
    [dead] = receive_all(stack["outbox-dlq"])
    assert "no longer stored" in dead["MessageAttributes"]["error"]["StringValue"]
    [told] = [m["text"] for m in fakes.slack_messages.values() if m["channel"] == "D0ADMIN"]
    assert told == (
        f"*your reply ({queued['reply_id']}) to x:1992000000000000001 was not posted: mention"
        " x:1992000000000000001 is no longer stored*"
    )


def test_unreachable_platform_is_retried_later(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Hi"})
    os.environ["X_API_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens: refused
    wiring.reset()
    service = reply_service()
    with pytest.raises(Exception, match="could not connect"):
        service.send(json.dumps({"reply_id": queued["reply_id"]}))
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "queued"


def test_a_reply_whose_retries_run_out_is_dead_lettered_saying_why_and_told_to_its_author(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox's last receive of a reply the platform never answered: the worker
    dead-letters it, still queued, with the last failure, and whoever wrote it hears in their
    own chat that it did not go; the receives before it say nothing (a retry may still post
    it)."""
    from app import app

    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"admin": "U0ADMIN"}))  # who replies here
    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "On it!"})
    monkeypatch.setenv("X_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens: refused
    wiring.reset()
    [message] = aws.sqs().receive_message(QueueUrl=stack["outbox"])["Messages"]

    def delivered(receives: int) -> dict[str, Any]:
        message["Attributes"] = {"ApproximateReceiveCount": str(receives)}
        event = lambda_sqs_event([message], "arn:aws:sqs:::outbox", "us-east-1")
        return app.handler_map["send_replies"](event, LambdaContext(60))

    failed = {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert delivered(4) == failed
    drain_outbox(stack)  # the reply itself is out of sight, backing off
    assert [m for m in fakes.slack_messages.values() if m["channel"] == "D0ADMIN"] == []
    assert delivered(5) == {"batchItemFailures": []}  # handled: dead-lettered, saying why
    [dead] = receive_all(stack["outbox-dlq"])
    assert dead["MessageAttributes"]["error"]["StringValue"].startswith(
        "failed 5 times, the last: "
    )
    drain_outbox(stack)
    [told] = [m["text"] for m in fakes.slack_messages.values() if m["channel"] == "D0ADMIN"]
    assert told.startswith(
        f"*[NORMAL] your reply ({queued['reply_id']}) to a support case is not posted yet"
        " (could not connect"
    )
    assert "waits in the outbox's dead-letter queue for an admin to send it again" in told
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "queued"
    assert fakes.accepted("x") == []


def test_overdue_mentions_are_escalated_once(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    from app import app

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    store(
        Mention(id="x:overdue", platform="x", text="hello??", created_at=long_ago),
        "support",
        long_ago,
    )
    store(Mention(id="x:fresh", platform="x", text="hi"), "support")
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result == {"escalated": ["x:overdue"], "given": [], "digests": []}
    [copy] = bodies(stack["support"])
    assert copy["mention"]["id"] == "x:overdue"
    assert copy["routing"]["priority"] == "high" and "sla-breach" in copy["routing"]["tags"]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }
    assert get(client, "/mentions/x:overdue")["escalated_at"]


def test_an_escalation_that_cannot_be_sent_waits_for_the_next_run_without_blocking_others(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    from app import app

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    for mention_id, department in (("x:late-pr", "pr"), ("x:late-support", "support")):
        mention = Mention(id=mention_id, platform="x", text="hello??", created_at=long_ago)
        store(mention, department, long_ago)
    aws.sqs().delete_queue(QueueUrl=stack["pr"])
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result == {"escalated": ["x:late-support"], "given": [], "digests": []}
    assert get(client, "/mentions/x:late-pr")["escalated_at"] is None

    from chalicelib.stores.provision import create_queues

    stack.update(create_queues(aws.sqs(), get_settings()))
    wiring.reset()
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": ["x:late-pr"],
        "given": [],
        "digests": [],
    }
    [copy] = bodies(stack["pr"])
    assert copy["mention"]["id"] == "x:late-pr" and "sla-breach" in copy["routing"]["tags"]


def test_a_customer_answering_the_brand_stays_with_the_conversation_department(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_food_safety_thread.json")  # routed to pr
    _, queued = reply(
        client, {"mention_id": "x:1992000000000000002", "text": "Please DM us the details."}
    )
    drain_outbox(stack)
    posted = get(client, f"/replies/{queued['reply_id']}")["platform_reply_id"]

    follow_up = {
        "for_user_id": "2244994945",
        "tweet_create_events": [
            {
                "created_at": "Sun Nov 22 09:00:00 +0000 2026",
                "id_str": "1992000000000000777",
                "text": "@AcmeHelp ok, sent everything by message just now.",
                "in_reply_to_status_id_str": posted,
                "in_reply_to_user_id_str": "2244994945",
                "user": {"id_str": "99110022", "screen_name": "samortega_news"},
                "entities": {
                    "user_mentions": [{"screen_name": "AcmeHelp", "id_str": "2244994945"}]
                },
                "lang": "en",
            }
        ],
    }
    assert post_signed(client, "x", json.dumps(follow_up).encode()).status_code == 200
    drain_intake(stack)
    record = get(client, "/mentions/x:1992000000000000777")
    routing = record["message"]["routing"]
    assert routing["department"] == "pr" and "follow-up" in routing["tags"]
    assert routing["matched_rules"][-1] == {
        "id": "follow-up-pr",  # the default ruleset's rule for replies in PR conversations
        "why": "conversation.department is 'pr'",
    }
    # the department sees which case it continues, to open it with GET /mentions/{id}
    assert routing["conversation"] == {"mention_id": "x:1992000000000000002", "department": "pr"}

    # A dry-run replays the conversation too: a candidate rule that takes the follow-up shows
    # it leaving pr, where it really went.
    rule = {"id": "by-message", "order": 1, "when": {"text": {"contains_any": ["message"]}},
            "then": {"route_to": "marketing"}}  # fmt: skip
    status, report = call(
        client, "POST", "/admin/rules/test", {"rules": [rule, *live(client)["rules"]]}
    )
    assert status == 200
    [change] = [c for c in report["changes"] if c["id"] == "x:1992000000000000777"]
    assert change["live"]["department"] == "pr" and change["live"]["rule"] == "follow-up-pr"
    assert change["candidate"]["department"] == "marketing"


def test_a_reply_is_sent_once_even_when_its_bookkeeping_fails(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store(Mention(id="youtube:UgzComment1", platform="youtube", kind="comment", text="Part 2?"))
    _, queued = reply(client, {"mention_id": "youtube:UgzComment1", "text": "Friday!"})

    def full(*args: Any) -> None:
        raise RuntimeError("Item size has exceeded the maximum allowed size")

    monkeypatch.setattr(wiring.cursors(), "add", full)  # the followed-threads set
    monkeypatch.setattr(wiring.mentions(), "link", full)
    body = json.dumps({"reply_id": queued["reply_id"]})
    metrics.clear_metrics()
    reply_service().send(body)
    reply_service().send(body)  # a redelivery
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert len(fakes.accepted("youtube")) == 1
    assert metrics.metric_set["ReplyBookkeepingFailures"]["Value"] == [1.0, 1.0]


def test_a_reply_is_not_started_without_time_to_finish_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """The last replies of a batch slowed down by the platform go back to the outbox untouched
    rather than being cut off mid-post by the function's timeout (and left `uncertain`)."""
    from app import app

    routed(client, stack, "x", "x_late_delivery.json")
    _, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "On it!"})
    received = aws.sqs().receive_message(QueueUrl=stack["outbox"], MessageAttributeNames=["All"])
    event = lambda_sqs_event(received["Messages"], "arn:aws:sqs:::outbox", "us-east-1")
    answer = app.handler_map["send_replies"](event, LambdaContext(8))  # under 2 timeouts + 5
    assert answer["batchItemFailures"] == []  # queued anew, not failed: no receive counted
    assert fakes.accepted("x") == []
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "queued"
    [again] = receive_all(stack["outbox"])
    assert again["Body"] == received["Messages"][0]["Body"]
    reply_service().send(again["Body"])  # the next invocation, with time
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    assert len(fakes.accepted("x")) == 1


def whatsapp_message(text: str, hours_ago: float) -> bytes:
    """The sample's customer writing `text`, `hours_ago`, as one message of its own."""
    delivery = json.loads(sample_bytes("meta_whatsapp.json"))
    value = delivery["entry"][0]["changes"][0]["value"]
    sent = datetime.now(UTC) - timedelta(hours=hours_ago)
    value["messages"] = [
        {
            "from": "447700900123",
            "id": f"wamid.{int(sent.timestamp())}",
            "timestamp": str(int(sent.timestamp())),
            "type": "text",
            "text": {"body": text},
        }
    ]
    delivery["entry"][0]["changes"] = delivery["entry"][0]["changes"][:1]
    return json.dumps(delivery).encode()


def test_a_direct_message_answered_late_counts_the_window_from_the_customers_last_message(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """WhatsApp's 24 hours (Messenger's too) run from the customer's latest message: an answer
    to the case they opened yesterday goes out when they wrote again an hour ago, and it
    answers both messages."""
    for text, hours_ago in (("My order 1182 never arrived.", 30), ("Hello?? Anyone?", 1)):
        assert post_signed(client, "meta", whatsapp_message(text, hours_ago)).status_code == 200
        drain_intake(stack)
    first, again = bodies(stack["support"])
    assert again["routing"]["conversation"]["mention_id"] == first["mention"]["id"]
    code, queued = reply(client, {"mention_id": first["mention"]["id"], "text": "Sorry, on it."})
    assert code == 202, queued
    drain_outbox(stack)
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    for message in (first, again):
        assert get(client, f"/mentions/{message['mention']['id']}")["first_response_at"]
