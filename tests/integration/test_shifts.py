"""Shifts: the people on shift in a department are given its new cases in turn, each theirs
alone for ASSIGNMENT_MINUTES; ending a shift gives back what waits (`/departments/{d}/shifts`,
`switchboard shift` and `shifts`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.devstack import scheduled_event
from tests.integration.conftest import bodies
from tests.integration.test_native_answers import deliver, messenger, worker_environment
from tests.integration.test_replies import AUTH, drain_outbox, get, reply, routed
from tests.integration.test_rules_cli import run

LATE, CHASING, REFUND = "x:1992000000000000001", "x:1992000000000000005", "x:1992000000000000100"


def as_(who: str) -> dict[str, str]:
    return {**AUTH, "X-Switchboard-Author": who}


def shift(client: Client, who: str, path: str = "", body: Any = None) -> tuple[int, Any]:
    raw = json.dumps({"hours": 8} if body is None else body).encode()
    response = client.http.post(f"/departments/support/shifts{path}", headers=as_(who), body=raw)
    return response.status_code, json.loads(response.body)


def on_shift(client: Client) -> list[dict[str, Any]]:
    response = client.http.get("/departments/support/shifts", headers=AUTH)
    assert response.status_code == 200
    return list(json.loads(response.body)["on_shift"])


def test_new_cases_are_given_in_turn_to_those_on_shift_each_theirs_for_a_while(
    client: Client, stack: dict[str, str]
) -> None:
    for who in ("sam", "maya"):
        status, started = shift(client, who)
        assert status == 200 and started["agent"] == who and started["department"] == "support"
    for sample in ("x_late_delivery.json", "x_chasing.json", "x_dm_refund.json"):
        routed(client, stack, "x", sample)
    routed(client, stack, "x", "x_food_safety_thread.json")
    given = {m["mention"]["id"]: m["routing"]["assigned_to"] for m in bodies(stack["support"])}
    # maya and sam had never been given one: by name first; Dana chasing her first case goes
    # to whoever has it (one answer answers both), and sam, whose turn it was, gets the next
    assert [given[LATE], given[CHASING], given[REFUND]] == ["maya", "maya", "sam"]
    assert given["x:1992000000000000002"] is None  # the food-safety copy: pr's case, nobody on
    late = get(client, f"/mentions/{LATE}")
    assert late["taken_by"] == "maya"
    until = datetime.fromisoformat(late["taken_until"])
    assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
    status, refused = reply(client, {"mention_id": LATE, "text": "On it!"})  # as admin
    assert status == 409 and "taken by maya" in refused["message"]
    mine = client.http.get("/departments/support/waiting?mine=true", headers=as_("maya"))
    assert sorted(r["id"] for r in json.loads(mine.body)["waiting"]) == [LATE, CHASING]
    # sam is next although maya was given a case longer ago: he has none waiting (his direct
    # message came with the brand's answer in the same delivery), she has two
    assert [(s["agent"], s["holding"]) for s in on_shift(client)] == [("sam", 0), ("maya", 2)]

    status, ended = shift(client, "maya", "/end", {})
    assert status == 200 and ended["ended"] and sorted(ended["released"]) == [LATE, CHASING]
    assert get(client, f"/mentions/{LATE}")["taken_by"] is None  # free for anyone now
    assert [s["agent"] for s in on_shift(client)] == ["sam"]
    assert get(client, "/departments/support/shifts")["unassigned"] == 2
    assert shift(client, "maya", "/end", {})[1]["ended"] is False


def test_a_follow_up_stays_with_whoever_has_its_case(client: Client, stack: dict[str, str]) -> None:
    shift(client, "maya")
    deliver(client, stack, "meta", messenger("m_first", "My parcel is lost", 0))
    shift(client, "sam")  # sam would be next for a new case
    deliver(client, stack, "meta", messenger("m_again", "Order 1182, by the way", 1))
    cases = {m["mention"]["id"]: m["routing"] for m in bodies(stack["support"])}
    assert cases["messenger:m_first"]["assigned_to"] == "maya"
    follow_up = cases["messenger:m_again"]
    assert follow_up["assigned_to"] is None and follow_up["conversation"]
    assert get(client, "/mentions/messenger:m_again")["taken_by"] == "maya"  # her case's


def test_nobody_on_shift_leaves_new_cases_to_anyone_but_a_chase_to_who_has_the_first(
    client: Client, stack: dict[str, str]
) -> None:
    shift(client, "maya", body={"hours": 1})
    shift(client, "maya", "/end", {})
    routed(client, stack, "x", "x_late_delivery.json")
    [case] = bodies(stack["support"])
    assert case["routing"]["assigned_to"] is None
    assert get(client, f"/mentions/{LATE}")["taken_by"] is None
    took = client.http.post(f"/mentions/{LATE}/take", headers=as_("ana"), body=b"{}")
    assert took.status_code == 200
    routed(client, stack, "x", "x_chasing.json")
    [chase] = bodies(stack["support"])
    assert chase["routing"]["assigned_to"] == "ana"
    assert get(client, f"/mentions/{CHASING}")["taken_by"] == "ana"


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/departments/legal/shifts", {"hours": 8}, 404, "no department 'legal'"),
        ("/departments/support/shifts", {"hours": 25}, 400, "hours"),
        ("/departments/support/shifts", {"hours": 0}, 400, "hours"),
        ("/departments/support/shifts", {"minutes": 5}, 400, "minutes"),
        ("/departments/support/shifts", {"capacity": 0}, 400, "capacity"),
        ("/departments/support/shifts", {"capacity": 101}, 400, "capacity"),
        ("/departments/support/shifts", {"languages": ["spanish"]}, 400, "ISO 639-1"),
        ("/departments/support/shifts", {"languages": "es"}, 400, "languages"),
        ("/departments/support/shifts/end", {"for": ""}, 400, "for"),
        ("/departments/support/shifts/away", {"for": "nobody"}, 404, "nobody is not on shift"),
        ("/departments/support/shifts/away", {"away": "maybe"}, 400, "away"),
    ],
)
def test_a_shift_that_cannot_be_is_refused_saying_why(
    client: Client, stack: dict[str, str], path: str, body: Any, status: int, says: str
) -> None:
    response = client.http.post(path, headers=AUTH, body=json.dumps(body).encode())
    assert response.status_code == status and says in json.loads(response.body)["message"]


def test_switchboard_shift_and_shifts(client: Client, stack: dict[str, str], api_url: str) -> None:
    code, out = run("shifts", "support", "--url", api_url)
    assert (code, out) == (
        0,
        "nobody is on shift in support: new cases wait for anyone\nwaiting cases nobody has: 0\n",
    )
    code, out = run("shift", "support", "--hours", "4", "--for", "maya", "--url", api_url)
    assert code == 0 and out.startswith("maya is on shift in support until ")
    assert "(in 4 h)" in out or "(in 3 h 59 min)" in out
    routed(client, stack, "x", "x_late_delivery.json")
    code, out = run("shifts", "support", "--url", api_url)
    assert out.startswith("1 on shift in support, next given a new case first\nmaya  until ")
    assert out.endswith("waiting cases they have: 1\nwaiting cases nobody has: 0\n")
    code, out = run("shift", "support", "--end", "--for", "maya", "--url", api_url)
    assert out == f"maya's shift in support ended\ngiven back, free for anyone: {LATE}\n"


def test_someone_full_is_given_no_new_case_but_still_their_customers_chase(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    code, out = run("shift", "support", "--for", "maya", "--capacity", "1", "--url", api_url)
    assert code == 0 and out.endswith(
        "the least busy first\nnever more than 1 waiting at once, topped up from the cases"
        " nobody has\n"
    )
    routed(client, stack, "x", "x_late_delivery.json")
    deliver(client, stack, "meta", messenger("m_other", "My parcel is lost", 0))
    given = {m["mention"]["id"]: m["routing"]["assigned_to"] for m in bodies(stack["support"])}
    assert given == {LATE: "maya", "messenger:m_other": None}  # she is full: it waits for anyone
    assert get(client, "/mentions/messenger:m_other")["taken_by"] is None
    code, out = run("shifts", "support", "--url", api_url)
    assert out.rstrip().endswith(
        "waiting cases they have: 1 of 1 (full: given none until they answer one)\n"
        "waiting cases nobody has: 1"
    )
    routed(client, stack, "x", "x_chasing.json")  # Dana again: one answer answers both
    [chase] = bodies(stack["support"])
    assert chase["routing"]["assigned_to"] == "maya"


def test_cases_that_waited_for_anyone_are_given_out_each_minute_to_whoever_has_room(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    from app import app

    routed(client, stack, "x", "x_late_delivery.json")  # nobody on shift: it waits for anyone
    assert get(client, f"/mentions/{LATE}")["taken_by"] is None
    shift(client, "sam")  # no capacity: asks for cases with `next`, is not topped up
    status, started = shift(client, "maya", body={"hours": 8, "capacity": 1})
    assert status == 200 and started["capacity"] == 1
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result == {"escalated": [LATE], "given": [f"{LATE} to maya"], "digests": []}
    assert get(client, f"/mentions/{LATE}")["taken_by"] == "maya"
    _, out = run("waiting", "support", "--url", api_url)
    assert "(taken by maya until" in out
    assert app.handler_map["check_sla"](scheduled_event(), None)["given"] == []


@pytest.fixture
def support_keeps_cases_longer() -> Iterator[None]:
    yield from worker_environment(ASSIGNMENT_DEPARTMENT_MINUTES='{"support": 90}')


@pytest.mark.usefixtures("support_keeps_cases_longer")
def test_a_department_can_keep_the_cases_it_gives_out_longer(
    client: Client, stack: dict[str, str]
) -> None:
    assert shift(client, "maya")[0] == 200
    routed(client, stack, "x", "x_late_delivery.json")
    late = get(client, f"/mentions/{LATE}")
    assert late["taken_by"] == "maya"
    until = datetime.fromisoformat(late["taken_until"])
    assert timedelta(minutes=89) < until - datetime.now(UTC) <= timedelta(minutes=90)


def test_a_case_left_unanswered_past_its_take_is_passed_on_to_someone_else(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    routed(client, stack, "x", "x_late_delivery.json")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert wiring.mentions().take(LATE, "lee", hour_ago, hour_ago + timedelta(minutes=30))
    for who in ("lee", "maya"):  # lee, first by name, let it run out: maya is given it
        assert shift(client, who, body={"hours": 8, "capacity": 2})[0] == 200
    bodies(stack["support"])  # the case as routed
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result["given"] == [f"{LATE} to maya (passed on from lee)"]
    assert get(client, f"/mentions/{LATE}")["taken_by"] == "maya"
    [news] = [m for m in bodies(stack["support"]) if m["routing"]["tags"][-1] == "given"]
    assert (news["mention"]["id"], news["routing"]["assigned_to"]) == (LATE, "maya")
    people = get(client, "/departments/support/report")["by_person"]  # the lead sees who
    assert people == [
        {"agent": "lee", "answered": 0, "on_time": 0, "first_response_p50": None, "passed_on": 1}
    ]

    # maya lets it run out too: it goes back to neither (no ping-pong), it waits for anyone
    assert wiring.mentions().take(LATE, "maya", hour_ago, hour_ago + timedelta(minutes=30))
    assert app.handler_map["check_sla"](scheduled_event(), None)["given"] == []
    left = get(client, f"/mentions/{LATE}")
    assert (left["taken_by"], left["passed_over"]) == ("maya", ["lee"])  # her take, ended
    assert shift(client, "sam", body={"hours": 8, "capacity": 2})[0] == 200  # someone new
    result = app.handler_map["check_sla"](scheduled_event(), None)
    assert result["given"] == [f"{LATE} to sam (passed on from maya)"]
    assert get(client, f"/mentions/{LATE}")["passed_over"] == ["lee", "maya"]


def test_a_case_goes_to_someone_on_shift_who_answers_in_its_language(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    code, out = run("shift", "support", "--for", "sofia", "--languages", "es, pt", "--url", api_url)
    assert code == 0 and out.endswith("only cases in es, pt (or in no known language)\n")
    run("shift", "support", "--for", "ben", "--languages", "en", "--url", api_url)
    spanish = "Hola, mi pedido no ha llegado todavía y nadie me responde. ¿Pueden ayudarme?"
    deliver(client, stack, "meta", messenger("m_es", spanish, 0))
    for sample in ("x_late_delivery.json", "x_dm_refund.json"):
        routed(client, stack, "x", sample)
    given = {m["mention"]["id"]: m["routing"] for m in bodies(stack["support"])}
    assert given["messenger:m_es"]["signals"]["lang"] == "es"
    # ben was next by name, but answers in English only; then each has one waiting, and it
    # is sofia's turn, but the refund request is in English
    assert given["messenger:m_es"]["assigned_to"] == "sofia"
    assert [given[LATE]["assigned_to"], given[REFUND]["assigned_to"]] == ["ben", "ben"]
    _, out = run("shifts", "support", "--url", api_url)
    assert "waiting cases they have: 1  answers in: es, pt" in out


def test_next_gives_someone_on_shift_a_case_in_a_language_they_answer_in(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # English, due first; nobody on shift
    spanish = "Hola, mi pedido no ha llegado todavía y nadie me responde. ¿Pueden ayudarme?"
    deliver(client, stack, "meta", messenger("m_es", spanish, 0))
    shift(client, "sofia", body={"hours": 8, "languages": ["es"]})

    def next_for(who: str) -> dict[str, Any]:
        response = client.http.post("/departments/support/next", headers=as_(who), body=b"{}")
        assert response.status_code == 200
        return dict(json.loads(response.body))

    took = next_for("sofia")
    assert (took["next"]["id"], took["languages"]) == ("messenger:m_es", ["es"])
    assert next_for("sofia")["next"] is None  # the English case is not hers to take
    assert next_for("ana")["next"]["id"] == LATE  # not on shift: any language
    run("shift", "support", "--for", "ana", "--languages", "en", "--url", api_url)
    code, out = run("next", "support", "--for", "ana", "--url", api_url)
    assert (code, out) == (0, "nothing waits in support in en that nobody has taken\n")


def test_someone_away_keeps_their_cases_and_is_given_no_new_one_until_back(
    client: Client, stack: dict[str, str], api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("shift", "support", "--for", "maya", "--url", api_url)
    routed(client, stack, "x", "x_late_delivery.json")  # maya's
    code, out = run("shift", "support", "--for", "maya", "--away", "--url", api_url)
    assert (code, out) == (
        0,
        "maya on shift in support is away: given no new case, keeping theirs\n",
    )
    _, out = run("shifts", "support", "--url", api_url)
    assert "maya  (away)  until " in out
    routed(client, stack, "x", "x_dm_refund.json")  # nobody else on: for anyone
    given = {m["mention"]["id"]: m["routing"]["assigned_to"] for m in bodies(stack["support"])}
    assert given == {LATE: "maya", REFUND: None}
    assert get(client, f"/mentions/{LATE}")["taken_by"] == "maya"  # still hers
    code, out = run("shift", "support", "--for", "maya", "--back", "--url", api_url)
    assert out == "maya on shift in support is back: given cases\n"
    deliver(client, stack, "meta", messenger("m_new", "My parcel is lost", 0))
    [case] = bodies(stack["support"])
    assert case["routing"]["assigned_to"] == "maya"
    # away again, she asks for the next case herself: that is her back (a lead asking for her
    # is not)
    run("shift", "support", "--for", "maya", "--away", "--url", api_url)
    code, out = run("next", "support", "--for", "maya", "--url", api_url)
    assert code == 0 and not out.startswith("back")
    assert on_shift(client)[0]["away"] is True
    monkeypatch.setenv("SWITCHBOARD_AUTHOR", "maya")
    code, out = run("next", "support", "--url", api_url)
    assert code == 0 and out.startswith("back on shift in support: given cases again\n")
    assert [s["away"] for s in on_shift(client)] == [False]


@pytest.mark.usefixtures("fakes")
def test_a_customer_writing_back_goes_to_whoever_answered_them_while_at_work(
    client: Client, stack: dict[str, str]
) -> None:
    for who in ("maya", "sam"):
        shift(client, who)
    deliver(client, stack, "meta", messenger("m_first", "My parcel is lost", 0))  # to maya
    answer = json.dumps({"mention_id": "messenger:m_first", "text": "Sorry! Your order number?"})
    assert client.http.post("/replies", headers=as_("maya"), body=answer).status_code == 202
    drain_outbox(stack)
    assert get(client, "/mentions/messenger:m_first")["first_response_by"] == "maya"
    assert client.http.post("/mentions/messenger:m_first/leave", headers=as_("maya")).status_code
    # the customer answers her question: sam's turn for a new case, but this one is hers
    deliver(client, stack, "meta", messenger("m_back", "It is 1182", 10))
    sent = {m["mention"]["id"]: m["routing"] for m in bodies(stack["support"])}
    back = sent["messenger:m_back"]
    assert back["conversation"]["mention_id"] == "messenger:m_first"
    assert back["assigned_to"] == "maya"
    assert get(client, "/mentions/messenger:m_back")["taken_by"] == "maya"
    # on a break, she is not given it: it waits for anyone, as any follow-up nobody has
    answer = json.dumps({"mention_id": "messenger:m_back", "text": "Thanks, looking now"})
    assert client.http.post("/replies", headers=as_("maya"), body=answer).status_code == 202
    drain_outbox(stack)
    assert client.http.post("/mentions/messenger:m_back/leave", headers=as_("maya")).status_code
    assert shift(client, "maya", "/away", {"away": True})[0] == 200
    deliver(client, stack, "meta", messenger("m_more", "Any news?", 20))
    more = {m["mention"]["id"]: m["routing"] for m in bodies(stack["support"])}["messenger:m_more"]
    assert more["assigned_to"] is None
    assert get(client, "/mentions/messenger:m_more")["taken_by"] is None
