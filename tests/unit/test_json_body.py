"""Reading JSON bodies: a lone surrogate escape, valid JSON but no character, becomes U+FFFD;
everything else reads as written."""

from __future__ import annotations

import pytest

from chalicelib.platforms.base import json_body, text_of


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        (r'{"t": "a\ud83d b"}', {"t": "a\ufffd b"}),  # a high half alone
        (r'{"t": "a\ude00 b"}', {"t": "a\ufffd b"}),  # a low half alone
        (r'{"t": "\ud83d\ude00"}', {"t": "\U0001f600"}),  # a pair: the emoji it spells
        (r'{"\ud800": ["\udbff", 1]}', {"\ufffd": ["\ufffd", 1]}),  # keys and lists too
        (r'{"t": "\\ud83d"}', {"t": "\\ud83d"}),  # an escaped backslash: text, not a surrogate
        ('{"t": "\uffff"}', {"t": "\uffff"}),  # a noncharacter is a character: kept
    ],
)
def test_a_body_reads_as_text_that_can_be_stored_and_sent(raw: str, read: object) -> None:
    assert json_body(raw) == read
    assert json_body(raw.encode()) == read


def test_a_platform_answer_is_read_the_same_way() -> None:
    answer = {"data": [{"text": "hi \ud83d"}]}
    assert text_of(answer, r'{"data": [{"text": "hi \ud83d"}]}') == {
        "data": [{"text": "hi \ufffd"}]
    }
    assert text_of(answer, "no escape in the raw text") is answer  # left alone: nothing to fix
