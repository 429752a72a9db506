"""An agent takes a case to answer it (POST /mentions/{id}/take, `switchboard take`), so that two
people do not answer one customer: others' replies are refused until the take ends, unless
forced, and the waiting list shows who is on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from tests.helpers import sample_bytes
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import drain_outbox, get
from tests.integration.test_rules_cli import run
from tests.integration.test_transferring_cases import customer_tweet

CASE = "x:1992000000000000001"  # the late delivery: support
AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


def post(client: Client, path: str, body: Any, by: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**AUTH, "X-Switchboard-Author": by}
    response = client.http.post(path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def routed(client: Client, stack: dict[str, str]) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))


@pytest.mark.usefixtures("routed")
def test_a_taken_case_is_answered_by_whoever_took_it(client: Client) -> None:
    status, record = post(client, f"/mentions/{CASE}/take", {"minutes": 20}, "maya")
    assert status == 200 and record["taken_by"] == "maya"
    until = datetime.fromisoformat(record["taken_until"])
    assert timedelta(minutes=19) < until - datetime.now(UTC) <= timedelta(minutes=20)
    status, answer = post(client, f"/mentions/{CASE}/take", {}, "sam")
    assert status == 409 and answer["message"].startswith(f"{CASE} is taken by maya until ")
    status, answer = post(client, "/replies", {"mention_id": CASE, "text": "On it!"}, "sam")
    assert status == 409 and "send with force to answer anyway" in answer["message"]
    [waiting] = get(client, "/departments/support/waiting")["waiting"]
    assert waiting["taken_by"] == "maya"  # the list says who is on it
    status, answer = post(client, f"/mentions/{CASE}/leave", b"", "sam")
    assert status == 409 and "not by sam" in answer["message"]
    status, again = post(client, f"/mentions/{CASE}/take", {"minutes": 45}, "maya")  # longer
    assert status == 200 and datetime.fromisoformat(again["taken_until"]) > until
    status, queued = post(client, "/replies", {"mention_id": CASE, "text": "Sorry Dana!"}, "maya")
    assert status == 202 and queued["status"] == "queued"


@pytest.mark.usefixtures("routed")
def test_an_agent_lists_the_cases_they_have(client: Client, stack: dict[str, str]) -> None:
    deliver(client, stack, "x", sample_bytes("x_dm_refund.json"))  # answered on X already
    deliver(client, stack, "x", sample_bytes("x_chasing.json"))  # Dana's second case
    post(client, f"/mentions/{CASE}/take", {"for": "maya"}, "lee")

    def mine(who: str, query: str = "mine=true") -> Any:
        headers = {**AUTH, "X-Switchboard-Author": who}
        response = client.http.get(f"/departments/support/waiting?{query}", headers=headers)
        return response.status_code, json.loads(response.body)

    assert [r["id"] for r in mine("maya")[1]["waiting"]] == [CASE]
    assert mine("sam")[1]["waiting"] == []
    assert len(mine("sam", "mine=false")[1]["waiting"]) == 2
    status, answer = mine("sam", "mine=yes")
    assert status == 400 and answer["message"] == "mine must be true or false, not 'yes'"


@pytest.mark.usefixtures("routed")
def test_a_reply_can_be_forced_and_a_take_given_back(client: Client) -> None:
    post(client, f"/mentions/{CASE}/take", {}, "maya")
    body = {"mention_id": CASE, "text": "Sorry Dana, DM us", "force": True}
    status, queued = post(client, "/replies", body, "sam")  # maya went home without leaving it
    assert status == 202 and queued["status"] == "queued"
    status, record = post(client, f"/mentions/{CASE}/leave", b"", "maya")
    assert status == 200 and record["taken_by"] is None and record["taken_until"] is None
    assert post(client, f"/mentions/{CASE}/leave", b"", "maya")[0] == 200  # nothing to give back
    assert post(client, f"/mentions/{CASE}/take", {}, "sam")[0] == 200  # free to take


@pytest.mark.usefixtures("routed")
def test_a_take_covers_the_customers_follow_ups(client: Client, stack: dict[str, str]) -> None:
    post(client, f"/mentions/{CASE}/take", {}, "maya")
    follow_up = "x:1992000000000000778"
    deliver(client, stack, "x", customer_tweet(follow_up[2:], "@AcmeHelp hello??", CASE[2:]))
    body = {"mention_id": follow_up, "text": "Sorry for the wait!"}
    status, answer = post(client, "/replies", body, "sam")  # it would answer maya's case too
    assert status == 409 and answer["message"].startswith(f"{follow_up} is taken by maya until ")
    assert post(client, "/replies", body, "maya")[0] == 202


@pytest.mark.usefixtures("routed", "fakes")
def test_what_the_customer_writes_while_a_case_is_taken_is_taken_too(
    client: Client, stack: dict[str, str]
) -> None:
    _, taken = post(client, f"/mentions/{CASE}/take", {"minutes": 30}, "maya")
    post(client, "/replies", {"mention_id": CASE, "text": "Sorry Dana, checking"}, "maya")
    drain_outbox(stack)  # answered: the customer's next message is a case of its own
    follow_up = "x:1992000000000000778"
    deliver(client, stack, "x", customer_tweet(follow_up[2:], "@AcmeHelp still nothing", CASE[2:]))
    record = get(client, f"/mentions/{follow_up}")
    assert (record["taken_by"], record["taken_until"]) == ("maya", taken["taken_until"])
    [waiting] = get(client, "/departments/support/waiting")["waiting"]
    assert (waiting["id"], waiting["taken_by"]) == (follow_up, "maya")
    body = {"mention_id": follow_up, "text": "Let me check"}
    status, answer = post(client, "/replies", body, "sam")
    assert status == 409 and answer["message"].startswith(f"{follow_up} is taken by maya until ")
    post(client, f"/mentions/{follow_up}/leave", b"", "maya")
    post(client, f"/mentions/{CASE}/leave", b"", "maya")
    later = "x:1992000000000000779"  # once she gave the case back, the next one is anyone's
    deliver(client, stack, "x", customer_tweet(later[2:], "@AcmeHelp hello??", follow_up[2:]))
    assert get(client, f"/mentions/{later}")["taken_by"] is None


@pytest.mark.usefixtures("routed")
def test_someone_else_joining_the_thread_is_not_taken_with_the_case(
    client: Client, stack: dict[str, str]
) -> None:
    post(client, f"/mentions/{CASE}/take", {}, "maya")
    payload = json.loads(customer_tweet("1992000000000000780", "@AcmeHelp same here!", CASE[2:]))
    payload["tweet_create_events"][0]["user"] |= {"id_str": "42", "screen_name": "otherone"}
    deliver(client, stack, "x", json.dumps(payload).encode())
    assert get(client, "/mentions/x:1992000000000000780")["taken_by"] is None


@pytest.mark.usefixtures("routed")
def test_a_lead_gives_a_case_to_a_colleague(client: Client) -> None:
    status, record = post(client, f"/mentions/{CASE}/take", {"for": "maya", "minutes": 60}, "lee")
    assert status == 200 and record["taken_by"] == "maya"
    status, answer = post(client, "/replies", {"mention_id": CASE, "text": "On it!"}, "lee")
    assert status == 409 and "is taken by maya until" in answer["message"]
    status, answer = post(client, f"/mentions/{CASE}/take", {"for": "sam"}, "lee")
    assert status == 409 and "is taken by maya until" in answer["message"]  # not from under her
    status, queued = post(client, "/replies", {"mention_id": CASE, "text": "Sorry Dana!"}, "maya")
    assert status == 202 and queued["status"] == "queued"


@pytest.mark.usefixtures("routed")
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"minutes": 0}, "minutes: Input should be greater than or equal to 1"),
        ({"minutes": 481}, "minutes: Input should be less than or equal to 480"),
        ({"minutes": "soon"}, "minutes: Input should be a valid integer"),
        ({"for": 5}, "for: Input should be a valid string"),
        ({"for": ""}, "for: String should have at least 1 character"),
        ({"who": "maya"}, "who: no such field; the fields here are minutes, for"),
        (b"{", "body is not valid JSON"),
    ],
)
def test_a_take_that_cannot_work_says_why(client: Client, body: Any, says: str) -> None:
    status, answer = post(client, f"/mentions/{CASE}/take", body, "maya")
    assert status == 400 and says in answer["message"], answer
    assert get(client, f"/mentions/{CASE}")["taken_by"] is None


def test_only_a_case_can_be_taken(client: Client) -> None:
    assert post(client, "/mentions/x:404/take", {}, "maya")[0] == 404
    assert post(client, "/mentions/x:404/leave", b"", "maya")[0] == 404
    for path in (f"/mentions/{CASE}/take", f"/mentions/{CASE}/leave"):
        assert client.http.post(path, headers={}, body=b"{}").status_code == 401


@pytest.mark.usefixtures("routed")
def test_switchboard_take_leave_and_the_waiting_list(
    api_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run("take", CASE, "--minutes", "15", "--url", api_url)
    assert code == 0 and out.startswith(f"{CASE} is yours until ") and "(in 1" in out
    code, out = run("waiting", "support", "--url", api_url)
    assert out.splitlines()[0] == "1 waiting in support, 1 taken"
    assert "(taken by admin until " in out.splitlines()[1]
    code, out = run("waiting", "support", "--free", "--url", api_url)
    assert out.splitlines() == ["1 waiting in support, 1 taken"]  # nothing left to pick up
    code, out = run("mention", CASE, "--url", api_url)
    assert "  taken until: " in out and "(by admin)" in out
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "sam")
    capsys.readouterr()
    code, _ = run("reply", CASE, "Sorry!", "--url", api_url)
    assert code == 2 and "is taken by admin until" in capsys.readouterr().err
    code, out = run("reply", CASE, "Sorry!", "--force", "--wait", "0", "--url", api_url)
    assert code == 0 and ": queued" in out.splitlines()[0]
    monkeypatch.delenv("SWITCHBOARD_AUTHOR")
    code, out = run("leave", CASE, "--url", api_url)
    assert (code, out.strip()) == (0, f"{CASE} is free for anyone to take or answer")
    code, out = run("take", CASE, "--for", "maya", "--url", api_url)
    assert code == 0 and out.startswith(f"{CASE} is maya's until ")
    assert out.rstrip().endswith("others' replies wait for them")
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "maya")
    code, out = run("waiting", "support", "--mine", "--url", api_url)
    lines = out.splitlines()
    assert lines[0] == "1 waiting in support, 1 taken by you" and lines[1].startswith(
        f"[NORMAL] {CASE}"
    )


def test_next_takes_the_free_case_due_soonest_and_two_people_get_two(
    client: Client, stack: dict[str, str]
) -> None:
    for sample in ("x_late_delivery.json", "x_chasing.json"):  # normal then high: due sooner
        deliver(client, stack, "x", sample_bytes(sample))
    due = [w["id"] for w in get(client, "/departments/support/waiting")["waiting"]]
    assert len(due) == 2
    status, first = post(client, "/departments/support/next", {"minutes": 10}, "maya")
    assert status == 200 and first["next"]["id"] == due[0]
    assert first["next"]["taken_by"] == "maya"
    status, second = post(client, "/departments/support/next", {}, "sam")
    assert second["next"]["id"] == due[1] and second["next"]["taken_by"] == "sam"
    assert post(client, "/departments/support/next", {}, "ana") == (
        200,
        {"department": "support", "next": None, "languages": [], "back": False},
    )
    assert post(client, "/departments/legal/next", {}, "ana")[0] == 404
    assert post(client, "/departments/support/next", {"minutes": 0}, "ana")[0] == 400


@pytest.mark.usefixtures("routed")
def test_switchboard_next(api_url: str) -> None:
    code, out = run("next", "support", "--for", "maya", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"{CASE} is maya's until ")
    assert lines[1].startswith(f"[NORMAL] {CASE}  x/mention in en  by danakim")
    code, out = run("next", "support", "--url", api_url)
    assert (code, out) == (0, "nothing waits in support that nobody has taken\n")
