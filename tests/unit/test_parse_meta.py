"""Meta payloads (Page feed, Instagram, Messenger) → mentions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.errors import MalformedRequest, PartlyUnreadable, PoisonRecord
from chalicelib.models import Attachment, Mention, Quoted
from chalicelib.platforms import meta
from chalicelib.platforms.base import Answer, Change
from tests.helpers import delivery, sample_bytes

NONE: frozenset[str] = frozenset()


def test_page_comment_kept_own_comment_and_reaction_dropped() -> None:
    [comment] = meta.parse(delivery("meta", "meta_page_comments.json"), NONE)
    assert comment.id == "facebook:122131676912594941_1213590066982748"
    assert comment.platform == "facebook" and comment.kind == "comment"
    assert comment.text.startswith("The blender I bought from you caught fire")
    assert comment.author.name == "Lee Brennan"
    assert comment.in_reply_to == "facebook:448242228374517_122131676912594941"
    assert comment.brand_account == "448242228374517"


@pytest.mark.parametrize("created_time", [10**20, "1e400", "nan", "soon"])
def test_a_time_that_is_no_date_leaves_the_comment_undated(created_time: object) -> None:
    payload = json.loads(sample_bytes("meta_page_comments.json"))
    payload["entry"][0]["changes"][0]["value"]["created_time"] = created_time
    [comment] = meta.parse(delivery("meta", payload), NONE)
    assert comment.created_at is None  # the SLA clock then starts at receipt


def test_visitor_post_and_edits() -> None:
    value = {
        "from": {"id": "9"},
        "item": "status",
        "verb": "add",
        "post_id": "1_2",
        "message": "hi",
    }
    edited = {**value, "verb": "edited", "post_id": "1_3"}
    payload = {
        "object": "page",
        "entry": [{"id": "1", "changes": [{"field": "feed", "value": v} for v in (value, edited)]}],
    }
    [post] = meta.parse(delivery("meta", payload), NONE)
    assert (post.id, post.kind) == ("facebook:1_2", "post")
    video = {**value, "item": "video", "post_id": "1_4", "message": "watch it fall apart"}
    only_video = {
        "object": "page",
        "entry": [{"id": "1", "changes": [{"field": "feed", "value": video}]}],
    }
    [posted] = meta.parse(delivery("meta", only_video), NONE)
    assert (posted.id, posted.kind, posted.text) == ("facebook:1_4", "post", "watch it fall apart")


def test_the_pages_own_posts_are_kept_for_the_comments_on_them() -> None:
    own = {"from": {"id": "1", "name": "Acme"}, "item": "photo", "verb": "add", "post_id": "1_5"}
    visitors = {"from": {"id": "9"}, "item": "status", "verb": "add", "post_id": "1_2"}
    edited = {**own, "verb": "edited", "post_id": "1_6"}
    comment = {**own, "item": "comment", "post_id": "1_5", "comment_id": "5_7", "parent_id": "1_5"}
    values: list[Any] = [{**own, "message": "New in store"}, visitors, edited, comment]
    changes: list[Any] = [{"field": "feed", "value": v} for v in values]
    changes.append("not a change")  # skipped, never a reason to lose the delivery
    payload = {"object": "page", "entry": [{"id": "1", "changes": changes}]}
    assert meta.brand_posts(delivery("meta", payload), NONE) == [
        Quoted(id="facebook:1_5", text="New in store", author="Acme")
    ]
    instagram = {"object": "instagram", "entry": [{"id": "1", "changes": changes}]}
    assert meta.brand_posts(delivery("meta", instagram), NONE) == []


def test_instagram_comment_keeps_unicode_from_escaped_body() -> None:
    assert b"\\u00e9" in sample_bytes("meta_instagram_comment.json")
    [comment] = meta.parse(delivery("meta", "meta_instagram_comment.json"), NONE)
    assert comment.id == "instagram:17865799348089039"
    assert "\u00e9l\u00e9gant \U0001f60d" in comment.text
    assert comment.author.handle == "camila.rios"
    assert comment.in_reply_to == "instagram:17918195224117851"


def test_instagram_comment_id_under_comment_id_and_mentions_without_text() -> None:
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": "17841405726653026",
                "changes": [
                    {
                        "field": "comments",
                        "value": {"comment_id": "c1", "text": "hey", "from": {"id": "u"}},
                    },
                    {"field": "mentions", "value": {"comment_id": "c2", "media_id": "m1"}},
                ],
            }
        ],
    }
    comment, mention = meta.parse(delivery("meta", payload), NONE)
    assert comment.id == "instagram:c1"
    assert (mention.id, mention.kind, mention.text) == ("instagram:c2", "mention", "")


def test_messenger_message_is_private_and_echo_dropped() -> None:
    [message] = meta.parse(delivery("meta", "meta_messenger.json"), NONE)
    assert message.platform == "messenger" and message.kind == "dm" and not message.public
    assert message.author.id == "7010000000000001"
    assert message.text.startswith("My parcel is lost")


def test_whatsapp_messages_are_direct_messages_to_the_business_number() -> None:
    """Cloud API `messages` changes: the customer's text with their profile name; delivery
    statuses and reactions are no mentions."""
    [message] = meta.parse(delivery("meta", "meta_whatsapp.json"), NONE)
    assert message.id.startswith("whatsapp:wamid.") and message.platform == "whatsapp"
    assert (message.kind, message.public) == ("dm", False)
    assert message.text.startswith("Hi, my order 1182 never arrived")
    assert (message.author.id, message.author.name) == ("447700900123", "Priya Nair")
    assert message.brand_account == "106540352242922"  # the phone number replies go from
    assert message.created_at == datetime.fromtimestamp(1795336100, tz=UTC)
    assert meta.answers(delivery("meta", "meta_whatsapp.json"), NONE) == []


def test_what_became_of_the_business_whatsapp_messages_is_news_of_their_replies() -> None:
    payload = json.loads(sample_bytes("meta_whatsapp.json"))
    [status] = payload["entry"][0]["changes"][1]["value"]["statuses"]
    read = datetime.fromtimestamp(1795336090, tz=UTC)
    post = f"whatsapp:{status['id']}"
    assert meta.changes(delivery("meta", payload)) == [Change(post, seen="read", at=read)]
    status["status"] = "delivered"
    assert meta.changes(delivery("meta", payload)) == [Change(post, seen="delivered", at=read)]
    status["status"] = "sent"
    assert meta.changes(delivery("meta", payload)) == []  # Switchboard knows it sent it
    status["status"] = "failed"
    status["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    assert meta.changes(delivery("meta", payload)) == [
        Change(f"whatsapp:{status['id']}", undelivered="131026 Message undeliverable")
    ]


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"type": "interactive", "interactive": {"type": "button_reply",
          "button_reply": {"id": "track", "title": "Track my order"}}}, "Track my order"),
        ({"type": "interactive", "interactive": {"type": "list_reply",
          "list_reply": {"id": "r", "title": "Returns", "description": "…"}}}, "Returns"),
        ({"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
         "Stop promotions"),
        ({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg",
          "caption": "the box arrived like this"}}, "the box arrived like this"),
        ({"type": "location", "location": {"latitude": 51.5, "longitude": -0.1,
          "name": "Acme Leeds", "address": "1 Briggate"}}, "Acme Leeds 1 Briggate"),
        ({"type": "audio", "audio": {"id": "m2", "mime_type": "audio/ogg"}}, ""),
        ({"type": "order", "order": {"catalog_id": "c1", "text": "before Friday please",
          "product_items": [{"product_retailer_id": "tee-blue-m", "quantity": 2,
                             "item_price": 19.99, "currency": "GBP"},
                            {"product_retailer_id": "socks-3", "quantity": 1,
                             "item_price": 5, "currency": "GBP"}]}},
         "before Friday please (order from the catalog: 2 × tee-blue-m at 19.99 GBP;"
         " 1 × socks-3 at 5 GBP)"),
        ({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana Silva"},
          "phones": [{"phone": "+351 912 000 111", "type": "CELL"}]}]},
         "shared a contact: Ana Silva +351 912 000 111"),
        ({"type": "system", "system": {"body": "Priya changed their phone number",
          "wa_id": "447700900999", "type": "user_changed_number"}},
         "Priya changed their phone number"),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, ""),
    ],
)  # fmt: skip
def test_what_a_whatsapp_message_says(message: dict[str, Any], text: str) -> None:
    assert whatsapp_message(message).text == text


def whatsapp_message(message: dict[str, Any]) -> Mention:
    payload = json.loads(sample_bytes("meta_whatsapp.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [{"from": "447700900123", "id": "wamid.X", "timestamp": "1", **message}]
    [mention] = meta.parse(delivery("meta", payload), NONE)
    return mention


@pytest.mark.parametrize(
    ("message", "attached"),
    [
        ({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}},
         Attachment(kind="image", media_id="m1", mime_type="image/jpeg")),
        ({"type": "audio", "audio": {"id": "m2", "mime_type": "audio/ogg", "voice": True}},
         Attachment(kind="voice", media_id="m2", mime_type="audio/ogg")),
        ({"type": "document", "document": {"id": "m3", "mime_type": "application/pdf",
          "filename": "invoice-1182.pdf", "caption": "wrong amount"}},
         Attachment(kind="document", media_id="m3", mime_type="application/pdf",
                    filename="invoice-1182.pdf")),
        ({"type": "sticker", "sticker": {"id": "m4", "mime_type": "image/webp"}},
         Attachment(kind="sticker", media_id="m4", mime_type="image/webp")),
    ],
)  # fmt: skip
def test_the_file_a_whatsapp_message_carries_is_kept_by_its_media_id(
    message: dict[str, Any], attached: Attachment
) -> None:
    assert whatsapp_message(message).attachments == [attached]


def test_batched_entries_are_all_read() -> None:
    one = json.loads(sample_bytes("meta_page_comments.json"))["entry"][0]
    two = json.loads(sample_bytes("meta_messenger.json"))["entry"][0]
    mentions = meta.parse(delivery("meta", {"object": "page", "entry": [one, two]}), NONE)
    assert [m.platform for m in mentions] == ["facebook", "messenger"]


def test_brand_accounts_are_dropped() -> None:
    assert (
        meta.parse(delivery("meta", "meta_messenger.json"), frozenset({"7010000000000001"})) == []
    )


def test_unreadable_entry_is_poison() -> None:
    payload = {"object": "page", "entry": [{"changes": []}]}
    with pytest.raises(PoisonRecord):
        meta.parse(delivery("meta", payload), NONE)


def test_an_entry_that_cannot_be_read_holds_back_none_of_the_others() -> None:
    good = json.loads(sample_bytes("meta_messenger.json"))["entry"][0]
    odd = {"id": "2", "messaging": [{"sender": {"id": "9"}, "message": {"text": "no mid"}}]}
    with pytest.raises(PartlyUnreadable) as raised:
        meta.parse(delivery("meta", {"object": "page", "entry": [odd, good, odd]}), NONE)
    assert [m.author.id for m in raised.value.readable] == ["7010000000000001"]
    assert "2 item(s) could not be read" in str(raised.value)


@pytest.mark.parametrize("payload", [[], {"object": "page"}, {"entry": []}])
def test_check_requires_object_and_entry(payload: object) -> None:
    with pytest.raises(MalformedRequest):
        meta.check(payload)


def test_edited_and_removed_feed_comments_and_posts_are_named() -> None:
    def change(item: str, verb: str, **fields: str) -> dict[str, object]:
        return {"field": "feed", "value": {"item": item, "verb": verb, **fields}}

    payload = {
        "object": "page",
        "entry": [
            {
                "id": "448242228374517",
                "time": 1,
                "changes": [
                    change("comment", "remove", comment_id="1_2", post_id="4_1"),
                    change("status", "remove", post_id="4_5"),
                    change("comment", "edited", comment_id="1_6", post_id="4_1", message="v2"),
                    change("reaction", "remove", post_id="4_1"),
                    change("comment", "add", comment_id="1_3", post_id="4_1", message="hi"),
                ],
            }
        ],
    }
    assert meta.changes(delivery("meta", payload)) == [
        Change("facebook:1_2"),
        Change("facebook:4_5"),
        Change("facebook:1_6", "v2"),
    ]
    broken = {"object": "page", "entry": [{"changes": [change("comment", "remove")]}]}
    with pytest.raises(PoisonRecord, match="unreadable Meta delivery"):
        meta.changes(delivery("meta", broken))


def test_edited_and_unsent_direct_messages_are_named_and_are_not_mentions() -> None:
    def messaging(obj: str, *events: dict[str, object]) -> dict[str, object]:
        return {"object": obj, "entry": [{"id": "448242228374517", "messaging": list(events)}]}

    who = {"sender": {"id": "6001"}, "recipient": {"id": "448242228374517"}, "timestamp": 1}
    edit = {**who, "message_edit": {"mid": "m_1", "text": "order 42, not 24", "num_edit": 1}}
    unsent = {**who, "message": {"mid": "m_2", "is_deleted": True}}
    for obj, platform in (("page", "messenger"), ("instagram", "instagram")):
        payload = messaging(obj, edit, unsent)
        assert meta.changes(delivery("meta", payload)) == [
            Change(f"{platform}:m_1", "order 42, not 24"),
            Change(f"{platform}:m_2"),
        ]
        assert meta.parse(delivery("meta", payload), NONE) == []
    odd = {"id": "2", "messaging": [{**who, "message_edit": {"text": "no mid"}}]}
    payload = messaging("page", edit)
    payload["entry"].append(odd)  # type: ignore[attr-defined]
    with pytest.raises(PartlyUnreadable, match="unreadable Meta delivery") as raised:
        meta.changes(delivery("meta", payload))
    assert raised.value.readable == [Change("messenger:m_1", "order 42, not 24")]


def test_messages_on_the_standby_channel_are_mentions_marked_so_and_their_echoes_answers() -> None:
    """While another app holds a conversation (a chatbot, Meta's inbox), Meta delivers its
    events under `standby` instead of `messaging`: nothing there may be lost."""
    page = "448242228374517"
    person = {"sender": {"id": "6001"}, "recipient": {"id": page}, "timestamp": 1795336039000}
    said = {**person, "message": {"mid": "m_sb1", "text": "the bot does not get it, a human pls"}}
    bot = {
        "sender": {"id": page},
        "recipient": {"id": "6001"},
        "timestamp": 1795336040000,
        "message": {"mid": "m_sb2", "text": "Pick an option", "is_echo": True, "app_id": 555},
    }
    edit = {**person, "message_edit": {"mid": "m_sb1", "text": "a human please", "num_edit": 1}}
    direct = {**person, "message": {"mid": "m_own", "text": "hello"}}
    for obj, platform in (("page", "messenger"), ("instagram", "instagram")):
        entry = {"id": page, "messaging": [direct], "standby": [said, bot, edit]}
        raw = delivery("meta", {"object": obj, "entry": [entry]})
        mentions = meta.parse(raw, NONE)
        assert [(m.id, m.standby) for m in mentions] == [
            (f"{platform}:m_own", False),
            (f"{platform}:m_sb1", True),
        ]
        assert mentions[1].text == "the bot does not get it, a human pls"
        assert mentions[1].kind == "dm" and mentions[1].author.id == "6001"
        [answer] = meta.answers(raw, NONE)
        assert (answer.to, answer.post, answer.via) == (
            f"{platform}:dm/6001",
            f"{platform}:m_sb2",
            ("555",),  # the bot: in AUTOMATED_APPS it answers nothing
        )
        assert meta.changes(raw) == [Change(f"{platform}:m_sb1", "a human please")]


def test_a_tapped_button_is_a_message_with_its_title() -> None:
    """A postback (Get Started, a persistent-menu item, a button the brand sent) is what the
    person said; on the standby channel it comes without its payload, still with its title."""
    who = {"sender": {"id": "6001"}, "recipient": {"id": "1"}, "timestamp": 1795336039000}
    tapped = {**who, "postback": {"mid": "m_pb", "title": "Talk to an agent", "payload": "AGENT"}}
    no_id = {**who, "postback": {"title": "Get Started"}}  # nothing to name it by: not a case
    standby = {**who, "postback": {"mid": "m_pb2", "title": "Track my order"}}
    plugin = {  # Meta's own example names the sender by a plugin's user_ref
        "sender": {"user_ref": "USER-REF-ID"},
        "recipient": {"id": "1"},
        "timestamp": 1795336039000,
        "postback": {"mid": "m_pb3", "title": "Opening hours", "payload": "HOURS"},
    }
    entry = {"id": "1", "messaging": [tapped, no_id, plugin], "standby": [standby]}
    mentions = meta.parse(delivery("meta", {"object": "page", "entry": [entry]}), NONE)
    assert [(m.id, m.text, m.kind, m.standby, m.author.id) for m in mentions] == [
        ("messenger:m_pb", "Talk to an agent", "dm", False, "6001"),
        ("messenger:m_pb3", "Opening hours", "dm", False, None),
        ("messenger:m_pb2", "Track my order", "dm", True, "6001"),
    ]


def test_the_pages_own_comments_and_sent_messages_are_answers() -> None:
    """A Page comment under a visitor's comment answers it; one under the Page's own post (to
    everyone) names that post; a message the Page sent (an echo) answers its recipient."""
    payload = json.loads(sample_bytes("meta_page_comments.json"))
    [everyone] = meta.answers(delivery("meta", payload), NONE)
    assert everyone.to == "facebook:448242228374517_122131676912594941"  # the Page's post
    own = payload["entry"][0]["changes"][1]["value"]
    own["parent_id"] = "122131676912594941_1213590066982748"  # Lee's comment
    [answer] = meta.answers(delivery("meta", payload), NONE)
    assert answer == Answer(
        "facebook:122131676912594941_1213590066982748",
        "facebook:122131676912594941_1213590066982799",
        datetime.fromtimestamp(1795335595, tz=UTC),
    )
    own["verb"] = "edited"  # the Page editing its answer answers nothing new
    assert meta.answers(delivery("meta", payload), NONE) == []
    [echo] = meta.answers(delivery("meta", "meta_messenger.json"), NONE)
    assert echo == Answer(
        "messenger:dm/7010000000000001",
        "messenger:m_echo_0001",
        datetime.fromtimestamp(1795336039, tz=UTC),
        ("1517776481860111",),  # the app that sent it: a person in the inbox, or a bot?
    )


def test_an_instagram_accounts_reply_and_message_are_answers() -> None:
    comment = {"from": {"id": "17841400000000001"}, "id": "c9", "parent_id": "c1", "text": "DM us!"}
    echo: dict[str, Any] = {
        "sender": {"id": "17841400000000001"},
        "recipient": {"id": "igsid-5"},
        "timestamp": 1795336039000,
        "message": {"mid": "ig-m2", "text": "Hi!", "is_echo": True},
    }
    entry = {
        "id": "17841400000000001",
        "changes": [{"field": "comments", "value": comment}],
        "messaging": [echo],
    }
    answers = meta.answers(delivery("meta", {"object": "instagram", "entry": [entry]}), NONE)
    assert [(a.to, a.post) for a in answers] == [
        ("instagram:c1", "instagram:c9"),
        ("instagram:dm/igsid-5", "instagram:ig-m2"),
    ]
    comment["from"] = {"id": "customer"}  # a customer's reply is a mention, not an answer
    echo["message"]["is_deleted"] = True  # and an unsent message answers nobody
    assert meta.answers(delivery("meta", {"object": "instagram", "entry": [entry]}), NONE) == []


def test_a_comment_the_page_hides_or_shows_again_is_a_change() -> None:
    payload = json.loads(sample_bytes("meta_page_comments.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    case = "facebook:122131676912594941_1213590066982748"
    for verb, hidden in (("hide", True), ("unhide", False)):
        value["verb"] = verb
        assert meta.changes(delivery("meta", payload)) == [Change(case, hidden=hidden)]
    value["item"] = "reaction"  # a reaction hidden is not a mention hidden
    assert meta.changes(delivery("meta", payload)) == []


def test_an_echo_that_cannot_be_read_is_skipped_and_the_message_still_routed() -> None:
    payload = json.loads(sample_bytes("meta_messenger.json"))
    del payload["entry"][0]["messaging"][1]["recipient"]  # the Page's message, but to whom?
    assert meta.answers(delivery("meta", payload), NONE) == []
    [message] = meta.parse(delivery("meta", payload), NONE)
    assert message.text.startswith("My parcel is lost")
