"""Saved replies: what a template may say, and how it reads for one customer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.errors import MalformedRequest
from chalicelib.models import Author, Mention, ReplyTemplate
from chalicelib.services.templates import check_placeholders, render

DANA = Mention(id="x:1", platform="x", text="?", author=Author(handle="danakim", name="Dana Kim"))


def test_a_template_is_filled_in_for_its_customer() -> None:
    text = "Hi {name}! Sorry {handle}, DM us {{order number}} ^{agent}"
    check_placeholders(text)
    assert render(text, DANA, "MK") == "Hi Dana Kim! Sorry @danakim, DM us {order number} ^MK"
    deployed = "arn:aws:sts::123456789012:assumed-role/SupportAgents/maya"  # an IAM caller
    assert render("^{agent}", DANA, deployed) == "^maya"


@pytest.mark.parametrize(
    ("author", "shown"),
    [
        (Author(handle="danakim"), "danakim / @danakim"),  # no display name: the handle
        (Author(name="Dana Kim"), "Dana Kim / Dana Kim"),  # no handle (Messenger): the name
        (Author(), "there / there"),  # nobody named: "Hi there"
    ],
)
def test_a_customer_the_platform_names_less_still_reads_well(author: Author, shown: str) -> None:
    mention = DANA.model_copy(update={"author": author})
    assert render("{name} / {handle}", mention, "MK") == shown


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Hi {order}", "unknown placeholder {order}; use {name}, {handle}, {agent}"),
        ("Hi {name!r}", "unknown placeholder {name}"),
        ("Hi {name:>20}", "unknown placeholder {name}"),
        ("Hi {name", "expected '}' before end of string"),
        ("Hi name}", "Single '}' encountered"),
        ("Hi {0}", "unknown placeholder {0}"),
        ("Hi {}", "unknown placeholder {}"),
    ],
)
def test_a_template_that_would_not_fill_in_is_refused(text: str, says: str) -> None:
    with pytest.raises(MalformedRequest, match=None) as raised:
        check_placeholders(text)
    assert says in raised.value.message


def test_a_template_answers_in_the_customers_language_where_it_has_one() -> None:
    template = ReplyTemplate(
        id="thanks",
        text="Thank you!",
        language="en",
        translations={"es": "¡Gracias!", "pt": "Obrigado!"},
        updated_by="sam",
        updated_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert template.in_language("pt") == ("Obrigado!", "pt")
    assert template.in_language("de") == ("Thank you!", "en")  # none in German: the main text
    assert template.in_language(None) == ("Thank you!", "en")  # language unknown
    assert template.languages == ["en", "es", "pt"]
    unnamed = template.model_copy(update={"language": None})
    assert (unnamed.in_language("de"), unnamed.languages) == (("Thank you!", None), ["es", "pt"])
