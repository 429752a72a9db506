"""A reply sent in a direct conversation says when the customer received and read it, from
the receipts Messenger (`message_deliveries`, `message_reads`: watermarks), Instagram
(`messaging_seen`) and X (`direct_message_mark_read_events`) send for the whole conversation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from chalicelib.models import Author, Mention
from chalicelib.platforms.x import X_EPOCH_MS
from tests.integration.conftest import post_signed
from tests.integration.test_native_answers import deliver, messenger
from tests.integration.test_replies import drain_outbox, get, reply, routed, store
from tests.integration.test_routing_flow import drain_intake

PAGE, CUSTOMER = "448242228374517", "7010000000000001"


def receipt(obj: str, customer: str, account: str, at_ms: int, **said: object) -> bytes:
    """A Meta messaging event of a customer's receipt (`read` or `delivery`), sent `at_ms`."""
    event = {"sender": {"id": customer}, "recipient": {"id": account}, "timestamp": at_ms, **said}
    entry = {"id": account, "time": at_ms, "messaging": [event]}
    return json.dumps({"object": obj, "entry": [entry]}).encode()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def sent_reply(client: Client, stack: dict[str, str], mention_id: str) -> tuple[str, int]:
    """Reply through Switchboard; the reply's id, and a moment (ms) just after it was sent."""
    started = int(time.time() * 1000)
    _, queued = reply(client, {"mention_id": mention_id, "text": "It ships today, sorry!"})
    drain_outbox(stack)
    assert get(client, f"/replies/{queued['reply_id']}")["status"] == "sent"
    return queued["reply_id"], max(started, int(time.time() * 1000)) + 1000


@pytest.mark.usefixtures("fakes")
def test_messenger_watermarks_say_when_the_reply_was_delivered_and_first_read(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 0))
    reply_id, after = sent_reply(client, stack, "messenger:m1")
    early = receipt("page", CUSTOMER, PAGE, after, read={"watermark": after - 60_000})
    deliver(client, stack, "meta", early)  # read up to a minute before the reply: not the reply
    assert get(client, f"/replies/{reply_id}")["read_at"] is None

    delivered = receipt("page", CUSTOMER, PAGE, after, delivery={"watermark": after})
    read = receipt("page", CUSTOMER, PAGE, after + 5_000, read={"watermark": after})
    again = receipt("page", CUSTOMER, PAGE, after + 90_000, read={"watermark": after + 80_000})
    for body in (delivered, read, again):  # Messenger says "read" each time she opens it
        deliver(client, stack, "meta", body)
    seen = get(client, f"/replies/{reply_id}")
    assert (seen["status"], seen["delivered_at"], seen["read_at"]) == (
        "sent",
        iso(after),
        iso(after + 5_000),
    )


@pytest.mark.usefixtures("fakes")
def test_a_watermark_marks_every_reply_it_covers_not_only_the_latest(
    client: Client, stack: dict[str, str]
) -> None:
    """Two answers in a row ("sorry!", then "refund issued"): a receipt up to the first marks
    the first; one up to both marks the second, and the first keeps its own time."""
    deliver(client, stack, "meta", messenger("m1", "My parcel is lost, order 5521", 0))
    first, between = sent_reply(client, stack, "messenger:m1")
    time.sleep(max(0.0, between / 1000 - time.time()) + 0.05)  # the second begins after it
    second, after = sent_reply(client, stack, "messenger:m1")
    deliver(
        client, stack, "meta", receipt("page", CUSTOMER, PAGE, between, read={"watermark": between})
    )
    assert get(client, f"/replies/{first}")["read_at"] == iso(between)
    assert get(client, f"/replies/{second}")["read_at"] is None
    later = after + 2_000
    for body in (
        receipt("page", CUSTOMER, PAGE, later, read={"watermark": after}),
        receipt("page", CUSTOMER, PAGE, later, delivery={"watermark": after}),
    ):
        deliver(client, stack, "meta", body)
    assert get(client, f"/replies/{second}")["read_at"] == iso(later)
    assert get(client, f"/replies/{first}")["read_at"] == iso(between)  # its own, kept
    assert get(client, f"/replies/{first}")["delivered_at"] == iso(later)  # both delivered


@pytest.mark.usefixtures("fakes")
def test_instagram_seen_says_when_the_reply_was_read(client: Client, stack: dict[str, str]) -> None:
    account = "17841400000000001"
    store(
        Mention(
            id="instagram:aWdfZAG1",
            platform="instagram",
            kind="dm",
            text="my order never came",
            created_at=datetime.now(UTC),
            author=Author(id="6120000000000001"),
            brand_account=account,
        )
    )
    reply_id, after = sent_reply(client, stack, "instagram:aWdfZAG1")
    seen = receipt("instagram", "6120000000000001", account, after, read={"mid": "aWdfZAG2"})
    deliver(client, stack, "meta", seen)
    assert get(client, f"/replies/{reply_id}")["read_at"] == iso(after)


@pytest.mark.usefixtures("fakes")
def test_x_says_when_the_customer_read_the_direct_message_not_when_the_brand_did(
    client: Client, stack: dict[str, str]
) -> None:
    routed(client, stack, "x", "x_dm_refund.json")
    reply_id, after = sent_reply(client, stack, "x:1992000000000000100")

    def mark_read(reader: str, other: str, upto_ms: int) -> bytes:
        event = {
            "created_timestamp": str(after + 2_000),
            "sender_id": reader,
            "target": {"recipient_id": other},
            "last_read_event_id": str((upto_ms - X_EPOCH_MS) << 22),
        }
        body = {"for_user_id": "2244994945", "direct_message_mark_read_events": [event]}
        return json.dumps(body).encode()

    def read_by(reader: str, other: str) -> str | None:
        assert post_signed(client, "x", mark_read(reader, other, after)).status_code == 200
        drain_intake(stack)
        answer: str | None = get(client, f"/replies/{reply_id}")["read_at"]
        return answer

    assert read_by("2244994945", "3001969357") is None  # the brand reading her messages
    assert read_by("3001969357", "2244994945") == iso(after + 2_000)
