"""YouTube pushes no comments: the poll_platforms schedule reads new comment threads (fake Data API)
and queues them on the intake; the routing worker routes them like any other mention."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.devstack import scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import Mention
from chalicelib.platforms import youtube
from chalicelib.services.polling import (
    FOLLOWED_THREADS,
    follow_thread,
    followed_threads,
    replies_cursor,
)
from tests.integration.conftest import receive_all
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_replies import drain_outbox, reply
from tests.integration.test_routing_flow import drain_intake

CHANNEL = "UCacmeChannel0000000000"
OTHER = "UCsecondChannel000000000"


def thread(number: int, text: str, age: timedelta, author: str = "UCviewer") -> dict[str, Any]:
    """A commentThread resource as `commentThreads.list` returns it."""
    published = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": "youtube#commentThread",
        "id": f"Ugcomment{number}",  # a thread has the id of its top-level comment
        "snippet": {
            "channelId": CHANNEL,
            "videoId": "dQw4w9WgXcQ",
            "topLevelComment": {
                "kind": "youtube#comment",
                "id": f"Ugcomment{number}",
                "snippet": {
                    "authorDisplayName": f"Viewer {number}",
                    "authorChannelId": {"value": author},
                    "videoId": "dQw4w9WgXcQ",
                    "textDisplay": text,
                    "textOriginal": text,
                    "publishedAt": published,
                    "updatedAt": published,
                },
            },
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }


def poll() -> dict[str, Any]:
    from app import app

    result: dict[str, Any] = app.handler_map["poll_platforms"](scheduled_event(), None)
    return result


def test_new_comments_are_queued_once_and_routed(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(3, "My order never arrived and support ignores me, I want a refund", timedelta(0)),
        thread(2, "Thanks for watching! New video Friday", timedelta(minutes=5), author=CHANNEL),
        thread(1, "Loved this video, amazing work!", timedelta(hours=2)),
        thread(0, "an old comment from last week", timedelta(days=7)),
    ]
    assert poll() == {"queued": 2}  # the channel's own reply and last week's are left out
    drain_intake(stack)
    routed = routed_mentions(stack)
    assert set(routed) == {"youtube:Ugcomment3", "youtube:Ugcomment1"}
    complaint = routed["youtube:Ugcomment3"]
    assert complaint["routing"]["department"] == "support"
    assert (
        complaint["mention"]["url"] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=Ugcomment3"
    )
    assert complaint["mention"]["author"] == {
        "id": "UCviewer",
        "handle": None,
        "name": "Viewer 3",
        "followers": 0,
        "verified": False,
        "created_at": None,  # YouTube does not say when a channel was opened
        "labels": [],
    }
    assert routed["youtube:Ugcomment1"]["routing"]["department"] == "marketing"

    assert poll() == {"queued": 0}  # nothing new: nothing queued
    assert receive_all(stack["intake"]) == []
    fakes.youtube_threads[CHANNEL].insert(0, thread(4, "How do I change my plan?", timedelta(0)))
    assert poll() == {"queued": 1}
    # the poller's reads (the routing worker reads the video the comments are under, apart)
    reads = [r for r in fakes.accepted("youtube", "GET") if r.path != "/youtube/v3/videos"]
    assert all(r.path == "/youtube/v3/commentThreads" for r in reads)
    listed = [r for r in reads if "allThreadsRelatedToChannelId" in r.query]
    assert len(listed) == 3  # one page a run
    awaiting = [r.query for r in reads if "id" in r.query]  # the unanswered, read again
    assert awaiting == 2 * [
        {
            "part": "snippet,replies",
            "id": "Ugcomment3,Ugcomment1",  # newest first; 4, found this run, waits for the next
            "textFormat": "plainText",
        }
    ]


def test_many_new_comments_are_read_page_by_page(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(n, f"comment number {n}", timedelta(seconds=150 - n)) for n in range(150, 0, -1)
    ]
    assert poll() == {"queued": 150}
    messages = receive_all(stack["intake"])
    assert len(messages) == 3  # 50 mentions per intake message
    listed = [r for r in fakes.accepted("youtube") if "allThreadsRelatedToChannelId" in r.query]
    assert len(listed) == 2


def test_long_comments_are_split_across_intake_messages_that_fit_sqs(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(n, f"{n} " + "é" * 9_000, timedelta(seconds=30 - n)) for n in range(30, 0, -1)
    ]  # YouTube allows 10,000 characters per comment
    assert poll() == {"queued": 30}
    messages = receive_all(stack["intake"])
    assert len(messages) > 1 and all(len(m["Body"].encode()) < 262_144 for m in messages)
    total = sum(len(json.loads(json.loads(m["Body"])["body"])) for m in messages)
    assert total == 30


def test_a_failing_channel_does_not_stop_the_others_and_keeps_its_cursor(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    os.environ["YOUTUBE_CHANNELS"] = f"{CHANNEL},{OTHER}"
    wiring.reset()
    fakes.youtube_threads[CHANNEL] = [thread(1, "first channel comment", timedelta(0))]
    fakes.youtube_threads[OTHER] = [thread(2, "second channel comment", timedelta(0))]
    fakes.fail_next(500, {"error": {"code": 500, "message": "backendError"}})
    assert poll() == {"queued": 1}
    assert wiring.cursors().get(f"youtube:{CHANNEL}") is None
    assert wiring.cursors().get(f"youtube:{OTHER}") is not None
    assert poll() == {"queued": 1}  # the first channel's comment, on the next run
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"youtube:Ugcomment1", "youtube:Ugcomment2"}


def reply_comment(
    number: int, text: str, age: timedelta, author: str = "UCviewer"
) -> dict[str, Any]:
    """A reply in thread 1, as `comments.list` by `parentId` returns it."""
    published = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": "youtube#comment",
        "id": f"Ugcomment1.reply{number}",
        "snippet": {
            "authorDisplayName": f"Replier {number}",
            "authorChannelId": {"value": author},
            "videoId": "dQw4w9WgXcQ",
            "textDisplay": text,
            "textOriginal": text,
            "parentId": "Ugcomment1",
            "publishedAt": published,
            "updatedAt": published,
        },
    }


def test_replies_in_a_thread_the_brand_answered_are_routed_and_answered_in_that_thread(
    stack: dict[str, str], fakes: FakePlatforms, client: Client
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(1, "My order never arrived, where is it?", timedelta(minutes=10))
    ]
    fakes.youtube_replies["Ugcomment1"] = [
        reply_comment(0, "same problem here", timedelta(minutes=5)),  # before the brand answered
    ]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    status, _ = reply(client, {"mention_id": "youtube:Ugcomment1", "text": "Sorry! DM us?"})
    assert status == 202
    drain_outbox(stack)
    assert poll() == {"queued": 0}  # nothing after the answer yet (the thread is read though)

    later = -timedelta(minutes=1)  # a minute after the answer
    fakes.youtube_replies["Ugcomment1"] += [
        reply_comment(1, "Thanks for the answer!", later, author=CHANNEL),  # the brand's own
        reply_comment(2, "Still nothing, it has been two weeks. I want a refund", later),
    ]
    assert poll() == {"queued": 1}
    assert poll() == {"queued": 0}
    drain_intake(stack)
    follow_up = routed_mentions(stack)["youtube:Ugcomment1.reply2"]
    assert follow_up["mention"]["kind"] == "reply"
    assert follow_up["mention"]["in_reply_to"] == "youtube:Ugcomment1"
    assert follow_up["routing"]["department"] == "support"
    reads = [r for r in fakes.accepted("youtube") if r.path == "/youtube/v3/comments"]
    assert reads[-1].query == {
        "part": "snippet",
        "parentId": "Ugcomment1",
        "maxResults": "100",
        "textFormat": "plainText",
    }

    # The answer to the follow-up goes into the same thread: YouTube threads are one level deep.
    status, _ = reply(client, {"mention_id": "youtube:Ugcomment1.reply2", "text": "On it."})
    assert status == 202
    drain_outbox(stack)
    posted = fakes.accepted("youtube", "POST")
    assert posted[-1].body == {"snippet": {"parentId": "Ugcomment1", "textOriginal": "On it."}}


def test_a_comments_likes_and_replies_are_its_engagement() -> None:
    resource = thread(1, "hello", timedelta(hours=1))
    resource["snippet"]["topLevelComment"]["snippet"]["likeCount"] = 41
    resource["snippet"]["totalReplyCount"] = 2
    top = youtube.thread_mention(resource, CHANNEL)
    # the same comment read as a reply in a thread counts its own likes only
    reply = youtube.reply_mention(resource["snippet"]["topLevelComment"], "Ugcomment0", CHANNEL)
    assert top is not None and reply is not None
    assert (top.engagement, reply.engagement) == (43, 41)


def test_a_thread_is_unfollowed_after_the_follow_up_window(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    cursors = wiring.cursors()
    settings = wiring.get_settings()
    answered = datetime.now(UTC) - timedelta(days=settings.youtube_follow_up_days, minutes=1)
    mention = youtube.thread_mention(thread(1, "hello", timedelta(days=8)), CHANNEL)
    assert mention is not None
    follow_thread(cursors, mention, answered)
    follow_thread(cursors, mention, answered - timedelta(hours=1))
    cursors.put(replies_cursor("Ugcomment1"), "position")
    cursors.add(FOLLOWED_THREADS, {"not a member", "2026-11-22T10:00:00 UC1 t9"})  # no time zone
    assert followed_threads(settings, cursors, datetime.now(UTC)) == []
    assert cursors.members(FOLLOWED_THREADS) == set()
    assert cursors.get(replies_cursor("Ugcomment1")) is None
    assert poll() == {"queued": 0}
    assert [r for r in fakes.accepted("youtube") if r.path == "/youtube/v3/comments"] == []


def test_a_followed_thread_that_was_deleted_is_unfollowed_without_a_poll_failure(
    stack: dict[str, str], fakes: FakePlatforms, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["YOUTUBE_CHANNELS"] = ""
    wiring.reset()
    cursors = wiring.cursors()
    mention = youtube.thread_mention(thread(1, "hello", timedelta(hours=1)), CHANNEL)
    assert mention is not None
    follow_thread(cursors, mention, datetime.now(UTC) - timedelta(hours=1))
    fakes.fail_next(404, {"error": {"code": 404, "message": "commentNotFound"}})
    assert poll() == {"queued": 0}
    assert cursors.members(FOLLOWED_THREADS) == set()
    assert cursors.get(replies_cursor("Ugcomment1")) is None
    assert poll() == {"queued": 0}
    assert len([r for r in fakes.requests if r.path == "/youtube/v3/comments"]) == 1
    logged = capsys.readouterr().out
    assert "PolledMentions" in logged and "PollFailures" not in logged


def test_the_brands_own_replies_are_never_follow_ups(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    comment = Mention(id="youtube:Ugcomment1", platform="youtube", kind="comment", text="?")
    follow_thread(wiring.cursors(), comment, datetime.now(UTC) - timedelta(hours=1))  # no channel
    fakes.youtube_replies["Ugcomment1"] = [
        reply_comment(1, "We have answered you by email", timedelta(minutes=5), author=CHANNEL),
        reply_comment(2, "Got it, thanks", timedelta(minutes=1)),
    ]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"youtube:Ugcomment1.reply2"}


def test_an_answer_written_in_youtube_studio_stops_the_clock_and_the_thread_is_followed(
    stack: dict[str, str], fakes: FakePlatforms, client: Client
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(1, "My order never arrived, where is it?", timedelta(minutes=30))
    ]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    assert routed_mentions(stack)["youtube:Ugcomment1"]["routing"]["department"] == "support"
    fakes.youtube_replies["Ugcomment1"] = [
        reply_comment(1, "first!", timedelta(minutes=20), "UCother"),  # another viewer
        reply_comment(2, "So sorry! Email us at help@acme.test", timedelta(minutes=10), CHANNEL),
    ]
    assert poll() == {"queued": 1}  # the channel's reply, as the brand's answer
    drain_intake(stack)
    [copy] = receive_all(stack["support"])
    assert json.loads(copy["Body"])["routing"]["tags"][-1] == "answered"
    record = wiring.mentions().get("youtube:Ugcomment1")
    assert record is not None and record.response_seconds is not None
    assert abs(record.response_seconds - 1200) <= 1  # the two times were taken apart
    assert record.first_response_post == "youtube:Ugcomment1.reply2"
    assert wiring.cursors().members("youtube-awaiting") == set()  # answered: no longer awaited

    fakes.youtube_replies["Ugcomment1"].append(
        reply_comment(3, "Emailed, no answer yet", -timedelta(minutes=1))  # after the answer
    )
    assert poll() == {"queued": 1}  # the thread is followed now: the customer's answer back
    drain_intake(stack)
    follow_up = routed_mentions(stack)["youtube:Ugcomment1.reply3"]
    assert follow_up["routing"]["conversation"]["mention_id"] == "youtube:Ugcomment1"


def test_an_answer_among_more_replies_than_youtube_includes_is_found(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(1, "Is the recall for my model too?", timedelta(hours=1))
    ]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    chatter = [reply_comment(n, f"same question {n}", timedelta(minutes=50 - n), "UCother")
               for n in range(7)]  # fmt: skip
    answer = reply_comment(9, "Yes: models 2024-2025, see acme.test/recall", timedelta(minutes=5),
                           CHANNEL)  # fmt: skip
    fakes.youtube_replies["Ugcomment1"] = [*chatter, answer]  # YouTube includes the first 5
    assert poll() == {"queued": 1}  # found among all the replies (comments.list by parentId)
    drain_intake(stack)
    record = wiring.mentions().get("youtube:Ugcomment1")
    assert record is not None and record.first_response_post == "youtube:Ugcomment1.reply9"
    reads = [r.query for r in fakes.accepted("youtube") if r.query.get("parentId") == "Ugcomment1"]
    assert reads and all(q["maxResults"] == "100" for q in reads)


def test_reading_busy_threads_whole_keeps_within_a_quota_budget_per_run(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(n, f"question {n}", timedelta(hours=1, minutes=n)) for n in range(1, 9)
    ]
    assert poll() == {"queued": 8}
    for n in range(1, 9):  # eight busy threads, no answer in any: each is read whole
        fakes.youtube_replies[f"Ugcomment{n}"] = [
            reply_comment(r, "+1", timedelta(minutes=30), "UCother") for r in range(6)
        ]
    assert poll() == {"queued": 0}
    whole = {r.query["parentId"] for r in fakes.accepted("youtube") if "parentId" in r.query}
    assert len(whole) == 5  # REPLY_PAGES_PER_RUN; the others on a later turn
    assert len(wiring.cursors().members("youtube-awaiting")) == 8  # all still awaited


def test_threads_deleted_or_past_the_window_are_no_longer_awaited(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    cursors = wiring.cursors()
    now = datetime.now(UTC)
    fakes.youtube_threads[CHANNEL] = [thread(2, "still there", timedelta(hours=1))]
    members = {
        f"{(now - timedelta(days=8)).isoformat()} {CHANNEL} Ugcomment1",  # a week and more
        f"{(now - timedelta(hours=1)).isoformat()} {CHANNEL} Ugcomment2",
        f"{(now - timedelta(hours=2)).isoformat()} {CHANNEL} Ugcomment9",  # deleted since
    }
    cursors.put(f"youtube:{CHANNEL}", json.dumps({"at": now.isoformat(), "ids": []}))
    cursors.add("youtube-awaiting", members)
    assert poll() == {"queued": 0}
    [read] = [r.query for r in fakes.accepted("youtube") if "id" in r.query]
    assert read["id"] == "Ugcomment2,Ugcomment9"  # last week's is not read again
    assert cursors.members("youtube-awaiting") == {
        f"{(now - timedelta(hours=1)).isoformat()} {CHANNEL} Ugcomment2"
    }


def test_what_the_customer_adds_before_an_answer_is_routed_once_with_the_case(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_threads[CHANNEL] = [
        thread(1, "My order never arrived, where is it?", timedelta(hours=2))
    ]
    assert poll() == {"queued": 1}
    drain_intake(stack)
    fakes.youtube_replies["Ugcomment1"] = [
        reply_comment(1, "hello?? anyone?", timedelta(minutes=50)),  # the customer again
        reply_comment(2, "same here", timedelta(minutes=40), "UCother"),  # someone else
    ]
    assert poll() == {"queued": 1}  # the customer's reply, not the other viewer's
    drain_intake(stack)
    follow_up = routed_mentions(stack)["youtube:Ugcomment1.reply1"]
    assert follow_up["routing"]["conversation"]["mention_id"] == "youtube:Ugcomment1"
    assert follow_up["routing"]["department"] == "support"
    assert poll() == {"queued": 0}  # seen: not queued again while the thread is awaited
    fakes.youtube_replies["Ugcomment1"] += [
        reply_comment(3, "still waiting, 2 weeks now", timedelta(minutes=20)),
        reply_comment(4, "So sorry! DM us", timedelta(minutes=10), CHANNEL),
        reply_comment(5, "DMed you", timedelta(minutes=5)),  # after the answer
    ]
    assert poll() == {"queued": 2}  # the customer's new reply and the brand's answer
    drain_intake(stack)
    routed = routed_mentions(stack)
    assert "youtube:Ugcomment1.reply3" in routed and "youtube:Ugcomment1.reply5" not in routed
    cursors = wiring.cursors()
    assert cursors.get(replies_cursor("Ugcomment1")) is None  # answered: followed from the answer
    assert poll() == {"queued": 1}  # followed now: the reply after the answer, once
