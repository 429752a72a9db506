"""Mention records and the claim that makes routing idempotent: the store's interface, what its
two implementations share, and the helpers the services use (the DynamoDB store is in
`mentions_dynamo`, its in-memory twin in `mentions_memory`).

A mention is first *claimed* (conditional put, status "claimed", with a lease), then routed, then
*completed* (status "routed" or "ignored" with the full decision). A redelivered mention finds a
completed record and is skipped; one whose worker died mid-way is reclaimed after the lease. A
worker whose attempt failed after some department queues had the message releases the claim
with that *progress*: the retry sends the same message to the other queues only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chalicelib.models import CaseState, EarlierCase, Mention, MentionRecord, Note


class EditConflict(RuntimeError):
    """The record changed (another edit, a deletion, a hand-over) since it was read: read it
    again."""


class Claim(enum.Enum):
    """Outcome of trying to claim a mention for routing."""

    CLAIMED = "claimed"  # ours to route
    DONE = "done"  # already routed: a duplicate
    BUSY = "busy"  # another worker holds a live lease: retry later


@dataclass(frozen=True)
class CaseTimes:
    """What a department's report needs of one routed mention: when it was routed and due, its
    state, and, once answered, when and how long after the customer wrote."""

    routed_at: datetime
    due: datetime | None
    state: CaseState
    answered_at: datetime | None
    response_seconds: float | None
    escalated: bool


Score = tuple[int, str | None]
"""A satisfaction survey answer's score, and the agent whose reply the survey followed."""


@dataclass(frozen=True)
class FirstResponse:
    """A case's first response a person sent through Switchboard, as a department report's
    figures by person need it: who, how long after the customer wrote, and whether by its
    deadline (a case without one: on time)."""

    by: str
    seconds: float
    on_time: bool


MAX_ALERTS = 10
"""The posted alerts kept of one case (each channel's new case, breach, priority raised) or
draft."""


@dataclass(frozen=True)
class PostedAlert:
    """An alert of a case (or a draft waiting for approval) posted to a Slack channel: where
    (`channel`, the message's `ts`) and what it says (`text`), so it can be changed when the
    case is taken, answered or closed (the draft approved or rejected)."""

    channel: str
    ts: str
    text: str


@dataclass(frozen=True)
class Progress:
    """How far a failed attempt at routing a mention got: the message it decided (RoutedMention
    JSON) and the queues that already have it."""

    message: str
    sent: frozenset[str]


class MentionStore(Protocol):
    """Claims and records of mentions."""

    def claim(
        self, mention_id: str, now: datetime, lease: timedelta
    ) -> tuple[Claim, Progress | None]:
        """Claim a mention for routing unless it is done or leased to another worker; a claim
        comes with the progress an earlier, failed attempt left (else None)."""
        ...

    def release(self, mention_id: str, progress: Progress | None = None) -> None:
        """Give a claim back after a failure, so a retry can route the mention; with progress
        when some queues already have its message."""
        ...

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Store the routed record; it expires (TTL) at `expires_at`."""
        ...

    def get(self, mention_id: str) -> MentionRecord | None:
        """The completed record of a mention, if any."""
        ...

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """The completed records of these mentions, by id (those without one left out)."""
        ...

    def record_response(
        self, mention_id: str, at: datetime, post: str, by: str | None = None
    ) -> float | None:
        """Set the first response, the brand's `post` at `at` (only the first counts), which
        `by` sent through Switchboard (None: an answer on the platform), counted among the
        `first_responses` of the case's department; returns the response time in seconds when
        this was the first, else None."""
        ...

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Routed mentions past their SLA deadline with no response and no escalation yet."""
        ...

    def mark_escalated(self, mention_id: str, at: datetime) -> None:
        """Record that an overdue mention was escalated (it leaves the overdue list)."""
        ...

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """The cases of `department` waiting for a first response, the soonest deadline first
        (escalated ones stay; answered, closed, hidden and deleted ones leave)."""
        ...

    def mark_deleted(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """The author deleted the mention: redact its record and take it off the SLA clock, or,
        not routed yet, leave a tombstone so a late delivery of it is not routed; returns the
        record as it was (None when there was none)."""
        ...

    def said_by(self, author: str, limit: int) -> list[str]:
        """The ids of the records of everything `author` (`x:12345`) wrote that Switchboard
        still keeps and has not forgotten: cases, follow-ups, ignored mentions."""
        ...

    def forget(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Its author asked to be forgotten: rewrite the record as `MentionRecord.forgotten`
        has it, out of every list and index that names them; returns the record as it was
        (None when there is none, or it was forgotten already)."""
        ...

    def labels_of(self, author: str) -> list[str]:
        """The labels `author` (an `author_key`) carries, sorted."""
        ...

    def label(self, author: str, add: list[str], remove: list[str]) -> list[str]:
        """Give `author` the labels `add` and take `remove` away (each change atomic); their
        labels after it, sorted."""
        ...

    def drop(self, key: str) -> None:
        """Remove the link and the hold kept under `key`, if any (they name a customer)."""
        ...

    def mark_hidden(
        self, mention_id: str, at: datetime | None, by: str | None = None, why: str | None = None
    ) -> None:
        """A moderator hid the mention (`at`; `by` and `why` when hidden through Switchboard): it
        leaves the SLA clock; or showed it again (None): back on the clock unless it was
        answered, escalated, closed or deleted meanwhile."""
        ...

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """A department closed the case without a reply: it leaves the SLA clock (closed once:
        a second close keeps the first)."""
        ...

    def reopen(self, mention_id: str) -> None:
        """A closed case is open again: back on the SLA clock unless it was answered, hidden or
        deleted meanwhile."""
        ...

    def unanswer(self, mention_id: str, post: str) -> bool:
        """Its first response `post` never reached the customer: forget it (and who sent it,
        out of the `first_responses`), and the case is back on the SLA clock (its deadline as
        it was) unless closed, hidden or deleted. False when `post` is not its first response."""
        ...

    def rewrite(self, record: MentionRecord, since: datetime | None) -> None:
        """Store a routed mention's record as changed (an edit); deadline and answer stay.
        `since`: the `edited_at` of the record as it was read; raises EditConflict when it was
        edited again, deleted (a deleted mention's text never comes back) or handed over to
        another department meanwhile."""
        ...

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Store `record`, handed over from `from_department` to its department now: the
        waiting list it is on (if any) and the author index follow, and whoever took it in
        `from_department` has it no more. EditConflict when it left `from_department`, was
        edited or was deleted meanwhile."""
        ...

    def reprioritise(self, record: MentionRecord, since: datetime | None) -> None:
        """Store `record` with the priority and deadline a person gave it: the SLA check and the
        waiting list read the new deadline. EditConflict when it was edited (since `since`,
        its `edited_at` as read), handed over or deleted meanwhile."""
        ...

    def handed_over(self, department: str, since: datetime, limit: int) -> list[MentionRecord]:
        """The cases routed to `department` since `since` that people handed over to another
        (where they are now, by whom and why in their transfers), newest first."""
        ...

    def handed_over_count(self, department: str, since: datetime) -> int:
        """How many cases routed to `department` since `since` people handed over to another."""
        ...

    def take(
        self,
        mention_id: str,
        by: str,
        now: datetime,
        until: datetime,
        passed_from: str | None = None,
    ) -> bool:
        """`by` takes the mention to answer it until `until`, unless someone else's take runs
        past `now` (then False; their own take is extended); `passed_from`, who let it go
        unanswered before, is added to those it passed over."""
        ...

    def leave(self, mention_id: str, by: str, given_back: bool = True) -> bool:
        """`by` gives back a mention they took (False: they do not hold it), noted as given
        back by them (`given_back_by`) unless `given_back` is False (their shift ended)."""
        ...

    def add_note(self, mention_id: str, note: Note) -> bool:
        """Add a note to a stored record, unless it has no room for it (MAX_NOTES notes, or
        MAX_NOTES_BYTES with it): then False."""
        ...

    def department_cases(self, department: str, since: datetime, limit: int) -> list[CaseTimes]:
        """The mentions routed to `department` (where a hand-over took them, if one did) since
        `since`, newest first, at most `limit`."""
        ...

    def rescue(self, record: MentionRecord) -> None:
        """Store `record`, an ignored mention a person sent to a department, as routed: on that
        department's waiting list and the SLA check's, among its author's cases and the cases
        handed over from `ignore`. EditConflict when it is no longer ignored."""
        ...

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """The mentions routing ignored since `since` (and nobody rescued), newest first
        (satisfaction survey answers are not among them: see `ratings`)."""
        ...

    def rate(self, mention_id: str, score: int, at: datetime) -> None:
        """Record on a stored case how its customer rated the help (the latest rating stands)."""
        ...

    def mark_passed_on(
        self, mention_id: str, department: str, by: str, at: datetime, expires_at: datetime
    ) -> None:
        """Count that `by`'s take of one of `department`'s cases ran out unanswered and the case
        was given to someone else `at`, until `expires_at`."""
        ...

    def passed_on(self, department: str, since: datetime, limit: int) -> list[str]:
        """Whose takes of `department`'s cases ran out and were passed on since `since`, one
        entry a time, newest first, at most `limit`."""
        ...

    def add_alert(self, key: str, alert: PostedAlert, expires_at: datetime) -> int:
        """Keep that `alert` was posted of what `key` names (a case's mention id, a draft's
        reply id), until `expires_at`; MAX_ALERTS a key. Returns how many are kept of it now,
        this one with them (0: it is not, MAX_ALERTS are)."""
        ...

    def alerts_of(self, key: str) -> list[PostedAlert]:
        """The alerts posted of what `key` names, oldest first."""
        ...

    def drop_alerts(self, key: str) -> None:
        """Forget the alerts posted of what `key` names (what they quote with them)."""
        ...

    def mark_surveyed(
        self, reply_id: str, department: str, at: datetime, expires_at: datetime
    ) -> None:
        """Count a satisfaction survey posted `at` (`reply_id`: once however often it is told)
        about one of `department`'s cases, until `expires_at`."""
        ...

    def surveyed_count(self, department: str, since: datetime) -> int:
        """How many satisfaction surveys about `department`'s cases were posted since `since`."""
        ...

    def first_responses(self, department: str, since: datetime, limit: int) -> list[FirstResponse]:
        """The first responses people sent since `since` to cases `department` has, newest
        first, at most `limit`."""
        ...

    def ratings(self, department: str, since: datetime, limit: int) -> list[Score]:
        """The scores (with who sent the reply the survey followed) of the satisfaction survey
        answers routed since `since` about cases `department` had, newest first, at most
        `limit`."""
        ...

    def supersede(self, mention_id: str, at: datetime) -> None:
        """A later version of this post opened its case first (an edit routed before the post
        it was made from): unless the post has a claim or a record already, leave a tombstone
        so that it is not routed as a second case when it comes late."""
        ...

    def link(self, key: str, mention_id: str, expires_at: datetime) -> None:
        """Remember that `key` (a brand reply's `platform:native` id, a direct-message sender)
        continues the conversation of `mention_id`, until `expires_at` (TTL)."""
        ...

    def conversation_of(self, key: str) -> MentionRecord | None:
        """The record of the mention `key` continues: the mention itself when `key` is a routed
        mention's id, else the one linked to `key`; None for others."""
        ...

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        """Keep what happened (`at`) to a mention or conversation not routed yet (`key`: the
        brand's answer post to it, a moderator hiding it) until `expires_at`; a later event
        under the same key replaces it."""
        ...

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """What is held under `key` and not expired at `now`: (what, when it happened)."""
        ...

    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        """The cases `author` (an `author_key`) opened since `since`, newest first, at most
        `limit`."""
        ...


def dm_sender(mention: Mention) -> str | None:
    """The conversation key of a direct message: its platform and sender."""
    if mention.kind != "dm" or not mention.author.id:
        return None
    return f"{mention.platform}:dm/{mention.author.id}"


def last_heard(store: MentionStore, record: MentionRecord) -> MentionRecord:
    """The latest direct message `record`'s sender wrote to the same account, from which the
    platforms' messaging windows run: `record` itself unless a later one was routed since."""
    mention = record.message.mention
    key = dm_sender(mention)
    latest = store.conversation_of(key) if key is not None else None
    if latest is None or latest.message.mention.brand_account != mention.brand_account:
        return record
    heard, written = latest.message.mention.created_at, mention.created_at
    return latest if heard and written and heard > written else record


def follow_up(mention_id: str) -> str:
    """The link key naming the latest mention that continues `mention_id`'s conversation."""
    return f"follow-up/{mention_id}"


def author_key(mention: Mention) -> str | None:
    """Who wrote a mention, as its platform knows them (`x:12345`); None when not said."""
    return f"{mention.platform}:{mention.author.id}" if mention.author.id else None


def opens_case(record: MentionRecord) -> bool:
    """Whether a record is a case of its own: routed to a department, not a follow-up of another
    (a reply in its conversation, another direct message within it)."""
    return record.status == "routed" and record.message.routing.conversation is None


def case_opened_by(store: MentionStore, record: MentionRecord, steps: int = 20) -> MentionRecord:
    """The case `record` belongs to: the mention that opened its conversation (`record` itself
    when it opened one; the earliest still stored, or after `steps`, otherwise)."""
    for _ in range(steps):
        earlier = record.message.routing.conversation
        found = store.get(earlier.mention_id) if earlier is not None else None
        if found is None:
            break
        record = found
    return record


def case_of(store: MentionStore, mention_id: str) -> MentionRecord | None:
    """The record of the case `mention_id` names: the mention's own, or, for a version of an
    edited post (X gives each edit an id), the case of that post; None for anything else (a
    brand reply linked to a case is not the case)."""
    record = store.conversation_of(mention_id)
    return record if record is not None and record.names(mention_id) else None


def unanswered(store: MentionStore, record: MentionRecord, steps: int = 20) -> list[MentionRecord]:
    """The routed mentions an answer to `record` answers: itself and what its author wrote
    before it in the same conversation (each mention continues the one before: a second direct
    message, a reply to their own post), back to the first the brand answered or one by someone
    else; deleted ones left out. Empty when `record` was answered already."""
    found: list[MentionRecord] = []
    author = record.message.mention.author.id
    current: MentionRecord | None = record
    for _ in range(steps):
        if current is None or current.first_response_at is not None:
            break
        if current.message.mention.author.id != author:
            break
        if current.status == "routed" and current.deleted_at is None:
            found.append(current)
        earlier = current.message.routing.conversation
        current = store.get(earlier.mention_id) if earlier else None
    return found


def answered_with(store: MentionStore, record: MentionRecord) -> list[MentionRecord]:
    """What an answer to `record` answers: the `unanswered` mentions of its conversation, and
    the cases each of those chases: the author's cases still waiting in the same department
    when it was routed (its history), with what they wrote after each in its conversation."""
    found = unanswered(store, record)
    for chaser in list(found):
        routing = chaser.message.routing
        for case in routing.history.cases if routing.history is not None else []:
            earlier = store.get(case.id) if case.state == "waiting" else None
            if earlier is None or earlier.message.routing.department != routing.department:
                continue
            latest = store.conversation_of(follow_up(earlier.id)) or earlier
            seen = {each.id for each in found}
            found += [each for each in unanswered(store, latest) if each.id not in seen]
    return found


OPEN_INDEX = "open-by-due"
WAITING_INDEX = "waiting-by-due"
AUTHOR_INDEX = "cases-by-author"
SAID_INDEX = "said-by-author"
"""Every record by `said_by` (its author, `x:12345`; keys only): what to erase when an author
asks to be forgotten."""
LIST_INDEX = "listed-by-time"
"""One sparse index by `routed_at` for two lists a record is in one of at most (one index: a
CloudFormation update adds no more than one to a table): `listed` is `ignored` for what
routing ignored, `handed-over:<department>` for a case people handed over from the department
routing chose (`handed-over:ignore` for an ignored one they rescued), `rated:<department>` for
a customer's answer to the satisfaction survey about one of the department's cases,
`surveyed:<department>` for an item `surveyed#<reply id>` that counts a survey posted, and
`answered:<department>` for an item `answered#<mention id>`, who sent a case's first response
and how fast (`FirstResponse`), and `passed:<department>` for an item `passed#<mention id>#<time>`,
whose take of a case ran out and was passed on."""
IGNORED = "ignored"
REPORT_INDEX = "department-by-time"
"""Every record by `department` and `routed_at`, projecting REPORT_INDEX_ATTRIBUTES only: a
department's report reads its mentions of the last days without reading their records."""


def passed_list(department: str) -> str:
    """The `listed` value of the takes of `department`'s cases that ran out and were passed
    on."""
    return f"passed:{department}"


def surveyed_list(department: str) -> str:
    """The `listed` value of the satisfaction surveys posted about `department`'s cases."""
    return f"surveyed:{department}"


def rated_list(department: str) -> str:
    """The `listed` value of the satisfaction survey answers about `department`'s cases."""
    return f"rated:{department}"


def answered_list(department: str) -> str:
    """The `listed` value of the first responses people sent to `department`'s cases."""
    return f"answered:{department}"


def handed_over_list(department: str) -> str:
    """The `listed` value of the cases handed over from `department`."""
    return f"handed-over:{department}"


_ENDINGS: tuple[tuple[str, CaseState], ...] = (
    ("deleted_at", "deleted"),
    ("hidden_at", "hidden"),
    ("closed_at", "closed"),
    ("first_response_at", "answered"),
)
"""What ends a case's wait, by the record field that says it happened; the first that applies
names its state."""
AUTHOR_INDEX_ATTRIBUTES = ("department", *(field for field, _ in _ENDINGS))
"""What the author index projects besides its keys (`author`, `routed_at`): enough to list an
author's earlier cases (department, state) without reading their records."""
REPORT_INDEX_ATTRIBUTES = (
    "sla_due_at",
    "response_seconds",
    "escalated_at",
    *(field for field, _ in _ENDINGS),
)
"""What the report index projects besides its keys (`department`, `routed_at`)."""


def case_state(happened: Callable[[str], bool]) -> CaseState:
    """A case's state, given whether each of the `_ENDINGS` fields is set."""
    return next((state for field, state in _ENDINGS if happened(field)), "waiting")


def case_times(record: MentionRecord) -> CaseTimes:
    """What a report needs of a record."""
    return CaseTimes(
        routed_at=record.routed_at,
        due=record.message.routing.sla_due_at,
        state=case_state(lambda field: getattr(record, field) is not None),
        answered_at=record.first_response_at,
        response_seconds=record.response_seconds,
        escalated=record.escalated_at is not None,
    )


def due_key(moment: datetime) -> str:
    """A deadline as a fixed-format UTC string, so that deadlines sort as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_response(record: MentionRecord, at: datetime, by: str) -> FirstResponse:
    """`by`'s response to `record` at `at`, as the report's figures by person count it."""
    due = record.message.routing.sla_due_at
    seconds = (at - clock_start(record)).total_seconds()
    return FirstResponse(by=by, seconds=seconds, on_time=due is None or at <= due)


def clock_start(record: MentionRecord) -> datetime:
    """The SLA clock starts when the customer posted (else when Switchboard routed it)."""
    return record.message.mention.created_at or record.routed_at
