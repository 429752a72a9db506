"""The in-memory twin of the DynamoDB mention store, run through the same tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.models import EarlierCase, MentionRecord, Note
from chalicelib.stores.mentions import (
    MAX_ALERTS,
    CaseTimes,
    Claim,
    EditConflict,
    FirstResponse,
    PostedAlert,
    Progress,
    Score,
    author_key,
    case_state,
    case_times,
    clock_start,
    due_key,
    first_response,
    opens_case,
)


def _has(record: MentionRecord, field: str) -> bool:
    """Whether the record's `field` is set."""
    return getattr(record, field) is not None


def _waiting(record: MentionRecord) -> bool:
    """Whether a record waits for a first response (the in-memory twin of the sparse indexes):
    routed with a deadline, and not answered, closed, hidden or deleted."""
    return (
        record.status == "routed"
        and record.message.routing.sla_due_at is not None
        and not (record.first_response_at or record.closed_at or record.hidden_at)
        and record.deleted_at is None
    )


class MemoryMentionStore:
    """In-memory twin of DynamoMentionStore."""

    def __init__(self) -> None:
        self.leases: dict[str, datetime] = {}
        self.records: dict[str, MentionRecord] = {}
        self.links: dict[str, str] = {}
        self.holding: dict[str, tuple[str, datetime, datetime]] = {}
        self.progress: dict[str, Progress] = {}
        self.tombstones: set[str] = set()
        self.labels: dict[str, set[str]] = {}
        self.surveys: dict[str, tuple[str, datetime]] = {}
        self.responses: dict[str, tuple[str, datetime, FirstResponse]] = {}
        self.passes: list[tuple[str, datetime, str]] = []
        self.alerts: dict[str, list[PostedAlert]] = {}

    def claim(
        self, mention_id: str, now: datetime, lease: timedelta
    ) -> tuple[Claim, Progress | None]:
        """Claim unless completed, deleted or leased; hand over the progress a release left."""
        if mention_id in self.records or mention_id in self.tombstones:
            return Claim.DONE, None
        if mention_id in self.leases and self.leases[mention_id] >= now:
            return Claim.BUSY, None
        self.leases[mention_id] = now + lease
        return Claim.CLAIMED, self.progress.pop(mention_id, None)

    def release(self, mention_id: str, progress: Progress | None = None) -> None:
        """Drop the lease; keep the progress, if any queue has the message."""
        if mention_id in self.records:
            return
        self.leases.pop(mention_id, None)
        if progress is not None and progress.sent:
            self.progress[mention_id] = progress

    def complete(self, record: MentionRecord, expires_at: datetime) -> None:
        """Keep the record (expiry is not simulated)."""
        self.leases.pop(record.id, None)
        self.records[record.id] = record

    def get(self, mention_id: str) -> MentionRecord | None:
        """The record, if completed."""
        return self.records.get(mention_id)

    def get_many(self, mention_ids: list[str]) -> dict[str, MentionRecord]:
        """The records there are, by id."""
        return {i: self.records[i] for i in mention_ids if i in self.records}

    def record_response(
        self, mention_id: str, at: datetime, post: str, by: str | None = None
    ) -> float | None:
        """First response only."""
        record = self.records.get(mention_id)
        if record is None or record.first_response_at is not None:
            return None
        seconds = (at - clock_start(record)).total_seconds()
        self.records[mention_id] = record.model_copy(
            update={
                "first_response_at": at,
                "response_seconds": seconds,
                "first_response_post": post,
                "first_response_by": by,
            }
        )
        if by is not None:
            answered = first_response(record, at, by)
            self.responses[mention_id] = (record.message.routing.department, at, answered)
        return seconds

    def overdue(self, now: datetime, limit: int = 100) -> list[MentionRecord]:
        """Waiting, not escalated, past the deadline."""
        return [
            r
            for r in self.records.values()
            if _waiting(r)
            and r.escalated_at is None
            and due_key(r.message.routing.sla_due_at or now) < due_key(now)
        ][:limit]

    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        """Waiting and routed to `department`; by deadline."""
        found = [
            r
            for r in self.records.values()
            if _waiting(r) and r.message.routing.department == department
        ]
        found.sort(key=lambda r: due_key(r.message.routing.sla_due_at or r.routed_at))
        return found[:limit]

    def mark_escalated(self, mention_id: str, at: datetime) -> None:
        """Set escalated_at."""
        record = self.records[mention_id]
        self.records[mention_id] = record.model_copy(update={"escalated_at": at})

    def mark_deleted(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Redact the record, or keep a tombstone (as a record-less done claim)."""
        record = self.records.get(mention_id)
        if record is None:
            self.supersede(mention_id, at)
            return None
        self.records[mention_id] = record.redacted(at)
        return record

    def said_by(self, author: str, limit: int) -> list[str]:
        """The records whose mention `author` wrote, newest first (forgotten ones name none)."""
        found = [r for r in self.records.values() if author_key(r.message.mention) == author]
        found.sort(key=lambda r: r.routed_at, reverse=True)
        return [r.id for r in found[:limit]]

    def forget(self, mention_id: str, at: datetime) -> MentionRecord | None:
        """Rewrite it forgotten, its take ended (`waiting` and the lists read the fields)."""
        record = self.records.get(mention_id)
        if record is None or record.forgotten_at is not None:
            return None
        untaken = {"taken_by": None, "taken_until": None}
        self.records[mention_id] = record.forgotten(at).model_copy(update=untaken)
        return record

    def drop(self, key: str) -> None:
        """Forget the link and the hold."""
        self.links.pop(key, None)
        self.holding.pop(key, None)

    def mark_hidden(
        self, mention_id: str, at: datetime | None, by: str | None = None, why: str | None = None
    ) -> None:
        """Set or clear hidden_at, with who and why (`overdue` leaves hidden mentions out)."""
        record = self.records[mention_id]
        hidden = {"hidden_at": at, "hidden_by": by, "hidden_reason": why}
        self.records[mention_id] = record.model_copy(update=hidden)

    def mark_closed(self, mention_id: str, at: datetime, by: str, reason: str) -> None:
        """Close it, unless closed."""
        record = self.records[mention_id]
        if record.closed_at is None:
            closed = {"closed_at": at, "closed_by": by, "closed_reason": reason}
            self.records[mention_id] = record.model_copy(update=closed)

    def labels_of(self, author: str) -> list[str]:
        """The author's labels."""
        return sorted(self.labels.get(author, ()))

    def label(self, author: str, add: list[str], remove: list[str]) -> list[str]:
        """Change the author's labels."""
        kept = (self.labels.get(author, set()) | set(add)) - set(remove)
        self.labels[author] = kept
        return sorted(kept)

    def rate(self, mention_id: str, score: int, at: datetime) -> None:
        """Set the rating of a record there is."""
        record = self.records.get(mention_id)
        if record is not None:
            self.records[mention_id] = record.model_copy(update={"rating": score, "rated_at": at})

    def mark_passed_on(
        self, mention_id: str, department: str, by: str, at: datetime, expires_at: datetime
    ) -> None:
        """Note the take passed on (expiry is not simulated)."""
        self.passes.append((department, at, by))

    def passed_on(self, department: str, since: datetime, limit: int) -> list[str]:
        """Whose noted takes of `department`'s cases were passed on, newest first."""
        found = sorted(((at, by) for d, at, by in self.passes if d == department and at >= since))
        return [by for _, by in reversed(found)][:limit]

    def add_alert(self, key: str, alert: PostedAlert, expires_at: datetime) -> int:
        """Keep the alert, up to MAX_ALERTS a key (expiry is not simulated)."""
        kept = self.alerts.setdefault(key, [])
        if len(kept) >= MAX_ALERTS:
            return 0
        kept.append(alert)
        return len(kept)

    def alerts_of(self, key: str) -> list[PostedAlert]:
        """The kept alerts of `key`."""
        return list(self.alerts.get(key, []))

    def drop_alerts(self, key: str) -> None:
        """Forget them."""
        self.alerts.pop(key, None)

    def mark_surveyed(
        self, reply_id: str, department: str, at: datetime, expires_at: datetime
    ) -> None:
        """Note the survey (expiry is not simulated)."""
        self.surveys[reply_id] = (department, at)

    def surveyed_count(self, department: str, since: datetime) -> int:
        """How many noted surveys."""
        return sum(d == department and at >= since for d, at in self.surveys.values())

    def first_responses(self, department: str, since: datetime, limit: int) -> list[FirstResponse]:
        """The first responses people sent since `since` to `department`'s cases, newest
        first."""
        sent = [(at, each) for d, at, each in self.responses.values() if d == department]
        newest = sorted((entry for entry in sent if entry[0] >= since), reverse=True)
        return [each for _, each in newest[:limit]]

    def ratings(self, department: str, since: datetime, limit: int) -> list[Score]:
        """The scores of the survey answers about `department`'s cases, newest first."""
        about = self._newest(lambda r: _rating_department(r) == department, since, limit)
        rates = [r.message.routing.rates for r in about]
        return [(rating.score, rating.agent) for rating in rates if rating is not None]

    def reopen(self, mention_id: str) -> None:
        """Clear the close (`overdue` and `waiting` read the fields)."""
        record = self.records[mention_id]
        reopened = {"closed_at": None, "closed_by": None, "closed_reason": None}
        self.records[mention_id] = record.model_copy(update=reopened)

    def unanswer(self, mention_id: str, post: str) -> bool:
        """Clear the first response if it is `post` (`overdue` and `waiting` read the fields)."""
        record = self.records.get(mention_id)
        if record is None or record.first_response_post != post:
            return False
        cleared = dict.fromkeys(
            ("first_response_at", "response_seconds", "first_response_post", "first_response_by")
        )
        self.records[mention_id] = record.model_copy(update=cleared)
        self.responses.pop(mention_id, None)
        return True

    def take(
        self,
        mention_id: str,
        by: str,
        now: datetime,
        until: datetime,
        passed_from: str | None = None,
    ) -> bool:
        """Take it, unless someone else's take runs past `now`; `passed_from` passed it over."""
        record = self.records[mention_id]
        if record.taker(now) not in (None, by):
            return False
        passed = sorted({*record.passed_over, *([passed_from] if passed_from else [])})
        self.records[mention_id] = record.model_copy(
            update={
                "taken_by": by,
                "taken_until": until.replace(microsecond=0),
                "passed_over": passed,
            }
        )
        return True

    def leave(self, mention_id: str, by: str, given_back: bool = True) -> bool:
        """Give it back, if `by` holds it."""
        record = self.records[mention_id]
        if record.taken_by != by:
            return False
        kept = by if given_back else record.given_back_by
        left = {"taken_by": None, "taken_until": None, "given_back_by": kept}
        self.records[mention_id] = record.model_copy(update=left)
        return True

    def add_note(self, mention_id: str, note: Note) -> bool:
        """Add it, unless the record has no room for it (MAX_NOTES, MAX_NOTES_BYTES)."""
        record = self.records[mention_id]
        if record.no_room_for(note) is not None:
            return False
        self.records[mention_id] = record.model_copy(update={"notes": [*record.notes, note]})
        return True

    def supersede(self, mention_id: str, at: datetime) -> None:
        """A tombstone (a deletion's too), unless the mention is claimed or routed."""
        if not any(mention_id in held for held in (self.records, self.leases, self.progress)):
            self.tombstones.add(mention_id)

    def rewrite(self, record: MentionRecord, since: datetime | None) -> None:
        """Replace the record, keeping the response and escalation it has, unless it was
        edited since `since` or deleted."""
        self._replace(record, since, record.message.routing.department)

    def transfer(self, record: MentionRecord, from_department: str) -> None:
        """Replace the record as `rewrite` does, unless it left `from_department` meanwhile;
        the take, if any, ends."""
        self._replace(record, record.edited_at, from_department)
        untaken: dict[str, Any] = {
            "taken_by": None,
            "taken_until": None,
            "given_back_by": None,
            "passed_over": [],
        }
        self.records[record.id] = self.records[record.id].model_copy(update=untaken)

    def reprioritise(self, record: MentionRecord, since: datetime | None) -> None:
        """Replace the record as `rewrite` does (the lists read its deadline)."""
        self._replace(record, since, record.message.routing.department)

    def _replace(self, record: MentionRecord, since: datetime | None, department: str) -> None:
        """Replace the record, keeping what the store tracks beside it, unless it was edited
        since `since`, deleted, or is no longer `department`'s."""
        stored = self.records[record.id]
        moved = stored.message.routing.department != department
        if stored.deleted_at is not None or stored.edited_at != since or moved:
            raise EditConflict(f"{record.id} was changed or deleted meanwhile")
        kept = (
            "first_response_at",
            "response_seconds",
            "first_response_post",
            "first_response_by",
            "escalated_at",
            "hidden_at",
            "closed_at",
            "closed_by",
            "closed_reason",
            "taken_by",
            "taken_until",
            "notes",
        )
        self.records[record.id] = record.model_copy(update={k: getattr(stored, k) for k in kept})

    def link(self, key: str, mention_id: str, expires_at: datetime) -> None:
        """Keep the link (expiry is not simulated)."""
        self.links[key] = mention_id

    def conversation_of(self, key: str) -> MentionRecord | None:
        """The key's own record, else the linked one."""
        return self.records.get(key) or self.records.get(self.links.get(key, ""))

    def hold(self, key: str, what: str, at: datetime, expires_at: datetime) -> None:
        """Keep it, with its expiry."""
        self.holding[key] = (what, at, expires_at)

    def held(self, key: str, now: datetime) -> tuple[str, datetime] | None:
        """What is held, unless expired."""
        what, at, expires_at = self.holding.get(key, ("", now, now))
        return (what, at) if expires_at > now else None

    def handed_over(self, department: str, since: datetime, limit: int) -> list[MentionRecord]:
        """The cases whose first hand-over took them from `department`, newest first."""
        return self._newest(
            lambda r: (
                opens_case(r)
                and r.forgotten_at is None
                and bool(r.message.routing.transfers)
                and r.message.routing.transfers[0].from_department == department
            ),
            since,
            limit,
        )

    def handed_over_count(self, department: str, since: datetime) -> int:
        """How many `handed_over` lists."""
        return len(self.handed_over(department, since, len(self.records)))

    def ignored(self, since: datetime, limit: int) -> list[MentionRecord]:
        """The ignored records, newest first."""
        return self._newest(
            lambda r: (
                r.status == "ignored" and r.deleted_at is None and _rating_department(r) is None
            ),
            since,
            limit,
        )

    def department_cases(self, department: str, since: datetime, limit: int) -> list[CaseTimes]:
        """The routed records of `department`, newest first."""
        routed = self._newest(
            lambda r: r.status == "routed" and r.message.routing.department == department,
            since,
            limit,
        )
        return [case_times(r) for r in routed]

    def _newest(
        self, kept: Callable[[MentionRecord], bool], since: datetime, limit: int
    ) -> list[MentionRecord]:
        found = [r for r in self.records.values() if kept(r) and r.routed_at >= since]
        return sorted(found, key=lambda r: r.routed_at, reverse=True)[:limit]

    def rescue(self, record: MentionRecord) -> None:
        """Replace the ignored record with the routed one."""
        if self.records[record.id].status != "ignored":
            raise EditConflict(f"{record.id} is no longer ignored")
        self.records[record.id] = record.model_copy(update={"notes": self.records[record.id].notes})

    def earlier_cases(self, author: str, since: datetime, limit: int) -> list[EarlierCase]:
        """The records that open a case by `author` since `since`, newest first."""
        found = [
            r
            for r in self.records.values()
            if opens_case(r) and author_key(r.message.mention) == author and r.routed_at >= since
        ]
        found.sort(key=lambda r: r.routed_at, reverse=True)
        return [
            EarlierCase(
                id=r.id,
                department=r.message.routing.department,
                routed_at=r.routed_at,
                state=case_state(partial(_has, r)),
            )
            for r in found[:limit]
        ]


def _rating_department(record: MentionRecord) -> str | None:
    """The department whose case a satisfaction survey answer rates; None for other mentions."""
    rating = record.message.routing.rates
    return rating.department if rating is not None else None
