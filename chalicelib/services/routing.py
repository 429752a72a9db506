"""The routing worker's service: delivery → mentions → signals → rules → department queues.

Idempotent per mention: each mention is claimed before it is routed and completed after its
messages are sent, so a redelivered delivery routes every mention once; an attempt that failed
after some queues had a message leaves the retry that message and the queues still to send it to.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from chalicelib.classify import compute_signals, enrich, fallback_department, in_models_language
from chalicelib.errors import (
    MalformedRequest,
    NotFound,
    PartlyUnreadable,
    PoisonRecord,
    RecordFull,
)
from chalicelib.models import (
    HISTORY_LIMIT,
    Conversation,
    History,
    Mention,
    MentionRecord,
    Rating,
    RawDelivery,
    ReplyPointer,
    RoutedMention,
    Routing,
)
from chalicelib.observability import (
    QUEUED_MENTIONS,
    SATISFACTION,
    logger,
    metrics,
    per_department,
)
from chalicelib.platforms import get_platform
from chalicelib.platforms.base import Change
from chalicelib.rules import Engine, Ruleset, default_ruleset, routable, validate_ruleset
from chalicelib.rules.engine import Decision
from chalicelib.services.alerts import agent_alert, new_case_alerts
from chalicelib.services.away import say_away
from chalicelib.services.case_news import CaseNews
from chalicelib.services.intake import INTAKE_QUEUE, MENTIONS_PER_MESSAGE, queue_mentions
from chalicelib.services.moderation import hide_message, unhideable
from chalicelib.services.replied_posts import RepliedPosts
from chalicelib.services.shifts import Rosters, back_to_answerer, continued_case
from chalicelib.services.sla import sla_due
from chalicelib.services.survey import rated, rating_in, rating_key, surveyed
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.mentions import (
    Claim,
    MentionStore,
    Progress,
    author_key,
    dm_sender,
    follow_up,
)
from chalicelib.stores.payloads import PayloadGone, Payloads
from chalicelib.stores.queues import (
    SQS_MAX_MESSAGE_BYTES,
    OutgoingMessage,
    Queues,
    QueueSendError,
    message_size,
)
from chalicelib.stores.replies import OUTBOX, ReplyStore
from chalicelib.stores.rules import RulesStore
from chalicelib.stores.shifts import ShiftStore
from chalicelib.stores.traffic import Observed, TrafficStore

CLASSIFIER = "classifier"
CONVERSATION = "conversation"


def _sendable(message: RoutedMention) -> str:
    """The department message as queued; PoisonRecord when SQS could never take it (a text of
    hundreds of kilobytes), which no retry would change."""
    body = message.to_json()
    size = message_size(OutgoingMessage(body, message.queue_attributes()))
    if size > SQS_MAX_MESSAGE_BYTES:
        raise PoisonRecord(
            f"{message.mention.id}: its department message would be {size:,} bytes (a text of"
            f" {len(message.mention.text):,} characters), more than SQS takes"
            f" ({SQS_MAX_MESSAGE_BYTES:,})"
        )
    return body


class MentionBusy(RuntimeError):
    """Another worker is routing this mention right now; retry after its lease."""


class EngineCache:
    """The compiled live ruleset, re-checked at most every `ttl` seconds by version number."""

    def __init__(self, store: RulesStore, settings: Settings, ttl: float | None = None) -> None:
        self._store = store
        self._settings = settings
        self._ttl = settings.rules_cache_seconds if ttl is None else ttl
        self._engine: Engine | None = None
        self._checked = 0.0

    def engine(self) -> Engine:
        """The engine for the live version (the repository default before any publish)."""
        if self._engine is not None and time.monotonic() - self._checked < self._ttl:
            return self._engine
        live = self._store.live_version()
        if self._engine is None or (live or 0) != self._engine.version:  # 0: the built-in default
            self._engine = self._build(live)
        self._checked = time.monotonic()
        return self._engine

    def _build(self, version: int | None) -> Engine:
        published = self._store.get(version) if version is not None else None
        if published is None:
            logger.warning("no published ruleset; routing with the repository default")
            ruleset = default_ruleset(self._settings.departments, self._settings.triage_department)
            return engine_for(ruleset, 0, self._settings)
        ruleset = validate_ruleset(published.rules, self._settings.departments, published=True)
        return engine_for(ruleset, published.version, self._settings)


def engine_for(ruleset: Ruleset, version: int, settings: Settings) -> Engine:
    """An engine with the configured triage department and business time zone, routing to
    triage what its rules send to a department there is no longer (`routable`)."""
    triage = settings.triage_department
    usable = routable(ruleset, settings.departments, triage)
    return Engine(usable, version, triage, settings.timezone)


def decide(
    mention: Mention,
    engine: Engine,
    settings: Settings,
    signals: dict[str, float],
    now: datetime | None = None,
    conversation: Conversation | None = None,
    history: History | None = None,
) -> Decision:
    """Rules first; a mention no rule decides that continues a conversation Switchboard routed
    (a reply to that mention or to the brand's answer) stays with that conversation's
    department; others go to the department model, and to triage when the model is not sure,
    cannot read the mention's language (it learned English), or there is no text to read (a
    picture-only message, an Instagram @mention whose text could not be fetched). A rule's hide
    stands only where the platform lets the brand hide the mention (`unhideable`). The pure
    core shared by the worker, the CLI and dry-runs."""
    decision = engine.decide(mention, signals, now, conversation, history)
    if decision.hide is not None and unhideable(mention) is not None:
        decision.hide = None
    if decision.decided_by is not None:
        return decision
    if conversation is not None and conversation.department in settings.departments:
        why = f"continues {conversation.mention_id}, routed to {conversation.department}"
        return _decided(decision, conversation.department, CONVERSATION, why)
    if not mention.text.strip():
        return decision
    if not in_models_language(mention):
        why = f"in {mention.lang}, the department model reads English only: left to triage"
        decision.matched_rules.append((CLASSIFIER, why))
        return decision
    department, confidence = fallback_department(mention, signals)
    decision.confidence = round(confidence, 3)
    known = department == "ignore" or department in settings.departments
    why = f"department model: {department} with probability {confidence:.2f}"
    if known and confidence >= settings.classifier_threshold:
        return _decided(decision, department, CLASSIFIER, why)
    shortfall = f"under {settings.classifier_threshold}" if known else "not a department here"
    decision.matched_rules.append((CLASSIFIER, f"{why}, {shortfall}: left to triage"))
    return decision


def _decided(decision: Decision, department: str, by: str, why: str) -> Decision:
    """The decision once something other than a rule chose the department."""
    decision.department = department
    decision.decided_by = by
    decision.also = [d for d in decision.also if d != department]
    decision.matched_rules.append((by, why))
    return decision


@dataclass
class RoutingOutcome:
    """What happened to the mentions of one delivery."""

    routed: list[RoutedMention] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    fanned_out: int = 0
    """Mentions put back on the intake queue in generic deliveries of MENTIONS_PER_MESSAGE, to
    be routed by later invocations (a delivery with more than that)."""
    deferred: bool = False
    """The delivery was queued again, untouched, for an invocation with time to route it."""


@dataclass
class RoutingService:
    """Routes deliveries from the intake queue to department queues."""

    queues: Queues
    mentions: MentionStore
    engines: EngineCache
    settings: Settings
    traffic: TrafficStore | None = None
    payloads: Payloads = field(kw_only=True)
    """Where bodies too large for an intake message wait (`RawDelivery.body_key`)."""
    replies: ReplyStore | None = field(default=None, kw_only=True)
    """Where a reply a platform could not deliver is marked so (CaseNews.undelivered)."""
    shifts: ShiftStore | None = field(default=None, kw_only=True)
    """Who is on shift in each department, given its new cases, the least busy first (None:
    nobody is)."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    time_left: TimeLeft | None = None
    """Seconds the invocation has left (None: no limit): with less than
    `Settings.platform_call_reserve` no delivery is started and no platform read, so a slow
    platform never stops a batch mid-way."""
    news: CaseNews = field(init=False)

    def __post_init__(self) -> None:
        self.news = CaseNews(self.queues, self.mentions, self.settings, self.traffic, self.replies)

    def route_delivery(self, body: str) -> RoutingOutcome:
        """Route every mention of one intake message, forget those it says their authors
        deleted, update those they edited, take those a moderator hid off the SLA clock,
        and note the ones the brand answered.

        Raises PoisonRecord for a message that can never be routed (one a case's record
        cannot take in, too), anything else for a failure worth retrying (claims are released
        first, each with the queues that already have its message, so the retry sends it to
        the others only).
        """
        if short_of_time(self.time_left, self.settings.platform_call_reserve):
            # queued anew for the next invocation: a failed record would count a receive, and
            # five of those in a surge would dead-letter a delivery nothing was wrong with
            self.queues.send(INTAKE_QUEUE, OutgoingMessage(body, {"platform": "deferred"}))
            return RoutingOutcome(deferred=True)
        try:
            return self._route_delivery(body)
        except RecordFull as exc:
            raise PoisonRecord(exc.message) from None

    def _route_delivery(self, body: str) -> RoutingOutcome:
        delivery = self._read(body)
        brand = self.settings.own_accounts
        try:
            platform = get_platform(delivery.platform)
        except NotFound as exc:
            raise PoisonRecord(exc.message) from None
        unreadable: list[PartlyUnreadable] = []

        def readable(read: Callable[[], list[Any]]) -> list[Any]:
            """What could be read (the rest is handled, then the delivery dead-lettered)."""
            try:
                return read()
            except PartlyUnreadable as exc:
                unreadable.append(exc)
                return exc.readable

        try:
            parsed: list[Mention] = readable(lambda: platform.parse(delivery, brand))
            changes: list[Change] = readable(lambda: platform.changes(delivery))
            answers = platform.answers(delivery, brand)
            posts = platform.brand_posts(delivery, brand)
        except MalformedRequest as exc:
            raise PoisonRecord(f"unreadable {delivery.platform} delivery: {exc.message}") from None
        outcome = RoutingOutcome()
        now = self.clock()
        # first: a reply to one of them later in the same delivery finds it
        RepliedPosts(self.mentions, self.settings).remember(posts, now)
        for change in changes:
            self.news.change(change, now)
        unique = {m.id: m for m in parsed}.values()
        new_version = self.news.new_version
        mentions = [m for m in unique if not (m.edit_of and new_version(m, m.edit_of, now))]
        if len(mentions) > MENTIONS_PER_MESSAGE:  # a Meta batch of 1,000: more than one run routes
            queue_mentions(self.queues, self.payloads, mentions, delivery.received_at, "fan-out")
            outcome.fanned_out, mentions = len(mentions), []
            metrics.add_metric(name="MentionsFannedOut", unit="Count", value=outcome.fanned_out)
        claimed: list[tuple[Mention, Progress | None]] = []
        progress: dict[str, Progress] = {}
        try:
            for mention in mentions:
                claim, earlier = self.mentions.claim(
                    mention.id, now, timedelta(seconds=self.settings.claim_lease_seconds)
                )
                if claim is Claim.DONE:
                    outcome.duplicates.append(mention.id)
                    metrics.add_metric(name="DuplicatesDropped", unit="Count", value=1)
                elif claim is Claim.BUSY:
                    raise MentionBusy(f"{mention.id} is being routed by another worker")
                else:
                    claimed.append((mention, earlier))
            outcome.routed = self._route(claimed, delivery.received_at, now, progress)
        except BaseException:
            for mention, _ in claimed:
                self.mentions.release(mention.id, progress.get(mention.id))
            raise
        for answer in answers:  # after routing: a delivery can hold a message and its answer
            self.news.answered(answer, now)
        if unreadable:
            raise PoisonRecord("; ".join(str(exc) for exc in unreadable))
        return outcome

    def _conversation(self, mention: Mention, now: datetime) -> Conversation | None:
        """The routed mention this one replies to (directly or through the brand's answer), or
        for a direct message, the sender's last one within DM_CONVERSATION_HOURS."""
        key = mention.in_reply_to or dm_sender(mention)
        if key is None:
            return None
        record = self.mentions.conversation_of(key)
        if record is None:
            return None
        window = timedelta(hours=self.settings.dm_conversation_hours)
        if mention.in_reply_to is None and record.routed_at + window < now:
            return None
        return Conversation(mention_id=record.id, department=record.message.routing.department)

    def _history(self, mention: Mention, now: datetime) -> History | None:
        """The cases the author of a new case opened within AUTHOR_HISTORY_DAYS (None: none,
        an author the platform does not name, or an index that cannot be read: context is
        worth less than the mention reaching its department, and the index is unreadable while
        DynamoDB builds it after an upgrade)."""
        days = self.settings.author_history_days
        author = author_key(mention)
        if not days or author is None:
            return None
        since = now - timedelta(days=days)
        try:
            cases = self.mentions.earlier_cases(author, since, HISTORY_LIMIT + 1)
        except Exception:
            logger.warning("could not read the author's earlier cases", exc_info=True)
            metrics.add_metric(name="HistoryUnavailable", unit="Count", value=1)
            return None
        cases = [case for case in cases if case.id != mention.id][:HISTORY_LIMIT]
        return History(days=days, cases=cases) if cases else None

    def _share_out(self, message: RoutedMention, rosters: Rosters, now: datetime) -> None:
        """Give a new case to someone (`assigned_to`): to whoever has the customer's earlier
        case waiting in the same department, which one answer answers with it (someone else
        could not reply to it without forcing), else to the person on shift in its department
        whose turn it is, if anyone on answers in its language and is not full. A follow-up
        stays with whoever has its case, or, when nobody has, goes back to whoever answered
        it, if at work there (`back_to_answerer`); nothing routing ignored is given out."""
        routing = message.routing
        if routing.department == "ignore":
            return
        if routing.conversation is not None:
            routing.assigned_to = back_to_answerer(self.mentions, message, rosters, now)
            return
        routing.assigned_to = self._holder_of_earlier(routing, now) or rosters.share_out(
            routing.department, routing.language()
        )

    def _holder_of_earlier(self, routing: Routing, now: datetime) -> str | None:
        """Who has taken the author's latest earlier case still waiting in the routing's
        department (best effort: None when it cannot be read)."""
        earlier = routing.history.cases if routing.history else []
        waiting = [
            c for c in earlier if c.state == "waiting" and c.department == routing.department
        ]
        if not waiting:
            return None
        try:
            case = self.mentions.get(waiting[0].id)
        except Exception:
            logger.warning("could not read the author's earlier case", exc_info=True)
            return None
        return case.taker(now) if case is not None else None

    def _take_of_case(self, message: RoutedMention, now: datetime) -> dict[str, Any]:
        """A new case shared out to someone on shift (or a follow-up given back to whoever
        answered it) is theirs for ASSIGNMENT_MINUTES. A follow-up its author sends while
        someone has their case taken, and that stays in the case's department, is taken by
        them too, until the same time (best effort: the follow-up is routed all the same,
        untaken, if the case cannot be read)."""
        assigned = message.routing.assigned_to
        if assigned is not None:
            until = now + self.settings.assignment_for(message.routing.department)
            return {"taken_by": assigned, "taken_until": until}
        case = continued_case(self.mentions, message)
        if case is None or case.taker(now) is None:
            return {}
        return {"taken_by": case.taken_by, "taken_until": case.taken_until}

    def _link_conversations(self, messages: list[RoutedMention], now: datetime) -> None:
        """Best effort: each routed direct message becomes its sender's open conversation, and
        each mention that continues a case becomes that case's latest follow-up (`follow_up`)."""
        window = timedelta(hours=self.settings.dm_conversation_hours)
        expires = now + timedelta(days=self.settings.mention_ttl_days)
        for message in messages:
            links = []
            key = dm_sender(message.mention)
            if key is not None and window and message.routing.department != "ignore":
                links.append((key, now + window))
            if message.routing.conversation is not None:
                links.append((follow_up(message.routing.conversation.mention_id), expires))
            for key, until in links:
                try:
                    self.mentions.link(key, message.mention.id, until)
                except Exception:
                    logger.warning("could not link the conversation", exc_info=True)

    def _read(self, body: str) -> RawDelivery:
        """The delivery an intake message carries, its body fetched from the payload bucket
        when it waits there (a failing read is retried; a body gone for good is poison)."""
        try:
            delivery = RawDelivery.model_validate_json(body)
        except ValidationError as exc:
            raise PoisonRecord(f"not a raw delivery: {exc}") from None
        if delivery.body_key is None:
            return delivery
        try:
            kept = self.payloads.get(delivery.body_key)
        except PayloadGone as exc:
            raise PoisonRecord(str(exc)) from None
        return delivery.model_copy(update={"body": kept})

    def _route(
        self,
        claimed: list[tuple[Mention, Progress | None]],
        received_at: datetime,
        now: datetime,
        progress: dict[str, Progress],
    ) -> list[RoutedMention]:
        """Decide (or take the decision of the attempt that failed midway), send, record;
        `progress` follows which queues have each message."""
        engine = self.engines.engine()
        rosters = Rosters(self.shifts, self.mentions, now) if self.shifts is not None else None
        messages = []
        for mention, earlier in claimed:
            if earlier is None:
                message = self._decide(mention, engine, received_at, now)
                if rosters is not None:
                    self._share_out(message, rosters, now)
                progress[mention.id] = Progress(_sendable(message), frozenset())
            else:
                message = RoutedMention.model_validate_json(earlier.message)
                progress[mention.id] = earlier
            messages.append(message)
        takes = {message.mention.id: self._take_of_case(message, now) for message in messages}
        self._send(messages, progress, takes)
        expires = now + timedelta(days=self.settings.mention_ttl_days)
        for message in messages:
            status = "ignored" if message.routing.department == "ignore" else "routed"
            record = MentionRecord(
                id=message.mention.id,
                status=status,
                routed_at=now,
                message=message,
                # a follow-up of a case this delivery brought too finds its take only now
                **(takes[message.mention.id] or self._take_of_case(message, now)),
            )
            if message.mention.edit_of is not None:
                # an edit of a post Switchboard never saw opened this case: later edits find it,
                # and the post itself, should it come late, is not routed as another case
                self.mentions.link(message.mention.edit_of, record.id, expires)
                self.mentions.supersede(message.mention.edit_of, now)
            self.mentions.complete(record, expires)
            logger.info(
                "routed",
                extra={
                    "mention_id": record.id,
                    "department": message.routing.department,
                    "also": message.routing.also,
                    "priority": message.routing.priority,
                    "rules": [m.id for m in message.routing.matched_rules],
                },
            )
            metrics.add_metric(
                name="MentionsIgnored" if status == "ignored" else "MentionsRouted",
                unit="Count",
                value=1,
            )
        per_department(QUEUED_MENTIONS, Counter(q for m in messages for q in m.routing.queues))
        self._link_conversations(messages, now)
        self._record_ratings(messages, now)
        self.news.apply_held(messages, now)
        if self.replies is not None:
            say_away(messages, self.mentions, self.replies, self.queues, self.settings, now)
        self._keep_for_dry_runs(messages, now)
        return messages

    def _decide(
        self, mention: Mention, engine: Engine, received_at: datetime, now: datetime
    ) -> RoutedMention:
        """The department message of a mention: enriched, with its signals and decision."""
        mention = self._labelled(enrich(self._complete(mention)))
        signals = compute_signals(mention)
        conversation = self._conversation(mention, now)
        if conversation is None:  # a follow-up's context is its case; a new one's, maybe a post
            replied = RepliedPosts(self.mentions, self.settings, self.time_left)
            mention = replied.add_to(mention, now)
        # a follow-up is part of the case it continues, whose message had the author's history
        history = None if conversation else self._history(mention, now)
        decision = decide(mention, engine, self.settings, signals, now, conversation, history)
        answer = self._survey_answer(mention, now)
        if answer is not None:
            decision = rated(decision, *answer)
        routing = decision.routing(mention.lang)
        routing.rates = answer[0] if answer else None
        routing.sla_due_at = sla_due(routing, mention, received_at, self.settings)
        return RoutedMention(
            mention=mention, routing=routing, reply=ReplyPointer(mention_id=mention.id)
        )

    def _labelled(self, mention: Mention) -> Mention:
        """The mention with its author's labels (best effort: when they cannot be read, it is
        routed without them rather than not at all; metric LabelsUnavailable)."""
        author = author_key(mention)
        if author is None:
            return mention
        try:
            labels = self.mentions.labels_of(author)
        except Exception:
            logger.warning("could not read the author's labels", exc_info=True)
            metrics.add_metric(name="LabelsUnavailable", unit="Count", value=1)
            return mention
        if not labels:
            return mention
        author_labelled = mention.author.model_copy(update={"labels": labels})
        return mention.model_copy(update={"author": author_labelled})

    def _survey_answer(self, mention: Mention, now: datetime) -> tuple[Rating, bool] | None:
        """The rating a direct message gives, when it answers its conversation's open
        satisfaction survey, and whether it says nothing more (best effort: when the survey or
        its case cannot be read, the message is routed as any other)."""
        conversation = dm_sender(mention)
        given = rating_in(mention.text) if conversation is not None else None
        if conversation is None or given is None:
            return None
        try:
            held = self.mentions.held(rating_key(conversation), now)
            survey = surveyed(held[0]) if held is not None else None
            case = self.mentions.get(survey.case) if survey and survey.case else None
        except Exception:
            logger.warning("could not read the conversation's survey", exc_info=True)
            return None
        if case is None:
            return None
        score, bare = given
        department = case.message.routing.department
        agent = survey.agent if survey else None
        return Rating(case=case.id, score=score, department=department, agent=agent or None), bare

    def _record_ratings(self, messages: list[RoutedMention], now: datetime) -> None:
        """Best effort: each survey answer's score goes on the case it rates, and closes the
        conversation's survey (a second answer is a message like any other)."""
        for message in messages:
            rating, conversation = message.routing.rates, dm_sender(message.mention)
            if rating is None or conversation is None:
                continue
            try:
                self.mentions.rate(rating.case, rating.score, now)
                self.mentions.drop(rating_key(conversation))
            except Exception:
                logger.warning("could not record the rating on its case", exc_info=True)
                continue
            per_department(SATISFACTION, {rating.department: rating.score}, MetricUnit.NoUnit)
            logger.info("rated", extra={"mention_id": rating.case, "score": rating.score})

    def _send(
        self,
        messages: list[RoutedMention],
        progress: dict[str, Progress],
        takes: dict[str, dict[str, Any]],
    ) -> None:
        """Send each message to the queues that do not have it yet, in batches by queue, and
        what the outbox is to do for it (a rule's hide, the alerts; `takes`: who has each
        message taken, told in their own chat). Every queue is tried (one department's broken
        queue does not hold back the others) before the first failure is raised; `progress`
        notes each message that arrived."""
        by_queue: dict[str, list[tuple[str, str, OutgoingMessage]]] = defaultdict(list)
        for message in messages:
            so_far = progress[message.mention.id]
            holder = takes[message.mention.id].get("taken_by")
            for queue, sent_as, outgoing in self._outgoing(message, so_far.message, holder):
                if sent_as not in so_far.sent:
                    by_queue[queue].append((message.mention.id, sent_as, outgoing))
        failure: QueueSendError | None = None
        for queue, batch in by_queue.items():
            arrived: Iterable[int] = range(len(batch))
            try:
                self.queues.send_batch(queue, [outgoing for _, _, outgoing in batch])
            except QueueSendError as exc:
                failure, arrived = failure or exc, exc.sent
            for position in arrived:
                mention_id, sent_as, _ = batch[position]
                earlier = progress[mention_id]
                progress[mention_id] = replace(earlier, sent=earlier.sent | {sent_as})
        if failure is not None:
            raise failure

    def _outgoing(
        self, message: RoutedMention, body: str, holder: str | None
    ) -> Iterator[tuple[str, str, OutgoingMessage]]:
        """(queue, what `Progress.sent` calls it, the message) for everything routing `message`
        sends: its department message to each of its departments, and to the outbox a rule's
        hide, an alert for each channel to tell and one to its `holder` (given it on shift, or
        who has the case it follows up)."""
        outgoing = OutgoingMessage(body, message.queue_attributes())
        for queue in message.routing.queues:
            yield queue, queue, outgoing
        rule, mention_id = message.routing.hide, message.mention.id
        if rule is not None:
            yield OUTBOX, f"{OUTBOX}:hide", hide_message(mention_id, rule)
        for channel, alert in new_case_alerts(message, self.settings).items():
            yield OUTBOX, f"{OUTBOX}:alert:{channel}", alert
        told = agent_alert(message, holder, self.settings) if holder is not None else None
        if told is not None:
            yield OUTBOX, f"{OUTBOX}:given:{told[0]}", told[1]

    def _complete(self, mention: Mention) -> Mention:
        """Fetch what the delivery left out (an Instagram @mention's text). Best effort: when the
        platform fails, or the invocation is too short of time to ask it, the mention is still
        routed, with its ids and no text."""
        from chalicelib.platforms.meta import lacks_text, with_text
        from chalicelib.platforms.outbound import PlatformError

        if not lacks_text(mention, self.settings):
            return mention
        if short_of_time(self.time_left, self.settings.platform_call_reserve):
            reason = "too little time left in this invocation to read it"
        else:
            try:
                return with_text(mention, self.settings)
            except PlatformError as exc:
                reason = str(exc)
        logger.warning(
            "mention text unavailable", extra={"mention_id": mention.id, "reason": reason}
        )
        metrics.add_metric(name="MentionTextUnavailable", unit="Count", value=1)
        return mention

    def _keep_for_dry_runs(self, messages: list[RoutedMention], now: datetime) -> None:
        """Best effort: losing a dry-run sample must never fail or repeat routing."""
        if self.traffic is None or not messages:
            return
        observed = [
            Observed(
                message.mention,
                message.routing.numeric_signals(),
                now,
                message.routing.conversation,
                message.routing.history,
            )
            for message in messages
        ]
        try:
            self.traffic.record(observed, timedelta(days=self.settings.traffic_keep_days))
        except Exception:
            logger.warning("could not keep traffic for dry-runs", exc_info=True)
