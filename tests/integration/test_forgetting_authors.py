"""A customer asks to be forgotten (the GDPR's right to erasure): POST
/authors/{author}/forget and `switchboard forget` erase what they wrote and who they are from
every record, reply, dry-run sample and file Switchboard keeps, and nothing of anyone else."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import ERASED
from chalicelib.settings import get_settings
from chalicelib.stores.attachments import files_of
from tests.helpers import sample_bytes
from tests.integration.test_native_answers import CHASE, DANA, deliver
from tests.integration.test_replies import AUTH, drain_outbox, get, reply
from tests.integration.test_rules_cli import run

DANA_AUTHOR = "x:1158276305785221121"
OTHER = "x:1992000000000000100"  # another customer's direct message
REQUEST = "erasure request #4411"


def forget(client: Client, author: str, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.http.post(f"/authors/{author}/forget", headers=AUTH, body=raw)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def dana(client: Client, stack: dict[str, str], fakes: FakePlatforms) -> dict[str, str]:
    """Dana's late order and her chase, answered once (sent) with a second reply still queued,
    a note on the case and a file kept for it; and another customer's message. Returns the
    two replies' ids."""
    for sample in ("x_late_delivery.json", "x_chasing.json", "x_dm_refund.json"):
        deliver(client, stack, "x", sample_bytes(sample))
    _, sent = reply(client, {"mention_id": CHASE, "text": "Sorry Dana Kim, it ships today."})
    drain_outbox(stack)
    _, queued = reply(client, {"mention_id": DANA, "text": "Dana, your refund is on its way."})
    note = client.http.post(
        f"/mentions/{DANA}/notes", headers=AUTH, body=json.dumps({"text": "lives at 4 Elm St"})
    )
    assert note.status_code == 200
    files = wiring.attachments()
    files.keep(f"{files_of(DANA)}1", io.BytesIO(b"photo of the parcel"), "image/jpeg")
    return {"sent": sent["reply_id"], "queued": queued["reply_id"]}


def dry_run_ids() -> list[str]:
    recent = wiring.traffic().recent(50, datetime.now(UTC), get_settings().traffic_keep_days)
    return [observed.mention.id for observed in recent]


def test_a_dry_run_says_what_is_kept_and_erases_nothing(
    client: Client, dana: dict[str, str]
) -> None:
    status, found = forget(client, DANA_AUTHOR, {"reason": REQUEST, "dry_run": True})
    assert status == 200, found
    assert (found["author"], found["dry_run"], found["more"]) == (DANA_AUTHOR, True, False)
    assert sorted(found["mentions"]) == sorted([DANA, CHASE])
    assert found["replies"] == 2
    assert get(client, f"/mentions/{DANA}")["message"]["mention"]["text"].startswith("@AcmeHelp")


def test_everything_an_author_wrote_and_who_they_are_is_erased(
    client: Client, dana: dict[str, str]
) -> None:
    assert {DANA, CHASE} <= set(dry_run_ids())
    assert get(client, f"/authors/{DANA_AUTHOR}/cases")["cases"] != []
    assert wiring.attachments().has(f"{files_of(DANA)}1")
    status, done = forget(client, DANA_AUTHOR, {"reason": REQUEST})
    assert status == 200 and not done["dry_run"]
    assert sorted(done["mentions"]) == sorted([DANA, CHASE]) and done["replies"] == 2
    for mention_id in (DANA, CHASE):
        record = get(client, f"/mentions/{mention_id}")
        mention = record["message"]["mention"]
        assert (mention["text"], mention["author"]["id"], mention["author"]["handle"]) == (
            "",
            None,
            None,
        )
        assert mention["author"]["name"] is None and mention["url"] is None
        assert record["notes"] == [] and record["forgotten_at"] and record["deleted_at"]
        routing = record["message"]["routing"]
        assert routing["department"] == "support"  # for the reports
        assert {m["why"] for m in routing["matched_rules"]} == {ERASED}  # may quote the text
    sent, queued = (get(client, f"/replies/{dana[k]}") for k in ("sent", "queued"))
    assert (sent["text"], sent["status"]) == ("", "sent")
    assert (queued["text"], queued["status"]) == ("", "failed")  # never to be posted
    assert queued["last_error"] == "the customer it answers asked to be forgotten"
    assert get(client, f"/authors/{DANA_AUTHOR}/cases")["cases"] == []
    assert not {DANA, CHASE} & set(dry_run_ids()) and OTHER in dry_run_ids()
    assert not wiring.attachments().has(f"{files_of(DANA)}1")
    other = get(client, f"/mentions/{OTHER}")["message"]["mention"]
    assert other["text"].startswith("Hi, I was charged twice")  # nobody else's
    code, refused = reply(client, {"mention_id": DANA, "text": "one more thing"})
    assert code == 409 and "was erased at its author's request" in refused["message"]
    status, again = forget(client, DANA_AUTHOR, {"reason": REQUEST})  # a retry
    assert status == 200 and (again["mentions"], again["replies"]) == ([], 0)


def test_a_record_stored_before_the_author_index_of_everything_is_found_too(
    client: Client, dana: dict[str, str]
) -> None:
    """Records routed before an upgrade added `said_by` are found by the index of cases."""
    aws.dynamodb().update_item(
        TableName=get_settings().mentions_table,
        Key={"id": {"S": DANA}},
        UpdateExpression="REMOVE said_by",
    )
    status, done = forget(client, DANA_AUTHOR, {"reason": REQUEST})
    assert status == 200 and DANA in done["mentions"]


def test_a_call_short_of_time_erases_what_it_can_and_says_more(dana: dict[str, str]) -> None:
    from chalicelib.services.erasure import Erasure

    seconds_left = iter([9.0, 1.0])
    erasure = Erasure(
        wiring.mentions(),
        wiring.replies(),
        wiring.traffic(),
        wiring.attachments(),
        wiring.queues(),
        time_left=lambda: next(seconds_left),
    )
    result = erasure.forget(DANA_AUTHOR, "admin", REQUEST)
    assert len(result.mentions) == 1 and result.more
    [left] = wiring.mentions().said_by(DANA_AUTHOR, 10)
    assert left not in result.mentions  # the next call finds it


@pytest.mark.parametrize(
    ("author", "body", "status", "says"),
    [
        ("nobody", {"reason": REQUEST}, 400, "an author is '<platform>:<author id>'"),
        (DANA_AUTHOR, {}, 400, "reason: Field required"),
        (
            DANA_AUTHOR,
            {"reason": REQUEST, "everything": True},
            400,
            "everything: no such field; the fields here are reason, dry_run",
        ),
        (DANA_AUTHOR, b"{", 400, "body is not valid JSON"),
    ],
)
def test_a_request_that_cannot_work_says_why(
    client: Client, dana: dict[str, str], author: str, body: Any, status: int, says: str
) -> None:
    code, answer = forget(client, author, body)
    assert code == status and says in answer["message"], answer
    assert get(client, f"/mentions/{DANA}")["forgotten_at"] is None


def test_forgetting_needs_the_token(client: Client) -> None:
    response = client.http.post(
        f"/authors/{DANA_AUTHOR}/forget",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"reason": REQUEST}),
    )
    assert response.status_code == 401


@pytest.mark.usefixtures("dana")
def test_switchboard_forget_says_what_first_and_erases_with_yes(api_url: str) -> None:
    code, out = run("forget", DANA_AUTHOR, REQUEST, "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == (
        f"Switchboard keeps 2 mention(s) by {DANA_AUTHOR} and the text of 2 reply(ies) to them;"
        " to erase them, run it again with --yes"
    )
    assert sorted(line.strip() for line in lines[1:]) == sorted([DANA, CHASE])
    code, out = run("forget", DANA_AUTHOR, REQUEST, "--yes", "--url", api_url)
    assert code == 0 and out.splitlines()[0] == (
        f"erased 2 mention(s) by {DANA_AUTHOR} and the text of 2 reply(ies) to them: {REQUEST}"
    )
    code, out = run("forget", DANA_AUTHOR, REQUEST, "--url", api_url)
    assert out == f"Switchboard keeps nothing {DANA_AUTHOR} wrote\n"
    code, out = run("mention", CHASE, "--url", api_url)
    assert "  (no text)\n" in out and "by admin: sent: (text erased)" in out
    assert "  erased: " in out and "(at its author's request: who and what)" in out
    assert "deleted:" not in out


def test_the_conversation_a_direct_message_opened_no_longer_names_its_sender(
    client: Client, dana: dict[str, str]
) -> None:
    """Their next message is a new case, and nothing keyed by their id is left."""
    key = "x:dm/3001969357"
    found = wiring.mentions().conversation_of(key)
    assert found is not None and found.id == OTHER
    status, done = forget(client, "x:3001969357", {"reason": REQUEST})
    assert status == 200 and done["mentions"] == [OTHER]
    assert wiring.mentions().conversation_of(key) is None
    assert get(client, f"/mentions/{DANA}")["forgotten_at"] is None  # nobody else's
