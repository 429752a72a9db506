"""X Account Activity payloads → mentions."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.errors import MalformedRequest, PoisonRecord
from chalicelib.models import Attachment, Quoted
from chalicelib.platforms import x
from chalicelib.platforms.base import Answer, Change
from tests.helpers import delivery, sample_bytes

BRAND = frozenset({"2244994945"})


def test_mention_fields() -> None:
    [mention] = x.parse(delivery("x", "x_late_delivery.json"), BRAND)
    assert mention.id == "x:1992000000000000001"
    assert mention.kind == "mention"
    assert mention.text.startswith("@AcmeHelp my order #88213 never arrived")
    assert mention.url == "https://x.com/i/status/1992000000000000001"
    assert mention.created_at == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert mention.author.handle == "danakim"
    assert mention.author.followers == 312
    assert mention.brand_account == "2244994945"
    assert mention.mentions == ["AcmeHelp"]
    assert mention.lang == "en"
    assert mention.public
    assert mention.engagement == 0  # a tweet as it is created has no reposts or likes yet


def test_the_brands_own_posts_x_sends_back_are_kept_for_the_replies_to_them() -> None:
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    customers, brands = payload["tweet_create_events"]
    payload["tweet_create_events"] = [customers, brands, "not a post", {"user": "nobody"}]
    assert x.brand_posts(delivery("x", payload), BRAND) == [
        Quoted(id="x:1992000000000000003", text=brands["text"], author="AcmeHelp")
    ]
    assert x.brand_posts(delivery("x", {"tweet_create_events": [brands]}), BRAND) == []


def test_engagement_counts_a_tweets_reposts_quotes_replies_and_likes() -> None:
    payload = json.loads(sample_bytes("x_late_delivery.json"))
    tweet = payload["tweet_create_events"][0]
    tweet.update(retweet_count=12, quote_count=3, reply_count=5, favorite_count=80)
    [mention] = x.parse(delivery("x", payload), BRAND)
    assert mention.engagement == 100


def test_the_photos_and_videos_of_a_post_are_its_attachments() -> None:
    """A photo of the damaged parcel, where X serves it; a video as its best MP4."""
    payload = json.loads(sample_bytes("x_late_delivery.json"))
    photo = "https://pbs.twimg.com/media/GdAmG3pWkAAx1yZ.jpg"
    clip = "https://video.twimg.com/ext_tw_video/1/pu/vid/1280x720/clip.mp4"
    payload["tweet_create_events"][0]["extended_entities"] = {
        "media": [
            {"type": "photo", "media_url_https": photo},
            {
                "type": "video",
                "media_url_https": "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/t.jpg",
                "video_info": {
                    "variants": [
                        {"content_type": "application/x-mpegURL", "url": "https://v/pl.m3u8"},
                        {"content_type": "video/mp4", "bitrate": 256000, "url": "https://v/s.mp4"},
                        {"content_type": "video/mp4", "bitrate": 2176000, "url": clip},
                    ]
                },
            },
        ]
    }
    [mention] = x.parse(delivery("x", payload), BRAND)
    assert mention.attachments == [
        Attachment(kind="image", url=photo),
        Attachment(kind="video", url=clip, mime_type="video/mp4"),
    ]


def test_truncated_tweet_uses_extended_text_and_entities_and_drops_brand_reply() -> None:
    mentions = x.parse(delivery("x", "x_food_safety_thread.json"), BRAND)
    assert [m.id for m in mentions] == ["x:1992000000000000002"]  # the brand's reply is an echo
    [mention] = mentions
    assert mention.text.endswith("Who is looking into this? #foodsafety")
    assert "\u2026" not in mention.text
    assert mention.hashtags == ["foodsafety"]
    assert mention.kind == "reply"
    assert mention.in_reply_to == "x:1991999999999999000"
    assert mention.author.verified and mention.author.followers == 15400
    assert mention.author.created_at == datetime(2014, 3, 2, 11, 20, tzinfo=UTC)


def test_quote_of_the_brand() -> None:
    [mention] = x.parse(delivery("x", "x_praise_quote.json"), BRAND)
    assert mention.kind == "quote"
    assert mention.author.name == "Priya \u2728"
    assert mention.quoted == Quoted(
        id="x:1991000000000000000",
        text="Our winter menu is here: spiced pear tarts and hot cocoa, in every store from today.",
        author="AcmeHelp",
    )
    assert "winter menu is here" not in mention.text  # the signals read the author's words only


@pytest.mark.parametrize(
    "quoted_status",
    [None, "gone", {"id_str": 5}, {"id_str": "9", "text": ["x"], "user": "AcmeHelp"}],
)
def test_a_quoted_post_x_left_out_or_garbled_is_no_reason_to_lose_the_quote(
    quoted_status: object,
) -> None:
    payload = json.loads(sample_bytes("x_praise_quote.json"))
    payload["tweet_create_events"][0]["quoted_status"] = quoted_status
    [mention] = x.parse(delivery("x", payload), BRAND)  # whose post it quotes is unknown
    assert (mention.id, mention.kind) == ("x:1992000000000000004", "mention")
    assert mention.quoted in (None, Quoted(id="x:9"))


def test_created_at_string_when_no_timestamp_ms() -> None:
    payload = json.loads(sample_bytes("x_late_delivery.json"))
    del payload["tweet_create_events"][0]["timestamp_ms"]
    [mention] = x.parse(delivery("x", payload), BRAND)
    assert mention.created_at == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_when_the_author_opened_the_account_is_read_for_the_spam_signal() -> None:
    tweet_payload = json.loads(sample_bytes("x_late_delivery.json"))
    tweet_payload["tweet_create_events"][0]["user"]["created_at"] = "Mon Nov 16 10:00:00 +0000 2026"
    dm_payload = json.loads(sample_bytes("x_dm_refund.json"))
    dm_payload["users"]["3001969357"]["created_timestamp"] = "1763200000000"
    [tweet] = x.parse(delivery("x", tweet_payload), BRAND)
    [dm] = x.parse(delivery("x", dm_payload), BRAND)
    assert tweet.author.created_at == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    assert dm.author.created_at == datetime.fromtimestamp(1763200000, tz=UTC)
    [plain] = x.parse(delivery("x", "x_late_delivery.json"), BRAND)
    assert plain.author.created_at is None  # not sent: no account age, no spam points for it


def test_direct_message_with_users_map_and_echo_dropped() -> None:
    [dm] = x.parse(delivery("x", "x_dm_refund.json"), BRAND)
    assert dm.id == "x:1992000000000000100"
    assert dm.kind == "dm" and not dm.public
    assert dm.author.handle == "furiouscamper" and dm.author.followers == 22
    assert dm.created_at == datetime.fromtimestamp(1795335300, tz=UTC)


def test_retweets_and_other_events_are_not_mentions() -> None:
    payload = json.loads(sample_bytes("x_late_delivery.json"))
    tweet = copy.deepcopy(payload["tweet_create_events"][0])
    tweet["retweeted_status"] = {"id_str": "1"}
    payload["tweet_create_events"] = [tweet]
    payload["favorite_events"] = [{"id": "a"}]
    assert x.parse(delivery("x", payload), BRAND) == []


def test_for_user_id_counts_as_own_account_even_if_not_configured() -> None:
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    assert [m.id for m in x.parse(delivery("x", payload), frozenset())] == ["x:1992000000000000002"]


@pytest.mark.parametrize(
    "payload",
    [
        {"for_user_id": "1", "tweet_create_events": [{"text": "no id"}]},
        {"for_user_id": ["1"], "tweet_create_events": []},  # a list cannot name an account
        {"for_user_id": "1", "tweet_create_events": ["not a tweet"]},
        ["not", "an", "object"],
    ],
)
def test_unreadable_delivery_is_poison(payload: object) -> None:
    with pytest.raises(PoisonRecord, match="unreadable X delivery"):
        x.parse(delivery("x", payload), BRAND)


@pytest.mark.parametrize("payload", [[], {"tweet_create_events": []}, {"for_user_id": 1}])
def test_check_requires_an_object_with_for_user_id(payload: object) -> None:
    with pytest.raises(MalformedRequest):
        x.check(payload)


def _reply_to_a_friend(index: int) -> dict[str, Any]:
    """A delivery of one of the sample's two replies to a friend's tweet."""
    payload = json.loads(sample_bytes("x_reply_to_a_friend.json"))
    payload["tweet_create_events"] = [payload["tweet_create_events"][index]]
    return payload


def test_a_reply_to_someone_else_only_tags_the_brand_along_when_x_put_its_handle_there() -> None:
    # "@jamie_r @AcmeHelp haha same...", a reply to jamie_r: the displayed text starts at 19
    [chat] = x.parse(delivery("x", _reply_to_a_friend(0)), BRAND)
    assert chat.kind == "mention" and chat.tagged_along
    # "@jamie_r ugh @AcmeHelp my order...": the author typed the brand's handle in the text
    [request] = x.parse(delivery("x", _reply_to_a_friend(1)), BRAND)
    assert request.kind == "mention" and not request.tagged_along


@pytest.mark.parametrize(
    "change",
    [
        lambda tweet: tweet.pop("display_text_range"),  # nobody can tell
        lambda tweet: tweet.update(display_text_range="19"),  # unreadable: nobody can tell
        lambda tweet: tweet["entities"]["user_mentions"][1].update(indices=None),
        lambda tweet: tweet.update(in_reply_to_user_id_str="2244994945"),  # a reply to the brand
        lambda tweet: tweet.update(in_reply_to_user_id_str=tweet["user"]["id_str"]),  # own thread
        lambda tweet: tweet.update(in_reply_to_user_id_str=None),  # not a reply
    ],
    ids=[
        "no display range",
        "unreadable range",
        "unreadable indices",
        "reply to the brand",
        "own thread",
        "not a reply",
    ],
)
def test_the_brand_counts_as_addressed_unless_x_shows_otherwise(
    change: Callable[[dict[str, Any]], object],
) -> None:
    payload = _reply_to_a_friend(0)
    change(payload["tweet_create_events"][0])
    [mention] = x.parse(delivery("x", payload), BRAND)
    assert not mention.tagged_along


def test_a_long_reply_is_read_from_its_extended_range_and_entities() -> None:
    payload = _reply_to_a_friend(0)
    tweet = payload["tweet_create_events"][0]
    tweet["extended_tweet"] = {
        "full_text": tweet["text"],
        "display_text_range": tweet.pop("display_text_range"),
        "entities": tweet["entities"],
    }
    tweet.update(truncated=True, entities={"user_mentions": []})
    [mention] = x.parse(delivery("x", payload), BRAND)
    assert mention.tagged_along


def test_the_brands_other_accounts_count_as_the_brand() -> None:
    answered = _reply_to_a_friend(0)  # a reply to the brand's other account, @AcmeDeals (777)
    answered["tweet_create_events"][0]["in_reply_to_user_id_str"] = "777"
    [mention] = x.parse(delivery("x", answered), BRAND | {"777"})
    assert not mention.tagged_along
    typed = _reply_to_a_friend(0)  # @AcmeDeals typed at the end of the text
    tweet = typed["tweet_create_events"][0]
    at = len(tweet["text"]) + 1
    tweet["text"] += " @AcmeDeals"
    tweet["display_text_range"][1] = len(tweet["text"])
    mention_777 = {"screen_name": "AcmeDeals", "id_str": "777", "indices": [at, at + 10]}
    tweet["entities"]["user_mentions"].append(mention_777)
    [mention] = x.parse(delivery("x", typed), BRAND | {"777"})
    assert not mention.tagged_along
    [mention] = x.parse(delivery("x", typed), BRAND)  # 777 is somebody else's account
    assert mention.tagged_along


def test_deleted_posts_are_named_and_are_not_mentions() -> None:
    payload = {
        "for_user_id": "2244994945",
        "tweet_delete_events": [
            {"status": {"id": "1992000000000000001", "user_id": "3001"}, "timestamp_ms": "1"}
        ],
    }
    assert x.changes(delivery("x", payload)) == [Change("x:1992000000000000001")]
    assert x.parse(delivery("x", payload), BRAND) == []
    assert x.changes(delivery("x", "x_late_delivery.json")) == []
    with pytest.raises(PoisonRecord, match="unreadable X delivery"):
        x.changes(delivery("x", {"for_user_id": "1", "tweet_delete_events": [{"id": "9"}]}))


def test_an_edited_post_names_the_post_it_was_made_from() -> None:
    payload = json.loads(sample_bytes("x_late_delivery.json"))
    tweet = payload["tweet_create_events"][0]
    tweet["edit_history"] = {
        "initial_tweet_id": tweet["id_str"],
        "edit_tweet_ids": [tweet["id_str"]],
    }
    [never_edited] = x.parse(delivery("x", payload), BRAND)
    assert never_edited.edit_of is None
    tweet |= {"id_str": "1992000000000000009"}
    tweet["edit_history"]["edit_tweet_ids"].append("1992000000000000009")
    [edit] = x.parse(delivery("x", payload), BRAND)
    assert (edit.id, edit.edit_of) == ("x:1992000000000000009", "x:1992000000000000001")
    garbled = [{"edit_tweet_ids": v} for v in ("not a list", [""], [{"id": 1}])] + ["?", [1]]
    for history in garbled:  # an edit history is no reason to lose the post
        tweet["edit_history"] = history
        [unreadable] = x.parse(delivery("x", payload), BRAND)
        assert unreadable.edit_of is None


def test_a_revoked_authorisation_raises_the_alarm_metric() -> None:
    from chalicelib.observability import metrics

    payload = {
        "for_user_id": "2244994945",
        "user_event": {
            "revoke": {
                "date_time": "2026-11-22T09:00:00.000Z",
                "target": {"app_id": "13090192"},
                "source": {"user_id": "2244994945"},
            }
        },
    }
    metrics.clear_metrics()
    assert x.parse(delivery("x", payload), BRAND) == []
    assert metrics.metric_set["PlatformAccessRevoked"]["Value"] == [1.0]
    metrics.clear_metrics()
    x.parse(delivery("x", "x_late_delivery.json"), BRAND)
    assert "PlatformAccessRevoked" not in metrics.metric_set


def test_the_brands_own_reply_and_direct_message_are_answers() -> None:
    """X sends the subscribed account's own posts back: a reply, or a direct message it sent,
    answers the post it replies to or the customer it writes to."""
    [reply] = x.answers(delivery("x", "x_food_safety_thread.json"), frozenset())
    assert reply == Answer(
        "x:1992000000000000002", "x:1992000000000000003", datetime(2026, 11, 22, 8, 6, tzinfo=UTC)
    )
    [sent] = x.answers(delivery("x", "x_dm_refund.json"), BRAND)
    assert sent == Answer(
        "x:dm/3001969357", "x:1992000000000000101", datetime.fromtimestamp(1795335360, tz=UTC)
    )
    assert x.answers(delivery("x", "x_late_delivery.json"), BRAND) == []  # a customer's post


def test_an_answer_names_the_app_that_sent_it() -> None:
    """So that an auto-responder's reply can be told from a person's (AUTOMATED_APPS)."""
    thread = json.loads(sample_bytes("x_food_safety_thread.json"))
    thread["tweet_create_events"][1]["source"] = (
        '<a href="https://sproutsocial.com" rel="nofollow">Sprout Social</a>'
    )
    [reply] = x.answers(delivery("x", thread), BRAND)
    assert reply.via == ("Sprout Social",)
    thread["tweet_create_events"][1]["source"] = "Acme Bot"  # a bare name, as some payloads have
    assert x.answers(delivery("x", thread), BRAND)[0].via == ("Acme Bot",)
    dms = json.loads(sample_bytes("x_dm_refund.json"))
    dms["direct_message_events"][1]["message_create"]["source_app_id"] = "13090192"
    dms["apps"] = {"13090192": {"id": "13090192", "name": "AcmeCareBot", "url": "https://x.com"}}
    [sent] = x.answers(delivery("x", dms), BRAND)
    assert sent.via == ("13090192", "AcmeCareBot")
    del dms["apps"]  # an app X did not describe: its id alone
    assert x.answers(delivery("x", dms), BRAND)[0].via == ("13090192",)


def test_a_post_of_the_brands_that_replies_to_nothing_answers_nothing() -> None:
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    payload["tweet_create_events"][1]["in_reply_to_status_id_str"] = None  # an announcement
    assert x.answers(delivery("x", payload), BRAND) == []


def test_an_answer_that_cannot_be_read_is_skipped_and_loses_nothing_else() -> None:
    payload = json.loads(sample_bytes("x_food_safety_thread.json"))
    payload["direct_message_events"] = [
        {"type": "message_create", "id": "7", "message_create": {"sender_id": "2244994945"}}
    ]  # the brand's message, but to whom?
    [reply] = x.answers(delivery("x", payload), BRAND)  # the brand's reply still counts
    assert reply.post == "x:1992000000000000003"
    assert [m.id for m in x.parse(delivery("x", payload), BRAND)] == ["x:1992000000000000002"]
