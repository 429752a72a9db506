"""The satisfaction survey (CSAT): a reply sent with `survey` is followed, once posted, by
SATISFACTION_SURVEY, asking the customer to rate the help from 1 (poor) to 5 (great); their
answer in the next RATING_WINDOW is recorded on the case and counted in its department's report.

Only in a direct conversation (a public thread is no place for it, and the customer's answer
must be told from a new message) and within the platform's standard messaging window (Meta's
HUMAN_AGENT tag is for a person's messages, and WhatsApp takes free text only within 24 hours).
An answer that is a rating and nothing more ("5", "4/5", "⭐⭐⭐⭐", "3️⃣") goes to no department;
one that says more ("2, still no refund") is routed like any message in the conversation, its
rating recorded all the same. Best effort: the survey never holds up or repeats a reply.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

from chalicelib.models import MentionRecord, Rating, Reply
from chalicelib.rules.engine import Decision
from chalicelib.services.templates import addressed, render
from chalicelib.settings import SAVED_REPLY, Settings
from chalicelib.stores.mentions import dm_sender
from chalicelib.stores.replies import reply_id_of
from chalicelib.stores.templates import TemplateStore

SURVEY = "satisfaction-survey"
"""The survey's author, and what decided a bare rating's routing (`decided_by`)."""
RATING_BUTTONS = ["1", "2", "3", "4", "5"]
"""The scores offered to tap where the platform has a way (QUICK_REPLY_PLATFORMS: Messenger's
and Instagram's quick replies, a WhatsApp list): a tap posts its title, a rating like a typed
one."""
QUICK_REPLY_PLATFORMS = ("messenger", "instagram", "whatsapp")
RATING_WINDOW = timedelta(hours=24)
"""How long after the survey a customer's rating counts (the platforms' messaging window)."""
_RATING = re.compile(
    r"\s*(?:"
    r"(?P<digit>[1-5])(?:\s*(?:/|out\s+of|of)\s*5)?(?:\s*stars?)?(?![\w/]|[.,]\d)"
    r"|(?P<stars>(?:[\u2b50\U0001f31f]\ufe0f?){1,5})(?![\u2b50\U0001f31f])"
    r")",
    re.IGNORECASE,
)


def rating_key(conversation: str) -> str:
    """The key the mention store holds a conversation's open survey under (`open_survey`)."""
    return f"rating/{conversation}"


class OpenSurvey(NamedTuple):
    """What a conversation's open survey holds: the case it rates, the survey's reply id, and
    who sent the reply it followed."""

    case: str
    survey: str
    agent: str


def open_survey(case: str, survey: str, agent: str) -> str:
    """An open survey as the mention store holds it (`surveyed` reads it back)."""
    return f"{case} {survey} {agent}"


def surveyed(held: str) -> OpenSurvey:
    """The open survey a hold names (`open_survey`; the agent's name may have spaces)."""
    case, survey, agent = [*held.split(" ", 2), "", ""][:3]
    return OpenSurvey(case, survey, agent)


_COUNTED = re.compile(
    r"\s+(?:more|other|of|things?|items?|orders?|questions?|issues?|problems?|minutes?|hours?"
    r"|days?|weeks?|months?|years?|times?|people|persons?|packages?|parcels?|boxes|box|bags?"
    r"|pieces?|pairs?|emails?|calls?|messages?)\b",
    re.IGNORECASE,
)
"""What, right after a number, makes it a count rather than a score: "1 more thing", "2 items
are missing", "3 days and nothing"."""


def rating_in(text: str) -> tuple[int, bool] | None:
    """The score a message opens with, if it opens with one, and whether it says nothing more
    (only punctuation, emoji or spaces after it); None for a message that is no rating (a
    number that counts something: "1 more thing")."""
    found = _RATING.match(text)
    if found is None:
        return None
    digit = found.group("digit")
    score = int(digit) if digit else len(found.group("stars").replace("\ufe0f", ""))
    rest = text[found.end() :]
    if digit and found.group(0).strip() == digit and _COUNTED.match(rest):
        return None
    return score, not any(ch.isalnum() for ch in rest)


def saved_survey(settings: Settings) -> str | None:
    """The saved reply SATISFACTION_SURVEY names (`template:<id>`), if it names one."""
    value = settings.satisfaction_survey
    return value[len(SAVED_REPLY) :] if value.startswith(SAVED_REPLY) else None


def check_survey(
    record: MentionRecord, settings: Settings, late: bool, templates: TemplateStore | None
) -> str | None:
    """Why a reply to `record` cannot be followed by the survey (None: it can); `late`: the
    reply goes out past the platform's standard window (a messaging tag, a WhatsApp template)."""
    if not settings.satisfaction_survey:
        return "no SATISFACTION_SURVEY is set: there is no question to ask"
    saved = saved_survey(settings)
    if saved is not None and (templates is None or templates.get(saved) is None):
        return (
            f"SATISFACTION_SURVEY is the saved reply {saved!r}, and there is none: switchboard"
            f" templates set {saved} '…'"
        )
    if dm_sender(record.message.mention) is None:
        return "the satisfaction survey is asked in a direct conversation only"
    if late:
        return (
            "the customer last wrote over 24 hours ago: the platform takes no automatic message"
            " now, only a person's (or a WhatsApp template)"
        )
    return None


def survey_text(
    reply: Reply, record: MentionRecord, settings: Settings, templates: TemplateStore | None
) -> str | None:
    """The question that follows `reply`, for `record`'s author: SATISFACTION_SURVEY filled in,
    or the saved reply it names in their language where it has a translation (None when that
    saved reply is gone)."""
    mention = record.message.mention
    saved = saved_survey(settings)
    if saved is None:
        return settings.satisfaction_survey.format(**addressed(mention))
    template = templates.get(saved) if templates is not None else None
    if template is None:
        return None
    text, _ = template.in_language(record.message.routing.language())
    return render(text, mention, reply.author)


def survey_reply(reply: Reply, text: str, now: datetime) -> Reply:
    """The survey (`text`) that follows `reply`, to the same conversation (one per reply, by
    its id)."""
    return Reply(
        reply_id=reply_id_of(f"survey|{reply.reply_id}"),
        mention_id=reply.mention_id,
        platform=reply.platform,
        text=text,
        department=reply.department,
        author=SURVEY,
        automatic=True,
        created_at=now,
        quick_replies=RATING_BUTTONS if reply.platform in QUICK_REPLY_PLATFORMS else [],
    )


def rated(decision: Decision, rating: Rating, bare: bool) -> Decision:
    """The decision for a survey answer: a bare rating goes to no department, whatever the
    rules said (and continues no conversation: the case keeps its own); one with more to say is
    routed as decided."""
    if bare:
        why = f"rates {rating.case} {rating.score} of 5, as the satisfaction survey asked"
        decision.department, decision.also, decision.tags = "ignore", [], []
        decision.priority, decision.decided_by, decision.conversation = "normal", SURVEY, None
        decision.matched_rules = [(SURVEY, why)]
    return decision
