"""What happens to a case after it was routed, as the platforms' own deliveries tell it: its
author deletes or edits it (on X, a new version of the post), a Page moderator hides it or shows
it again, the brand answers it on the platform itself. Each reaches the departments that have
the case as a copy tagged with the news (`edited`, `hidden`, `unhidden`, `answered`), and its
record takes it; what arrives before the case itself is routed (a late or retried delivery) is
held for a day (HOLD) and applied once it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.models import (
    ANSWERED,
    EDITED,
    HIDDEN,
    UNDELIVERED,
    UNHIDDEN,
    Mention,
    MentionRecord,
    ReplyStatus,
    RoutedMention,
    native_id,
)
from chalicelib.observability import logger, metrics
from chalicelib.platforms.base import Answer, Change
from chalicelib.services.alerts import (
    forget_alerts,
    holder_answered_on_platform_alert,
    holder_deleted_alert,
    holder_edited_alert,
    tell_agent,
    unposted_alert,
)
from chalicelib.services.away import away_key
from chalicelib.services.cases import record_first_response, send_copy
from chalicelib.services.survey import rating_key, surveyed
from chalicelib.settings import Settings
from chalicelib.stores.mentions import (
    MentionStore,
    answered_with,
    case_of,
    dm_sender,
    follow_up,
)
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore, conversation_replies, posted_as, replied_in
from chalicelib.stores.traffic import TrafficStore

HOLD = timedelta(days=1)
"""How long an answer or a hide whose mention is not routed yet waits for it."""
CLOCK_SKEW = timedelta(seconds=5)
"""How far a platform's timestamps may be from Switchboard's clock."""


def hide_of(mention_id: str) -> str:
    """The key a moderator's hide (or unhide) of a mention not routed yet is held under."""
    return f"hide/{mention_id}"


def _later(version: str, than: str) -> bool:
    """Whether post `version` is newer than `than`: X's ids grow with time, so a late retry of
    an older edit cannot overwrite a newer one; ids that are not numbers are taken in order of
    arrival."""
    new, old = native_id(version), native_id(than)
    return int(new) > int(old) if new.isdecimal() and old.isdecimal() else True


@dataclass
class CaseNews:
    """The news of routed cases, applied to their records and sent to their departments."""

    queues: Queues
    mentions: MentionStore
    settings: Settings
    traffic: TrafficStore | None = None
    replies: ReplyStore | None = None

    def change(self, change: Change, now: datetime) -> None:
        """Apply a change a delivery announces: a hide (or unhide), a deletion or an edit."""
        if change.seen is not None and change.upto is not None:
            self.seen_up_to(change.mention_id, change.seen, change.upto, change.at or now, now)
        elif change.seen is not None:
            self.seen(change.mention_id, change.seen, change.at or now, now)
        elif change.undelivered is not None:
            self.undelivered(change.mention_id, change.undelivered, now)
        elif change.hidden is not None:
            self.hidden(change.mention_id, change.hidden, now)
        elif change.text is None:
            self.forget(change.mention_id, now)
        else:
            self.edited(change.mention_id, change.text, now)

    def forget(self, mention_id: str, now: datetime) -> None:
        """Its author deleted the mention: redact its record (no reply, no SLA escalation), its
        dry-run sample and the alerts kept of it and of the drafts answering it; one not routed
        yet never will be. On X, deleting any version of an edited post deletes them all, so
        the case of that post is redacted too."""
        record = self.mentions.mark_deleted(mention_id, now)
        if record is None:
            case = case_of(self.mentions, mention_id)
            if case is not None and case.deleted_at is None:
                record = self.mentions.mark_deleted(case.id, now)
        if record is not None:
            written = self.replies.to_mention(record.id) if self.replies is not None else []
            drafts = [reply.reply_id for reply in written if reply.approval_department]
            gone = "was deleted by its author"
            forget_alerts(self.mentions, self.queues, record, gone, drafts)
            if record.deleted_at is None:  # as read before: a redelivery tells nobody again
                tell_agent(self.queues, holder_deleted_alert(record, self.settings, now))
        if record is not None and self.traffic is not None:
            self.traffic.forget(record.id, record.routed_at)
        logger.info("mention deleted by its author", extra={"mention_id": mention_id})
        metrics.add_metric(name="MentionsDeleted", unit="Count", value=1)

    def edited(self, mention_id: str, text: str, now: datetime) -> None:
        """Its author edited a routed mention: the departments that have the case get a copy
        with the new text, tagged `edited` (not routed again), then the record takes the text; a
        redelivered edit finds the text already there and sends nothing more."""
        record = self.mentions.get(mention_id)
        if record is None or record.deleted_at is not None or record.message.mention.text == text:
            return
        self._send_edit(record, record.edited(text, now), now)

    def hidden(
        self,
        mention_id: str,
        hidden: bool,
        now: datetime,
        by: str | None = None,
        why: str | None = None,
    ) -> None:
        """A Page moderator (or the Page's filters, or someone through Switchboard: `by`, `why`)
        hid a comment: it leaves the SLA clock, and the departments that have it get a copy
        tagged `hidden`; shown again, it is back on the clock (unless answered or escalated
        meanwhile), copy tagged `unhidden`. An ignored one is only marked. A redelivery finds
        the record as it left it and sends nothing. One not routed yet is held (HOLD) and
        applied when it is."""
        record = self.mentions.get(mention_id)
        if record is None:  # the comment's own delivery may come later (a retry, a race)
            self.mentions.hold(hide_of(mention_id), HIDDEN if hidden else UNHIDDEN, now, now + HOLD)
            # stored meanwhile, its routing may have looked for the hold before it was there
            record = self.mentions.get(mention_id)
            if record is None:
                return
        if record.deleted_at is not None:
            return
        if hidden == (record.hidden_at is not None):
            return
        if record.status == "routed":
            send_copy(self.queues, self.settings, record, HIDDEN if hidden else UNHIDDEN)
        self.mentions.mark_hidden(mention_id, now if hidden else None, by, why)
        metrics.add_metric(
            name="MentionsHidden" if hidden else "MentionsUnhidden", unit="Count", value=1
        )
        logger.info(
            "comment hidden" if hidden else "comment shown again", extra={"mention_id": mention_id}
        )

    def undelivered(self, post: str, why: str, now: datetime) -> None:
        """A reply Switchboard posted (`post`, the platform's id for it) never reached the
        customer: the reply reads `undelivered`, with why; the departments that have its case
        get a copy tagged `reply-undelivered`, once (a redelivered status finds it sent), and a
        case it was the first response of is back on the SLA clock. Not a reply of
        Switchboard's: nothing to do."""
        case = self.mentions.conversation_of(post)
        news = f"undelivered/{post}"
        if case is None or self.mentions.held(news, now) is not None:
            return
        reply_id = self._finish_reply(post, now, "undelivered", last_error=why)
        send_copy(self.queues, self.settings, case, UNDELIVERED)
        self.mentions.unanswer(case.id, post)
        expires = now + timedelta(days=self.settings.mention_ttl_days)
        self.mentions.hold(news, why, now, expires)
        if reply_id is not None:
            self._tell_author(case, reply_id)
        metrics.add_metric(name="RepliesUndelivered", unit="Count", value=1)
        logger.warning(
            "a reply was not delivered", extra={"mention_id": case.id, "post": post, "why": why}
        )

    def seen(self, post: str, receipt: str, at: datetime, now: datetime) -> None:
        """A reply Switchboard posted (`post`) reached the customer's phone (`delivered`) or
        was read (`read`) at `at`: the reply says when. Not a reply of Switchboard's (or one
        since found undelivered): nothing to do."""
        self._finish_reply(post, now, "sent", **{f"{receipt}_at": at})

    def seen_up_to(
        self, conversation: str, receipt: str, upto: datetime, at: datetime, now: datetime
    ) -> None:
        """The customer of a direct conversation received (`delivered`) or read (`read`), at
        `at`, everything the brand sent there until `upto`: each of Switchboard's latest replies
        in it whose sending began by then says when, the first time only (Messenger says it
        again each time the customer opens the conversation). The latest first, down to one
        that says so already: those before it did when it did."""
        if self.replies is None:
            return
        held = self.mentions.held(replied_in(conversation), now)
        for reply_id, began in conversation_replies(held):
            if began > upto:
                continue
            reply = self.replies.get(reply_id)
            if reply is None:
                continue
            if getattr(reply, f"{receipt}_at") is not None:
                return
            self.replies.finish(reply_id, "sent", was="sent", **{f"{receipt}_at": at})

    def _automatic_echo(self, answer: Answer, now: datetime) -> bool:
        """Whether a message in a direct conversation is the platform's echo of a message
        Switchboard is posting there by itself right now, the away message or the satisfaction
        survey (the reply worker links the post only once the platform has answered, and the
        echo can come first): not an answer. A message posted before it was queued (the
        platform's clock a few seconds either way) is someone's answer all the same."""
        if self.replies is None:
            return False
        for key, reply_of in (
            (away_key(answer.to), lambda held: held),
            (rating_key(answer.to), lambda held: surveyed(held).survey),
        ):
            held = self.mentions.held(key, now)
            if held is None or (answer.at is not None and answer.at < held[1] - CLOCK_SKEW):
                continue
            reply = self.replies.get(reply_of(held[0]))
            if reply is not None and reply.status == "sending":
                return True
        return False

    def _tell_author(self, case: MentionRecord, reply_id: str) -> None:
        """Tell the author of a reply that never reached the customer, in their own chat
        (best effort: the department has its copy all the same)."""
        try:
            reply = self.replies.get(reply_id) if self.replies is not None else None
            if reply is not None:
                tell_agent(self.queues, unposted_alert(case.message, reply, self.settings))
        except Exception:
            logger.warning("could not tell a reply's author it was not delivered", exc_info=True)

    def _finish_reply(
        self, post: str, now: datetime, status: ReplyStatus, **fields: Any
    ) -> str | None:
        """Move Switchboard's sent reply posted as `post` (if it is one) to `status`; its id."""
        reply = self.mentions.held(posted_as(post), now)
        if reply is None or self.replies is None:
            return None
        self.replies.finish(reply[0], status, was="sent", **fields)
        return str(reply[0])

    def new_version(self, version: Mention, first: str, now: datetime) -> bool:
        """An edit that is a post of its own (X) belongs to the case of the post it was made
        from (`first`): the departments get it as an edit of that case and replies answer it; a
        redelivered or superseded version, or one of a deleted post, changes nothing. False
        when no case has that post (it predates Switchboard, or was edited to name the brand):
        the version is routed as a mention of its own, which later edits then update."""
        case = case_of(self.mentions, first)
        if case is None:
            return False
        latest = case.versions[-1] if case.versions else case.id
        if case.deleted_at is None and not case.names(version.id) and _later(version.id, latest):
            expires = now + timedelta(days=self.settings.mention_ttl_days)
            self.mentions.link(version.id, case.id, expires)  # answers to it continue the case
            self._send_edit(case, case.with_version(version, now), now)
        return True

    def _send_edit(self, read: MentionRecord, changed: MentionRecord, now: datetime) -> None:
        """Copy the edited case (`read` as it was read, `changed` as edited) to the departments
        that have it, tagged `edited`, then store it unless it changed since it was read: then
        EditConflict fails the delivery, and its retry reads the case again (at worst a
        department gets a copy twice; a deleted case is never written back). Whoever has it
        taken is told, in their own chat."""
        send_copy(self.queues, self.settings, changed, EDITED)
        self.mentions.rewrite(changed, read.edited_at)
        metrics.add_metric(name="MentionsEdited", unit="Count", value=1)
        tell_agent(self.queues, holder_edited_alert(read, changed.message, self.settings, now))

    def answered(self, answer: Answer, now: datetime) -> None:
        """The brand answered on the platform itself (its app, another tool): the case it answers,
        the customer's unanswered mentions before it and the earlier cases it chases
        (`answered_with`) leave the SLA clock as answered when the answer was posted; the
        departments that have them get a copy tagged `answered`, so nobody answers twice; a customer
        answering the brand's post continues the case. An answer Switchboard sent (the reply worker
        linked it) or one already handled changes nothing; a copy that cannot be sent fails the
        delivery before anything is recorded, so its retry sends it. One whose case is not routed
        yet is held for a day (HOLD) and answers the case when it is. A message an automated app
        sent (AUTOMATED_APPS: a chatbot, an instant reply) answers nothing, nor does the echo of
        Switchboard's own away message."""
        if self.mentions.conversation_of(answer.post) is not None or self._automatic_echo(
            answer, now
        ):
            return
        case = self.mentions.conversation_of(answer.to)
        expires = now + timedelta(days=self.settings.mention_ttl_days)
        if any(app in self.settings.automated_apps for app in answer.via):
            why = {"post": answer.post, "to": answer.to, "via": answer.via}
            logger.info("an automated message, not an answer", extra=why)
            if case is not None:  # a customer answering the bot still continues the case
                self.mentions.link(answer.post, case.id, expires)
            return
        if case is None:  # its case may come late (a retried delivery, the X poller's catch-up)
            self.mentions.hold(answer.to, answer.post, answer.at or now, now + HOLD)
            return
        waiting = answered_with(self.mentions, self._awaiting(case))
        for record in waiting:  # every copy first: a retry finds them all still unanswered
            send_copy(self.queues, self.settings, record, ANSWERED)
        for record in waiting:
            at = answer.at or now
            if record_first_response(
                self.mentions, self.queues, self.settings, record, at, answer.post
            ):
                metrics.add_metric(name="AnsweredOnPlatform", unit="Count", value=1)
                platform = record.message.mention.platform
                told = holder_answered_on_platform_alert(record, platform, self.settings, now)
                tell_agent(self.queues, told)
        self.mentions.link(answer.post, case.id, expires)
        logger.info(
            "answered on the platform",
            extra={"mention_id": case.id, "post": answer.post, "via": answer.via},
        )

    def apply_held(self, messages: list[RoutedMention], now: datetime) -> None:
        """Best effort: what happened to a mention before it was routed (held by `hidden` and
        `answered`, for a day) applies now: a moderator's hide (or its rule's, done by the
        outbox worker before the record was stored), and the brand's answer (for a direct
        message, one sent to its author after it)."""
        for message in messages:
            mention, rule = message.mention, message.routing.hide
            ignored = message.routing.department == "ignore"
            if ignored and rule is None:
                continue
            try:
                hide = self.mentions.held(hide_of(mention.id), now)
                if hide is not None:
                    hidden = hide[0] == HIDDEN
                    by = f"rule:{rule}" if hidden and rule else None
                    self.hidden(mention.id, hidden, hide[1], by)
                if ignored:
                    continue
                for key in filter(None, (mention.id, dm_sender(mention))):
                    held = self.mentions.held(key, now)
                    if held is not None and (mention.created_at or held[1]) <= held[1]:
                        self.answered(Answer(key, *held), now)
            except Exception:
                logger.warning("what was held for a mention could not be applied", exc_info=True)

    def _awaiting(self, case: MentionRecord, steps: int = 20) -> MentionRecord:
        """What an answer under `case` answers: the case, or once the case was answered, the
        latest of the mentions that continue it still waiting (a Facebook answer to a follow-up
        goes under the first comment, which the follow-up replied to)."""
        current = case
        for _ in range(steps):
            if current.first_response_at is None:
                break
            latest = self.mentions.conversation_of(follow_up(current.id))
            if latest is None or latest.id == current.id:
                break
            current = latest
        return current
