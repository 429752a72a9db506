"""The replies of a direct conversation its receipts can mark, as the mention store holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.stores.replies import RECEIPT_REPLIES, conversation_replies, with_reply

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_the_latest_replies_are_listed_first_each_with_when_it_began() -> None:
    held = None
    for n in range(RECEIPT_REPLIES + 2):
        held = (with_reply(held, f"r_{n}", NOW + timedelta(minutes=n)), NOW)
    listed = conversation_replies(held)
    assert len(listed) == RECEIPT_REPLIES  # the oldest two gone
    assert listed[0] == (f"r_{RECEIPT_REPLIES + 1}", NOW + timedelta(minutes=RECEIPT_REPLIES + 1))
    assert listed[-1] == ("r_2", NOW + timedelta(minutes=2))


def test_a_hold_from_before_lists_its_one_reply_at_the_holds_time() -> None:
    assert conversation_replies(("r_1", NOW)) == [("r_1", NOW)]
    assert conversation_replies(None) == []
