"""Forgetting a customer who asks to be (the GDPR's right to erasure, the CCPA's right to
delete): what they wrote and who they are, wherever Switchboard keeps it.

For each of the author's mentions still kept: the text of the replies written to it (one not
posted yet never will be), the files copied from the platform, its dry-run sample, the
conversation link and the receipt and away-message holds that name them by id, then its record,
redacted as a deleted post's and stripped of who wrote it, what it quoted or answered, its link
and what people and rules wrote about it. The record goes last, so a call cut short finds the
rest again. How each was routed and answered stays, without the person, for the departments'
reports.
Copies already delivered to a department queue cannot be recalled (they expire with the queue's
14 days), nor can a raw delivery in the payload bucket be cut apart (it expires after 30 days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.models import ForgetResult
from chalicelib.observability import logger
from chalicelib.services.alerts import forget_alerts
from chalicelib.services.away import away_key
from chalicelib.services.survey import rating_key
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.stores.attachments import AttachmentFiles, files_of
from chalicelib.stores.mentions import MentionStore, dm_sender
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore, replied_in
from chalicelib.stores.traffic import TrafficStore

MAX_MENTIONS = 200
"""Mentions one call erases (or, a dry run, lists): another call does the rest."""
MAX_REPLIES = 200
"""Replies read per mention (no case has had nearly as many)."""
RESERVE_SECONDS = 2.0
"""No mention is begun with less time left than this."""
WHY = "the customer it answers asked to be forgotten"


@dataclass
class Erasure:
    """Erases an author's mentions and what hangs on them."""

    mentions: MentionStore
    replies: ReplyStore
    traffic: TrafficStore
    files: AttachmentFiles
    queues: Queues
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    time_left: TimeLeft | None = None

    def forget(self, author: str, by: str, reason: str, dry_run: bool = False) -> ForgetResult:
        """Erase (a dry run: only find) `author`'s mentions, as many as time allows."""
        found = self.mentions.said_by(author, MAX_MENTIONS)
        done: list[str] = []
        replies = 0
        for mention_id in found:
            if short_of_time(self.time_left, RESERVE_SECONDS):
                break
            written = self.replies.to_mention(mention_id, MAX_REPLIES)
            if not dry_run:
                self._erase(mention_id, [reply.reply_id for reply in written])
            done.append(mention_id)
            replies += len(written)
        more = len(done) < len(found) or len(found) == MAX_MENTIONS
        labels = self.mentions.labels_of(author)
        if labels and not dry_run:
            self.mentions.label(author, [], labels)
        if not dry_run and done:
            logger.info(
                "an author's mentions were erased at their request",
                extra={"by": by, "reason": reason, "mentions": len(done), "replies": replies},
            )
        return ForgetResult(
            author=author, dry_run=dry_run, mentions=done, replies=replies, labels=labels, more=more
        )

    def _erase(self, mention_id: str, replies: list[str]) -> None:
        """Everything kept of one mention, its record last."""
        record = self.mentions.get(mention_id)
        if record is None:
            return
        for reply_id in replies:
            self.replies.erase(reply_id, WHY)
        self.files.forget(files_of(mention_id))
        self.traffic.forget(mention_id, record.routed_at)
        conversation = dm_sender(record.message.mention)
        if conversation is not None:  # keys that name them by id
            for key in (
                conversation,
                replied_in(conversation),
                away_key(conversation),
                rating_key(conversation),
            ):
                self.mentions.drop(key)
        gone = "was erased at its author's request"
        forget_alerts(self.mentions, self.queues, record, gone, drafts=replies)
        self.mentions.forget(mention_id, self.clock())
