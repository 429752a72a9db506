"""Replies: accept an answer for a mention, queue it, and post it to the platform at most once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from chalicelib.cli_text import closed_by, stamp
from chalicelib.errors import (
    Conflict,
    Forbidden,
    MalformedRequest,
    NotFound,
    OutboxUnavailable,
    PoisonRecord,
    RetryLater,
)
from chalicelib.models import (
    AWAITING_APPROVAL,
    Mention,
    MentionRecord,
    Reply,
    ReplyRequest,
    ReplyStatus,
)
from chalicelib.observability import logger, metrics
from chalicelib.platforms import meta, slack, x, youtube
from chalicelib.platforms.outbound import (
    CREDENTIALS_RETRY_SECONDS,
    PlatformOutcomeUnknown,
    PlatformRejected,
    PlatformRetryLater,
    PlatformUnauthorized,
    PostedReply,
)
from chalicelib.platforms.x_text import MAX_WEIGHTED_LENGTH, weighted_length
from chalicelib.services.alerts import (
    DRAFT,
    approval_alert,
    holder_answered_alert,
    notice_message,
    refresh_alerts,
    review_alert,
    tell_agent,
    tell_channel,
    unposted_alert,
)
from chalicelib.services.cases import awaiting_approval, record_first_response, taken_note
from chalicelib.services.polling import follow_thread
from chalicelib.services.survey import (
    RATING_WINDOW,
    SURVEY,
    check_survey,
    open_survey,
    rating_key,
    survey_reply,
    survey_text,
)
from chalicelib.services.templates import render
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.services.windows import HUMAN_AGENT_WINDOW, messaging_tag, own_words_refused
from chalicelib.settings import Settings
from chalicelib.stores.cursors import CursorStore
from chalicelib.stores.mentions import (
    MentionStore,
    answered_with,
    case_of,
    case_opened_by,
    dm_sender,
    last_heard,
)
from chalicelib.stores.queues import OutgoingMessage, Queues, QueueSendError
from chalicelib.stores.replies import (
    OUTBOX,
    RECEIPTS_UP_TO,
    REPORTS_DELIVERY,
    ReplyStore,
    outbox_message,
    posted_as,
    replied_in,
    reply_id_of,
    send_automatic,
    with_reply,
)
from chalicelib.stores.templates import TemplateStore

MAX_LENGTH = {"facebook": 8000, "instagram": 2200, "messenger": 2000, "whatsapp": 4096,
              "youtube": 10000, "slack": 40000}  # fmt: skip
X_DM_MAX_LENGTH = 10_000
CLIENTS: dict[str, Callable[[Reply, Mention, Settings], PostedReply]] = {
    "x": x.post_reply,
    "facebook": meta.post_reply,
    "instagram": meta.post_reply,
    "messenger": meta.post_reply,
    "whatsapp": meta.post_reply,
    "youtube": youtube.post_reply,
    "slack": slack.post_reply,
}
CREDENTIALS_ATTEMPTS = 4
"""A reply the platform refuses Switchboard's credentials for is tried this many times,
CREDENTIALS_RETRY_SECONDS apart, then dead-lettered still queued: redriven once working
credentials are stored, it is posted."""


def check_reply(request: ReplyRequest, mention: Mention, now: datetime) -> str | None:
    """Platform rules for a reply; returns the messaging tag it needs, if any."""
    text = request.text.strip()
    if not text:
        raise MalformedRequest("text is empty")
    if mention.platform not in CLIENTS:
        raise MalformedRequest(
            f"Switchboard cannot post to {mention.platform}; answer there directly"
        )
    if mention.platform == "x" and mention.kind != "dm":
        length = weighted_length(text)
        if length > MAX_WEIGHTED_LENGTH:
            raise MalformedRequest(
                f"{length} characters as X counts them (a link 23, an emoji or a Chinese,"
                f" Japanese or Korean character 2); x allows {MAX_WEIGHTED_LENGTH}"
            )
    else:
        limit = X_DM_MAX_LENGTH if mention.platform == "x" else MAX_LENGTH[mention.platform]
        if len(text) > limit:
            raise MalformedRequest(f"{len(text)} characters; {mention.platform} allows {limit}")
    if request.private:
        if not mention.takes_private_reply:
            raise MalformedRequest("private replies answer Facebook or Instagram comments only")
        if mention.created_at and now - mention.created_at > HUMAN_AGENT_WINDOW:
            raise MalformedRequest("private replies must be sent within 7 days of the comment")
        return None
    if mention.kind == "dm" and not mention.author.id:
        raise MalformedRequest(
            f"{mention.platform} named no sender of this message Switchboard can write to;"
            " answer it where it was sent"
        )
    if request.whatsapp_template is not None and mention.platform != "whatsapp":
        raise MalformedRequest("a WhatsApp template answers a WhatsApp message only")
    if mention.platform == "whatsapp" and request.whatsapp_template is None:
        late = own_words_refused(mention, now)
        if late is not None:
            raise MalformedRequest(
                f"{late}: send it as whatsapp_template (its name, language and parameters;"
                " switchboard reply --whatsapp-template NAME --language L --param VALUE…)"
            )
    if mention.platform in ("messenger", "instagram") and mention.kind == "dm":
        return messaging_tag(mention, now)
    return None


def reply_id_for(request: ReplyRequest) -> str:
    """Deterministic for an idempotency key or a private reply (one per comment), else random."""
    if request.private:
        return reply_id_of(f"private|{request.mention_id}")
    if request.idempotency_key:
        return reply_id_of(f"key|{request.mention_id}|{request.idempotency_key}")
    return f"r_{uuid.uuid4().hex}"


@dataclass
class ReplyService:
    """Accepts replies (API) and sends them (outbox worker)."""

    replies: ReplyStore
    mentions: MentionStore
    queues: Queues
    cursors: CursorStore
    settings: Settings
    templates: TemplateStore | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    time_left: TimeLeft | None = None
    """Seconds the invocation has left (None: no limit): with less than
    `Settings.platform_call_reserve`, a reply is put back for the next invocation rather than
    started, so a post is never cut off midway (which would leave it `uncertain`)."""

    def submit(self, request: ReplyRequest, author: str) -> Reply:
        """Validate, store (idempotently) and queue a reply; one to a case of a department whose
        replies need approval (APPROVAL_DEPARTMENTS), or written for such a department, is
        stored pending, and queued once approved. One to a case someone else took to answer
        is a Conflict unless forced."""
        record = self._record(request.mention_id)
        if record.gone is not None:
            raise Conflict(f"{record.id} {record.gone}; there is nothing to answer")
        mention = record.message.mention
        now = self.clock()
        if request.template is not None:
            request = self._written_from(request, record, author)
        if request.whatsapp_template is not None:
            request = request.model_copy(update={"text": request.whatsapp_template.describe()})
        if not request.force:
            self._check_not_taken(record, author, now)
        # A direct message's window runs from the customer's last message, whichever is answered
        tag = check_reply(request, last_heard(self.mentions, record).message.mention, now)
        late = tag is not None or request.whatsapp_template is not None
        if request.survey:
            no_survey = check_survey(record, self.settings, late, self.templates)
            if no_survey is not None:
                raise MalformedRequest(no_survey)
        case_department = record.message.routing.department
        department = request.department or case_department
        approval = next(
            (d for d in (case_department, department) if d in self.settings.approval_departments),
            None,
        )
        reply = Reply(
            reply_id=reply_id_for(request),
            mention_id=mention.id,
            platform=mention.platform,
            text=request.text.strip(),
            template=request.template,
            template_language=request.language,
            whatsapp_template=request.whatsapp_template,
            department=department,
            author=author,
            private=request.private,
            status="queued" if approval is None else "pending",
            approval_department=approval,
            created_at=now,
            messaging_tag=tag,
            survey=request.survey,
        )
        stored = self.replies.create(reply)
        if stored is not reply and (stored.text, stored.private) != (reply.text, reply.private):
            if request.private:
                raise Conflict(f"{mention.id} already has a private reply ({stored.reply_id})")
            raise Conflict("this idempotency key was used for a different reply")
        if stored.status == "queued" and stored.attempts == 0:  # new, or its queueing failed
            self._queue(stored, bool(request.private or request.idempotency_key), now)
        elif stored is reply and reply.approval_department is not None:
            self._best_effort("approval notice", lambda: self._ask_approval(record, reply))
        if stored is reply:  # whoever had it taken learns it was answered over their take
            tell_agent(self.queues, holder_answered_alert(record, reply, self.settings, now))
        return stored

    def _written_from(
        self, request: ReplyRequest, record: MentionRecord, author: str
    ) -> ReplyRequest:
        """The request with its template's text filled in for the mention's author by the
        reply's `author`, in the
        language asked for, else the mention's if the template has it (`language`: the one
        used, if known); NotFound for a template there is not, MalformedRequest for a language
        it is not written in."""
        template = request.template or ""
        saved = self.templates.get(template) if self.templates is not None else None
        if saved is None:
            raise NotFound(f"no template {request.template!r}: switchboard templates lists them")
        if request.language is not None and request.language not in saved.languages:
            written = ", ".join(saved.languages) or "a language it does not name"
            raise MalformedRequest(
                f"template {template!r} is not written in {request.language!r}, only in {written}"
            )
        wanted = request.language or record.message.routing.language()
        text, language = saved.in_language(wanted)
        filled = render(text, record.message.mention, author)
        return request.model_copy(update={"text": filled, "language": language})

    def _check_not_taken(self, record: MentionRecord, author: str, now: datetime) -> None:
        """Conflict when someone other than `author` took the mention, or one of the earlier
        ones a reply to it answers with it (the case a follow-up continues, a case it chases), to
        answer it, or wrote an answer to it that waits for approval."""
        awaiting = awaiting_approval(
            self.replies, self.mentions, self.settings.approval_departments
        )
        for mention in [record, *answered_with(self.mentions, record)]:
            if mention.taker(now) not in (None, author):
                raise Conflict(
                    f"{mention.id} {taken_note(mention, now)} to answer it: send with force to"
                    " answer anyway"
                )
            pending = awaiting.get(mention.id)
            if pending is not None and pending.author != author:
                raise Conflict(
                    f"{mention.id} has an answer by {pending.author} waiting for approval"
                    f" ({pending.reply_id}): approve or reject it first, or send with force to"
                    " answer anyway"
                )

    def _ask_approval(self, record: MentionRecord, reply: Reply) -> None:
        """Tell the approving department, through its queue, that a reply to the case waits:
        a copy of the case tagged `awaiting-approval` (the approvals list has it all the same),
        and its alert channel, if it has one."""
        copy = record.message.tagged(AWAITING_APPROVAL)
        department = reply.approval_department or copy.routing.department
        attributes = {**copy.queue_attributes(), "department": department}
        self.queues.send(department, OutgoingMessage(copy.to_json(), attributes))
        alert = approval_alert(record.message, reply, department, self.settings)
        if alert is not None:
            tell_channel(self.queues, alert)

    def approve(self, reply_id: str, reviewer: str, force: bool = False) -> Reply:
        """A second person approves a pending reply: it is queued and posted. Its author cannot
        approve it (403); one rejected, or one that never needed approval, is a 409, and so is
        one whose case was answered or closed since it was written, unless `force`. Approving
        it again changes nothing, or queues it again while it is still queued (should the
        outbox have refused it: a second outbox message is harmless, it is posted once)."""
        reply = self._reply(reply_id)
        now = self.clock()
        if reply.status == "pending":
            if reviewer == reply.author:
                raise Forbidden("a reply is approved by someone other than its author")
            if not force:
                self._check_still_needed(reply)
            approved = reply.model_copy(
                update={"status": "queued", "reviewed_by": reviewer, "reviewed_at": now}
            )
            if self.replies.review(approved):
                reply = approved
                self._tell_author(reply)
            else:
                reply = self._reply(reply_id)
        if reply.status != "queued" or reply.attempts or reply.reviewed_by is None:
            if reply.reviewed_by is not None and reply.status != "rejected":
                return reply  # approved already and on its way: nothing more to do
            raise Conflict(f"reply {reply_id} is {reply.status}, not waiting for approval")
        self._queue(reply, True, now)  # approving again re-queues it, should the outbox fail
        return reply

    def _check_still_needed(self, reply: Reply) -> None:
        """Conflict when the case a pending reply answers was answered (through Switchboard or
        on the platform) or closed after the reply was written: posting it would be a second
        statement, or one nobody needs."""
        record = case_of(self.mentions, reply.mention_id)
        if record is None:
            return
        answered, closed = record.first_response_at, record.closed_at
        if answered is not None and answered > reply.created_at:
            post = f" ({record.first_response_post})" if record.first_response_post else ""
            since = f"was answered at {stamp(answered)}{post}"
        elif closed is not None and closed > reply.created_at:
            since = f"was closed at {stamp(closed)} {closed_by(record)}"
        else:
            return
        raise Conflict(
            f"{record.id} {since} after {reply.reply_id} was written: reject it, or approve it"
            " with force to post it as well"
        )

    def reject(self, reply_id: str, reviewer: str, reason: str) -> Reply:
        """Turn down a pending reply (its author may withdraw it): it is never posted. One
        approved already is a 409; rejecting again changes nothing."""
        reply = self._reply(reply_id)
        if reply.status == "pending":
            rejected = reply.model_copy(
                update={
                    "status": "rejected",
                    "reviewed_by": reviewer,
                    "reviewed_at": self.clock(),
                    "rejected_reason": reason,
                }
            )
            if self.replies.review(rejected):
                reply = rejected
                self._tell_author(reply)
            else:
                reply = self._reply(reply_id)
        if reply.status != "rejected":
            raise Conflict(f"reply {reply_id} is {reply.status}, not waiting for approval")
        return reply

    def _tell_author(self, reviewed: Reply) -> None:
        """Tell a reply's author, in their own chat, how its review went, and the approvers
        in the alerts of the draft (best effort: the reply says it all the same)."""
        try:
            record = case_of(self.mentions, reviewed.mention_id)
        except Exception:
            logger.warning("could not read the case of a reviewed reply", exc_info=True)
            return
        if record is not None:
            tell_agent(self.queues, review_alert(record.message, reviewed, self.settings))
        refresh_alerts(self.mentions, self.queues, self.settings, reviewed.reply_id, DRAFT)

    def _reply(self, reply_id: str) -> Reply:
        reply = self.replies.get(reply_id)
        if reply is None:
            raise NotFound(f"no reply {reply_id!r}")
        return reply

    def _queue(self, reply: Reply, retryable: bool, now: datetime) -> None:
        """Put the reply on the outbox (a second message for one reply is harmless: it is posted
        once). If the outbox fails, a reply the caller can ask for again under the same id (an
        idempotency key, a private reply, an approval) stays queued for that retry; any other
        is failed."""
        try:
            self.queues.send(OUTBOX, outbox_message(reply.reply_id))
        except QueueSendError as exc:
            if not retryable:
                self._mark_failed(reply.reply_id, now, f"the outbox could not take it: {exc}")
            raise OutboxUnavailable(
                "the reply could not be queued and nothing was posted; send the request again"
            ) from exc

    def _wait_for_credentials(
        self, record: MentionRecord, reply: Reply, exc: PlatformUnauthorized
    ) -> NoReturn:
        """The platform refused Switchboard's credentials, not the reply: it stays queued and
        is tried again, then waits in the outbox's dead-letter queue for a redrive (its author
        told)."""
        reason = (
            f"{reply.platform} refused Switchboard's credentials ({exc}): store working ones in"
            " the platform secret; the reply stays queued"
        )
        self.replies.finish(reply.reply_id, "queued", last_error=reason)
        metrics.add_metric(name="PlatformCredentialsRefused", unit="Count", value=1)
        if reply.attempts + 1 < CREDENTIALS_ATTEMPTS:
            raise RetryLater(reason, CREDENTIALS_RETRY_SECONDS) from exc
        self._tell_unposted(record, reply, "queued", reason)
        raise PoisonRecord(
            f"reply {reply.reply_id}: {reason}, then `switchboard dlq outbox --redrive` posts it"
        ) from exc

    def dead_lettered(self, body: str, reason: str) -> None:
        """The outbox gave up on `body` (its retries ran out: SQS moves it to the dead-letter
        queue next): a reply it leaves unposted is told to its author, with `reason`."""
        reply = self.replies.get(_reply_id(body))
        if reply is None or reply.status != "queued":
            return
        record = self.mentions.get(reply.mention_id)
        if record is not None:
            self._tell_unposted(record, reply, "queued", reply.last_error or reason)

    def _tell_unposted(
        self, record: MentionRecord, reply: Reply, status: ReplyStatus, why: str
    ) -> None:
        """Tell the reply's author, in their own chat, that it did not go (`status`, why)."""
        told = reply.model_copy(update={"status": status, "last_error": why})
        tell_agent(self.queues, unposted_alert(record.message, told, self.settings))

    def _mark_failed(self, reply_id: str, now: datetime, reason: str) -> None:
        """Fail a queued reply that will never be sent (claimed first, so only if still queued)."""
        lease = timedelta(seconds=self.settings.reply_lease_seconds)
        if self.replies.start_sending(reply_id, now, lease):
            self.replies.finish(reply_id, "failed", last_error=reason)

    def _record(self, mention_id: str) -> MentionRecord:
        record = case_of(self.mentions, mention_id)
        if record is None:
            raise NotFound(f"no routed mention {mention_id!r}")
        return record

    def send(self, body: str) -> None:
        """Post one queued reply; a reply is never posted twice."""
        reply_id = _reply_id(body)
        reply = self.replies.get(reply_id)
        if reply is None:
            raise PoisonRecord(f"no reply {reply_id}")
        now = self.clock()
        record = self.mentions.get(reply.mention_id)
        if record is None or record.gone is not None:
            gone = record.gone if record else "is no longer stored"
            reason = f"mention {reply.mention_id} {gone}"
            self._mark_failed(reply_id, now, reason)
            if record is not None:  # its author learns why it never went
                self._tell_unposted(record, reply, "failed", reason)
            elif channel := self.settings.agent_channels.get(reply.author):
                said = f"your reply ({reply_id}) to {reply.mention_id} was not posted: {reason}"
                tell_channel(self.queues, notice_message(channel, said))
            raise PoisonRecord(f"reply {reply_id}: {reason}")
        mention = record.answerable()
        # read before the claim: a failure leaves it queued; an away message answers nothing
        answers = [] if reply.automatic else self._answers(record)
        if short_of_time(self.time_left, self.settings.platform_call_reserve):
            self.queues.send(OUTBOX, OutgoingMessage(body))  # for the next invocation, as is
            return
        lease = timedelta(seconds=self.settings.reply_lease_seconds)
        if not self.replies.start_sending(reply_id, now, lease):
            self._not_queued(reply_id, now)
            return
        if reply.platform == "youtube" and self.settings.youtube_follow_up_days:
            self._best_effort("thread follow-up", lambda: follow_thread(self.cursors, mention, now))
        try:
            posted = CLIENTS[reply.platform](reply, mention, self.settings)
        except PlatformRetryLater as exc:
            self.replies.finish(reply_id, "queued", last_error=str(exc))
            delay = max(exc.delay, min(900, 30 * 2 ** (reply.attempts)))
            raise RetryLater(str(exc), delay) from exc
        except PlatformUnauthorized as exc:
            self._wait_for_credentials(record, reply, exc)
        except (PlatformRejected, PlatformOutcomeUnknown) as exc:
            status: ReplyStatus = "failed" if isinstance(exc, PlatformRejected) else "uncertain"
            self.replies.finish(reply_id, status, last_error=str(exc))
            metrics.add_metric(name="RepliesFailed", unit="Count", value=1)
            self._tell_unposted(record, reply, status, str(exc))
            raise PoisonRecord(f"reply {reply_id} {status}: {exc}") from exc
        sent_at = self.clock()
        self.replies.finish(
            reply_id,
            "sent",
            platform_reply_id=posted.id,
            platform_reply_url=posted.url,
            sent_at=sent_at,
            last_error=None,
            answered=[each.id for each in answers],
        )
        # A customer answering this reply continues the mention's conversation (see routing).
        expires = sent_at + timedelta(days=self.settings.mention_ttl_days)
        post = f"{reply.platform}:{posted.id}"
        self._best_effort("reply link", lambda: self.mentions.link(post, reply.mention_id, expires))
        if reply.platform in REPORTS_DELIVERY:  # its failure to deliver finds the reply
            self._best_effort(
                "reply of the post",
                lambda: self.mentions.hold(posted_as(post), reply_id, sent_at, expires),
            )
        conversation = dm_sender(mention)
        if conversation and reply.platform in RECEIPTS_UP_TO:  # receipts up to a time find it
            key = replied_in(conversation)
            self._best_effort(
                "reply of the conversation",
                lambda: self.mentions.hold(
                    key, with_reply(self.mentions.held(key, now), reply_id, now), now, expires
                ),
            )
        self._best_effort(
            "first response", lambda: self._stop_clocks(answers, sent_at, post, reply.author)
        )
        if reply.reviewed_by is not None:  # its alert says it is posted
            refresh_alerts(self.mentions, self.queues, self.settings, reply_id, DRAFT)
        if conversation and self.settings.satisfaction_survey and not reply.automatic:
            # a person writing again closes an open survey: a number now answers them
            survey = rating_key(conversation)
            self._best_effort("survey closed", lambda: self.mentions.drop(survey))
        if reply.survey:
            self._best_effort(
                "satisfaction survey", lambda: self._ask_rating(reply, record, sent_at)
            )
        if reply.automatic and reply.author == SURVEY:  # counted for the response rate
            department = record.message.routing.department
            self._best_effort(
                "survey counted",
                lambda: self.mentions.mark_surveyed(reply_id, department, sent_at, expires),
            )
        logger.info("reply sent", extra={"reply_id": reply_id, "platform_reply_id": posted.id})

    def _ask_rating(self, reply: Reply, record: MentionRecord, now: datetime) -> None:
        """Queue the satisfaction survey after `reply`, posted to `record`'s conversation, and
        open the conversation's survey of its case for RATING_WINDOW (a later one replaces it)."""
        conversation = dm_sender(record.message.mention)
        if conversation is None or not self.settings.satisfaction_survey:
            return
        text = survey_text(reply, record, self.settings, self.templates)
        if text is None:
            logger.warning(
                "the survey's saved reply is gone: no survey", extra={"reply_id": reply.reply_id}
            )
            return
        case = case_opened_by(self.mentions, record)
        survey = survey_reply(reply, text, now)
        held = open_survey(case.id, survey.reply_id, reply.author)
        self.mentions.hold(rating_key(conversation), held, now, now + RATING_WINDOW)
        send_automatic(self.replies, self.queues, survey)

    def _stop_clocks(
        self, answers: list[MentionRecord], at: datetime, post: str, author: str
    ) -> None:
        """Record the reply (`post`, sent `at` by `author`) as the first response of what it
        answers."""
        for each in answers:
            record_first_response(self.mentions, self.queues, self.settings, each, at, post, author)

    def _answers(self, record: MentionRecord) -> list[MentionRecord]:
        """The mentions a reply to `record` answers (see `answered_with`): in a direct
        conversation, what the customer wrote since in it, too."""
        heard = last_heard(self.mentions, record)
        since = answered_with(self.mentions, heard)
        if heard.id == record.id or any(r.id == record.id for r in since):
            return since
        return answered_with(self.mentions, record)

    def _best_effort(self, what: str, record: Callable[[], None]) -> None:
        """Bookkeeping that must never hold up or repeat a reply: a failure is logged and
        counted (metric ReplyBookkeepingFailures)."""
        try:
            record()
        except Exception:
            logger.warning(f"{what} not recorded", exc_info=True)
            metrics.add_metric(name="ReplyBookkeepingFailures", unit="Count", value=1)

    def _not_queued(self, reply_id: str, now: datetime) -> None:
        """Redelivered: sent or finished replies are done; a live claim is retried later; a
        claim whose worker vanished may have posted, so it is never sent again."""
        reply = self.replies.get(reply_id)
        if reply is None or reply.status != "sending":
            return
        if not self.replies.lease_expired(reply_id, now):
            raise RetryLater(f"reply {reply_id} is being sent by another worker", 60)
        self.replies.finish(
            reply_id,
            "uncertain",
            last_error="a worker stopped during the platform call; not resent (at most once)",
        )
        raise PoisonRecord(f"reply {reply_id} may have been posted; check the platform")


def _reply_id(body: str) -> str:
    """The reply an outbox message is for."""
    try:
        return str(json.loads(body)["reply_id"])
    except (ValueError, KeyError, TypeError):
        raise PoisonRecord(f"not an outbox message: {body[:200]}") from None
