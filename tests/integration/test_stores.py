"""Each store and its in-memory twin pass the same tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib import aws, wiring
from chalicelib.errors import IndexNotReady, PayloadTooLarge, RecordFull
from chalicelib.models import (
    MAX_NOTES,
    MAX_NOTES_BYTES,
    Author,
    Conversation,
    EarlierCase,
    History,
    Mention,
    MentionRecord,
    Note,
    Rating,
    Reply,
    ReplyPointer,
    ReplyTemplate,
    RoutedMention,
    Routing,
    Shift,
    Transfer,
)
from chalicelib.settings import get_settings
from chalicelib.stores.cursors import CursorStore, MemoryCursorStore
from chalicelib.stores.mentions import (
    MAX_ALERTS,
    Claim,
    EditConflict,
    FirstResponse,
    MentionStore,
    PostedAlert,
    Progress,
)
from chalicelib.stores.mentions_dynamo import DynamoMentionStore
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.payloads import MemoryPayloads, PayloadGone, Payloads
from chalicelib.stores.queues import (
    MemoryQueues,
    OutgoingMessage,
    Queues,
    QueueSendError,
    SqsQueues,
)
from chalicelib.stores.replies import DynamoReplyStore, MemoryReplyStore, ReplyStore
from chalicelib.stores.rules import MemoryRulesStore, RulesStore, VersionConflict
from chalicelib.stores.shifts import MemoryShiftStore, ShiftStore
from chalicelib.stores.templates import MemoryTemplateStore, TemplateStore
from chalicelib.stores.traffic import MemoryTrafficStore, Observed, TrafficStore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
T = TypeVar("T")


@pytest.fixture(params=["memory", "aws"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def twin(
    kind: str, request: pytest.FixtureRequest, memory: Callable[[], T], real: Callable[[], T]
) -> T:
    """The in-memory twin, or the real store on moto."""
    if kind == "memory":
        return memory()
    request.getfixturevalue("stack")
    return real()


@pytest.fixture
def mentions(kind: str, request: pytest.FixtureRequest) -> MentionStore:
    return twin(kind, request, MemoryMentionStore, wiring.mentions)


@pytest.fixture
def rules(kind: str, request: pytest.FixtureRequest) -> RulesStore:
    return twin(kind, request, MemoryRulesStore, wiring.rules)  # moto's already has version 1


@pytest.fixture
def queues(kind: str, request: pytest.FixtureRequest) -> Queues:
    return twin(kind, request, lambda: MemoryQueues(["support"]), wiring.queues)


@pytest.fixture
def payloads(kind: str, request: pytest.FixtureRequest) -> Payloads:
    return twin(kind, request, MemoryPayloads, wiring.payloads)


def test_a_kept_body_is_read_back_and_one_never_kept_is_gone(payloads: Payloads) -> None:
    body = '{"object": "page", "entry": []} — with text beyond ASCII: ñ 🙂'
    payloads.put("intake/2026-11-22/d-1", body)
    assert payloads.get("intake/2026-11-22/d-1") == body
    with pytest.raises(PayloadGone):  # no retry can bring it back: dead-lettered with why
        payloads.get("intake/2026-11-22/d-2")


def record(mention_id: str) -> MentionRecord:
    mention = Mention(id=mention_id, platform="x", text="hi")
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="support"),
        reply=ReplyPointer(mention_id=mention_id),
    )
    return MentionRecord(id=mention_id, status="routed", routed_at=NOW, message=message)


def test_claim_then_complete_makes_later_claims_duplicates(mentions: MentionStore) -> None:
    assert mentions.claim("x:1", NOW, LEASE) == (Claim.CLAIMED, None)
    assert mentions.claim("x:1", NOW, LEASE) == (Claim.BUSY, None)
    assert mentions.get("x:1") is None
    mentions.complete(record("x:1"), NOW + timedelta(days=90))
    assert mentions.claim("x:1", NOW + timedelta(hours=1), LEASE) == (Claim.DONE, None)
    stored = mentions.get("x:1")
    assert stored is not None and stored.message.routing.department == "support"


def test_a_post_leads_to_the_mention_it_continues(mentions: MentionStore) -> None:
    mentions.complete(record("x:10"), NOW + timedelta(days=90))
    mentions.link("x:900", "x:10", NOW + timedelta(days=90))  # the brand's answer to x:10
    direct, through_answer = mentions.conversation_of("x:10"), mentions.conversation_of("x:900")
    assert direct is not None and through_answer is not None
    assert direct.id == through_answer.id == "x:10"
    assert mentions.conversation_of("x:404") is None
    assert mentions.get("x:900") is None  # a link is not a mention: its id can still be routed
    assert mentions.claim("x:900", NOW, LEASE) == (Claim.CLAIMED, None)


def test_expired_lease_can_be_reclaimed(mentions: MentionStore) -> None:
    assert mentions.claim("x:2", NOW, LEASE) == (Claim.CLAIMED, None)
    assert mentions.claim("x:2", NOW + LEASE + timedelta(seconds=1), LEASE) == (Claim.CLAIMED, None)


def test_release_lets_a_retry_claim(mentions: MentionStore) -> None:
    mentions.claim("x:3", NOW, LEASE)
    mentions.release("x:3")
    assert mentions.claim("x:3", NOW, LEASE) == (Claim.CLAIMED, None)


def test_only_the_first_response_is_recorded(mentions: MentionStore) -> None:
    assert mentions.record_response("x:none", NOW, "x:answer") is None
    mentions.claim("x:5", NOW, LEASE)
    mentions.complete(record("x:5"), NOW + timedelta(days=1))
    later = NOW + timedelta(minutes=10)
    assert mentions.record_response("x:5", later, "x:answer") == 600.0
    assert mentions.record_response("x:5", later + timedelta(minutes=5), "x:second") is None
    stored = mentions.get("x:5")
    assert stored is not None and stored.first_response_at == later
    assert stored.response_seconds == 600.0 and stored.first_response_post == "x:answer"


def test_a_released_claim_hands_its_progress_to_the_retry(mentions: MentionStore) -> None:
    message = record("x:6").message.to_json()
    mentions.claim("x:6", NOW, LEASE)
    mentions.release("x:6", Progress(message, frozenset({"support"})))
    assert mentions.get("x:6") is None  # still not routed
    assert mentions.claim("x:6", NOW, LEASE) == (
        Claim.CLAIMED,
        Progress(message, frozenset({"support"})),
    )
    mentions.release("x:6")  # a retry that got no further and had nothing: no progress kept
    assert mentions.claim("x:6", NOW, LEASE) == (Claim.CLAIMED, None)


def test_a_deleted_mention_is_redacted_off_the_clock_and_never_routed_later(
    mentions: MentionStore,
) -> None:
    due = Routing(department="support", sla_due_at=NOW + timedelta(hours=1))
    base = record("x:7")
    routed = base.model_copy(update={"message": base.message.model_copy(update={"routing": due})})
    mentions.claim("x:7", NOW, LEASE)
    mentions.complete(routed, NOW + timedelta(days=1))
    later = NOW + timedelta(hours=3)
    assert [r.id for r in mentions.overdue(later)] == ["x:7"]
    before = mentions.mark_deleted("x:7", NOW + timedelta(minutes=5))
    assert before is not None and before.message.mention.text == "hi"
    stored = mentions.get("x:7")
    assert stored is not None and stored.deleted_at == NOW + timedelta(minutes=5)
    assert stored.message.mention.text == "" and stored.message.routing.department == "support"
    assert mentions.overdue(later) == []  # never escalated
    assert mentions.mark_deleted("x:8", NOW) is None  # deleted before it was routed
    assert mentions.claim("x:8", NOW, LEASE) == (Claim.DONE, None)


def test_an_author_asking_to_be_forgotten_is_found_in_everything_and_erased(
    mentions: MentionStore,
) -> None:
    """Cases, follow-ups and ignored mentions alike; nobody else's; once."""
    made = []
    for n, (status, follows) in enumerate(
        (("routed", False), ("routed", True), ("ignored", False))
    ):
        base = record(f"x:{n}")
        mention = base.message.mention.model_copy(
            update={"author": Author(id="42", handle="dana", name="Dana Kim"), "text": "my order"}
        )
        conversation = Conversation(mention_id="x:0", department="support") if follows else None
        routing = Routing(department="support", sla_due_at=NOW, conversation=conversation)
        message = base.message.model_copy(update={"mention": mention, "routing": routing})
        made.append(base.model_copy(update={"status": status, "message": message,
                                            "routed_at": NOW + timedelta(minutes=n)}))  # fmt: skip
    for each in [*made, record("x:9")]:
        mentions.complete(each, NOW + timedelta(days=1))
    mentions.add_note("x:0", Note(by="maya", at=NOW, text="lives at 4 Elm St"))
    mentions.mark_closed("x:0", NOW, "maya", "called Dana on 07700 900123")
    mentions.mark_hidden("x:0", NOW, "maya", "posted Dana's address")
    assert mentions.said_by("x:42", 10) == ["x:2", "x:1", "x:0"]
    assert [r.id for r in mentions.waiting("support")] == ["x:1"]  # x:0 closed
    assert mentions.said_by("x:42", 2) == ["x:2", "x:1"]
    before = mentions.forget("x:0", NOW + timedelta(hours=1))
    assert before is not None and before.message.mention.text == "my order"
    erased = mentions.get("x:0")
    assert erased is not None and erased.forgotten_at == NOW + timedelta(hours=1)
    assert erased.message.mention.author == Author() and erased.message.mention.text == ""
    assert erased.notes == [] and erased.gone == "was erased at its author's request"
    assert (erased.closed_by, erased.closed_reason) == ("maya", "(erased at the author's request)")
    assert (erased.hidden_by, erased.hidden_reason) == ("maya", "(erased at the author's request)")
    assert [r.id for r in mentions.waiting("support")] == ["x:1"]
    assert mentions.earlier_cases("x:42", NOW - timedelta(days=1), 10) == []
    assert mentions.forget("x:0", NOW) is None  # once
    assert mentions.said_by("x:42", 10) == ["x:2", "x:1"]
    assert mentions.forget("x:1", NOW) is not None and mentions.waiting("support") == []
    assert mentions.forget("x:404", NOW) is None


def test_a_dropped_key_names_no_conversation_and_holds_nothing(mentions: MentionStore) -> None:
    mentions.complete(record("x:7"), NOW + timedelta(days=1))
    mentions.link("x:dm/42", "x:7", NOW + timedelta(days=1))
    mentions.hold("x:dm/42", "r_1", NOW, NOW + timedelta(days=1))
    mentions.drop("x:dm/42")
    assert mentions.conversation_of("x:dm/42") is None
    assert mentions.held("x:dm/42", NOW) is None
    mentions.drop("x:dm/404")  # nothing there: nothing to do


def test_a_hidden_mention_is_off_the_clock_until_shown_again(mentions: MentionStore) -> None:
    due = Routing(department="support", sla_due_at=NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=3)
    for mention_id in ("x:11", "x:12"):
        base = record(mention_id)
        message = base.message.model_copy(update={"routing": due})
        mentions.claim(mention_id, NOW, LEASE)
        mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))
        mentions.mark_hidden(mention_id, NOW + timedelta(minutes=2), "maya", "abuse")
    stored = mentions.get("x:11")
    assert stored is not None and stored.hidden_at == NOW + timedelta(minutes=2)
    assert (stored.hidden_by, stored.hidden_reason) == ("maya", "abuse")
    assert mentions.overdue(later) == []  # hidden: nobody needs to answer
    hidden = mentions.get("x:11")
    assert hidden is not None
    mentions.rewrite(hidden.edited("hi, edited while hidden", NOW), None)
    mentions.mark_hidden("x:11", None)  # shown again: back on the clock
    mentions.record_response("x:12", NOW + timedelta(minutes=30), "x:answer")
    mentions.mark_hidden("x:12", None)  # answered while hidden: stays off
    assert [r.id for r in mentions.overdue(later)] == ["x:11"]
    shown = mentions.get("x:11")
    assert shown is not None and (shown.hidden_at, shown.hidden_by, shown.hidden_reason) == (
        None,
        None,
        None,
    )


def test_an_answer_is_held_for_a_case_not_routed_yet_until_it_expires(
    mentions: MentionStore,
) -> None:
    tomorrow = NOW + timedelta(days=1)
    assert mentions.held("x:13", NOW) is None
    mentions.hold("x:13", "x:700", NOW, tomorrow)
    mentions.hold("x:13", "x:701", NOW + timedelta(minutes=1), tomorrow)  # a later one
    assert mentions.held("x:13", NOW) == ("x:701", NOW + timedelta(minutes=1))
    assert mentions.held("x:13", tomorrow) is None  # expired
    assert mentions.get("held#x:13") is None and mentions.claim("x:13", NOW, LEASE)[0] is (
        Claim.CLAIMED  # holding an answer neither routes nor blocks the mention
    )


def test_a_closed_case_is_off_the_clock_and_closed_once(mentions: MentionStore) -> None:
    due = Routing(department="support", sla_due_at=NOW + timedelta(hours=1))
    base = record("x:14")
    mentions.claim("x:14", NOW, LEASE)
    message = base.message.model_copy(update={"routing": due})
    mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))
    mentions.mark_closed("x:14", NOW, "maya", "answered by phone")
    mentions.mark_closed("x:14", NOW + timedelta(minutes=1), "sam", "duplicate")
    closed = mentions.get("x:14")
    assert closed is not None and closed.closed_at == NOW
    assert (closed.closed_by, closed.closed_reason) == ("maya", "answered by phone")
    mentions.mark_hidden("x:14", NOW)
    mentions.mark_hidden("x:14", None)  # shown again, but closed: stays off the clock
    assert mentions.overdue(NOW + timedelta(hours=3)) == []
    mentions.reopen("x:14")  # closed by mistake: back on the clock
    reopened = mentions.get("x:14")
    assert reopened is not None and (reopened.closed_at, reopened.closed_by) == (None, None)
    assert [r.id for r in mentions.overdue(NOW + timedelta(hours=3))] == ["x:14"]
    assert [r.id for r in mentions.waiting("support")] == ["x:14"]
    mentions.mark_closed("x:14", NOW, "maya", "duplicate")
    mentions.mark_hidden("x:14", NOW)
    mentions.reopen("x:14")  # reopened, but hidden meanwhile: stays off
    assert mentions.overdue(NOW + timedelta(hours=3)) == mentions.waiting("support") == []


def test_a_departments_waiting_cases_are_the_unanswered_ones_by_deadline(
    mentions: MentionStore,
) -> None:
    def routed(mention_id: str, department: str, due_in: int) -> None:
        due = Routing(department=department, sla_due_at=NOW + timedelta(minutes=due_in))
        base = record(mention_id)
        mentions.claim(mention_id, NOW, LEASE)
        message = base.message.model_copy(update={"routing": due})
        mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))

    for mention_id, department, due_in in [
        ("x:20", "support", 60), ("x:21", "support", 15), ("x:22", "pr", 5),
        ("x:23", "support", 30), ("x:24", "support", 45), ("x:25", "support", 50),
        ("x:26", "support", 55), ("x:27", "support", 90),
    ]:  # fmt: skip
        routed(mention_id, department, due_in)
    mentions.record_response("x:23", NOW, "x:answer")
    mentions.mark_closed("x:24", NOW, "maya", "answered by phone")
    mentions.mark_hidden("x:25", NOW)
    mentions.mark_deleted("x:26", NOW)
    mentions.mark_escalated("x:21", NOW)  # escalated, still waiting for its answer
    mentions.mark_hidden("x:27", NOW)
    mentions.mark_hidden("x:27", None)  # shown again: waiting again
    assert [r.id for r in mentions.waiting("support")] == ["x:21", "x:20", "x:27"]
    assert [r.id for r in mentions.waiting("support", limit=1)] == ["x:21"]
    assert [r.id for r in mentions.waiting("pr")] == ["x:22"]
    assert mentions.waiting("marketing") == []
    overdue = {r.id for r in mentions.overdue(NOW + timedelta(hours=2))}
    assert overdue == {"x:20", "x:22", "x:27"}  # the escalated one is not escalated again


def test_a_first_response_that_never_arrived_puts_the_case_back_on_the_clock(
    mentions: MentionStore,
) -> None:
    due = Routing(department="support", sla_due_at=NOW + timedelta(minutes=30))
    base = record("x:60")
    mentions.claim("x:60", NOW, LEASE)
    mentions.complete(
        base.model_copy(update={"message": base.message.model_copy(update={"routing": due})}),
        NOW + timedelta(days=1),
    )
    mentions.record_response("x:60", NOW + timedelta(minutes=5), "whatsapp:wamid.A")
    assert mentions.waiting("support") == []
    assert not mentions.unanswer("x:60", "whatsapp:wamid.B")  # not its first response
    assert mentions.unanswer("x:60", "whatsapp:wamid.A")
    again = mentions.get("x:60")
    assert again is not None and (again.first_response_at, again.first_response_post) == (
        None,
        None,
    )
    assert [r.id for r in mentions.waiting("support")] == ["x:60"]
    assert [r.id for r in mentions.overdue(NOW + timedelta(hours=1))] == ["x:60"]
    assert not mentions.unanswer("x:60", "whatsapp:wamid.A")  # once


def test_who_sent_a_first_response_is_counted_for_the_department_until_it_never_arrived(
    mentions: MentionStore,
) -> None:
    due = Routing(department="support", sla_due_at=NOW + timedelta(minutes=30))
    for mention_id in ("x:70", "x:71", "x:72"):
        base = record(mention_id)
        mentions.claim(mention_id, NOW, LEASE)
        routed = base.message.model_copy(update={"routing": due})
        mentions.complete(base.model_copy(update={"message": routed}), NOW + timedelta(days=1))
    mentions.record_response("x:70", NOW + timedelta(minutes=10), "x:a", "maya")
    mentions.record_response("x:71", NOW + timedelta(hours=1), "whatsapp:wamid.B", "sam")
    mentions.record_response("x:72", NOW + timedelta(minutes=5), "x:c")  # on the platform
    assert mentions.record_response("x:70", NOW + timedelta(hours=2), "x:d", "sam") is None
    answered = mentions.get("x:70")
    assert answered is not None and answered.first_response_by == "maya"
    assert mentions.first_responses("support", NOW, 10) == [
        FirstResponse(by="sam", seconds=3600.0, on_time=False),  # the newest first
        FirstResponse(by="maya", seconds=600.0, on_time=True),
    ]
    assert mentions.first_responses("support", NOW + timedelta(minutes=30), 10)[0].by == "sam"
    assert mentions.first_responses("support", NOW, 1) == [FirstResponse("sam", 3600.0, False)]
    assert mentions.first_responses("pr", NOW, 10) == []
    assert mentions.unanswer("x:71", "whatsapp:wamid.B")  # undelivered: sam answered nothing
    assert [each.by for each in mentions.first_responses("support", NOW, 10)] == ["maya"]
    again = mentions.get("x:71")
    assert again is not None and again.first_response_by is None


def test_takes_passed_on_are_counted_by_department_newest_first(mentions: MentionStore) -> None:
    later = NOW + timedelta(days=30)
    for minutes, mention_id, by in ((1, "x:95", "lee"), (2, "x:96", "sam"), (3, "x:95", "ana")):
        at = NOW + timedelta(minutes=minutes)
        mentions.mark_passed_on(mention_id, "support", by, at, later)
    mentions.mark_passed_on("x:97", "pr", "lee", NOW, later)
    assert mentions.passed_on("support", NOW, 10) == ["ana", "sam", "lee"]
    assert mentions.passed_on("support", NOW + timedelta(minutes=2), 10) == ["ana", "sam"]
    assert mentions.passed_on("support", NOW, 1) == ["ana"]
    assert mentions.passed_on("pr", NOW, 10) == ["lee"]


def test_posted_alerts_are_kept_in_order_to_a_limit_until_dropped(mentions: MentionStore) -> None:
    later = NOW + timedelta(days=30)
    posted = [PostedAlert("C0PR", f"1795.{n:06d}", f"*alert {n}* &lt;") for n in range(12)]
    counts = [mentions.add_alert("x:98", alert, later) for alert in posted]
    assert counts == [*range(1, MAX_ALERTS + 1), 0, 0]  # how many kept, this one with them
    assert mentions.alerts_of("x:98") == posted[:MAX_ALERTS]
    assert mentions.alerts_of("x:99") == []
    mentions.drop_alerts("x:98")
    mentions.drop_alerts("x:99")  # none: nothing to do
    assert mentions.alerts_of("x:98") == []


@pytest.mark.usefixtures("stack")
def test_a_first_response_a_concurrent_write_cancelled_is_written_on_the_next_try() -> None:
    store = wiring.mentions()
    assert isinstance(store, DynamoMentionStore)
    store.claim("x:80", NOW, LEASE)
    store.complete(record("x:80"), NOW + timedelta(days=1))
    client = store._client
    write = client.transact_write_items
    calls = []

    def conflicting(**request: Any) -> Any:
        calls.append(request)
        if len(calls) == 1:  # as DynamoDB answers when another write touched the record
            raise client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
                },
                "TransactWriteItems",
            )
        return write(**request)

    client.transact_write_items = conflicting
    try:
        assert store.record_response("x:80", NOW + timedelta(minutes=1), "x:a", "maya") == 60.0
    finally:
        del client.transact_write_items
    assert len(calls) == 2
    assert store.first_responses("support", NOW, 10) == [FirstResponse("maya", 60.0, True)]


def test_long_posts_fill_the_waiting_list_past_a_query_page(mentions: MentionStore) -> None:
    """DynamoDB answers a Query 1 MB at a time: five 300 KB posts are two pages, one list."""
    for n in range(5):
        base = record(f"x:3{n}")
        mention = base.message.mention.model_copy(update={"text": "a" * 300_000})
        routing = Routing(department="support", sla_due_at=NOW + timedelta(minutes=n))
        message = base.message.model_copy(update={"mention": mention, "routing": routing})
        mentions.claim(base.id, NOW, LEASE)
        mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))
    expected = [f"x:3{n}" for n in range(5)]
    assert [r.id for r in mentions.waiting("support")] == expected
    assert [r.id for r in mentions.overdue(NOW + timedelta(hours=1))] == expected
    assert len(mentions.waiting("support", limit=4)) == 4


def test_an_authors_earlier_cases_are_listed_newest_first_with_their_state(
    mentions: MentionStore,
) -> None:
    def routed(mention_id: str, author: str | None, hours_ago: int, **routing: object) -> None:
        base = record(mention_id)
        mention = base.message.mention.model_copy(update={"author": Author(id=author)})
        due = Routing.model_validate({"department": "support", "sla_due_at": NOW, **routing})
        message = base.message.model_copy(update={"mention": mention, "routing": due})
        routed_at = NOW - timedelta(hours=hours_ago)
        done = base.model_copy(update={"message": message, "routed_at": routed_at})
        mentions.claim(mention_id, routed_at, LEASE)
        mentions.complete(done, NOW + timedelta(days=90))

    routed("x:30", "42", 800)  # a month ago: outside the window
    routed("x:31", "42", 50)
    routed("x:32", "42", 40, department="pr")
    routed("x:33", "42", 30)
    routed("x:34", "42", 20)
    routed("x:35", "42", 10)
    routed("x:36", "42", 5, conversation=Conversation(mention_id="x:35", department="support"))
    routed("x:37", "7", 3)  # someone else
    routed("x:38", None, 2)  # an author the platform did not name
    ignored = record("x:39").model_copy(update={"status": "ignored"})  # spam opens no case
    mentions.complete(ignored, NOW + timedelta(days=90))
    mentions.record_response("x:31", NOW, "x:answer")
    mentions.mark_closed("x:32", NOW, "maya", "answered by phone")
    mentions.mark_hidden("x:33", NOW)
    mentions.mark_deleted("x:34", NOW)
    since = NOW - timedelta(days=30)
    cases = mentions.earlier_cases("x:42", since, limit=10)
    assert [(c.id, c.department, c.state) for c in cases] == [
        ("x:35", "support", "waiting"),  # x:36 continues it: not a case of its own
        ("x:34", "support", "deleted"),
        ("x:33", "support", "hidden"),
        ("x:32", "pr", "closed"),
        ("x:31", "support", "answered"),
    ]
    assert cases[0].routed_at == NOW - timedelta(hours=10)
    assert [c.id for c in mentions.earlier_cases("x:42", since, limit=2)] == ["x:35", "x:34"]
    assert mentions.earlier_cases("facebook:42", since, limit=10) == []  # per platform


def test_many_records_are_read_at_once(mentions: MentionStore) -> None:
    for mention_id in ("x:80", "x:81", "x:82"):
        mentions.claim(mention_id, NOW, LEASE)
        mentions.complete(record(mention_id), NOW + timedelta(days=1))
    mentions.claim("x:83", NOW, LEASE)  # claimed, never completed: no record
    mentions.record_response("x:81", NOW, "x:answer")
    asked = ["x:82", "x:80", "x:83", "x:80", *(f"x:9{i:03}" for i in range(150)), "x:81"]
    found = mentions.get_many(asked)  # more than one BatchGetItem's worth of keys
    assert sorted(found) == ["x:80", "x:81", "x:82"]
    assert found["x:81"].first_response_at == NOW  # what the store keeps beside the JSON too
    assert mentions.get_many([]) == {}


def test_an_edit_rewrites_the_text_and_keeps_the_answer(mentions: MentionStore) -> None:
    mentions.claim("x:9", NOW, LEASE)
    mentions.complete(record("x:9"), NOW + timedelta(days=1))
    mentions.record_response("x:9", NOW + timedelta(minutes=3), "x:answer")
    stored = mentions.get("x:9")
    assert stored is not None
    mentions.rewrite(stored.edited("hi again", NOW + timedelta(minutes=5)), None)
    edited = mentions.get("x:9")
    assert edited is not None and edited.message.mention.text == "hi again"
    assert edited.edited_at == NOW + timedelta(minutes=5)
    assert edited.first_response_at == NOW + timedelta(minutes=3)


def test_an_edit_over_a_newer_edit_or_a_deletion_is_refused(mentions: MentionStore) -> None:
    mentions.claim("x:30", NOW, LEASE)
    mentions.complete(record("x:30"), NOW + timedelta(days=1))
    read = mentions.get("x:30")
    assert read is not None and read.edited_at is None
    first, second = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    mentions.rewrite(read.edited("first edit", first), read.edited_at)
    with pytest.raises(EditConflict):  # a worker that read it before the first edit
        mentions.rewrite(read.edited("stale edit", second), read.edited_at)
    again = mentions.get("x:30")
    assert again is not None and again.message.mention.text == "first edit"
    mentions.rewrite(again.edited("second edit", second), again.edited_at)
    latest = mentions.get("x:30")
    assert latest is not None and latest.message.mention.text == "second edit"
    mentions.mark_deleted("x:30", NOW + timedelta(minutes=3))
    with pytest.raises(EditConflict):  # read before the deletion: its text never comes back
        mentions.rewrite(latest.edited("back again", NOW + timedelta(minutes=4)), second)
    gone = mentions.get("x:30")
    assert gone is not None and gone.message.mention.text == "" and gone.deleted_at is not None


def test_a_new_priority_moves_a_case_on_the_lists_by_deadline(mentions: MentionStore) -> None:
    for mention_id, minutes in (("x:90", 30), ("x:91", 60)):
        base = record(mention_id)
        due = Routing(department="support", sla_due_at=NOW + timedelta(minutes=minutes))
        mentions.claim(mention_id, NOW, LEASE)
        routed = base.message.model_copy(update={"routing": due})
        mentions.complete(base.model_copy(update={"message": routed}), NOW + timedelta(days=1))
    assert [r.id for r in mentions.waiting("support")] == ["x:90", "x:91"]
    read = mentions.get("x:91")
    assert read is not None
    sooner = read.message.routing.model_copy(
        update={"priority": "urgent", "sla_due_at": NOW + timedelta(minutes=15)}
    )
    urgent = read.model_copy(
        update={"message": read.message.model_copy(update={"routing": sooner})}
    )
    mentions.reprioritise(urgent, read.edited_at)
    assert [r.id for r in mentions.waiting("support")] == ["x:91", "x:90"]
    assert [r.id for r in mentions.overdue(NOW + timedelta(minutes=20))] == ["x:91"]
    stored = mentions.get("x:91")
    assert stored is not None and stored.message.routing.priority == "urgent"
    mentions.rewrite(stored.edited("edited meanwhile", NOW + timedelta(minutes=1)), None)
    with pytest.raises(EditConflict):  # read before the edit
        mentions.reprioritise(urgent, read.edited_at)


def test_a_handed_over_case_moves_to_its_new_departments_lists(mentions: MentionStore) -> None:
    for mention_id in ("x:40", "x:41"):
        base = record(mention_id)
        mention = base.message.mention.model_copy(update={"author": Author(id="42")})
        routing = Routing(department="support", also=["pr"], sla_due_at=NOW)
        message = base.message.model_copy(update={"mention": mention, "routing": routing})
        mentions.claim(mention_id, NOW, LEASE)
        mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))
    mentions.record_response("x:41", NOW, "x:answer")  # answered: on no waiting list
    mentions.take("x:41", "sam", NOW, NOW + timedelta(minutes=30))
    mentions.leave("x:41", "sam")  # given back in support
    mentions.take("x:40", "maya", NOW, NOW + timedelta(minutes=30))  # in support
    handover = Transfer(
        from_department="support", to_department="pr", by="maya", at=NOW, reason="legal threat"
    )
    for mention_id in ("x:40", "x:41"):
        read = mentions.get(mention_id)
        assert read is not None
        mentions.transfer(read.transferred(handover), "support")
    moved = mentions.get("x:40")
    assert moved is not None and moved.message.routing.department == "pr"
    assert moved.message.routing.also == [] and moved.message.routing.transfers == [handover]
    assert moved.taken_by is None  # pr's agents can answer it
    assert mentions.waiting("support") == []
    assert [r.id for r in mentions.waiting("pr")] == ["x:40"]  # the answered one waits nowhere
    assert [r.id for r in mentions.overdue(NOW + timedelta(minutes=1))] == ["x:40"]
    cases = mentions.earlier_cases("x:42", NOW - timedelta(days=1), limit=10)
    assert {(c.id, c.department) for c in cases} == {("x:40", "pr"), ("x:41", "pr")}
    answered = mentions.get("x:41")
    assert answered is not None and answered.first_response_at == NOW  # kept beside it
    assert answered.given_back_by is None  # given back in support: anyone's in pr
    since = NOW - timedelta(days=1)
    assert {r.id for r in mentions.handed_over("support", since, 10)} == {"x:40", "x:41"}
    assert mentions.handed_over("pr", since, 10) == []  # listed under the department routed to
    assert mentions.handed_over("support", NOW + timedelta(hours=1), 10) == []
    assert len(mentions.handed_over("support", since, 1)) == 1
    assert mentions.handed_over_count("support", since) == 2  # what the report counts
    assert mentions.handed_over_count("support", NOW + timedelta(hours=1)) == 0


def test_an_authors_labels_are_added_and_taken_away_as_sets(mentions: MentionStore) -> None:
    assert mentions.labels_of("x:42") == []
    assert mentions.label("x:42", ["vip", "press", "vip"], []) == ["press", "vip"]
    assert mentions.label("x:42", ["abusive"], ["press", "never-had"]) == ["abusive", "vip"]
    assert mentions.label("x:43", [], ["vip"]) == []  # nobody's labels but their own
    assert mentions.labels_of("x:42") == ["abusive", "vip"]
    assert mentions.label("x:42", [], ["abusive", "vip"]) == []
    assert mentions.labels_of("x:42") == []


def test_survey_answers_are_listed_by_the_department_rated_not_as_ignored(
    mentions: MentionStore,
) -> None:
    mentions.claim("x:70", NOW, LEASE)
    mentions.complete(record("x:70"), NOW + timedelta(days=1))  # the case
    answers = (
        ("x:71", 5, "support", "maya", "ignored", 3),
        ("x:72", 2, "support", "maya", "routed", 2),
        ("x:73", 4, "pr", None, "ignored", 1),  # a survey of before agents were kept
    )
    for mention_id, score, department, agent, status, hours_ago in answers:
        base = record(mention_id)
        rating = Rating(case="x:70", score=score, department=department, agent=agent)
        routing = Routing(department="ignore" if status == "ignored" else "support", rates=rating)
        at = NOW - timedelta(hours=hours_ago)
        message = base.message.model_copy(update={"routing": routing})
        mentions.claim(mention_id, at, LEASE)
        answer = base.model_copy(update={"message": message, "status": status, "routed_at": at})
        mentions.complete(answer, NOW + timedelta(days=1))
    since = NOW - timedelta(days=1)
    assert mentions.ratings("support", since, 10) == [(2, "maya"), (5, "maya")]  # newest first
    assert mentions.ratings("support", NOW - timedelta(minutes=150), 10) == [(2, "maya")]
    assert mentions.ratings("pr", since, 10) == [(4, None)]
    assert mentions.ignored(since, 10) == []  # no "5" to rescue
    mentions.forget("x:71", NOW)  # its author asked to be forgotten: the score still counts
    assert mentions.ratings("support", since, 10) == [(2, "maya"), (5, "maya")]
    for reply_id, department, hours_ago in (("r_1", "support", 3), ("r_2", "support", 1)):
        at = NOW - timedelta(hours=hours_ago)
        for _ in range(2):  # told twice, counted once
            mentions.mark_surveyed(reply_id, department, at, NOW + timedelta(days=1))
    assert mentions.surveyed_count("support", since) == 2
    assert mentions.surveyed_count("support", NOW - timedelta(hours=2)) == 1
    assert mentions.surveyed_count("pr", since) == 0
    mentions.rate("x:70", 2, NOW)
    mentions.rate("x:99", 5, NOW)  # no such case: nothing happens
    rated = mentions.get("x:70")
    assert rated is not None and (rated.rating, rated.rated_at) == (2, NOW)
    assert mentions.get("x:99") is None


def test_an_ignored_mention_is_listed_until_it_is_rescued(mentions: MentionStore) -> None:
    for mention_id, hours_ago in (("x:60", 3), ("x:61", 2), ("x:62", 1)):
        base = record(mention_id)
        mention = base.message.mention.model_copy(update={"author": Author(id="42")})
        message = base.message.model_copy(
            update={"mention": mention, "routing": Routing(department="ignore")}
        )
        at = NOW - timedelta(hours=hours_ago)
        mentions.claim(mention_id, at, LEASE)
        ignored = base.model_copy(update={"message": message, "status": "ignored", "routed_at": at})
        mentions.complete(ignored, NOW + timedelta(days=1))
    mentions.claim("x:63", NOW, LEASE)
    mentions.complete(record("x:63"), NOW + timedelta(days=1))  # routed: not listed
    since = NOW - timedelta(days=1)
    assert [r.id for r in mentions.ignored(since, 10)] == ["x:62", "x:61", "x:60"]
    assert [r.id for r in mentions.ignored(NOW - timedelta(minutes=90), 10)] == ["x:62"]
    assert [r.id for r in mentions.ignored(since, 2)] == ["x:62", "x:61"]
    mentions.mark_deleted("x:62", NOW)  # its author deleted it: nothing left to rescue
    assert [r.id for r in mentions.ignored(since, 10)] == ["x:61", "x:60"]
    read = mentions.get("x:61")
    assert read is not None
    handover = Transfer(
        from_department="ignore", to_department="support", by="maya", at=NOW, reason="outage"
    )
    moved = read.transferred(handover)
    due = moved.message.routing.model_copy(update={"sla_due_at": NOW})
    rescued = moved.model_copy(
        update={"status": "routed", "message": moved.message.model_copy(update={"routing": due})}
    )
    mentions.rescue(rescued)
    with pytest.raises(EditConflict):  # a second rescue from the same read
        mentions.rescue(rescued)
    assert [r.id for r in mentions.ignored(since, 10)] == ["x:60"]
    assert [r.id for r in mentions.handed_over("ignore", since, 10)] == ["x:61"]
    assert [r.id for r in mentions.waiting("support")] == ["x:61"]
    assert [r.id for r in mentions.overdue(NOW + timedelta(minutes=1))] == ["x:61"]
    assert [c.id for c in mentions.earlier_cases("x:42", since, 10)] == ["x:61"]
    stored = mentions.get("x:61")
    assert stored is not None and stored.status == "routed"
    assert stored.message.routing.department == "support"


def test_a_case_taken_to_answer_is_held_until_its_take_ends(mentions: MentionStore) -> None:
    mentions.claim("x:70", NOW, LEASE)
    mentions.complete(record("x:70"), NOW + timedelta(days=1))
    until = NOW + timedelta(minutes=30)
    assert mentions.take("x:70", "maya", NOW, until)
    assert not mentions.take("x:70", "sam", NOW + timedelta(minutes=5), until)  # maya has it
    assert mentions.take("x:70", "maya", NOW + timedelta(minutes=5), until + timedelta(minutes=5))
    taken = mentions.get("x:70")
    assert taken is not None and taken.taken_by == "maya"
    assert taken.taken_until == until + timedelta(minutes=5)
    assert taken.taker(NOW) == "maya" and taken.taker(until + timedelta(minutes=5)) is None
    assert not mentions.leave("x:70", "sam")  # not sam's to give back
    # an edit rewrites the record, not the take
    mentions.rewrite(taken.edited("edited", NOW), None)
    kept = mentions.get("x:70")
    assert kept is not None and kept.taken_by == "maya"
    assert mentions.leave("x:70", "maya")
    left = mentions.get("x:70")
    assert left is not None and (left.taken_by, left.taken_until) == (None, None)
    assert left.given_back_by == "maya"  # the shift top-up gives it to someone else
    assert not mentions.leave("x:70", "maya")  # nothing left to give back
    assert mentions.take("x:70", "sam", NOW, until)
    later = until + timedelta(seconds=1)  # sam's take ended: maya can take it
    assert mentions.take("x:70", "maya", later, later + timedelta(minutes=30))
    assert mentions.leave("x:70", "maya", given_back=False)  # her shift ended: let go
    let_go = mentions.get("x:70")
    assert let_go is not None and (let_go.taken_by, let_go.given_back_by) == (None, "maya")
    assert mentions.take("x:70", "sam", later, later + timedelta(minutes=30))
    assert mentions.leave("x:70", "sam", given_back=False)
    assert (mentions.get("x:70") or let_go).given_back_by == "maya"  # as it was
    assert let_go.passed_over == []
    # the shift top-up passes it on from whoever let it go: they are passed over from then on
    for step, (taker, passed_from) in enumerate((("lee", "sam"), ("kim", "lee"), ("ana", "sam"))):
        at = later + timedelta(minutes=31 + 2 * step)  # the take before it has ended
        assert mentions.take("x:70", taker, at, at + timedelta(minutes=1), passed_from)
    passed = mentions.get("x:70")
    assert passed is not None and passed.passed_over == ["lee", "sam"]  # once each, sorted
    assert passed.taken_by == "ana"
    handover = Transfer(
        from_department="support", to_department="pr", by="kim", at=later, reason="legal"
    )
    mentions.transfer(passed.transferred(handover), "support")
    moved = mentions.get("x:70")
    assert moved is not None and (moved.passed_over, moved.taken_by) == ([], None)


def test_notes_are_kept_beside_the_record_up_to_a_limit(mentions: MentionStore) -> None:
    mentions.claim("x:71", NOW, LEASE)
    mentions.complete(record("x:71"), NOW + timedelta(days=1))
    read = mentions.get("x:71")
    assert read is not None and read.notes == []
    first = Note(by="maya", at=NOW, text="called her: refund on its way")
    assert mentions.add_note("x:71", first)
    mentions.rewrite(read.edited("edited", NOW), None)  # from a read before the note: kept
    for n in range(1, MAX_NOTES):
        assert mentions.add_note("x:71", Note(by="sam", at=NOW, text=f"n{n}"))
    assert not mentions.add_note("x:71", Note(by="sam", at=NOW, text="one too many"))
    kept = mentions.get("x:71")
    assert kept is not None and len(kept.notes) == MAX_NOTES and kept.notes[0] == first
    assert kept.message.mention.text == "edited"


def test_notes_are_bounded_in_bytes_too(mentions: MentionStore) -> None:
    mentions.claim("x:72", NOW, LEASE)
    mentions.complete(record("x:72"), NOW + timedelta(days=1))
    wide = Note(by="maya", at=NOW, text="😀" * 2_000)  # as long as a note may be: 8,000 bytes
    for _ in range(MAX_NOTES_BYTES // wide.size):
        assert mentions.add_note("x:72", wide)
    assert not mentions.add_note("x:72", wide)
    assert mentions.add_note("x:72", Note(by="sam", at=NOW, text="ok"))  # what still fits
    kept = mentions.get("x:72")
    assert kept is not None and len(kept.notes) == MAX_NOTES_BYTES // wide.size + 1
    assert kept.no_room_for(wide) == (
        "x:72's notes hold 96,002 bytes of the 100,000 a mention keeps: this one (8,000 bytes)"
        " does not fit"
    )


def test_a_record_past_dynamodbs_item_limit_is_refused_as_record_full(
    stack: dict[str, str],
) -> None:
    """DynamoDB refuses an item over 400 KB; the store says so as a 409 the API can show."""
    mentions = wiring.mentions()
    base = record("x:73")
    message = base.message.model_copy(
        update={"mention": base.message.mention.model_copy(update={"text": "a" * 403_000})}
    )
    mentions.claim("x:73", NOW, LEASE)
    mentions.complete(base.model_copy(update={"message": message}), NOW + timedelta(days=1))
    read = mentions.get("x:73")
    assert read is not None
    handover = Transfer(
        from_department="support", to_department="pr", by="maya", at=NOW, reason="b" * 10_000
    )
    with pytest.raises(RecordFull, match="x:73's record would pass DynamoDB's 400 KB") as full:
        mentions.transfer(read.transferred(handover), "support")
    assert full.value.status == 409
    with pytest.raises(RecordFull):
        mentions.add_note("x:73", Note(by="maya", at=NOW, text="c" * 8_000))
    kept = mentions.get("x:73")
    assert kept is not None and kept.message.routing.department == "support" and not kept.notes
    mentions.claim("x:74", NOW, LEASE)
    huge = base.model_copy(update={"id": "x:74", "closed_reason": "d" * 10_000})
    with pytest.raises(RecordFull):
        mentions.complete(huge.model_copy(update={"message": message}), NOW)


def test_a_department_report_reads_its_mentions_of_the_last_days(mentions: MentionStore) -> None:
    def routed(mention_id: str, hours_ago: int, department: str = "support") -> MentionRecord:
        base = record(mention_id)
        routing = base.message.routing.model_copy(
            update={"department": department, "sla_due_at": NOW + timedelta(minutes=30)}
        )
        message = base.message.model_copy(update={"routing": routing})
        at = NOW - timedelta(hours=hours_ago)
        return base.model_copy(update={"message": message, "routed_at": at})

    for mention_id, hours_ago, department in [
        ("x:81", 1, "support"),
        ("x:82", 2, "support"),
        ("x:83", 3, "pr"),
        ("x:84", 24 * 8, "support"),  # before the report's days
    ]:
        mentions.claim(mention_id, NOW, LEASE)
        mentions.complete(routed(mention_id, hours_ago, department), NOW + timedelta(days=90))
    mentions.claim("x:85", NOW, LEASE)  # being routed: not yet anyone's
    mentions.record_response("x:82", NOW - timedelta(minutes=90), "x:900")
    mentions.mark_escalated("x:81", NOW)
    cases = mentions.department_cases("support", NOW - timedelta(days=7), 10)
    assert [(c.routed_at, c.state, c.escalated) for c in cases] == [
        (NOW - timedelta(hours=1), "waiting", True),  # newest first
        (NOW - timedelta(hours=2), "answered", False),
    ]
    assert cases[0].due == NOW + timedelta(minutes=30)
    assert cases[1].answered_at == NOW - timedelta(minutes=90)
    assert cases[1].response_seconds == 30 * 60  # from when it was routed (no post time)
    assert len(mentions.department_cases("support", NOW - timedelta(days=7), 1)) == 1


def test_an_index_an_upgrade_is_still_filling_is_a_503_to_retry_not_a_500() -> None:
    """After an upgrade adds an index, DynamoDB refuses to read it until it has filled it from
    the table; the report and the listings say so instead of failing."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoMentionStore(client, "switchboard-mentions")
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_client_error(
                "query",
                service_error_code="ValidationException",
                service_message="Cannot read from backfilling global secondary index:"
                " department-by-time",
            )
        with pytest.raises(IndexNotReady, match="department-by-time index is still") as raised:
            store.department_cases("support", NOW, 10)
        assert raised.value.status == 503
        with pytest.raises(IndexNotReady):
            store.handed_over_count("support", NOW)
        stub.add_client_error("query", service_error_code="ValidationException")
        with pytest.raises(ClientError):  # any other refusal is a failure, as before
            store.ignored(NOW, 10)
        stub.add_client_error(
            "query",
            service_error_code="ValidationException",
            service_message="Cannot read from backfilling global secondary index: by-mention",
        )
        replies = DynamoReplyStore(client, "switchboard-replies")
        with pytest.raises(IndexNotReady, match="by-mention index is still"):
            replies.to_mention("x:1")


def test_a_hand_over_from_a_stale_read_is_refused(mentions: MentionStore) -> None:
    mentions.claim("x:45", NOW, LEASE)
    mentions.complete(record("x:45"), NOW + timedelta(days=1))
    read = mentions.get("x:45")
    assert read is not None

    def to(department: str, source: MentionRecord) -> MentionRecord:
        return source.transferred(
            Transfer(from_department="support", to_department=department, by="maya", at=NOW,
                     reason="not ours")
        )  # fmt: skip

    mentions.transfer(to("pr", read), "support")
    with pytest.raises(EditConflict):  # a colleague sent it to marketing from the same read
        mentions.transfer(to("marketing", read), "support")
    edited_read = mentions.get("x:45")
    assert edited_read is not None and edited_read.message.routing.department == "pr"
    mentions.rewrite(edited_read.edited("edited", NOW), None)
    with pytest.raises(EditConflict):  # its author edited it after it was read: the text stays
        mentions.transfer(edited_read.transferred(edited_read.message.routing.transfers[0]), "pr")
    kept = mentions.get("x:45")
    assert kept is not None and kept.message.mention.text == "edited"
    mentions.claim("x:46", NOW, LEASE)
    mentions.complete(record("x:46"), NOW + timedelta(days=1))
    before = mentions.get("x:46")
    assert before is not None
    mentions.transfer(to("pr", before), "support")
    with pytest.raises(EditConflict):  # an edit read before the hand-over: it reads it again
        mentions.rewrite(before.edited("edited", NOW), None)
    moved = mentions.get("x:46")
    assert moved is not None and moved.message.routing.department == "pr"


def test_a_superseded_post_is_never_routed_but_one_claimed_or_routed_is_untouched(
    mentions: MentionStore,
) -> None:
    mentions.supersede("x:20", NOW)  # its edit opened the case first
    assert mentions.claim("x:20", NOW, LEASE) == (Claim.DONE, None)
    mentions.claim("x:21", NOW, LEASE)  # being routed right now
    mentions.supersede("x:21", NOW)
    mentions.complete(record("x:21"), NOW + timedelta(days=1))
    assert mentions.get("x:21") is not None
    mentions.claim("x:22", NOW, LEASE)  # a failed attempt already sent it to support
    mentions.release("x:22", Progress(record("x:22").message.to_json(), frozenset({"support"})))
    mentions.supersede("x:22", NOW)
    claim, progress = mentions.claim("x:22", NOW, LEASE)
    assert claim is Claim.CLAIMED and progress is not None  # its retry still finishes the job
    mentions.supersede("x:21", NOW)
    assert mentions.get("x:21") is not None


def test_release_never_removes_a_completed_record(mentions: MentionStore) -> None:
    mentions.claim("x:4", NOW, LEASE)
    mentions.complete(record("x:4"), NOW + timedelta(days=1))
    mentions.release("x:4")
    assert mentions.get("x:4") is not None


@pytest.fixture
def replies(kind: str, request: pytest.FixtureRequest) -> ReplyStore:
    return twin(kind, request, MemoryReplyStore, wiring.replies)


def test_a_reply_is_sent_at_most_once_and_a_late_loser_changes_nothing(
    replies: ReplyStore,
) -> None:
    first = Reply(reply_id="r_1", mention_id="x:1", platform="x", text="On it", created_at=NOW)
    assert replies.create(first) == first
    assert replies.create(first.model_copy(update={"text": "Other"})).text == "On it"
    assert replies.start_sending("r_1", NOW, LEASE)
    assert not replies.start_sending("r_1", NOW, LEASE)  # a second worker does not send it
    assert not replies.lease_expired("r_1", NOW + LEASE / 2)
    assert replies.lease_expired("r_1", NOW + LEASE * 2)
    replies.finish("r_1", "queued", last_error="rate limited")  # nothing posted: back in line
    waiting = replies.get("r_1")
    assert waiting is not None and (waiting.status, waiting.attempts) == ("queued", 1)
    assert waiting.last_error == "rate limited"
    assert replies.start_sending("r_1", NOW, LEASE)
    replies.finish("r_1", "sent", platform_reply_id="9", last_error=None)
    replies.finish("r_1", "failed", last_error="too late")  # a worker that lost the race
    sent = replies.get("r_1")
    assert sent is not None and (sent.status, sent.attempts, sent.platform_reply_id) == (
        "sent",
        2,
        "9",
    )
    assert replies.get("r_404") is None and not replies.start_sending("r_404", NOW, LEASE)


def test_a_pending_reply_is_listed_until_one_reviewer_decides_it(replies: ReplyStore) -> None:
    def draft(reply_id: str, department: str, minutes: int) -> Reply:
        reply = Reply(reply_id=reply_id, mention_id="x:1", platform="x", text="Statement",
                      department="support", approval_department=department, status="pending",
                      created_at=NOW + timedelta(minutes=minutes))  # fmt: skip
        return replies.create(reply)

    second, first = draft("r_2", "pr", 5), draft("r_1", "pr", 0)
    draft("r_3", "legal", 1)
    assert [r.reply_id for r in replies.pending("pr")] == ["r_1", "r_2"]  # oldest first
    assert not replies.start_sending("r_1", NOW, LEASE)  # never sent while pending
    approved = first.model_copy(update={"status": "queued", "reviewed_by": "sam"})
    assert replies.review(approved)
    rejected = first.model_copy(update={"status": "rejected", "reviewed_by": "lee"})
    assert not replies.review(rejected)  # the second reviewer was too late
    stored = replies.get("r_1")
    assert stored is not None and (stored.status, stored.reviewed_by) == ("queued", "sam")
    assert [r.reply_id for r in replies.pending("pr")] == ["r_2"]
    assert replies.review(second.model_copy(update={"status": "rejected"}))
    assert replies.pending("pr") == [] and [r.reply_id for r in replies.pending("legal")] == ["r_3"]
    assert replies.start_sending("r_1", NOW, LEASE)  # approved: on its way


def test_pending_replies_are_listed_past_a_query_page(replies: ReplyStore) -> None:
    for n in range(4):  # 1.4 MB: two pages of a DynamoDB Query
        reply = Reply(reply_id=f"r_{n}", mention_id="x:1", platform="x", text="a" * 350_000,
                      approval_department="pr", status="pending", created_at=NOW)  # fmt: skip
        replies.create(reply)
    assert sorted(r.reply_id for r in replies.pending("pr")) == ["r_0", "r_1", "r_2", "r_3"]


def test_a_mentions_replies_are_listed_oldest_first_whatever_became_of_them(
    replies: ReplyStore,
) -> None:
    for n, status in enumerate(("sent", "rejected", "queued")):
        reply = Reply(reply_id=f"r_{n}", mention_id="x:7", platform="x", text=f"answer {n}",
                      status=status, created_at=NOW + timedelta(minutes=10 - n))  # fmt: skip
        replies.create(reply)
    replies.create(Reply(reply_id="r_9", mention_id="x:8", platform="x", text="", created_at=NOW))
    assert [r.reply_id for r in replies.to_mention("x:7")] == ["r_2", "r_1", "r_0"]
    assert [r.reply_id for r in replies.to_mention("x:7", limit=1)] == ["r_2"]
    assert replies.to_mention("x:404") == []


def test_an_erased_reply_says_nothing_and_one_unsent_never_will_be(replies: ReplyStore) -> None:
    for n, status in enumerate(("sent", "pending", "queued")):
        replies.create(Reply(reply_id=f"r_{n}", mention_id="x:7", platform="x", text="Hi Dana",
                             status=status, approval_department="pr", created_at=NOW))  # fmt: skip
        replies.erase(f"r_{n}", "forgotten")
    erased = [replies.get(f"r_{n}") for n in range(3)]
    assert [(r.text, r.status) for r in erased if r] == [
        ("", "sent"),
        ("", "failed"),
        ("", "failed"),
    ]
    assert replies.pending("pr") == [] and not replies.start_sending("r_2", NOW, timedelta(1))
    replies.erase("r_404", "forgotten")  # nothing to erase


def test_publish_versions_and_live_pointer(rules: RulesStore) -> None:
    before = rules.live_version() or 0
    first = rules.publish([{"id": "a"}], "ana", "first", NOW)
    second = rules.publish([{"id": "b"}], "bo", "second", NOW)
    assert (first, second) == (before + 1, before + 2)
    assert rules.live_version() == second
    stored = rules.get(first)
    assert stored is not None
    assert (stored.rules, stored.author, stored.comment) == ([{"id": "a"}], "ana", "first")
    assert stored.published_at == NOW
    assert rules.get(999) is None


def test_history_newest_first_and_rollback_fields(rules: RulesStore) -> None:
    first = rules.publish([{"id": "a"}], "ana", "first", NOW)
    second = rules.publish(
        [{"id": "a"}], "bo", "rollback to v1", NOW, action="rollback", source_version=first
    )
    newest = rules.history(limit=2)
    assert [v.version for v in newest] == [second, first]
    assert (newest[0].action, newest[0].source_version) == ("rollback", first)
    assert newest[0].summary()["rule_count"] == 1


def test_publish_based_on_a_stale_version_conflicts(rules: RulesStore) -> None:
    base = rules.publish([{"id": "a"}], "ana", "base", NOW)
    rules.publish([{"id": "b"}], "bo", "meanwhile", NOW, expected_live=base)
    with pytest.raises(VersionConflict):
        rules.publish([{"id": "c"}], "cy", "stale", NOW, expected_live=base)
    assert rules.get(rules.live_version() or 0).rules == [{"id": "b"}]  # type: ignore[union-attr]


def test_a_large_ruleset_is_kept_whole_and_one_too_large_for_a_version_is_refused(
    rules: RulesStore,
) -> None:
    keywords = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(12_000)]
    large = [
        {"id": f"r{n}", "when": {"text": {"contains_any": keywords[n : n + 3]}}}
        for n in range(3_000)  # 600 KB of JSON: more than a DynamoDB item holds as it is
    ]
    version = rules.publish(large, "ana", "3,000 rules", NOW)
    stored = rules.get(version)
    assert stored is not None and stored.rules == large
    assert [v.version for v in rules.history(limit=1)] == [version]
    huge = [
        {"id": f"r{n}", "when": {"text": {"contains_any": [k]}}} for n, k in enumerate(keywords)
    ]
    with pytest.raises(PayloadTooLarge, match=r"would take \d{3},\d{3} bytes \(its 12,000 rules"):
        rules.publish(huge, "ana", "12,000 rules of random words", NOW)
    assert rules.live_version() == version
    assert rules.publish([{"id": "a"}], "ana", "next", NOW) == version + 1  # took no number


def test_a_version_written_before_rulesets_were_gzipd_still_reads(stack: dict[str, str]) -> None:
    aws.dynamodb().put_item(
        TableName=get_settings().rules_table,
        Item={
            "pk": {"S": "version"},
            "sk": {"S": f"{77:010d}"},
            "version": {"N": "77"},
            "rules": {"S": '[{"id": "old"}]'},
            "author": {"S": "ana"},
            "comment": {"S": "from last year"},
            "published_at": {"S": NOW.isoformat()},
        },
    )
    stored = wiring.rules().get(77)
    assert stored is not None and stored.rules == [{"id": "old"}]


@pytest.fixture
def traffic(kind: str, request: pytest.FixtureRequest) -> TrafficStore:
    return twin(kind, request, MemoryTrafficStore, wiring.traffic)


def test_traffic_is_read_back_newest_first_within_the_window(traffic: TrafficStore) -> None:
    def seen(i: int, at: datetime) -> Observed:
        return Observed(
            Mention(id=f"x:{i}", platform="x", text=f"t{i}"), {"sentiment": 0.1 * i}, at
        )

    traffic.record(
        [seen(1, NOW - timedelta(days=1)), seen(2, NOW), seen(3, NOW - timedelta(days=9))],
        timedelta(days=7),
    )
    follow_up = Observed(
        Mention(id="x:4", platform="x", kind="reply", text="ok", in_reply_to="x:900"),
        {},
        NOW - timedelta(hours=1),
        Conversation(mention_id="x:1", department="pr"),
        History(days=30, cases=[EarlierCase(id="x:1", department="pr", routed_at=NOW,
                                            state="waiting")]),
    )  # fmt: skip
    traffic.record([follow_up], timedelta(days=7))
    recent = traffic.recent(limit=10, now=NOW, days=7)
    assert [o.mention.id for o in recent] == ["x:2", "x:4", "x:1"]
    assert recent[0].signals == {"sentiment": 0.2}
    assert recent[0].conversation is None and recent[1].conversation == follow_up.conversation
    assert recent[0].history is None and recent[1].history == follow_up.history
    assert traffic.recent(limit=1, now=NOW, days=7)[0].mention.id == "x:2"


def test_traffic_forgets_a_deleted_mention(traffic: TrafficStore) -> None:
    kept = Observed(Mention(id="x:20", platform="x", text="keep"), {}, NOW)
    gone = Observed(Mention(id="x:21", platform="x", text="gone"), {}, NOW)
    traffic.record([kept, gone], timedelta(days=7))
    traffic.forget("x:21", NOW)
    assert [o.mention.id for o in traffic.recent(10, NOW, 7)] == ["x:20"]


@pytest.fixture
def templates(kind: str, request: pytest.FixtureRequest) -> TemplateStore:
    return twin(kind, request, MemoryTemplateStore, wiring.templates)


def test_saved_replies_are_kept_replaced_listed_and_removed(
    templates: TemplateStore, rules: RulesStore
) -> None:
    def saved(template_id: str, text: str, by: str) -> ReplyTemplate:
        return ReplyTemplate(id=template_id, text=text, updated_by=by, updated_at=NOW)

    versions = [v.version for v in rules.history()]
    templates.put(saved("late-delivery", "Sorry {name}!", "maya"))
    templates.put(saved("thanks", "Thank you {handle}!", "sam"))
    templates.put(saved("late-delivery", "So sorry {name}, DM us", "sam"))  # replaced
    assert [t.id for t in templates.all()] == ["late-delivery", "thanks"]
    assert templates.get("late-delivery") == saved("late-delivery", "So sorry {name}, DM us", "sam")
    assert templates.get("nope") is None
    assert templates.delete("thanks") and not templates.delete("thanks")
    assert [t.id for t in templates.all()] == ["late-delivery"]
    assert [v.version for v in rules.history()] == versions  # beside the rulesets, not among
    translated = saved("thanks", "Thank you {handle}!", "sam").model_copy(
        update={"language": "en", "translations": {"es": "¡Gracias {handle}!", "fr": "Merci !"}}
    )
    templates.put(translated)
    assert templates.get("thanks") == translated
    assert templates.all()[1].in_language("fr") == ("Merci !", "fr")


def test_queue_send_and_unknown_queue(queues: Queues) -> None:
    queues.send_batch(
        "support", [OutgoingMessage(f"m{i}", {"department": "support"}) for i in range(23)]
    )
    assert queues.send("support", OutgoingMessage("one"))
    with pytest.raises(QueueSendError, match="nowhere"):
        queues.send_batch("nowhere", [OutgoingMessage("x")])
    with pytest.raises(QueueSendError, match="nowhere"):
        queues.send("nowhere", OutgoingMessage("x"))


def test_a_message_sent_with_a_delay_stays_out_of_sight_as_long_as_sqs_delays(
    stack: dict[str, str],
) -> None:
    queues, sqs = wiring.queues(), aws.sqs()
    queues.send("support", OutgoingMessage("later", delay=3600))  # SQS's 15 minutes at most
    queues.send_batch("support", [OutgoingMessage("now"), OutgoingMessage("soon", delay=60)])
    visible, delayed = "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"
    counts = sqs.get_queue_attributes(QueueUrl=stack["support"], AttributeNames=[visible, delayed])[
        "Attributes"
    ]
    assert (counts[visible], counts[delayed]) == ("1", "2")
    received = sqs.receive_message(QueueUrl=stack["support"], MaxNumberOfMessages=10)
    assert [m["Body"] for m in received["Messages"]] == ["now"]


def test_a_batch_failing_midway_names_the_messages_that_were_sent() -> None:
    """SQS takes the first ten, then fails one entry of the next call: the error says which
    thirteen of the fourteen arrived, so the caller does not send them again."""
    client = boto3.client("sqs", region_name="us-east-1")
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-support"
    messages = [OutgoingMessage(f"m{i}") for i in range(14)]
    with Stubber(client) as stub:
        ok = [{"Id": str(i), "MessageId": f"id{i}", "MD5OfMessageBody": "-"} for i in range(10)]
        stub.add_response("send_message_batch", {"Successful": ok, "Failed": []})
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [e for e in ok[:4] if e["Id"] != "2"],
                "Failed": [{"Id": "2", "SenderFault": False, "Code": "InternalError"}],
            },
        )
        settings = get_settings().model_copy(update={"queue_urls": {"support": url}})
        queues = SqsQueues(client, settings)
        with pytest.raises(QueueSendError, match=r"1 message.*InternalError") as failure:
            queues.send_batch("support", messages)
    assert failure.value.sent == frozenset(range(14)) - {12}


@pytest.fixture
def cursors(kind: str, request: pytest.FixtureRequest) -> CursorStore:
    return twin(kind, request, MemoryCursorStore, wiring.cursors)


def test_cursors_start_empty_and_keep_the_last_position(cursors: CursorStore) -> None:
    assert cursors.get("youtube:UC1") is None
    cursors.put("youtube:UC1", "2026-11-22T08:00:00+00:00")
    cursors.put("youtube:UC1", "2026-11-22T09:00:00+00:00")
    cursors.put("youtube:UC2", "2026-11-21T00:00:00+00:00")
    assert cursors.get("youtube:UC1") == "2026-11-22T09:00:00+00:00"
    assert cursors.get("youtube:UC2") == "2026-11-21T00:00:00+00:00"


def test_followed_sets_add_read_and_discard_members(cursors: CursorStore) -> None:
    assert cursors.members("youtube-threads") == set()
    cursors.add("youtube-threads", {"a"})
    cursors.add("youtube-threads", {"b", "a"})
    cursors.add("youtube-threads", set())  # nothing to add
    assert cursors.members("youtube-threads") == {"a", "b"}
    cursors.discard("youtube-threads", {"a", "gone"})
    cursors.discard("youtube-threads", set())
    assert cursors.members("youtube-threads") == {"b"}
    cursors.put("youtube-replies:t1", "position")
    cursors.delete("youtube-replies:t1")
    cursors.delete("never-saved")
    assert cursors.get("youtube-replies:t1") is None


@pytest.fixture
def shifts(kind: str, request: pytest.FixtureRequest) -> ShiftStore:
    return twin(kind, request, MemoryShiftStore, wiring.shifts)


def on_until(department: str, agent: str, hours: int, **terms: Any) -> Shift:
    return Shift(department=department, agent=agent, until=NOW + timedelta(hours=hours), **terms)


def test_shifts_run_until_they_end_and_remember_each_ones_last_case(shifts: ShiftStore) -> None:
    shifts.start(on_until("support", "maya", 8, capacity=5, languages=["es", "en"]))
    shifts.start(on_until("support", "ana", 1))
    shifts.start(on_until("pr", "sam", 8))
    assert shifts.assigned("support", "maya", NOW, None)
    assert not shifts.assigned("support", "maya", NOW, None)  # another worker's turn came first
    assert not shifts.assigned("support", "nobody", NOW, None)  # not on shift: nothing made up
    on = shifts.on_shift("support", NOW)
    assert [(s.agent, s.last_assigned_at, s.capacity, s.languages) for s in on] == [
        ("ana", None, None, []),
        ("maya", NOW, 5, ["en", "es"]),
    ]
    assert shifts.away("support", "maya", True) and not shifts.away("support", "nobody", True)
    [maya] = [s for s in shifts.on_shift("support", NOW) if s.agent == "maya"]
    assert maya.away
    shifts.start(on_until("support", "maya", 2))  # started again: cut short, back from away
    [maya] = [s for s in shifts.on_shift("support", NOW) if s.agent == "maya"]
    assert (maya.until, maya.last_assigned_at) == (NOW + timedelta(hours=2), NOW)
    assert (maya.capacity, maya.languages, maya.away) == (None, [], False)  # all set anew
    shifts.start(on_until("support", "maya", 2, capacity=2, languages=["pt"]))
    [maya] = [s for s in shifts.on_shift("support", NOW) if s.agent == "maya"]
    assert (maya.capacity, maya.languages) == (2, ["pt"])
    assert shifts.assigned("support", "maya", NOW + timedelta(seconds=1), NOW)
    assert [s.agent for s in shifts.on_shift("support", NOW + timedelta(hours=1))] == ["maya"]
    assert shifts.end("support", "maya") and not shifts.end("support", "maya")
    assert shifts.on_shift("support", NOW) == [s for s in on if s.agent == "ana"]
    assert [s.agent for s in shifts.on_shift("pr", NOW)] == ["sam"]
