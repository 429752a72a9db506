"""The X mentions poller behind the webhook: `GET /2/users/:id/mentions` (fake X API, OAuth 1.0a
over the query) catches posts a webhook delivery missed; one the webhook already routed is not
routed twice."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import LambdaContext
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_replies import routed
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_youtube_poller import CHANNEL, poll, thread

BRAND = "2244994945"


def post(post_id: str, text: str, age: timedelta, author: str = "3001969357") -> dict[str, Any]:
    """A post as `GET /2/users/:id/mentions` returns it, with its author for the expansion."""
    return {
        "id": post_id,
        "text": text,
        "author_id": author,
        "created_at": (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": "en",
        "entities": {"mentions": [{"username": "AcmeHelp", "id": BRAND}]},
        "author": {
            "id": author,
            "username": f"user{author[-3:]}",
            "name": "A Customer",
            "public_metrics": {"followers_count": 4200},
            "verified": False,
        },
    }


def enable_x_polling() -> None:
    os.environ["X_POLL_ACCOUNTS"] = BRAND
    wiring.reset()


def test_missed_posts_are_routed_once_and_the_next_poll_starts_after_them(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    enable_x_polling()
    routed(client, stack, "x", "x_late_delivery.json")  # the webhook delivered this one
    webhook_text = "@AcmeHelp my order #88213 never arrived and nobody answers my emails."
    fakes.x_mentions[BRAND] = [
        post(
            "1992000000000000300",
            "@AcmeHelp you charged my card twice, refund please",
            timedelta(0),
        ),
        post(
            "1992000000000000299", "@AcmeHelp thanks, brilliant support today!", timedelta(hours=1)
        ),
        post("1992000000000000001", webhook_text, timedelta(hours=2), author="1158276305785221121"),
        post("1992000000000000200", "@AcmeHelp hello from last week", timedelta(days=7)),
        post("1992000000000000100", "@AcmeHelp our own announcement", timedelta(0), author=BRAND),
    ]
    first = routed_mentions(stack)
    assert set(first) == {"x:1992000000000000001"}

    poll()
    drain_intake(stack)
    second = routed_mentions(stack)
    # Missed by the webhook: routed; the webhook's post: not again; last week's and the brand's
    # own: left out by the first poll.
    assert set(second) == {"x:1992000000000000300", "x:1992000000000000299"}
    assert second["x:1992000000000000300"]["routing"]["department"] == "support"
    assert second["x:1992000000000000299"]["routing"]["department"] == "marketing"
    author = second["x:1992000000000000300"]["mention"]["author"]
    assert author["handle"] == "user357" and author["followers"] == 4200

    fakes.x_mentions[BRAND].insert(
        0, post("1992000000000000301", "@AcmeHelp is the app down?", timedelta(0))
    )
    assert poll() == {"queued": 1}
    first_read, second_read = fakes.accepted("x", "GET")
    assert first_read.path == second_read.path == f"/x/2/users/{BRAND}/mentions"
    assert "since_id" not in first_read.query
    assert second_read.query["since_id"] == "1992000000000000300"
    assert second_read.query["expansions"].split(",")[0] == "author_id"


def test_a_failing_source_does_not_hold_up_the_others(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    enable_x_polling()
    fakes.x_mentions[BRAND] = [post("1992000000000000300", "@AcmeHelp hi", timedelta(0))]
    fakes.youtube_threads[CHANNEL] = [thread(1, "a channel comment", timedelta(0))]
    fakes.fail_next(503, {"title": "Service Unavailable"})  # X, read first
    assert poll() == {"queued": 1}
    assert wiring.cursors().get(f"x:{BRAND}") is None  # retried next run
    assert wiring.cursors().get(f"youtube:{CHANNEL}") is not None


def test_a_malformed_post_is_skipped_and_the_poll_moves_on(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """One post X sends without a readable date must not stop the account's polling for good
    (its cursor would never move) nor the other sources of the run."""
    enable_x_polling()
    broken = post("1992000000000000321", "@AcmeHelp hello", timedelta(0))
    broken["created_at"] = "yesterday"
    fakes.x_mentions[BRAND] = [post("1992000000000000322", "@AcmeHelp hi", timedelta(0)), broken]
    fakes.youtube_threads[CHANNEL] = [thread(1, "a channel comment", timedelta(0))]
    assert poll() == {"queued": 2}
    assert wiring.cursors().get(f"x:{BRAND}") == "1992000000000000322"
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"x:1992000000000000322", "youtube:Ugcomment1"}


def test_a_polled_reply_that_only_tags_the_brand_along_is_not_routed(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    os.environ["BRAND_ACCOUNTS"] = f"{BRAND},777"  # 777: the brand's other account, @AcmeDeals
    enable_x_polling()

    def reply(post_id: str, to: tuple[str, str], text: str) -> dict[str, Any]:
        """A reply to `to` (handle, id) that X prefixed with its handle and @AcmeHelp."""
        reply = post(post_id, f"@{to[0]} @AcmeHelp {text}", timedelta(0))
        reply["in_reply_to_user_id"] = to[1]
        reply["display_text_range"] = [len(to[0]) + 11, len(reply["text"])]
        reply["entities"] = {
            "mentions": [
                {"start": 0, "end": len(to[0]) + 1, "username": to[0], "id": to[1]},
                {"start": len(to[0]) + 2, "end": len(to[0]) + 11, "username": "AcmeHelp",
                 "id": BRAND},
            ]
        }  # fmt: skip
        return reply

    text = "that's the blender I ordered"
    fakes.x_mentions[BRAND] = [
        reply("1992000000000000311", ("AcmeDeals", "777"), text),  # answers the brand: support
        reply("1992000000000000310", ("jamie_r", "155"), text),  # answers a friend: chatter
    ]
    assert poll() == {"queued": 2}
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"x:1992000000000000311"}
    [read] = fakes.accepted("x", "GET")
    assert "display_text_range" in read.query["tweet.fields"].split(",")


def test_a_polled_quote_reaches_its_department_with_the_post_it_quotes(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    enable_x_polling()
    announcement = post("1992000000000000250", "Our winter menu is here!", timedelta(days=1), BRAND)
    fakes.x_posts["1992000000000000250"] = announcement
    quote = post("1992000000000000301", "Absolutely love it, best launch this year!", timedelta(0))
    quote["referenced_tweets"] = [{"type": "quoted", "id": "1992000000000000250"}]
    fakes.x_mentions[BRAND] = [quote]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    message = routed_mentions(stack)["x:1992000000000000301"]
    assert message["mention"]["kind"] == "quote"
    assert message["mention"]["quoted"] == {
        "id": "x:1992000000000000250",
        "text": "Our winter menu is here!",
        "author": "user945",
    }
    [read] = fakes.accepted("x", "GET")
    assert read.query["expansions"] == (
        "author_id,referenced_tweets.id,referenced_tweets.id.author_id,attachments.media_keys"
    )


def test_a_polled_post_brings_its_photo(stack: dict[str, str], fakes: FakePlatforms) -> None:
    enable_x_polling()
    photo = "https://pbs.twimg.com/media/GdAmG3pWkAAx1yZ.jpg"
    damaged = post("1992000000000000302", "@AcmeHelp this is how it arrived", timedelta(0))
    damaged["attachments"] = {"media_keys": ["3_1992000000000000302"]}
    damaged["media"] = [{"media_key": "3_1992000000000000302", "type": "photo", "url": photo}]
    fakes.x_mentions[BRAND] = [damaged]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    message = routed_mentions(stack)["x:1992000000000000302"]
    assert message["mention"]["attachments"] == [
        {"kind": "image", "url": photo, "media_id": None, "mime_type": None, "filename": None}
    ]
    [read] = fakes.accepted("x", "GET")
    assert read.query["media.fields"] == "type,url,preview_image_url,variants"


def test_more_new_posts_than_x_gives_raise_the_alarm_metric(
    stack: dict[str, str], fakes: FakePlatforms, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.services.polling import X_MAX_PAGES

    enable_x_polling()
    fakes.x_mentions[BRAND] = [post("1992000000000000001", "@AcmeHelp hi", timedelta(0))]
    assert poll() == {"queued": 1}  # the first poll sets the cursor
    burst = [
        post(str(1992000000000100000 + n), f"@AcmeHelp outage {n}", timedelta(0))
        for n in range(X_MAX_PAGES * 100 + 20)
    ]
    fakes.x_mentions[BRAND] = burst[::-1] + fakes.x_mentions[BRAND]  # newest first
    capsys.readouterr()
    assert poll() == {"queued": 800}  # all X's endpoint gives: its 800 most recent
    flushed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [m["PollPageLimit"] for m in flushed if "PollPageLimit" in m] == [[1.0]]
    assert wiring.cursors().get(f"x:{BRAND}") == burst[-1]["id"]


def test_a_run_short_of_time_reads_x_first_and_leaves_youtube_for_the_next(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    from app import app
    from chalicelib.devstack import scheduled_event

    enable_x_polling()
    fakes.x_mentions[BRAND] = [post("1992000000000000300", "@AcmeHelp refund?", timedelta(0))]
    fakes.youtube_threads[CHANNEL] = [thread(1, "Where is part 2?", timedelta(0))]
    handler = app.handler_map["poll_platforms"]
    handler(scheduled_event(), LambdaContext(58, 8))  # after X, less than two timeouts (2 s) + 5
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"x:1992000000000000300"}
    assert not fakes.accepted("youtube")  # deferred, its cursor untouched
    handler(scheduled_event(), LambdaContext(58))
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"youtube:Ugcomment1"}
