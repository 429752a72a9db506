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

from datetime import datetime, timedelta

from chalicelib.models import Reply, RoutedMention
from chalicelib.observability import logger
from chalicelib.services.templates import addressed
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore, dm_sender
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore, reply_id_of, send_automatic

AWAY_AUTHOR = "away-message"
FRESH = timedelta(hours=1)
"""How recent a message must be to get the away message: an older one is old news to answer."""


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
    """The away message to a routed direct message, saying when its department `opens`."""
    mention = message.mention
    local = opens.astimezone(settings.timezone)
    text = settings.away_message.format(
        **addressed(mention), opens=f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"
    )
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
