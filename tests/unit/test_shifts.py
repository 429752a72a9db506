"""Whose turn a new case is: the least busy of those on shift, round robin among equals,
never someone full or who does not answer in its language, even within one delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from chalicelib.models import (
    Author,
    Conversation,
    EarlierCase,
    History,
    Mention,
    MentionRecord,
    ReplyPointer,
    RoutedMention,
    Routing,
    Shift,
)
from chalicelib.services.shifts import Given, Rosters, ShiftService, next_on_shift
from chalicelib.settings import Settings
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.queues import MemoryQueues
from chalicelib.stores.shifts import MemoryShiftStore, ShiftStore

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def on(
    agent: str,
    minutes_ago: int | None = None,
    capacity: int | None = None,
    languages: Sequence[str] = (),
    department: str = "support",
    hours: float = 8,
) -> Shift:
    """`agent`'s shift, given a case `minutes_ago` (None: never), ending `hours` after NOW."""
    last = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return Shift(
        department=department,
        agent=agent,
        until=NOW + timedelta(hours=hours),
        capacity=capacity,
        languages=list(languages),
        last_assigned_at=last,
    )


def waiting(
    holders: dict[str | None, int],
    minutes: int = 30,
    kind: type[MemoryMentionStore] = MemoryMentionStore,
    langs: Sequence[str | None] = (),
) -> MemoryMentionStore:
    """Support's waiting cases, so many taken by each person (for `minutes` from NOW; None:
    nobody's), the later ones due later, the first ones in `langs` (else no known language)."""
    mentions = kind()
    for n, by in enumerate(agent for agent, count in holders.items() for _ in range(count)):
        lang = langs[n] if n < len(langs) else None
        stored(
            mentions,
            f"x:{n}",
            NOW + timedelta(minutes=n),
            Routing(department="support", signals={"lang": lang}),
        )
        if by is not None:
            assert mentions.take(f"x:{n}", by, NOW, NOW + timedelta(minutes=minutes))
    return mentions


def stored(
    mentions: MemoryMentionStore,
    mention_id: str,
    due: datetime,
    routing: Routing,
    author: str | None = None,
) -> None:
    """A waiting case of `author`, routed as `routing` says, due at `due`."""
    mention = Mention(id=mention_id, platform="x", text="still waiting", author=Author(id=author))
    routing = routing.model_copy(update={"sla_due_at": due})
    message = RoutedMention(
        mention=mention, routing=routing, reply=ReplyPointer(mention_id=mention.id)
    )
    mentions.claim(mention.id, NOW, timedelta(minutes=1))
    record = MentionRecord(id=mention.id, status="routed", routed_at=NOW, message=message)
    mentions.complete(record, NOW + timedelta(days=1))


def shifts_of(
    store: ShiftStore,
    mentions: MemoryMentionStore,
    at: datetime = NOW,
    settings: Settings | None = None,
    queues: MemoryQueues | None = None,
) -> ShiftService:
    """The shift service over these stores, at `at`."""
    settings = settings or Settings()
    queues = queues or MemoryQueues(settings.departments)
    return ShiftService(store, mentions, queues, settings, clock=lambda: at)


def test_the_least_busy_is_next_then_the_one_given_a_case_longest_ago_then_by_name() -> None:
    assert next_on_shift([], {}) is None
    assert next_on_shift([on("ana", 5), on("sam", 50), on("maya", 50)], {}) == on("maya", 50)
    assert next_on_shift([on("ana", 5), on("zoe")], {}) == on("zoe")
    # maya waited longest for a case but has three waiting: ana, with one, comes first
    shifts = [on("ana", 5), on("maya", 50)]
    assert next_on_shift(shifts, {"maya": 3, "ana": 1}) == on("ana", 5)


def test_a_case_in_a_language_goes_only_to_those_who_answer_in_it() -> None:
    sofia, ben, ana = (
        on("sofia", 5, languages=["es", "pt"]),
        on("ben", 50, languages=["en"]),
        on("ana", 9),
    )
    shifts = [sofia, ben, ana]
    assert next_on_shift(shifts, {"ana": 1}, "es") == sofia  # ana named none: busier
    assert next_on_shift(shifts, {"sofia": 3, "ana": 1}, "es") == ana
    assert next_on_shift(shifts, {}, "en") == ben
    assert next_on_shift([sofia, ben], {}, "fr") is None  # nobody on answers in French: waits
    assert next_on_shift([sofia, ben], {}, None) == ben  # no known language: anyone


def test_someone_away_is_given_nothing_and_topped_up_with_nothing() -> None:
    away = on("ana", 50).model_copy(update={"away": True})
    assert next_on_shift([away, on("sam", 5)], {"sam": 4}) == on("sam", 5)
    assert next_on_shift([away], {}) is None
    store = MemoryShiftStore()
    store.start(on("ana", capacity=3))
    assert store.away("support", "ana", True) and not store.away("support", "nobody", True)
    mentions = waiting({None: 2})
    assert shifts_of(store, mentions).top_up() == []
    assert store.away("support", "ana", False)
    assert len(shifts_of(store, mentions).top_up()) == 2


def test_nobody_full_is_given_a_case_and_when_all_are_it_waits_for_anyone() -> None:
    shifts = [on("ana", 50, capacity=2), on("sam", 5)]
    assert next_on_shift(shifts, {"ana": 2, "sam": 7}) == on("sam", 5)  # no limit for sam
    assert next_on_shift([on("ana", capacity=2)], {"ana": 2}) is None
    assert next_on_shift([on("ana", capacity=2)], {"ana": 1}) == on("ana", capacity=2)


def test_a_delivery_shares_its_cases_out_in_turn_and_the_store_remembers() -> None:
    store = MemoryShiftStore()
    for agent in ("sam", "ana"):
        store.start(on(agent))
    store.start(on("gone", hours=-0.1))  # a shift that ran out
    rosters = Rosters(store, MemoryMentionStore(), NOW)
    assert [rosters.share_out("support") for _ in range(3)] == ["ana", "sam", "ana"]
    assert rosters.share_out("pr") is None  # nobody on shift there
    later = Rosters(store, MemoryMentionStore(), NOW + timedelta(minutes=1))
    assert later.share_out("support") == "sam"  # ana had the last case


def test_a_delivery_evens_out_who_has_what_and_stops_at_each_ones_capacity() -> None:
    store = MemoryShiftStore()
    store.start(on("ana", capacity=4))
    store.start(on("sam"))
    # ana has three waiting, sam none: sam is given cases until he has as many, then in turn
    # until ana is full; sam has no limit
    rosters = Rosters(store, waiting({"ana": 3}), NOW)
    given = [rosters.share_out("support") for _ in range(6)]
    assert given == ["sam", "sam", "sam", "ana", "sam", "sam"]

    store.start(on("sam", capacity=1))  # set anew
    mentions = waiting({"ana": 4, "sam": 1})
    assert Rosters(store, mentions, NOW).share_out("support") is None  # both full: waits
    # once the takes run out, the cases are nobody's: both have room again
    later = Rosters(store, mentions, NOW + timedelta(minutes=31))
    assert later.share_out("support") == "ana"


class UnreadableCases(MemoryMentionStore):
    def waiting(self, department: str, limit: int = 50) -> list[MentionRecord]:
        raise RuntimeError("throttled")


class Unreadable(MemoryShiftStore):
    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        raise RuntimeError("throttled")


class Unwritable(MemoryShiftStore):
    def assigned(
        self, department: str, agent: str, at: datetime, previous: datetime | None
    ) -> bool:
        raise RuntimeError("throttled")


def test_a_roster_that_cannot_be_read_or_noted_never_stops_routing() -> None:
    cases = MemoryMentionStore()
    assert Rosters(Unreadable(), cases, NOW).share_out("support") is None  # waits for anyone
    store = Unwritable()
    for agent in ("sam", "ana"):
        store.start(on(agent, capacity=5))
    rosters = Rosters(store, cases, NOW)
    assert [rosters.share_out("support") for _ in range(2)] == ["ana", "sam"]
    # who has which case unknown: shared out in turn as if nobody had any
    rosters = Rosters(store, UnreadableCases(), NOW)
    assert [rosters.share_out("support") for _ in range(2)] == ["ana", "sam"]


class FirstReadsStale(MemoryShiftStore):
    """The first `stale` reads of the roster see it as it was before any case was given: the
    routing workers that read it at the same moment."""

    def __init__(self, stale: int) -> None:
        super().__init__()
        self.stale = stale
        self.before: list[Shift] = []

    def on_shift(self, department: str, now: datetime) -> list[Shift]:
        self.stale -= 1
        return self.before if self.stale >= 0 else super().on_shift(department, now)


def test_routing_workers_running_at_once_take_turns_too() -> None:
    store = FirstReadsStale(stale=3)
    for agent in ("sam", "ana", "maya"):
        store.start(on(agent))
    store.before = MemoryShiftStore.on_shift(store, "support", NOW)
    cases = MemoryMentionStore()
    given = [
        Rosters(store, cases, NOW + timedelta(seconds=n)).share_out("support") for n in range(3)
    ]
    assert given == ["ana", "maya", "sam"]  # not ana three times


def test_cases_nobody_has_are_given_to_those_with_room_the_soonest_due_first() -> None:
    store = MemoryShiftStore()
    store.start(on("ana", capacity=3))
    store.start(on("sam", capacity=1))
    store.start(on("lee"))  # no capacity: asks with `next`
    store.start(on("ana", capacity=1, department="pr"))  # nothing waits in pr
    # x:0 is ana's, x:1 lee's; x:2-x:6 nobody's (x:2 due soonest)
    mentions = waiting({"ana": 1, "lee": 1, None: 5})
    support_longer = Settings(assignment_department_minutes={"support": 90})
    service = shifts_of(store, mentions, settings=support_longer)
    given = service.top_up()
    # sam has none: the soonest is his; then ana until she is full; two are left for anyone
    assert given == [Given("x:2", "sam"), Given("x:3", "ana"), Given("x:4", "ana")]
    until = NOW + timedelta(minutes=90)  # support's own time, not ASSIGNMENT_MINUTES
    for case, agent, _ in given:
        record = mentions.get(case)
        assert record is not None and (record.taken_by, record.taken_until) == (agent, until)
    assert service.top_up() == []  # everyone with a capacity is full
    # sam gives his back: he has room for another, never that one (ana is full: it waits)
    assert mentions.leave("x:2", "sam")
    later = shifts_of(store, mentions, NOW + timedelta(minutes=1))
    assert later.top_up() == [Given("x:5", "sam")]


def test_a_case_whose_take_runs_out_unanswered_is_passed_on_to_someone_else() -> None:
    store = MemoryShiftStore()
    store.start(on("ana", capacity=3))
    store.start(on("sam", capacity=1))
    # x:0 ana's and x:1 lee's (off shift) for 30 min; x:2 sam's for an hour; x:3-x:4 nobody's
    mentions = waiting({"ana": 1, "lee": 1, "sam": 1, None: 2})
    assert mentions.take("x:2", "sam", NOW, NOW + timedelta(minutes=60))
    half_hour = NOW + timedelta(minutes=30)
    queues = MemoryQueues(Settings().departments)
    given = shifts_of(store, mentions, half_hour, queues=queues).top_up()
    # lee's goes to ana; ana's own is not handed back to her, and sam is full: it stays free
    assert given == [Given("x:1", "ana", "lee"), Given("x:3", "ana"), Given("x:4", "ana")]
    assert str(given[0]) == "x:1 to ana (passed on from lee)"
    # the department's queue is told who has each now
    told = [RoutedMention.model_validate_json(m.body) for m in queues.messages["support"]]
    assert [(m.mention.id, m.routing.tags[-1], m.routing.assigned_to) for m in told] == [
        ("x:1", "given", "ana"),
        ("x:3", "given", "ana"),
        ("x:4", "given", "ana"),
    ]
    record = mentions.get("x:0")
    assert record is not None and record.taker(half_hour) is None
    assert mentions.leave("x:2", "sam")  # sam answers elsewhere and gives his back: room
    later = half_hour + timedelta(minutes=1)
    assert shifts_of(store, mentions, later).top_up() == [
        Given("x:0", "sam", "ana")  # ana is full; x:2 waits for anyone
    ]


def test_a_follow_up_goes_with_its_case_and_an_answer_awaiting_approval_is_left_alone() -> None:
    store = MemoryShiftStore()
    for agent in ("ana", "sam"):
        store.start(on(agent, capacity=1))
    mentions = MemoryMentionStore()
    stored(mentions, "x:0", NOW, Routing(department="support"), "x:42")
    assert mentions.take("x:0", "lee", NOW - timedelta(minutes=40), NOW - timedelta(minutes=10))
    again = Routing(
        department="support", conversation=Conversation(mention_id="x:0", department="support")
    )
    stored(mentions, "x:1", NOW + timedelta(minutes=5), again, "x:42")  # the same customer
    stored(mentions, "x:2", NOW + timedelta(minutes=5), again, "someone-else")
    given = shifts_of(store, mentions).top_up()
    assert given == [Given("x:0", "ana", "lee"), Given("x:1", "ana"), Given("x:2", "sam")]
    fresh = waiting({None: 2})
    assert shifts_of(store, fresh).top_up(lambda: {"x:0"}) == [Given("x:1", "ana")]


def test_the_answers_awaiting_approval_are_read_only_when_a_free_case_could_be_given() -> None:
    reads: list[str] = []

    def awaiting() -> set[str]:
        reads.append("read")
        return set()

    store = MemoryShiftStore()
    store.start(on("ana"))  # no capacity: not topped up
    mentions = waiting({None: 1})
    assert shifts_of(store, mentions).top_up(awaiting) == [] and reads == []
    store.start(on("sam", capacity=1))
    assert shifts_of(store, waiting({"sam": 1})).top_up(awaiting) == [] and reads == []
    assert shifts_of(store, mentions).top_up(awaiting) == [Given("x:0", "sam")]
    assert reads == ["read"]


def test_a_customer_chasing_their_case_is_given_to_whoever_is_given_that_case() -> None:
    store = MemoryShiftStore()
    for agent in ("ana", "sam"):
        store.start(on(agent, capacity=2))
    mentions = MemoryMentionStore()
    stored(mentions, "x:0", NOW + timedelta(minutes=50), Routing(department="support"), "x:42")
    earlier = EarlierCase(id="x:0", department="support", routed_at=NOW, state="waiting")
    chase = Routing(department="support", history=History(days=30, cases=[earlier]))
    stored(mentions, "x:1", NOW + timedelta(minutes=5), chase, "x:42")  # due first: urgent
    for n, minutes in ((2, 7), (3, 9)):  # two other customers' cases
        stored(mentions, f"x:{n}", NOW + timedelta(minutes=minutes), Routing(department="support"))
    given = shifts_of(store, mentions).top_up()
    # the chase is due first, but its case goes out first, and both to the same person
    assert given == [
        Given("x:0", "ana"),
        Given("x:1", "ana"),
        Given("x:2", "sam"),
        Given("x:3", "sam"),
    ]


class TakesFail(MemoryMentionStore):
    def take(
        self,
        mention_id: str,
        by: str,
        now: datetime,
        until: datetime,
        passed_from: str | None = None,
    ) -> bool:
        raise RuntimeError("throttled")


def test_giving_out_waiting_cases_that_cannot_be_done_waits_for_the_next_run() -> None:
    mentions = waiting({None: 2})
    assert shifts_of(Unreadable(), mentions).top_up() == []
    store = MemoryShiftStore()
    store.start(on("ana", capacity=3))
    failing = waiting({None: 2}, kind=TakesFail)
    assert shifts_of(store, failing).top_up() == []
    # a queue that cannot be told: the cases are given all the same (the waiting list says so)
    untold = shifts_of(store, waiting({None: 1}), queues=MemoryQueues([])).top_up()
    assert untold == [Given("x:0", "ana")]
    assert shifts_of(store, mentions).top_up() == [
        Given("x:0", "ana"),
        Given("x:1", "ana"),
    ]


def test_topping_up_matches_each_case_to_those_who_answer_in_its_language() -> None:
    store = MemoryShiftStore()
    store.start(on("sofia", capacity=2, languages=["es"]))
    store.start(on("ben", capacity=2, languages=["en"]))
    mentions = waiting({None: 5}, langs=["fr", "es", "es", "es", "en"])
    given = shifts_of(store, mentions).top_up()
    # nobody answers in French: x:0 waits, and the cases due after it still go out
    assert given == [Given("x:1", "sofia"), Given("x:2", "sofia"), Given("x:4", "ben")]


def test_a_customer_writing_back_is_given_to_whoever_answered_them_unless_they_let_it_pass() -> (
    None
):
    store = MemoryShiftStore()
    store.start(on("sam", capacity=2))  # given nothing yet: his turn
    store.start(on("ana", minutes_ago=5, capacity=1))
    mentions = MemoryMentionStore()
    stored(mentions, "x:0", NOW - timedelta(hours=1), Routing(department="support"), "x:42")
    assert mentions.record_response("x:0", NOW - timedelta(minutes=50), "x:900", "ana")
    back = Routing(
        department="support", conversation=Conversation(mention_id="x:0", department="support")
    )
    stored(mentions, "x:1", NOW + timedelta(minutes=5), back, "x:42")  # the customer answers
    stored(mentions, "x:2", NOW + timedelta(minutes=5), back, "x:77")  # someone else joins in
    assert shifts_of(store, mentions).top_up() == [Given("x:1", "ana"), Given("x:2", "sam")]
    # her take of it ran out unanswered: passed on, not given back to her
    assert mentions.leave("x:1", "ana")
    assert mentions.take("x:1", "ana", NOW - timedelta(minutes=40), NOW - timedelta(minutes=10))
    assert shifts_of(store, mentions).top_up() == [Given("x:1", "sam", "ana")]
    assert mentions.passes == [("support", NOW, "ana")]  # counted for the report
