"""Posts read from `GET /2/users/:id/mentions` become the same mentions as webhook deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.models import Attachment, Quoted
from chalicelib.platforms.x import v2_mention

BRAND = "2244994945"
USERS = {
    "3001": {
        "id": "3001",
        "username": "dana",
        "name": "Dana Kim",
        "public_metrics": {"followers_count": 312},
        "verified": True,
        "created_at": "2019-08-05T10:00:00.000Z",
    }
}


def test_a_reply_to_the_brand_with_a_long_text_and_entities() -> None:
    tweet = {
        "id": "1992000000000000500",
        "text": "@AcmeHelp my order never arrived… https://t.co/x",
        "note_tweet": {"text": "@AcmeHelp my order never arrived and the whole long story"},
        "author_id": "3001",
        "created_at": "2026-11-22T08:00:00.000Z",
        "lang": "und",
        "in_reply_to_user_id": BRAND,
        "referenced_tweets": [{"type": "replied_to", "id": "1992000000000000400"}],
        "public_metrics": {
            "retweet_count": 4,
            "reply_count": 2,
            "like_count": 30,
            "quote_count": 1,
            "bookmark_count": 7,
            "impression_count": 5200,
        },
        "entities": {
            "hashtags": [{"tag": "fail"}],
            "mentions": [{"username": "AcmeHelp", "id": BRAND}],
            "urls": [{"url": "https://t.co/x", "expanded_url": "https://acme.example/o/1"}],
        },
    }
    mention = v2_mention(tweet, USERS, BRAND)
    assert mention is not None
    assert (mention.id, mention.kind, mention.lang) == ("x:1992000000000000500", "reply", None)
    assert mention.text.endswith("the whole long story")
    assert mention.in_reply_to == "x:1992000000000000400"
    assert mention.created_at == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert mention.author.created_at == datetime(2019, 8, 5, 10, 0, tzinfo=UTC)
    assert mention.engagement == 37  # reposts, replies, likes and quotes; not views, bookmarks
    assert (mention.author.handle, mention.author.followers, mention.author.verified) == (
        "dana",
        312,
        True,
    )
    assert (mention.hashtags, mention.mentions, mention.urls) == (
        ["fail"],
        ["AcmeHelp"],
        ["https://acme.example/o/1"],
    )


def test_quotes_plain_mentions_and_the_brands_own_posts() -> None:
    quote = {"id": "1", "text": "look", "author_id": "3001",
             "referenced_tweets": [{"type": "quoted", "id": "9"}]}  # fmt: skip
    plain = {"id": "2", "text": "@AcmeHelp hi", "author_id": "4004"}
    own = {"id": "3", "text": "We're on it", "author_id": BRAND}
    assert v2_mention(quote, USERS, BRAND).kind == "quote"  # type: ignore[union-attr]
    unknown_author = v2_mention(plain, USERS, BRAND)
    assert unknown_author is not None and unknown_author.kind == "mention"
    assert unknown_author.author.id == "4004" and unknown_author.author.handle is None
    assert v2_mention(own, USERS, BRAND) is None


def test_a_polled_reply_to_someone_else_tags_the_brand_along_as_its_webhook_twin_does() -> None:
    def reply(text: str, displayed_from: int | None) -> dict[str, object]:
        friend, brand = text.index("@jamie_r"), text.index("@AcmeHelp")
        post: dict[str, object] = {
            "id": "1992000000000000201",
            "text": text,
            "author_id": "3001",
            "in_reply_to_user_id": "1550000000000000001",
            "entities": {
                "mentions": [
                    {"start": friend, "end": friend + 8, "username": "jamie_r", "id": "155"},
                    {"start": brand, "end": brand + 9, "username": "AcmeHelp", "id": BRAND},
                ]
            },
        }
        if displayed_from is not None:
            post["display_text_range"] = [displayed_from, len(text)]
        return post

    def tagged_along(post: dict[str, object], brand: frozenset[str] = frozenset()) -> bool:
        mention = v2_mention(post, USERS, BRAND, brand)
        assert mention is not None
        return mention.tagged_along

    chat = "@jamie_r @AcmeHelp haha same, see you at the game tonight"
    assert tagged_along(reply(chat, 19))
    assert not tagged_along(reply("@jamie_r ugh @AcmeHelp my order still hasn't shipped", 9))
    # without the range (not asked for, or an older API answer) nobody can tell
    assert not tagged_along(reply(chat, None))
    # the brand's other accounts are the brand: a reply to one is not a reply to someone else
    other = {**reply(chat, 19), "in_reply_to_user_id": "777"}
    assert tagged_along(other) and not tagged_along(other, frozenset({"777"}))


def test_a_polled_edit_names_the_post_it_was_made_from_as_its_webhook_twin_does() -> None:
    first = {"id": "10", "text": "@AcmeHelp hi", "author_id": "3001",
             "edit_history_tweet_ids": ["10"]}  # fmt: skip
    edit = {
        **first,
        "id": "12",
        "text": "@AcmeHelp hi, order 7",
        "edit_history_tweet_ids": ["10", "12"],
    }
    assert v2_mention(first, USERS, BRAND).edit_of is None  # type: ignore[union-attr]
    assert v2_mention(edit, USERS, BRAND).edit_of == "x:10"  # type: ignore[union-attr]


def test_a_polled_quote_carries_the_post_it_quotes_from_the_includes() -> None:
    quote = {"id": "20", "text": "lol no", "author_id": "3001",
             "referenced_tweets": [{"type": "quoted", "id": "19"}]}  # fmt: skip
    quoted = {"id": "19", "text": "Our winter menu is here!", "author_id": BRAND}
    users = {**USERS, BRAND: {"id": BRAND, "username": "AcmeHelp"}}
    mention = v2_mention(quote, users, BRAND, posts={"19": quoted})
    assert mention is not None and mention.quoted == Quoted(
        id="x:19", text="Our winter menu is here!", author="AcmeHelp"
    )
    unseen = v2_mention(quote, users, BRAND)  # deleted or protected: X left it out
    assert unseen is not None and unseen.quoted == Quoted(id="x:19")


def test_the_videos_of_a_v2_post_are_its_attachments_as_their_best_mp4() -> None:
    clip = "https://video.twimg.com/amplify_video/1/vid/avc1/1280x720/clip.mp4"
    post = {"id": "20", "text": "@AcmeHelp look", "author_id": "3001969357",
            "attachments": {"media_keys": ["7_20", "7_gone"]}}  # fmt: skip
    media = {
        "7_20": {
            "media_key": "7_20",
            "type": "video",
            "variants": [
                {"content_type": "video/mp4", "bit_rate": 632000, "url": "https://v/s.mp4"},
                {"content_type": "video/mp4", "bit_rate": 2176000, "url": clip},
                {"content_type": "application/x-mpegURL", "url": "https://v/pl.m3u8"},
            ],
        }
    }
    mention = v2_mention(post, USERS, BRAND, media=media)
    assert mention is not None
    assert mention.attachments == [Attachment(kind="video", url=clip, mime_type="video/mp4")]
