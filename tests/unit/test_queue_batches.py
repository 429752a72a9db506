"""How messages are grouped into SendMessageBatch calls: SQS takes ten a call, 256 KiB in all."""

from __future__ import annotations

from chalicelib.stores.queues import SQS_MAX_MESSAGE_BYTES, OutgoingMessage, batches


def sizes(messages: list[OutgoingMessage]) -> list[tuple[int, int]]:
    return [(start, len(chunk)) for start, chunk in batches(messages)]


def test_small_messages_go_ten_a_call() -> None:
    messages = [OutgoingMessage(f"m{i}", {"department": "support"}) for i in range(23)]
    assert sizes(messages) == [(0, 10), (10, 10), (20, 3)]
    assert [m for _, chunk in batches(messages) for m in chunk] == messages  # in order, all


def test_big_messages_go_as_many_a_call_as_fit_in_256_kib() -> None:
    quarter = OutgoingMessage("x" * (SQS_MAX_MESSAGE_BYTES // 4 - 100), {"department": "support"})
    assert sizes([quarter] * 9) == [(0, 4), (4, 4), (8, 1)]
    unicode = OutgoingMessage("é" * (SQS_MAX_MESSAGE_BYTES // 4))  # two bytes each: half the limit
    assert sizes([unicode] * 3) == [(0, 2), (2, 1)]


def test_one_message_over_the_limit_goes_alone_for_sqs_to_refuse() -> None:
    small, huge = OutgoingMessage("hi"), OutgoingMessage("x" * (SQS_MAX_MESSAGE_BYTES + 1))
    assert sizes([small, huge, small]) == [(0, 1), (1, 1), (2, 1)]
    assert sizes([]) == []
