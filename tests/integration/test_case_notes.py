"""Notes on a case (POST /mentions/{id}/notes, `switchboard note`): what the people working it
should know, kept on its record in the order written, shown with its history, never sent."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import MAX_NOTES, MAX_NOTES_BYTES
from tests.helpers import sample_bytes
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import get
from tests.integration.test_rules_cli import run
from tests.integration.test_taking_cases import CASE, post

IGNORED = "x:1992000000000000201"  # a reply to a friend the brand was tagged along in


@pytest.fixture
def routed(client: Client, stack: dict[str, str]) -> None:
    """The late delivery, routed to support."""
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))


@pytest.mark.usefixtures("routed")
def test_colleagues_read_each_others_notes_on_a_case(client: Client, fakes: FakePlatforms) -> None:
    status, record = post(client, f"/mentions/{CASE}/notes", {"text": "  called her  "}, "maya")
    assert status == 200 and [(n["by"], n["text"]) for n in record["notes"]] == [
        ("maya", "called her")
    ]
    post(client, f"/mentions/{CASE}/notes", {"text": "refund issued, #R-88213"}, "sam")
    post(client, f"/mentions/{CASE}/transfer", {"to": "pr", "reason": "press"}, "sam")
    notes = get(client, f"/mentions/{CASE}")["notes"]  # they go where the case goes
    assert [(n["by"], n["text"]) for n in notes] == [
        ("maya", "called her"),
        ("sam", "refund issued, #R-88213"),
    ]
    assert notes[0]["at"] <= notes[1]["at"]
    assert fakes.accepted("x") == []  # nothing of it reaches the customer


@pytest.mark.usefixtures("routed")
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"text": "   "}, "text: String should have at least 1 character"),
        ({"text": "x" * 2001}, "text: String should have at most 2000 characters"),
        ({"text": "hi", "private": True}, "private: no such field; the one field here is text"),
        (b"{", "body is not valid JSON"),
    ],
)
def test_a_note_that_cannot_be_kept_says_why(client: Client, body: object, says: str) -> None:
    status, answer = post(client, f"/mentions/{CASE}/notes", body, "maya")
    assert status == 400 and says in answer["message"], answer
    assert get(client, f"/mentions/{CASE}")["notes"] == []


@pytest.mark.usefixtures("routed")
def test_a_case_keeps_a_bounded_number_of_notes(client: Client) -> None:
    for n in range(MAX_NOTES):
        assert post(client, f"/mentions/{CASE}/notes", {"text": f"note {n}"}, "maya")[0] == 200
    status, answer = post(client, f"/mentions/{CASE}/notes", {"text": "one more"}, "maya")
    assert (status, answer["message"]) == (
        409,
        f"{CASE} has {MAX_NOTES} notes, as many as a mention keeps",
    )


@pytest.mark.usefixtures("routed")
def test_notes_in_emoji_or_cjk_run_out_by_size_first(client: Client) -> None:
    wide = "😀" * 2_000  # 8,000 bytes: a case keeps twelve of these
    for _ in range(MAX_NOTES_BYTES // 8_000):
        assert post(client, f"/mentions/{CASE}/notes", {"text": wide}, "maya")[0] == 200
    status, answer = post(client, f"/mentions/{CASE}/notes", {"text": wide}, "maya")
    assert (status, answer["message"]) == (
        409,
        f"{CASE}'s notes hold 96,000 bytes of the 100,000 a mention keeps: this one (8,000"
        " bytes) does not fit",
    )
    assert post(client, f"/mentions/{CASE}/notes", {"text": "refund sent"}, "sam")[0] == 200


@pytest.mark.usefixtures("routed")
def test_a_case_at_dynamodbs_item_limit_says_so_not_500(client: Client) -> None:
    mentions = wiring.mentions()
    record = mentions.get(CASE)
    assert record is not None
    mentions.rewrite(record.edited("a" * 400_000, record.routed_at), None)  # a long Page post
    status, answer = post(client, f"/mentions/{CASE}/notes", {"text": "😀" * 2_000}, "maya")
    assert (status, answer["error"]) == (409, "record_full"), answer
    assert "400 KB item limit" in answer["message"]
    assert get(client, f"/mentions/{CASE}")["notes"] == []


def test_an_ignored_mention_takes_notes_too(client: Client, stack: dict[str, str]) -> None:
    deliver(client, stack, "x", sample_bytes("x_reply_to_a_friend.json"))
    assert get(client, f"/mentions/{IGNORED}")["status"] == "ignored"
    status, record = post(client, f"/mentions/{IGNORED}/notes", {"text": "a bot"}, "maya")
    assert status == 200 and record["notes"][0]["text"] == "a bot"


def test_only_a_mention_switchboard_routed_takes_notes(client: Client) -> None:
    assert post(client, "/mentions/x:404/notes", {"text": "hi"}, "maya")[0] == 404
    response = client.http.post(f"/mentions/{CASE}/notes", headers={}, body=b'{"text": "hi"}')
    assert response.status_code == 401


@pytest.mark.usefixtures("routed")
def test_switchboard_note_and_the_history_it_joins(api_url: str) -> None:
    code, out = run("note", CASE, "customer is a journalist, be careful", "--url", api_url)
    assert (code, out.strip()) == (0, f"noted on {CASE} (1 note)")
    run("transfer", CASE, "pr", "journalist", "--url", api_url)
    code, out = run("note", CASE, "pr has it", "--url", api_url)
    assert (code, out.strip()) == (0, f"noted on {CASE} (2 notes)")
    code, out = run("mention", CASE, "--url", api_url)
    history = [line.split(": ", 1)[0] for line in out.splitlines() if line.startswith("  ")]
    assert [h for h in history if h.strip() in ("note", "handed over")] == [
        "  note",
        "  handed over",
        "  note",
    ]  # in the order they happened
    assert "(admin: customer is a journalist, be careful)" in out


@pytest.fixture
def agents_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """People's own chats, named before the stack reads the settings (a reset after would have
    the server build its clients after the CLI's local defaults)."""
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"maya": "U0MAYA", "sam": "U0SAM"}))


@pytest.mark.usefixtures("agents_told", "routed")
def test_switchboard_note_says_who_was_told(api_url: str) -> None:
    code, out = run("note", CASE, "@sam @maya this one is a journalist", "--url", api_url)
    assert (code, out.strip()) == (0, f"noted on {CASE} (1 note); told maya, sam in their chat")
    code, out = run("mention", CASE, "--url", api_url)
    assert "(admin: @sam @maya this one is a journalist (told maya, sam))" in out
