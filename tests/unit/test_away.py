"""The away message's text in the customer's language, and when the department opens, written
in that language."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.models import Author, Mention, ReplyPointer, RoutedMention, Routing
from chalicelib.services.away import away_reply, opening
from chalicelib.settings import Settings

OPENS = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "Monday 30 November at 09:00"),
        ("es", "lunes 30 de noviembre a las 09:00"),
        ("fr", "lundi 30 novembre à 09:00"),
        ("de", "Montag, 30. November um 09:00"),
        ("it", "lunedì 30 novembre alle 09:00"),
        ("pt", "segunda-feira, 30 de novembro às 09:00"),
        ("nl", "maandag 30 november om 09:00"),
        ("ja", "2026-11-30 09:00"),  # no names for it here: numbers read in any language
        (None, "Monday 30 November at 09:00"),  # AWAY_MESSAGE as one text, in no stated language
    ],
)
def test_the_opening_is_written_as_the_language_of_the_message_writes_dates(
    language: str | None, written: str
) -> None:
    assert opening(OPENS, language) == written


def dm(lang: str, name: str | None = "Ana") -> RoutedMention:
    mention = Mention(
        id="messenger:m1", platform="messenger", kind="dm", text="…", author=Author(name=name)
    )
    routing = Routing(department="support", signals={"lang": lang})
    return RoutedMention(
        mention=mention, routing=routing, reply=ReplyPointer(mention_id="messenger:m1")
    )


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("es", "Hola Ana: abrimos el lunes 30 de noviembre a las 09:00."),
        ("en", "Hi Ana, we open on Monday 30 November at 09:00."),
        ("de", "Hi Ana, we open on Monday 30 November at 09:00."),  # no German text: the first
    ],
)
def test_the_away_message_is_the_text_in_the_customers_language_else_the_first(
    lang: str, said: str
) -> None:
    by_language = {"en": "Hi {name}, we open on {opens}.", "es": "Hola {name}: abrimos el {opens}."}
    settings = Settings.from_env({"AWAY_MESSAGE": json.dumps(by_language)})
    assert away_reply(dm(lang), OPENS, settings, OPENS).text == said


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("es", "Hola: abrimos el lunes 30 de noviembre a las 09:00."),
        ("en", "Hi there, we open on Monday 30 November at 09:00."),
    ],
)
def test_a_customer_without_a_name_is_greeted_without_an_english_there_in_another_language(
    lang: str, said: str
) -> None:
    by_language = {"en": "Hi {name}, we open on {opens}.", "es": "Hola {name}: abrimos el {opens}."}
    settings = Settings.from_env({"AWAY_MESSAGE": json.dumps(by_language)})
    assert away_reply(dm(lang, name=None), OPENS, settings, OPENS).text == said
