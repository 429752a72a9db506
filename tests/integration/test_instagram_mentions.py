"""Instagram @mentions arrive as ids only: the routing worker reads their text from the Graph
API (fake server) before classifying them, and replies go through the brand's `mentions` edge."""

from __future__ import annotations

import os
from typing import Any

from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.devstack import lambda_sqs_event
from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import LambdaContext, sample_bytes
from tests.integration.conftest import post_signed
from tests.integration.test_replies import drain_outbox, reply, routed
from tests.integration.test_routing_flow import department_bodies

IG_USER = "17841405726653026"
COMMENT, MEDIA, CAPTION_MEDIA = "17894227972186120", "17918195224117851", "17918195224117999"


def routed_mentions(stack: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every routed mention by id, from every department queue."""
    queued = department_bodies(stack).values()
    return {message["mention"]["id"]: message for messages in queued for message in messages}


def test_mention_text_is_fetched_and_routes_the_mention(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.instagram[COMMENT] = {
        "text": "@brand my order never arrived and nobody answers, refund please",
        "timestamp": "2026-11-20T09:30:00+0000",
        "like_count": 3,
    }
    fakes.instagram[CAPTION_MEDIA] = {
        "caption": "Loving my new @brand sneakers, best purchase this year!",
        "timestamp": "Nov 20",  # an unreadable time is left out, the text is kept
        "username": "sneakerhead",
        "permalink": "https://www.instagram.com/p/DAbc123/",
    }
    routed(client, stack, "meta", "meta_instagram_mention.json")

    reads = fakes.accepted("graph", "GET")
    assert {r.path for r in reads} == {f"/graph/v25.0/{IG_USER}"}
    messages = routed_mentions(stack)
    comment = messages[f"instagram:{COMMENT}"]
    assert comment["mention"]["text"].startswith("@brand my order never arrived")
    assert comment["mention"]["created_at"].startswith("2026-11-20T09:30:00")
    assert comment["routing"]["department"] == "support"
    assert comment["mention"]["engagement"] == 3  # its likes: the reach of the post
    caption = messages[f"instagram:{CAPTION_MEDIA}"]
    assert caption["mention"]["author"]["handle"] == "sneakerhead"
    assert caption["mention"].get("created_at") is None
    assert caption["mention"]["urls"] == ["https://www.instagram.com/p/DAbc123/"]
    assert caption["mention"]["engagement"] == 0
    assert caption["routing"]["department"] == "marketing"


def test_replies_to_mentions_use_the_brand_mentions_edge(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.instagram[COMMENT] = {"text": "@brand where is my order?"}
    fakes.instagram[CAPTION_MEDIA] = {"caption": "with @brand today"}
    routed(client, stack, "meta", "meta_instagram_mention.json")
    reply(client, {"mention_id": f"instagram:{COMMENT}", "text": "Sorry! Check your DMs."})
    reply(client, {"mention_id": f"instagram:{CAPTION_MEDIA}", "text": "Looking good!"})
    drain_outbox(stack)

    posts = fakes.accepted("graph", "POST")
    assert [(r.path, r.body) for r in posts] == [
        (
            f"/graph/v25.0/{IG_USER}/mentions",
            {"media_id": MEDIA, "message": "Sorry! Check your DMs.", "comment_id": COMMENT},
        ),
        (
            f"/graph/v25.0/{IG_USER}/mentions",
            {"media_id": CAPTION_MEDIA, "message": "Looking good!"},
        ),
    ]


def test_a_failed_read_still_routes_the_mention_without_text(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.instagram[COMMENT] = {"text": "@brand hello"}
    # The caption read fails (unknown to the fake, as for comments disabled or deleted media).
    routed(client, stack, "meta", "meta_instagram_mention.json")
    messages = routed_mentions(stack)
    assert messages[f"instagram:{COMMENT}"]["mention"]["text"] == "@brand hello"
    unread = messages[f"instagram:{CAPTION_MEDIA}"]
    assert unread["mention"]["text"] == "" and unread["routing"]["department"] == "triage"
    failed = [r for r in fakes.requests if r.method == "GET" and r.status >= 400]
    assert len(failed) == 1


def test_without_a_graph_token_nothing_is_read(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    os.environ["META_PAGE_ACCESS_TOKEN"] = ""
    wiring.reset()
    routed(client, stack, "meta", "meta_instagram_mention.json")
    assert fakes.requests == []
    # Nothing to read: a human looks at them in triage rather than the model guessing "ignore".
    departments = {m["routing"]["department"] for m in routed_mentions(stack).values()}
    assert departments == {"triage"}


def test_a_batch_short_of_time_routes_mentions_without_reading_their_text(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """A slow Graph API must not hold a batch past its Lambda's timeout (the whole batch would
    come back, again and again): with too little time left, nothing is read, all is routed."""
    from app import app

    fakes.instagram[COMMENT] = {"text": "@brand my order never arrived"}
    assert (
        post_signed(client, "meta", sample_bytes("meta_instagram_mention.json")).status_code == 200
    )
    received = aws.sqs().receive_message(
        QueueUrl=stack["intake"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    event = lambda_sqs_event(received, "arn:aws:sqs:us-east-1:123456789012:intake", "us-east-1")
    answer = app.handler_map["route_mentions"](event, LambdaContext(58, 8))  # then too little
    assert answer == {"batchItemFailures": []}
    assert fakes.requests == []
    unread = routed_mentions(stack)
    assert {m["mention"]["text"] for m in unread.values()} == {""}
    assert {m["routing"]["department"] for m in unread.values()} == {"triage"}
