"""The pollers: what platforms do not push, read on a schedule and put on the intake queue.

- YouTube pushes videos, not comments (platforms.md §3.1): each configured channel's comment
  threads are read newest first down to the first one already seen. Each new thread then awaits
  the brand's answer: a bounded number of them per run, in turn, are read again for a reply of
  the channel's own (written in YouTube Studio; the routing worker counts it as the answer) and
  for the replies the customer added meanwhile (follow-ups of their case). A
  thread the brand answered, there or through Switchboard, is followed for
  YOUTUBE_FOLLOW_UP_DAYS: its new replies (the customer answering back) are read too, a bounded
  number of threads per run, in turn.
- X's Account Activity webhook is the main X intake; `GET /2/users/:id/mentions` after the newest
  post seen catches what a failed or dropped delivery missed. Both give the same mention id, so
  the routing worker's per-mention claim routes each post once, whichever arrives first.

Each source keeps a cursor in the cursor store. New mentions go to the intake queue as generic
deliveries of normalised mentions, then the cursor moves: a crash in between re-queues them and
the claims drop the repeats. A failing source is logged and retried on the next run; the others
go on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from chalicelib.models import Mention
from chalicelib.observability import logger, metrics
from chalicelib.platforms import x, youtube
from chalicelib.platforms.base import UNREADABLE
from chalicelib.platforms.outbound import PlatformError, PlatformGone
from chalicelib.services.intake import queue_mentions
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.cursors import CursorStore
from chalicelib.stores.payloads import Payloads
from chalicelib.stores.queues import Queues

T = TypeVar("T")
MAX_PAGES = 5
"""Pages (of 100) read per YouTube source and run; more new comments than that and the older
are skipped (alarmed: PollPageLimit)."""
REPLY_PAGES_PER_RUN = 5
"""How many pages of replies (1 quota unit each) a run reads to find the brand's answer in
threads with more replies than YouTube includes: at most 1,440 units a day."""
X_MAX_PAGES = 8
"""Pages (of 100) of X mentions read per run: all the endpoint gives (its 800 most recent)."""
FIRST_RUN_LOOKBACK = timedelta(days=1)
"""How far back the first poll of a source reaches (no cursor yet)."""
FOLLOWED_THREADS = "youtube-threads"
"""The set, in the cursor store, of the YouTube threads the brand answered; each member is
`<answered at> <channel> <thread>` (a thread answered twice has two)."""
AWAITING = "youtube-awaiting"
"""The set, in the cursor store, of the new YouTube threads awaiting the brand's answer; members
as in FOLLOWED_THREADS, with the time the thread was posted."""
AWAITING_MAX = 2000
"""Threads awaiting an answer at most (the set is one DynamoDB item); past that the oldest stop
being awaited."""
FOLLOWED_PER_RUN = 25
"""Followed threads read per run (1 quota unit each; at one run every 5 minutes that is 7,200 of
the 10,000 units a project gets a day by default); with more, each run takes the next ones."""


class Source(Protocol):
    """One polled stream of mentions."""

    @property
    def name(self) -> str:
        """Its cursor's name, e.g. `youtube:<channel>`."""
        ...

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        """The mentions after the saved cursor, newest first, and the cursor to save (empty:
        nothing to save)."""
        ...

    def commit(self) -> None:
        """Once the fetched mentions are on the intake queue: what else the source keeps."""
        ...


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
class YouTubeComments:
    """New top-level comments on a channel's videos (`commentThreads.list`, newest first); each
    then awaits the brand's answer (see YouTubeAnswers)."""

    channel: str
    settings: Settings
    cursors: CursorStore
    _awaiting: set[str] = field(default_factory=set, init=False)

    @property
    def name(self) -> str:
        """The cursor's name."""
        return f"youtube:{self.channel}"

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        """Pages down to the first thread the cursor has seen (the first poll: one day back)."""
        cursor = Cursor.load(saved) if saved else Cursor(now - FIRST_RUN_LOOKBACK, frozenset())
        reached = cursor
        fresh: list[Mention] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = youtube.comment_threads(self.channel, self.settings, token)
            threads = _well_formed(page.get("items") or [], self.name, youtube.thread_published)
            new = [(at, key, t) for at, key, t in threads if cursor.before(at, key)]
            for at, key, _ in new:
                reached = reached.advanced(at, key)
            read = functools.partial(youtube.thread_mention, channel=self.channel)
            fresh += _each_read([t for *_, t in new], read, self.name)
            token = page.get("nextPageToken")
            if len(new) < len(threads) or not token:
                break  # newest first: the rest of the pages were seen before
        else:
            _page_limit(self.name, MAX_PAGES)
        if self.settings.youtube_follow_up_days:
            self._awaiting = {
                _member(m.created_at or now, self.channel, m.native_id) for m in fresh
            }
        return fresh, reached.dump()

    def commit(self) -> None:
        """The new threads await the brand's answer."""
        self.cursors.add(AWAITING, self._awaiting)


@dataclass
class YouTubeReplies:
    """New replies in a thread the brand answered (`comments.list` by `parentId`), after the
    brand's first answer; the replies of the channel (and of every YOUTUBE_CHANNELS and
    BRAND_ACCOUNTS id) are left out."""

    thread: str
    channel: str
    since: datetime
    settings: Settings
    unfollow: Callable[[], None]

    @property
    def name(self) -> str:
        """The cursor's name."""
        return replies_cursor(self.thread)

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        """Every page (the API documents no order for replies), keeping what the cursor has not
        seen, newest first."""
        cursor = Cursor.load(saved) if saved else Cursor(self.since, frozenset())
        reached = cursor
        fresh: list[tuple[datetime, Mention]] = []
        own = self.settings.own_accounts
        token: str | None = None
        for _ in range(MAX_PAGES):
            try:
                page = youtube.comment_replies(self.thread, self.settings, token)
            except PlatformGone:
                logger.info("followed thread is gone; unfollowed", extra={"thread_id": self.thread})
                self.unfollow()
                return [], ""
            for at, key, comment in _well_formed(
                page.get("items") or [], self.name, youtube.published
            ):
                if not cursor.before(at, key):
                    continue
                reached = reached.advanced(at, key)
                mention = youtube.reply_mention(comment, self.thread, self.channel)
                if mention is not None and mention.author.id not in own:
                    fresh.append((at, mention))
            token = page.get("nextPageToken")
            if not token:
                break
        else:
            _page_limit(self.name, MAX_PAGES)
        fresh.sort(key=lambda pair: pair[0], reverse=True)
        return [mention for _, mention in fresh], reached.dump()

    def commit(self) -> None:
        """Nothing beyond the cursor."""


@dataclass
class YouTubeAnswers:
    """The threads awaiting the brand's answer, this run's turn of them read again (one
    `commentThreads.list` call by `id`). The brand's answers written on YouTube itself (YouTube
    Studio, the app): the first reply of the channel's own (or a BRAND_ACCOUNTS channel's) is
    queued as that account's mention, which the routing worker counts as the case's answer, and
    the thread is followed from then on like one answered through Switchboard. What the
    customer adds meanwhile ("hello?? anyone?"): their own replies before that answer are queued
    once each (a cursor per thread), follow-ups of their case. Threads YouTube no longer returns
    (deleted) and those posted longer ago than YOUTUBE_FOLLOW_UP_DAYS stop being awaited; in a
    thread with more replies than YouTube includes, all of them are read (`comments.list`)."""

    settings: Settings
    cursors: CursorStore
    _done: set[str] = field(default_factory=set, init=False)
    _ended: set[str] = field(default_factory=set, init=False)
    _answered: list[Mention] = field(default_factory=list, init=False)
    _seen: dict[str, str] = field(default_factory=dict, init=False)
    _pages_left: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        """For the logs (it keeps no cursor)."""
        return "youtube-answers"

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        """This run's turn of the awaited threads, read again; no cursor."""
        window = timedelta(days=self.settings.youtube_follow_up_days)
        self._done, self._ended, self._answered, self._seen = set(), set(), [], {}
        self._pages_left = REPLY_PAGES_PER_RUN
        live = []  # newest first
        for thread, members in _threads(self.cursors, AWAITING):
            (posted, channel, _), names = members[0], {member for *_, member in members}
            if posted + window <= now:
                self._end(thread, names)
            else:
                live.append((posted, thread, channel, names))
        live.sort(reverse=True)
        for _, thread, _, names in live[AWAITING_MAX:]:  # too many: the oldest are not awaited
            self._end(thread, names)
        turn = _turn(live[:AWAITING_MAX], youtube.THREADS_PER_CALL, now)
        if not turn:
            return [], ""
        page = youtube.threads_by_id([thread for _, thread, _, _ in turn], self.settings)
        found = {str(t.get("id")): t for t in page.get("items") or [] if isinstance(t, dict)}
        added: list[Mention] = []
        for _, thread, channel, names in turn:
            if thread not in found:
                self._end(thread, names)  # deleted
                continue
            try:
                answer, replies = self._read(found[thread], channel)
                added += self._customers_replies(found[thread], channel, replies, answer)
            except UNREADABLE:  # ValidationError too
                logger.warning("malformed YouTube thread", extra={"thread_id": thread})
                continue
            if answer is not None:
                self._answered.append(answer)
                self._end(thread, names)
        return [*added, *self._answered], ""

    def _end(self, thread: str, names: set[str]) -> None:
        """The thread is awaited no more (answered, deleted, too old)."""
        self._done |= names
        self._ended.add(thread)

    def _read(self, thread: dict[str, Any], channel: str) -> tuple[Mention | None, list[Any]]:
        """The brand's first reply in a thread, and the replies looked at: those YouTube
        included with it, or, when it left some out and none of them is the brand's, all of
        them (`comments.list` by `parentId`, within the run's REPLY_PAGES_PER_RUN: a thread not
        read whole now, or whose replies cannot be read, is looked at again on its next turn)."""
        own = self.settings.own_accounts
        included = youtube.included_replies(thread)
        answer = youtube.brand_answer(thread, channel, own)
        if answer is not None or not youtube.has_more_replies(thread):
            return answer, included
        replies: list[Any] = []
        token: str | None = None
        try:
            while self._pages_left:
                self._pages_left -= 1
                page = youtube.comment_replies(str(thread["id"]), self.settings, token)
                replies += [c for c in page.get("items") or [] if isinstance(c, dict)]
                token = page.get("nextPageToken")
                if not token:
                    return youtube.brand_answer(thread, channel, own, replies), replies
        except PlatformError as exc:
            logger.warning("could not read a thread's replies", extra={"error": str(exc)})
        return None, included

    def _customers_replies(
        self, thread: dict[str, Any], channel: str, replies: list[Any], answer: Mention | None
    ) -> list[Mention]:
        """The replies the thread's author wrote before the brand's answer that this thread's
        cursor has not seen (others' replies in an unanswered thread are not followed)."""
        thread_id, author = str(thread["id"]), youtube.thread_author(thread)
        saved = self.cursors.get(replies_cursor(thread_id))
        cursor = (
            Cursor.load(saved) if saved else Cursor(youtube.thread_published(thread), frozenset())
        )
        reached, theirs = cursor, []
        for at, key, comment in _well_formed(replies, self.name, youtube.published):
            before_answer = answer is None or answer.created_at is None or at < answer.created_at
            if (
                youtube.comment_author(comment) == author
                and before_answer
                and cursor.before(at, key)
            ):
                reached = reached.advanced(at, key)
                theirs.append(comment)
        if reached != cursor:
            self._seen[replies_cursor(thread_id)] = reached.dump()
        read = functools.partial(youtube.reply_mention, parent=thread_id, channel=channel)
        return _each_read(theirs, read, self.name)

    def commit(self) -> None:
        """The customers' replies are seen; the answered threads are followed for the
        customer's answer back (from the answer on: the cursor the thread had while awaited
        goes); they and the expired or deleted ones are no longer awaited."""
        for name, value in self._seen.items():
            self.cursors.put(name, value)
        for thread in self._ended:
            self.cursors.delete(replies_cursor(thread))
        for answer in self._answered:
            follow_thread(self.cursors, answer, answer.created_at or datetime.now(UTC))
        self.cursors.discard(AWAITING, self._done)


@dataclass
class XMentions:
    """Posts mentioning a brand account on X after the newest one seen (`since_id`)."""

    account: str
    settings: Settings

    @property
    def name(self) -> str:
        """The cursor's name."""
        return f"x:{self.account}"

    def fetch(self, saved: str | None, now: datetime) -> tuple[list[Mention], str]:
        """All pages after `since_id`; the first poll reads the newest page only and keeps the
        posts of the last day, so it does not replay the account's history."""
        from chalicelib.platforms import xapi  # tweepy: off the reply API (it follows threads)

        fresh: list[Mention] = []
        brand = frozenset(self.settings.brand_accounts)
        newest = saved or ""
        token: str | None = None
        read = 0
        for _ in range(X_MAX_PAGES):
            page = xapi.mentions_page(self.account, self.settings, saved, token)
            includes = page.get("includes") or {}
            users = {str(u["id"]): u for u in includes.get("users", [])}
            posts = {str(p["id"]): p for p in includes.get("tweets", [])}
            media = {str(m["media_key"]): m for m in includes.get("media", [])}
            data = page.get("data") or []
            read += len(data)
            mention_of = functools.partial(
                x.v2_mention,
                users=users,
                account=self.account,
                brand_accounts=brand,
                posts=posts,
                media=media,
            )
            fresh += [
                m for m in _each_read(data, mention_of, self.name) if saved or _recent(m, now)
            ]
            meta = page.get("meta") or {}
            if token is None and meta.get("newest_id"):
                newest = str(meta["newest_id"])
            token = meta.get("next_token")
            if saved is None or not token:
                break
        if read >= X_MAX_PAGES * 100:  # X stops there, whether or not older new posts exist
            _page_limit(self.name, X_MAX_PAGES)
        return fresh, newest

    def commit(self) -> None:
        """Nothing beyond the cursor."""


def sources(settings: Settings, cursors: CursorStore, now: datetime) -> list[Source]:
    """Every source of this run, in the order they are read: X_POLL_ACCOUNTS (a slow YouTube
    never holds them back), this run's turn of the YouTube threads awaiting an answer (before
    the channels: a thread is read again a run after it was found, not at once),
    YOUTUBE_CHANNELS and this run's turn of the followed YouTube threads."""
    found: list[Source] = [XMentions(account, settings) for account in settings.x_poll_accounts]
    if settings.youtube_channels and settings.youtube_follow_up_days:
        found.append(YouTubeAnswers(settings, cursors))
    found.extend(
        YouTubeComments(channel, settings, cursors) for channel in settings.youtube_channels
    )
    found.extend(followed_threads(settings, cursors, now))
    return found


def follow_thread(cursors: CursorStore, mention: Mention, answered_at: datetime) -> None:
    """Follow the thread of a YouTube mention the brand is answering (no longer awaiting it)."""
    thread = youtube.thread_of(mention)
    cursors.add(FOLLOWED_THREADS, {_member(answered_at, mention.brand_account or "-", thread)})
    cursors.discard(AWAITING, {m for m in cursors.members(AWAITING) if m.endswith(f" {thread}")})


def _member(at: datetime, channel: str, thread: str) -> str:
    """A thread as a member of a set of threads: `<time> <channel> <thread>`."""
    return f"{at.isoformat()} {channel} {thread}"


def _threads(cursors: CursorStore, name: str) -> list[tuple[str, list[tuple[datetime, str, str]]]]:
    """The threads of a set, each with its members `(time, channel, member)` oldest first (a
    followed thread answered twice has two); malformed members are logged and dropped."""
    found: dict[str, list[tuple[datetime, str, str]]] = {}
    for member in cursors.members(name):
        try:
            when, channel, thread = member.split(" ", 2)
            at = datetime.fromisoformat(when)
            if at.utcoffset() is None:
                raise ValueError("no time zone")
        except ValueError:
            logger.warning("malformed thread member", extra={"set": name, "member": member})
            cursors.discard(name, {member})
            continue
        found.setdefault(thread, []).append((at, channel, member))
    return sorted((thread, sorted(members)) for thread, members in found.items())


def _turn(items: list[T], size: int, now: datetime) -> list[T]:
    """This run's `size` of `items`: the next ones each run (runs are 5 minutes apart)."""
    if len(items) <= size:
        return items
    start = int(now.timestamp()) // 300 * size % len(items)
    return (items[start:] + items[:start])[:size]


def replies_cursor(thread: str) -> str:
    """The name of a followed thread's cursor."""
    return f"youtube-replies:{thread}"


def followed_threads(settings: Settings, cursors: CursorStore, now: datetime) -> list[Source]:
    """This run's turn of the followed threads; threads answered longer ago than
    YOUTUBE_FOLLOW_UP_DAYS are unfollowed and their cursors deleted."""
    window = timedelta(days=settings.youtube_follow_up_days)
    live: list[Source] = []
    for thread, answered in _threads(cursors, FOLLOWED_THREADS):
        (first, channel, _), last = answered[0], answered[-1][0]
        members = {member for _, _, member in answered}
        if last + window <= now:
            _unfollow(cursors, thread, members)
        else:
            unfollow = functools.partial(_unfollow, cursors, thread, members)
            live.append(YouTubeReplies(thread, channel, first, settings, unfollow))
    return _turn(live, FOLLOWED_PER_RUN, now)


@dataclass
class Poller:
    """Polls each source once per run."""

    queues: Queues
    cursors: CursorStore
    sources: list[Source]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    payloads: Payloads = field(kw_only=True)
    """Where a message too large for SQS waits (a 25,000-character X post in a full batch)."""
    time_left: TimeLeft | None = None
    """Seconds the run has before the Lambda is stopped (None: no limit)."""
    reserve: float = 0.0
    """No source is started with less time left (`Settings.platform_call_reserve`)."""

    def run(self) -> int:
        """Poll every source while there is time; returns how many new mentions were queued.
        Those left for want of time are read on the next run (metric `PollsDeferred`)."""
        queued = 0
        for done, source in enumerate(self.sources):
            if short_of_time(self.time_left, self.reserve):
                left = [s.name for s in self.sources[done:]]
                logger.warning("poll out of time", extra={"deferred": left})
                metrics.add_metric(name="PollsDeferred", unit="Count", value=len(left))
                break
            try:
                queued += self.poll(source)
            except Exception as exc:  # one source's failure never holds back the others
                logger.warning(
                    "poll failed",
                    extra={"source": source.name, "reason": str(exc)},
                    exc_info=not isinstance(exc, PlatformError),  # unexpected: the traceback
                )
                metrics.add_metric(name="PollFailures", unit="Count", value=1)
        return queued

    def poll(self, source: Source) -> int:
        """Queue the source's new mentions, then move its cursor."""
        now = self.clock()
        saved = self.cursors.get(source.name)
        fresh, cursor = source.fetch(saved, now)
        queue_mentions(self.queues, self.payloads, reversed(fresh), now, "poller")  # oldest first
        source.commit()
        if cursor and cursor != saved:
            self.cursors.put(source.name, cursor)
        metrics.add_metric(name="PolledMentions", unit="Count", value=len(fresh))
        return len(fresh)


def _unfollow(cursors: CursorStore, thread: str, members: set[str]) -> None:
    cursors.discard(FOLLOWED_THREADS, members)
    cursors.delete(replies_cursor(thread))


def _recent(mention: Mention, now: datetime) -> bool:
    return mention.created_at is not None and mention.created_at >= now - FIRST_RUN_LOOKBACK


def _page_limit(source: str, pages: int) -> None:
    """More new mentions than a run reads: the older ones are skipped (the cursor moves to the
    newest), which is logged and alarmed (metric `PollPageLimit`)."""
    logger.warning(
        "poll stopped after the page limit; older new mentions are skipped",
        extra={"source": source, "pages": pages},
    )
    metrics.add_metric(name="PollPageLimit", unit="Count", value=1)


def _each_read(
    items: list[Any], read: Callable[[Any], Mention | None], source: str
) -> list[Mention]:
    """Each item a platform listed, read into its mention (None: it has none); one that cannot
    be read is logged and skipped rather than failing the source's poll on every run."""
    found = []
    for item in items:
        try:
            mention = read(item)
        except UNREADABLE:  # ValidationError too
            logger.warning("malformed item skipped", extra={"source": source})
            continue
        if mention is not None:
            found.append(mention)
    return found


def _well_formed(
    items: list[Any], source: str, published: Callable[[dict[str, Any]], datetime]
) -> list[tuple[datetime, str, dict[str, Any]]]:
    """Each thread or comment with its publication time and id; one missing them is logged and
    skipped rather than failing the source's poll on every run."""
    found = []
    for item in items:
        try:
            found.append((published(item), str(item["id"]), item))
        except UNREADABLE:
            logger.warning("malformed YouTube comment", extra={"source": source})
    return found
