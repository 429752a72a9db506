"""A customer's reply to one of the brand's own posts (a campaign, an announcement) reaches its
department with that post: kept as the webhook brought it, or read from the platform (fake X and
Graph APIs) once a week per post, and the reply routed without it when the platform will not
say."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_replies import routed
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_search import search
from tests.integration.test_x_poller import BRAND, enable_x_polling, poll, post
from tests.integration.test_youtube_poller import CHANNEL, thread
from tests.integration.test_youtube_poller import poll as poll_youtube

CAMPAIGN = "1991999999999999000"
"""The brand's post the food-safety sample's first tweet answers."""
PAGE_POST = "448242228374517_122131676912594941"
"""The Page's post the Facebook sample's comment is on."""
MEDIA = "17918195224117851"
"""The Instagram media the Instagram sample's comment is on."""


def x_reply(post_id: str, text: str, to: str = CAMPAIGN) -> bytes:
    """An X webhook delivery of one customer's reply to the brand's post `to`."""
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    tweet = copy.deepcopy(payload["tweet_create_events"][0])
    tweet.update(id_str=post_id, text=text, in_reply_to_status_id_str=to, truncated=False)
    tweet.pop("extended_tweet")
    tweet.pop("edit_history")
    payload["tweet_create_events"] = [tweet]
    return json.dumps(payload).encode()


def deliver(client: Client, stack: dict[str, str], body: bytes) -> None:
    assert post_signed(client, "x", body).status_code == 200
    drain_intake(stack)


def brand_post(text: str) -> dict[str, Any]:
    return post(CAMPAIGN, text, timedelta(days=1), author=BRAND)


def post_reads(fakes: FakePlatforms) -> list[Any]:
    return [r for r in fakes.requests if r.platform == "x" and r.path.startswith("/x/2/tweets/")]


def test_a_reply_to_the_brands_post_carries_it_and_one_read_serves_every_reply(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.x_posts[CAMPAIGN] = brand_post("Win a year of free wraps! Reply with your favourite 🌯")
    deliver(client, stack, x_reply("1992000000000000501", "@AcmeHelp the chicken one obviously"))
    deliver(client, stack, x_reply("1992000000000000502", "@AcmeHelp falafel, every time"))

    messages = routed_mentions(stack)
    for post_id in ("1992000000000000501", "1992000000000000502"):
        assert messages[f"x:{post_id}"]["mention"]["replied_post"] == {
            "id": f"x:{CAMPAIGN}",
            "text": "Win a year of free wraps! Reply with your favourite 🌯",
            "author": "user945",
        }
    [read] = post_reads(fakes)  # the second reply found it kept
    assert read.method == "GET" and read.path == f"/x/2/tweets/{CAMPAIGN}"
    assert read.query["expansions"] == "author_id"
    assert read.headers["authorization"].startswith("OAuth ")  # the brand's user context
    # every entry to the contest, at one search (a bulk hide takes the same condition)
    status, found = search(client, {"when": {"replied_post.id": {"equals": f"x:{CAMPAIGN}"}}})
    assert status == 200 and found["matched"] == 2


def test_a_post_the_webhook_brought_needs_no_read(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """X sends the brand's own posts back through the webhook: kept as they come, the replies
    to them carry them without a read of X (its rate limits are tight)."""
    announcement = json.loads(x_reply(CAMPAIGN, "Win a year of free wraps! Reply to enter 🌯"))
    tweet = announcement["tweet_create_events"][0]
    tweet.update(in_reply_to_status_id_str=None, in_reply_to_user_id_str=None)
    tweet["user"] = {"id_str": BRAND, "screen_name": "AcmeHelp", "name": "Acme"}
    deliver(client, stack, json.dumps(announcement).encode())
    deliver(client, stack, x_reply("1992000000000000511", "@AcmeHelp the chicken one obviously"))

    message = routed_mentions(stack)["x:1992000000000000511"]
    assert message["mention"]["replied_post"] == {
        "id": f"x:{CAMPAIGN}",
        "text": "Win a year of free wraps! Reply to enter 🌯",
        "author": "AcmeHelp",
    }
    assert post_reads(fakes) == []


def test_a_reply_continuing_a_case_is_given_no_post(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    """The customer's answer to Switchboard's reply has its case for context: nothing read."""
    fakes.x_posts[CAMPAIGN] = brand_post("Our new chicken wraps are here")
    routed(client, stack, "x", "x_food_safety_thread.json")
    case = "x:1992000000000000002"
    assert len(post_reads(fakes)) == 1  # the case itself answers the campaign post
    follow_up = x_reply("1992000000000000601", "@AcmeHelp sent you the order number", to=case[2:])
    deliver(client, stack, follow_up)

    message = routed_mentions(stack)["x:1992000000000000601"]
    assert message["routing"]["conversation"]["mention_id"] == case
    assert message["mention"]["replied_post"] is None
    assert len(post_reads(fakes)) == 1


def test_a_post_x_will_not_show_is_asked_for_once_and_the_replies_still_routed(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    # CAMPAIGN is not among the fake's posts: X answers 200 with a "Not Found Error" only.
    deliver(client, stack, x_reply("1992000000000000701", "@AcmeHelp my refund never came"))
    deliver(client, stack, x_reply("1992000000000000702", "@AcmeHelp still no refund"))

    messages = routed_mentions(stack)
    for post_id in ("1992000000000000701", "1992000000000000702"):
        message = messages[f"x:{post_id}"]
        assert message["mention"]["replied_post"] is None
        assert message["routing"]["department"] == "support"
    assert len(post_reads(fakes)) == 1


def test_a_rate_limit_pauses_the_reads_it_asks_to(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.x_posts[CAMPAIGN] = brand_post("Our winter menu is here")
    fakes.fail_next(429, {"title": "Too Many Requests"}, {"retry-after": "600"})
    deliver(client, stack, x_reply("1992000000000000801", "@AcmeHelp love the soup"))
    deliver(client, stack, x_reply("1992000000000000802", "@AcmeHelp the soup is great"))

    messages = routed_mentions(stack)
    assert {m["mention"]["replied_post"] is None for m in messages.values()} == {True}
    assert [r.status for r in post_reads(fakes)] == [429]  # the second reply did not ask


def test_a_polled_reply_brings_the_post_it_answers_without_another_read(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    enable_x_polling()
    fakes.x_posts[CAMPAIGN] = brand_post("Tell us your winter favourite!")
    answer = post("1992000000000000901", "@AcmeHelp the tomato soup", timedelta(0))
    answer.update(in_reply_to_user_id=BRAND)
    answer["referenced_tweets"] = [{"type": "replied_to", "id": CAMPAIGN}]
    fakes.x_mentions[BRAND] = [answer]
    assert poll() == {"queued": 1}
    drain_intake(stack)

    message = routed_mentions(stack)["x:1992000000000000901"]
    assert message["mention"]["kind"] == "reply"
    assert message["mention"]["replied_post"]["text"] == "Tell us your winter favourite!"
    assert post_reads(fakes) == []  # it came in the page's includes


@pytest.mark.parametrize(
    ("sample", "post", "fields", "replied_post"),
    [
        (
            "meta_page_comments.json",
            PAGE_POST,
            "message,from",
            {
                "id": f"facebook:{PAGE_POST}",
                "text": "Meet the Acme Blend 3000: smoothies in 30 seconds.",
                "author": "Acme",
            },
        ),
        (
            "meta_instagram_comment.json",
            MEDIA,
            "caption,username",
            {
                "id": f"instagram:{MEDIA}",
                "text": "Autumn colours are in: which one is yours?",
                "author": "acme",
            },
        ),
    ],
    ids=["facebook", "instagram"],
)
def test_a_comment_carries_the_brands_post_it_is_under(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    sample: str,
    post: str,
    fields: str,
    replied_post: dict[str, str],
) -> None:
    fakes.add_sample_posts()  # what `make run`'s demo has too
    routed(client, stack, "meta", sample)

    [message] = routed_mentions(stack).values()
    assert message["mention"]["replied_post"] == replied_post
    [read] = fakes.accepted("graph", "GET")
    assert read.path == f"/graph/v25.0/{post}"
    assert read.query["fields"] == fields
    assert "appsecret_proof" in read.query


def test_a_page_post_the_feed_brought_needs_no_read(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    page_post = json.loads(sample_bytes("meta_page_comments.json"))
    [entry] = page_post["entry"]
    entry["changes"] = [
        {
            "field": "feed",
            "value": {
                "from": {"id": entry["id"], "name": "Acme"},
                "message": "Meet the Acme Blend 3000: smoothies in 30 seconds.",
                "post_id": PAGE_POST,
                "created_time": 1795335000,
                "item": "status",
                "verb": "add",
            },
        }
    ]
    assert post_signed(client, "meta", json.dumps(page_post).encode()).status_code == 200
    routed(client, stack, "meta", "meta_page_comments.json")

    [message] = routed_mentions(stack).values()
    assert message["mention"]["replied_post"] == {
        "id": f"facebook:{PAGE_POST}",
        "text": "Meet the Acme Blend 3000: smoothies in 30 seconds.",
        "author": "Acme",
    }
    assert fakes.accepted("graph", "GET") == []


def video_comments(video: str, *texts: str) -> list[dict[str, Any]]:
    """Comment threads under one of the channel's videos, newest first."""
    threads = [thread(n, text, timedelta(minutes=n)) for n, text in enumerate(texts)]
    for each in threads:
        each["snippet"]["videoId"] = video
        each["snippet"]["topLevelComment"]["snippet"]["videoId"] = video
    return threads


def test_a_youtube_comment_carries_the_video_it_is_under(
    stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.youtube_videos["dQw4w9WgXcQ"] = {"title": "Blend 3000: unboxing", "channelTitle": "Acme"}
    fakes.youtube_threads[CHANNEL] = video_comments(
        "dQw4w9WgXcQ", "where can I buy one?", "mine arrived broken"
    )
    assert poll_youtube() == {"queued": 2}
    drain_intake(stack)

    messages = routed_mentions(stack)
    for comment in ("youtube:Ugcomment0", "youtube:Ugcomment1"):
        assert messages[comment]["mention"]["replied_post"] == {
            "id": "youtube:dQw4w9WgXcQ",
            "text": "Blend 3000: unboxing",
            "author": "Acme",
        }
    [read] = [r for r in fakes.accepted("youtube", "GET") if r.path.endswith("/videos")]
    assert read.query == {"part": "snippet", "id": "dQw4w9WgXcQ"}  # 1 quota unit, once


def test_a_video_youtube_announced_needs_no_read(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert post_signed(client, "youtube", sample_bytes("youtube_new_video.xml")).status_code == 200
    fakes.youtube_threads[CHANNEL] = video_comments("AcmeVid0001", "the soup looks amazing")
    assert poll_youtube() == {"queued": 1}
    drain_intake(stack)

    message = routed_mentions(stack)["youtube:Ugcomment0"]
    assert message["mention"]["replied_post"] == {
        "id": "youtube:AcmeVid0001",
        "text": "Winter menu: behind the scenes",
        "author": "Acme",
    }
    assert not [r for r in fakes.requests if r.path.endswith("/videos")]
