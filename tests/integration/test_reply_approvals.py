"""Replies that need a second person's approval (APPROVAL_DEPARTMENTS): pending, approved and
posted once, or rejected and never posted; over HTTP on moto, against the fake platform APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import food_safety_thread
from tests.integration.conftest import bodies, post_signed
from tests.integration.test_native_answers import worker_environment
from tests.integration.test_replies import AUTH, drain_outbox, get, reply, routed
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

CASE = "x:1992000000000000002"  # the food-safety allegation: routed to pr


@pytest.fixture(autouse=True)
def pr_needs_approval() -> Iterator[None]:
    """PR's statements are approved by a second person before they are posted."""
    yield from worker_environment(APPROVAL_DEPARTMENTS="pr")


def allegation(client: Client, stack: dict[str, str]) -> None:
    """The food-safety post, routed to pr, without the brand's answer."""
    assert post_signed(client, "x", food_safety_thread(0)).status_code == 200
    drain_intake(stack)


def as_(who: str) -> dict[str, str]:
    return {**AUTH, "X-Switchboard-Author": who}


def review(client: Client, reply_id: str, action: str, who: str, body: Any = None) -> Any:
    response = client.http.post(
        f"/replies/{reply_id}/{action}", headers=as_(who), body=json.dumps(body or {}).encode()
    )
    return response.status_code, json.loads(response.body)


def drafted(client: Client, text: str, author: str = "maya") -> str:
    response = client.http.post(
        "/replies", headers=as_(author), body=json.dumps({"mention_id": CASE, "text": text})
    )
    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["status"] == "pending"  # not posted, not queued
    return str(body["reply_id"])


def test_a_pr_reply_is_posted_only_once_a_second_person_approves_it(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    allegation(client, stack)
    reply_id = drafted(client, "We are very sorry. Our safety team is investigating.")
    drain_outbox(stack)
    assert fakes.accepted("x", "POST") == []
    case, notice = bodies(stack["pr"])  # the case, then news that a reply to it waits
    assert notice["mention"]["id"] == CASE and notice["routing"]["tags"][-1] == "awaiting-approval"
    assert "awaiting-approval" not in case["routing"]["tags"]
    [pending] = get(client, "/departments/pr/approvals")["pending"]
    assert (pending["reply_id"], pending["author"], pending["status"]) == (
        reply_id,
        "maya",
        "pending",
    )
    assert get(client, "/departments/support/approvals")["pending"] == []

    status, answer = review(client, reply_id, "approve", "maya")
    assert status == 403 and "someone other than its author" in answer["message"]
    status, approved = review(client, reply_id, "approve", "sam")
    assert status == 200 and approved["status"] == "queued" and approved["reviewed_by"] == "sam"
    assert get(client, "/departments/pr/approvals")["pending"] == []
    drain_outbox(stack)
    [posted] = fakes.accepted("x", "POST")
    assert posted.body["text"] == "We are very sorry. Our safety team is investigating."
    sent = get(client, f"/replies/{reply_id}")
    assert sent["status"] == "sent" and sent["reviewed_at"]
    assert review(client, reply_id, "approve", "sam")[0] == 200  # again: nothing more happens
    drain_outbox(stack)
    assert len(fakes.accepted("x", "POST")) == 1
    assert (
        get(client, f"/mentions/{CASE}")["first_response_post"] == f"x:{sent['platform_reply_id']}"
    )


def test_a_rejected_reply_is_never_posted_and_the_case_keeps_waiting(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    allegation(client, stack)
    reply_id = drafted(client, "lol not our fault")
    status, rejected = review(client, reply_id, "reject", "sam", {"reason": "tone; legal first"})
    assert status == 200 and rejected["status"] == "rejected"
    assert (rejected["reviewed_by"], rejected["rejected_reason"]) == ("sam", "tone; legal first")
    assert review(client, reply_id, "approve", "lee")[0] == 409
    assert review(client, reply_id, "reject", "lee", {})[0] == 400  # a reason is required
    drain_outbox(stack)
    assert fakes.accepted("x", "POST") == []
    assert get(client, f"/mentions/{CASE}")["first_response_at"] is None  # still to answer


def test_a_pr_case_needs_approval_whoever_answers_it(client: Client, stack: dict[str, str]) -> None:
    allegation(client, stack)
    body = {"mention_id": CASE, "text": "DM us", "department": "support"}  # support answering
    status, answer = reply(client, body)
    assert status == 202 and answer["status"] == "pending"
    [pending] = get(client, "/departments/pr/approvals")["pending"]  # PR approves it
    assert (pending["department"], pending["approval_department"]) == ("support", "pr")


def next_for(client: Client, who: str) -> Any:
    response = client.http.post("/departments/pr/next", headers=as_(who), body=b"{}")
    assert response.status_code == 200
    return json.loads(response.body)["next"]


def test_nobody_else_answers_a_case_whose_answer_waits_for_approval(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, api_url: str
) -> None:
    allegation(client, stack)
    first = drafted(client, "We are very sorry. Our safety team is investigating.")
    also = drafted(client, "We have sent you a direct message.")  # its author may add to it
    [waiting] = get(client, "/departments/pr/waiting")["waiting"]
    assert waiting["awaiting_approval"] == {"reply_id": first, "author": "maya"}
    code, out = run("waiting", "pr", "--free", "--url", api_url)
    assert (code, out) == (0, "1 waiting in pr, 1 answered, waiting for approval\n")
    code, out = run("waiting", "pr", "--url", api_url)
    assert f"  (answered by maya, waiting for approval: {first})\n" in out
    roster = get(client, "/departments/pr/shifts")
    assert (roster["unassigned"], roster["awaiting_approval"]) == (0, 1)
    code, out = run("shifts", "pr", "--url", api_url)
    assert out.endswith("waiting cases nobody has: 0 (and 1 answered, waiting for approval)\n")
    body = {"mention_id": CASE, "text": "So sorry, DM us!"}
    response = client.http.post("/replies", headers=as_("lee"), body=json.dumps(body))
    assert response.status_code == 409
    assert json.loads(response.body)["message"] == (
        f"{CASE} has an answer by maya waiting for approval ({first}): approve or reject it"
        " first, or send with force to answer anyway"
    )
    assert next_for(client, "lee") is None  # the only case in pr: its answer is written
    for reply_id in (first, also):
        assert review(client, reply_id, "reject", "sam", {"reason": "legal first"})[0] == 200
    assert next_for(client, "lee")["id"] == CASE  # rejected: someone must answer it again
    response = client.http.post("/replies", headers=as_("lee"), body=json.dumps(body))
    assert response.status_code == 202
    forced = {**body, "text": "Sorry, DM us.", "force": True}
    response = client.http.post("/replies", headers=as_("ana"), body=json.dumps(forced))
    assert response.status_code == 202  # forced past lee's take and his pending answer
    drain_outbox(stack)
    assert fakes.accepted("x", "POST") == []


def test_a_reply_whose_case_was_closed_since_is_approved_only_with_force(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, api_url: str
) -> None:
    allegation(client, stack)
    reply_id = drafted(client, "We are very sorry. Our safety team is investigating.")
    body = json.dumps({"reason": "legal answered by phone"})
    closed = client.http.post(f"/mentions/{CASE}/close", headers=as_("lee"), body=body)
    assert closed.status_code == 200
    status, refused = review(client, reply_id, "approve", "sam")
    assert status == 409 and refused["message"].startswith(f"{CASE} was closed at 20")
    assert refused["message"].endswith(
        f" by lee: legal answered by phone after {reply_id} was written: reject it, or approve"
        " it with force to post it as well"
    )
    assert get(client, f"/replies/{reply_id}")["status"] == "pending"  # nothing approved
    code, out = run("approve", reply_id, "--force", "--wait", "0", "--url", api_url)
    assert code == 0 and out.startswith(f"{reply_id}: approved by ")
    drain_outbox(stack)
    [posted] = fakes.accepted("x", "POST")
    assert posted.body["text"].startswith("We are very sorry.")


def test_a_reply_whose_case_was_answered_on_the_platform_since_is_held_back(
    client: Client, stack: dict[str, str]
) -> None:
    allegation(client, stack)
    reply_id = drafted(client, "We are very sorry. Our safety team is investigating.")
    # the brand's team answered from X's own app meanwhile
    assert wiring.mentions().record_response(CASE, datetime.now(UTC), "x:1992000000000000999")
    status, refused = review(client, reply_id, "approve", "sam")
    assert status == 409 and "(x:1992000000000000999) after" in refused["message"]
    assert refused["message"].startswith(f"{CASE} was answered at 20")


def test_replies_of_other_departments_and_unknown_ones_are_not_reviewed(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # support: posted without approval
    status, queued = reply(client, {"mention_id": "x:1992000000000000001", "text": "Sorry!"})
    assert status == 202 and queued["status"] == "queued"
    status, answer = review(client, queued["reply_id"], "approve", "sam")
    assert status == 409 and "not waiting for approval" in answer["message"]
    assert review(client, "r_nope", "approve", "sam")[0] == 404
    response = client.http.get("/departments/legal/approvals", headers=AUTH)
    assert response.status_code == 404
    for limit in ("0", "201", "ten"):
        response = client.http.get(f"/departments/pr/approvals?limit={limit}", headers=AUTH)
        assert response.status_code == 400, limit
        assert json.loads(response.body)["error"] == "malformed"
    response = client.http.post("/replies/r_1/reject", headers=AUTH, body=b"{not json")
    assert response.status_code == 400
    unauthenticated = client.http.post("/replies/r_1/approve", body=b"{}")
    assert unauthenticated.status_code == 401


def test_the_approval_flow_from_the_shell(
    api_url: str,
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allegation(client, stack)
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "maya")
    code, out = run("reply", CASE, "We are investigating with the Leeds store.", "--url", api_url)
    assert code == 0
    pending, how = out.splitlines()
    reply_id = pending.split(":")[0]
    assert pending == f"{reply_id}: pending"
    assert how == f"waits for someone else's approval: switchboard approve {reply_id}"
    code, out = run("approvals", "pr", "--url", api_url)
    assert code == 0 and out.splitlines()[0] == "1 waiting for approval in pr"
    assert out.splitlines()[1].startswith(f"{reply_id}  to {CASE}  by maya")
    assert out.splitlines()[2] == "  reply:     We are investigating with the Leeds store."
    assert out.splitlines()[3].startswith("  answering: @AcmeHelp Three of us ended up in hospital")
    assert out.splitlines()[4].startswith("  reply by: 2026-11-22T08:20:00+00:00 (overdue by ")
    code, _ = run("approve", reply_id, "--url", api_url)  # her own: refused
    assert code != 0
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "sam")
    code, out = run("approve", reply_id, "--url", api_url, "--wait", "0")
    assert code == 0 and out.splitlines()[0] == f"{reply_id}: approved by sam"
    drain_outbox(stack)
    [posted] = fakes.accepted("x", "POST")
    assert posted.body["text"] == "We are investigating with the Leeds store."
    second = drafted(client, "Another statement")
    code, out = run("reject", second, "legal has not signed off", "--url", api_url)
    assert (code, out.strip()) == (0, f"{second}: rejected by sam: legal has not signed off")


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> None:
    """PR's alert channel, and maya's own chat."""
    monkeypatch.setenv("ALERT_CHANNELS", json.dumps({"pr": "C0PR"}))
    monkeypatch.setenv("AGENT_CHANNELS", json.dumps({"maya": "U0MAYA"}))
    wiring.reset()


@pytest.mark.usefixtures("told")
def test_the_approvers_channel_hears_of_a_draft_and_its_author_of_the_verdict(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    allegation(client, stack)
    first = drafted(client, "We are very sorry. Our safety team is investigating.")
    assert review(client, first, "approve", "sam")[0] == 200
    second = drafted(client, "A second part, on refunds.")
    assert review(client, second, "reject", "sam", {"reason": "legal first"})[0] == 200
    assert review(client, second, "reject", "sam", {"reason": "again"})[0] == 200  # told once
    drain_outbox(stack)
    posted = [r for r in fakes.accepted("slack") if r.path.endswith("chat.postMessage")]
    told = [(r.body["channel"], r.body["text"].split("*:")[0]) for r in posted]
    assert told == [
        ("C0PR", "*[URGENT] new case for pr (also support)"),  # as routed
        ("C0PR", f'*[URGENT] maya\'s reply ({first}) waits for approval in pr: "We are very'
         ' sorry. Our safety team is investigating."'),
        ("U0MAYA", f"*[URGENT] sam approved your reply ({first}) to a pr case: it is on its way"),
        ("C0PR", f"*[URGENT] maya's reply ({second}) waits for approval in pr:"
         ' "A second part, on refunds."'),
        ("U0MAYA", f'*[URGENT] sam rejected your reply ({second}) to a pr case: "legal first"'),
    ]  # fmt: skip
