"""Generic intake bodies: one normalised mention or a list."""

from __future__ import annotations

import pytest

from chalicelib.errors import MalformedRequest, PoisonRecord
from chalicelib.platforms import generic
from tests.helpers import delivery

ONE = {"id": "reddit:t3_x", "platform": "reddit", "text": "hello"}


def test_single_mention_with_defaults() -> None:
    [mention] = generic.parse(delivery("generic", ONE), frozenset())
    assert (mention.kind, mention.public, mention.author.followers) == ("mention", True, 0)


def test_list_and_brand_echo() -> None:
    own = {**ONE, "id": "reddit:t3_y", "author": {"id": "brand"}}
    mentions = generic.parse(delivery("generic", [ONE, own]), frozenset({"brand"}))
    assert [m.id for m in mentions] == ["reddit:t3_x"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"platform": "reddit", "text": "x"}, "0.id: Field required"),
        ({**ONE, "id": "mastodon:1"}, "id must look like 'reddit:<native-id>'"),
        ({**ONE, "edit_of": "x:1"}, "edit_of must look like 'reddit:<native-id>'"),  # not ours
        ({**ONE, "quoted": {"text": "hi"}}, "0.quoted.id: Field required"),
        ({**ONE, "kind": "tweet"}, "0.kind"),
        ([ONE, {"id": "a:1", "platform": "a"}], "1.text: Field required"),
        ("just text", "0: Input should be a valid dictionary"),
    ],
)
def test_check_says_what_is_wrong(body: object, problem: str) -> None:
    with pytest.raises(MalformedRequest) as raised:
        generic.check(body)
    assert problem in raised.value.message


def test_invalid_queued_body_is_poison() -> None:
    with pytest.raises(PoisonRecord):
        generic.parse(delivery("generic", {"id": "x"}), frozenset())


def test_a_brand_accounts_reply_answers_the_mention_it_replies_to() -> None:
    answer = {**ONE, "id": "reddit:t1_a", "author": {"id": "brand"}, "in_reply_to": "reddit:t3_x"}
    plain = {**ONE, "id": "reddit:t3_z", "author": {"id": "brand"}}  # a post of its own
    [found] = generic.answers(delivery("generic", [ONE, answer, plain]), frozenset({"brand"}))
    assert (found.to, found.post, found.at) == ("reddit:t3_x", "reddit:t1_a", None)
