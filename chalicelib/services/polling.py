"""The YouTube comment poller: new comment threads of each configured channel → intake queue.

YouTube pushes videos, not comments (platforms.md §3.1), so every few minutes this reads each
channel's comment threads newest first and stops at the first one already seen (the channel's
cursor, kept in the cursor store). New top-level comments go to the intake queue as a generic
delivery of normalised mentions, then the cursor moves: a crash in between re-queues them and
the routing worker's per-mention claim drops the repeats. A failing channel is logged and
retried on the next run; the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.models import Mention, RawDelivery
from chalicelib.observability import logger, metrics
from chalicelib.platforms import youtube
from chalicelib.platforms.outbound import PlatformError
from chalicelib.services.intake import INTAKE_QUEUE, SQS_MAX_MESSAGE_BYTES
from chalicelib.settings import Settings
from chalicelib.stores.cursors import CursorStore
from chalicelib.stores.queues import OutgoingMessage, Queues

MAX_PAGES = 5
"""Pages of 100 threads read per channel and run; the rest waits for the next run."""
FIRST_RUN_LOOKBACK = timedelta(days=1)
"""How far back the first poll of a channel reaches (no cursor yet)."""
MENTIONS_PER_MESSAGE = 50
MESSAGE_BUDGET_BYTES = SQS_MAX_MESSAGE_BYTES // 2
"""An intake message takes up to 50 mentions and, counting each twice for the escaping of the
delivery body, half the SQS size limit (a YouTube comment can be 10,000 characters)."""


@dataclass(frozen=True)
class Cursor:
    """The newest publication time seen, and the threads seen at exactly that second (several
    comments can share one, and a poll can fall between them)."""

    at: datetime
    ids: frozenset[str]

    def before(self, at: datetime, thread_id: str) -> bool:
        """Whether a thread published at `at` is new to this cursor."""
        return at > self.at or (at == self.at and thread_id not in self.ids)

    def advanced(self, at: datetime, thread_id: str) -> Cursor:
        """The cursor once this thread is seen too."""
        if at > self.at:
            return Cursor(at, frozenset({thread_id}))
        return Cursor(self.at, self.ids | {thread_id}) if at == self.at else self

    def dump(self) -> str:
        """As stored."""
        return json.dumps({"at": self.at.isoformat(), "ids": sorted(self.ids)})

    @classmethod
    def load(cls, saved: str) -> Cursor:
        """From its stored form."""
        data = json.loads(saved)
        return cls(datetime.fromisoformat(data["at"]), frozenset(data["ids"]))


@dataclass
class YouTubePoller:
    """Polls every channel in `settings.youtube_channels`."""

    queues: Queues
    cursors: CursorStore
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def run(self) -> int:
        """Poll each channel once; returns how many new comments were queued."""
        queued = 0
        for channel in self.settings.youtube_channels:
            try:
                queued += self.poll(channel)
            except PlatformError as exc:
                logger.warning(
                    "YouTube poll failed", extra={"channel": channel, "reason": str(exc)}
                )
                metrics.add_metric(name="PollFailures", unit="Count", value=1)
        return queued

    def poll(self, channel: str) -> int:
        """Queue the channel's comment threads newer than its cursor, then move the cursor."""
        now = self.clock()
        name = f"youtube:{channel}"
        saved = self.cursors.get(name)
        cursor = Cursor.load(saved) if saved else Cursor(now - FIRST_RUN_LOOKBACK, frozenset())
        reached = cursor
        fresh: list[Mention] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = youtube.comment_threads(channel, self.settings, token)
            threads = _well_formed(page.get("items") or [], channel)
            new = [(at, key, t) for at, key, t in threads if cursor.before(at, key)]
            for at, key, _ in new:
                reached = reached.advanced(at, key)
            fresh.extend(
                m for _, _, t in new if (m := youtube.thread_mention(t, channel)) is not None
            )
            token = page.get("nextPageToken")
            if len(new) < len(threads) or not token:
                break  # newest first: the rest of the pages were seen before
        else:
            logger.warning(
                "YouTube poll stopped after the page limit; older new comments are skipped",
                extra={"channel": channel, "pages": MAX_PAGES},
            )
        self._queue(fresh, now)
        if reached != cursor or saved is None:
            self.cursors.put(name, reached.dump())
        metrics.add_metric(name="PolledComments", unit="Count", value=len(fresh))
        return len(fresh)

    def _queue(self, mentions: list[Mention], now: datetime) -> None:
        """Generic deliveries of the mentions, oldest first, within the message budget."""
        chunk: list[str] = []
        size = 0
        for mention in reversed(mentions):
            encoded = mention.model_dump_json(exclude_none=True)
            cost = 2 * len(encoded.encode())
            if chunk and (len(chunk) == MENTIONS_PER_MESSAGE or size + cost > MESSAGE_BUDGET_BYTES):
                self._send(chunk, now)
                chunk, size = [], 0
            chunk.append(encoded)
            size += cost
        if chunk:
            self._send(chunk, now)

    def _send(self, encoded: list[str], now: datetime) -> None:
        delivery = RawDelivery(
            platform="generic", body="[" + ",".join(encoded) + "]", received_at=now
        )
        self.queues.send(INTAKE_QUEUE, OutgoingMessage(delivery.to_json(), {"platform": "youtube"}))


def _well_formed(threads: list[Any], channel: str) -> list[tuple[datetime, str, dict[str, Any]]]:
    """Each thread with its publication time and id; a thread missing them is logged and
    skipped rather than failing the channel's poll on every run."""
    found = []
    for thread in threads:
        try:
            found.append((youtube.thread_published(thread), str(thread["id"]), thread))
        except (KeyError, TypeError, ValueError):
            logger.warning("malformed YouTube comment thread", extra={"channel": channel})
    return found
