"""What a customer's message to the satisfaction survey rates: a score to open it, and whether
it says anything more."""

from __future__ import annotations

import pytest

from chalicelib.services.survey import rating_in


@pytest.mark.parametrize(
    ("text", "rated"),
    [
        ("5", (5, True)),
        (" 4/5 ", (4, True)),
        ("3 out of 5!", (3, True)),
        ("4 of 5", (4, True)),
        ("5 stars", (5, True)),
        ("1 star.", (1, True)),
        ("⭐⭐⭐⭐", (4, True)),
        ("⭐️⭐️⭐️", (3, True)),  # with emoji presentation selectors
        ("3️⃣", (3, True)),  # a keycap
        ("5 😀🙏", (5, True)),
        ("2, it still has not come", (2, False)),
        ("1 - nobody read my order number", (1, False)),
        ("5 great service", (5, False)),
        ("4 of 5, one more thing though", (4, False)),
    ],
)
def test_a_rating_opens_the_message(text: str, rated: tuple[int, bool]) -> None:
    assert rating_in(text) == rated


@pytest.mark.parametrize(
    "text",
    [
        "great, thanks",
        "10",
        "0",
        "6",
        "1st time it worked",
        "3.5",
        "⭐⭐⭐⭐⭐⭐",
        "order 5521",
        "",
        "1 more thing: the box was wet",  # a number that counts something is no score
        "2 items are missing",
        "3 days and still nothing",
        "4 of my orders never came",
        "1 Question: can I change the address?",
    ],
)
def test_anything_else_is_no_rating(text: str) -> None:
    assert rating_in(text) is None
