"""An automatic answer to a customer who writes in a direct conversation while the department
that has it is closed (AWAY_MESSAGE; `{opens}` says when it opens next, `{name}` and `{handle}`
name the customer), so nobody writes into silence all weekend.

It is a reply like any other (stored, posted by the outbox worker, listed with the case's
replies, author `away-message`) except that it answers nothing: the SLA clock runs on and the
case stays on the department's waiting list. One a closed spell per conversation (the
customer's next messages before the opening get none); none for an urgent case (someone answers
those around the clock), a message another app holds (`standby`: a reply would take the
conversation over), one routing ignored, one more than an hour old when routed (a late
delivery), or a department that keeps no hours. Best effort: it never holds up or repeats
routing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from chalicelib.models import Reply, RoutedMention
from chalicelib.observability import logger
from chalicelib.services.templates import addressed
from chalicelib.settings import UNSTATED, Settings
from chalicelib.stores.mentions import MentionStore, dm_sender
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore, reply_id_of, send_automatic

AWAY_AUTHOR = "away-message"
FRESH = timedelta(hours=1)
"""How recent a message must be to get the away message: an older one is old news to answer."""


WRITTEN_DATES = {
    "en": (
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
        "January February March April May June July August September October November December",
        "{w} {d} {m} at {t}",
    ),
    "es": (
        "lunes martes miércoles jueves viernes sábado domingo",
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "{w} {d} de {m} a las {t}",
    ),
    "fr": (
        "lundi mardi mercredi jeudi vendredi samedi dimanche",
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "{w} {d} {m} à {t}",
    ),
    "de": (
        "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
        "{w}, {d}. {m} um {t}",
    ),
    "it": (
        "lunedì martedì mercoledì giovedì venerdì sabato domenica",
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre"
        " dicembre",
        "{w} {d} {m} alle {t}",
    ),
    "pt": (
        "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
        "{w}, {d} de {m} às {t}",
    ),
    "nl": (
        "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
        "januari februari maart april mei juni juli augustus september oktober november december",
        "{w} {d} {m} om {t}",
    ),
}
"""How `{opens}` is written in each language it is written out in (weekdays from Monday,
months from January, the order): an away message in another is given the date as numbers."""


NAMED = re.compile(r"\s*\{(?:name|handle)\}")
"""Where an away message names the customer, with the space before it."""


def opening(local: datetime, language: str | None) -> str:
    """When a department opens (`local`: in its business time zone) as an away message in
    `language` says it: `Monday 30 November at 09:00`, `lunes 30 de noviembre a las 09:00`;
    `2026-11-30 09:00` in a language not in WRITTEN_DATES; English when none is stated."""
    written = WRITTEN_DATES.get(language or "en")
    if written is None:
        return f"{local:%Y-%m-%d %H:%M}"
    weekdays, months, order = written
    return order.format(
        w=weekdays.split()[local.weekday()],
        d=local.day,
        m=months.split()[local.month - 1],
        t=f"{local:%H:%M}",
    )


def away_key(conversation: str) -> str:
    """The key the mention store holds a conversation's away message under, until the opening."""
    return f"away/{conversation}"


def closed_until(message: RoutedMention, settings: Settings, now: datetime) -> datetime | None:
    """When the department that has a routed mention opens again, if the mention gets an away
    message at `now`; None when it gets none (see above)."""
    mention, routing = message.mention, message.routing
    if not settings.away_message or mention.kind != "dm" or mention.standby:
        return None
    if mention.created_at is not None and now - mention.created_at > FRESH:
        return None  # a late delivery (a retry, a poller catching up): "we're closed" is news
    if routing.department == "ignore" or routing.priority == "urgent":
        return None
    hours = settings.business_hours(routing.department)
    if hours is None:
        return None
    opens = hours.deadline(now, 0, settings.timezone)  # `now` itself while open
    return opens if opens > now else None


def away_reply(message: RoutedMention, opens: datetime, settings: Settings, now: datetime) -> Reply:
    """The away message to a routed direct message, in its language where AWAY_MESSAGE has a
    text in it (else the first text), saying when its department `opens` in that text's
    language."""
    mention = message.mention
    language = message.routing.language()
    if language not in settings.away_message:
        language = next(iter(settings.away_message))
    when = opening(opens.astimezone(settings.timezone), language)
    text = settings.away_message[language]
    if language not in (UNSTATED, "en") and not (mention.author.name or mention.author.handle):
        text = NAMED.sub("", text)  # "Hola {name}," → "Hola,": the fallback "there" is English
    text = text.format(**addressed(mention), opens=when)
    return Reply(
        reply_id=reply_id_of(f"away|{mention.id}"),
        mention_id=mention.id,
        platform=mention.platform,
        text=text,
        department=message.routing.department,
        author=AWAY_AUTHOR,
        automatic=True,
        created_at=now,
    )


def say_away(
    messages: list[RoutedMention],
    mentions: MentionStore,
    replies: ReplyStore,
    queues: Queues,
    settings: Settings,
    now: datetime,
) -> None:
    """Queue the away message of each routed direct message that gets one, unless its
    conversation had one since its department closed."""
    for message in messages:
        opens = closed_until(message, settings, now)
        conversation = dm_sender(message.mention)
        if opens is None or conversation is None:
            continue
        reply = away_reply(message, opens, settings, now)
        key = away_key(conversation)
        try:
            if mentions.held(key, now) is not None:
                continue
            mentions.hold(key, reply.reply_id, now, opens)  # first: at most one, even on a retry
            send_automatic(replies, queues, reply)
        except Exception:
            logger.warning("could not send the away message", exc_info=True)
            continue
        logger.info("away message queued", extra={"mention_id": message.mention.id})
