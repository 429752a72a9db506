"""Hiding comments on their platforms: by a person (`POST /mentions/{id}/hide`) and by a rule
(`then: {hide: true}`, through the outbox), against the fake platform APIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.cli_text import format_dry_run
from chalicelib.devstack import scheduled_event
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.models import Author, Mention
from chalicelib.services.dead_letters import summarise
from tests.integration.conftest import bodies, post_signed, receive_all
from tests.integration.test_admin_api import call, live
from tests.integration.test_replies import AUTH, drain_outbox, get, moderation, routed, store
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

COMMENT = "facebook:122131676912594941_1213590066982748"  # meta_page_comments.json, to pr
IG_COMMENT = "instagram:17865799348089039"  # meta_instagram_comment.json, to marketing
X_REPLY = "x:1992000000000000002"  # x_food_safety_thread.json: a reply to the brand, to pr
MAYA = {**AUTH, "X-Switchboard-Author": "maya"}


def hide(client: Client, mention_id: str, reason: str | None = "abuse") -> tuple[int, Any]:
    body = {} if reason is None else {"reason": reason}
    response = client.http.post(
        f"/mentions/{mention_id}/hide", headers=MAYA, body=json.dumps(body).encode()
    )
    return response.status_code, json.loads(response.body)


def unhide(client: Client, mention_id: str) -> tuple[int, Any]:
    response = client.http.post(f"/mentions/{mention_id}/unhide", headers=MAYA, body=b"{}")
    return response.status_code, json.loads(response.body)


def test_a_person_hides_a_facebook_comment_on_the_page_then_shows_it_again(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")  # posted long ago: overdue
    for department in ("pr", "support"):
        receive_all(stack[department])
    status, record = hide(client, COMMENT, "threatens staff by name")
    assert status == 200, record
    assert record["hidden_at"] and record["hidden_by"] == "maya"
    assert record["hidden_reason"] == "threatens staff by name"
    [call_made] = [r for r in fakes.accepted("graph") if r.path.endswith("1213590066982748")]
    assert call_made.body == {"is_hidden": "true"}  # POST /{comment-id}, the Page token
    assert fakes.hidden[COMMENT] is True
    for department in ("pr", "support"):
        [copy] = bodies(stack[department])
        assert copy["routing"]["tags"][-1] == "hidden"
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [],
        "given": [],
        "digests": [],
    }
    # Meta tells of the Page's own hide: the case is hidden already, nothing more is sent
    assert post_signed(client, "meta", moderation("hide")).status_code == 200
    drain_intake(stack)
    assert bodies(stack["pr"]) == []
    assert get(client, f"/mentions/{COMMENT}")["hidden_by"] == "maya"

    status, record = unhide(client, COMMENT)
    assert status == 200 and record["hidden_at"] is None and record["hidden_by"] is None
    assert fakes.hidden[COMMENT] is False
    assert [m["routing"]["tags"][-1] for m in bodies(stack["pr"])] == ["unhidden"]
    assert app.handler_map["check_sla"](scheduled_event(), None) == {
        "escalated": [COMMENT],
        "given": [],
        "digests": [],
    }


def test_each_platform_is_asked_the_way_it_documents(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_instagram_comment.json")
    routed(client, stack, "x", "x_food_safety_thread.json")
    comment = Mention(
        id="youtube:UgzFakeComment1",
        platform="youtube",
        kind="comment",
        text="FREE GIFT CARDS at scam.example",
        author=Author(id="UCspam"),
        brand_account="UCbrand",
    )
    store(comment)
    for mention_id in (IG_COMMENT, X_REPLY, comment.id):
        status, record = hide(client, mention_id, "spam")
        assert status == 200 and record["hidden_at"], record
        assert fakes.hidden[mention_id] is True
    [instagram] = [r for r in fakes.accepted("graph") if r.path.endswith("17865799348089039")]
    assert instagram.body == {"hide": "true"}
    [x] = fakes.accepted("x", "PUT")  # OAuth 1.0a, checked
    assert x.path == "/x/2/tweets/1992000000000000002/hidden" and x.body == {"hidden": True}
    [youtube] = [r for r in fakes.accepted("youtube") if "setModerationStatus" in r.path]
    assert youtube.query == {"id": "UgzFakeComment1", "moderationStatus": "heldForReview"}
    assert unhide(client, comment.id)[0] == 200
    assert fakes.hidden[comment.id] is False


def test_what_cannot_be_hidden_is_refused_saying_why(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_late_delivery.json")  # a mention, not a reply to the brand
    routed(client, stack, "x", "x_dm_refund.json")
    routed(client, stack, "meta", "meta_instagram_mention.json")
    for mention_id, why in (
        ("x:1992000000000000001", "X hides replies to the brand only"),
        ("x:1992000000000000100", "direct message"),
        ("instagram:17894227972186120", "someone else's media"),
    ):
        status, body = hide(client, mention_id)
        assert status == 400 and why in body["message"], body
    assert hide(client, "x:404")[0] == 404
    status, body = hide(client, X_REPLY, reason=None)
    assert status == 400 and "reason" in body["message"]
    assert not [r for r in fakes.requests if r.method == "PUT" or "hide" in str(r.body)]


def test_a_platform_that_will_not_hide_it_is_a_502_with_its_words_and_nothing_changes(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "x", "x_food_safety_thread.json")
    receive_all(stack["pr"])
    fakes.fail_next(403, {"detail": "You cannot hide replies in conversations you did not start"})
    status, body = hide(client, X_REPLY)
    assert status == 502 and "conversations you did not start" in body["message"]
    assert get(client, f"/mentions/{X_REPLY}")["hidden_at"] is None
    assert bodies(stack["pr"]) == []


def test_a_deleted_comment_cannot_be_hidden(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    routed(client, stack, "meta", "meta_page_comments.json")
    assert post_signed(client, "meta", moderation("remove")).status_code == 200
    drain_intake(stack)
    status, body = hide(client, COMMENT)
    assert status == 409 and "deleted" in body["message"]


SCAM_RULE = {
    "id": "giveaway-scam",
    "order": 1,
    "when": {"text": {"contains_any": ["free gift cards", "crypto giveaway"]}},
    "then": {"skip": True, "hide": True},
}


def scam_routed(client: Client, stack: dict[str, str], comment_id: str) -> str:
    """SCAM_RULE published, then a visitor's scam comment routed; its mention id."""
    assert call(client, "POST", "/admin/rules", SCAM_RULE)[0] == 201
    assert post_signed(client, "meta", scam_comment(comment_id)).status_code == 200
    drain_intake(stack)
    return f"facebook:122131676912594941_{comment_id}"


def scam_comment(comment_id: str) -> bytes:
    """A Page feed delivery: a visitor's scam comment under the Page's post."""
    value = {
        "item": "comment",
        "verb": "add",
        "comment_id": f"122131676912594941_{comment_id}",
        "post_id": "448242228374517_122131676912594941",
        "parent_id": "448242228374517_122131676912594941",
        "message": "CRYPTO GIVEAWAY!!! send 0.1 BTC, get 1 back: scam.example",
        "from": {"id": "6051234567", "name": "Totally Real Support"},
        "created_time": int((datetime.now(UTC) - timedelta(minutes=2)).timestamp()),
    }
    entry = {"id": "448242228374517", "time": 1, "changes": [{"field": "feed", "value": value}]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def test_a_rule_hides_the_comments_it_matches_through_the_outbox(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    scam = scam_routed(client, stack, "77001")
    record = get(client, f"/mentions/{scam}")
    assert record["status"] == "ignored" and record["message"]["routing"]["hide"] == SCAM_RULE["id"]
    assert record["hidden_at"] is None  # not yet: the outbox worker hides it
    drain_outbox(stack)
    record = get(client, f"/mentions/{scam}")
    assert record["hidden_at"] and record["hidden_by"] == "rule:giveaway-scam"
    assert fakes.hidden[scam] is True
    drain_outbox(stack)  # nothing left: hidden once
    assert len([r for r in fakes.accepted("graph") if r.path.endswith("_77001")]) == 1


def test_a_rule_leaves_alone_what_its_platform_cannot_hide(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    then = {"route_to": "support", "hide": True}
    on_x = {"all": [{"platform": {"equals": "x"}}, {"kind": {"equals": "dm"}}]}
    rule = {**SCAM_RULE, "when": on_x, "then": then}
    assert call(client, "POST", "/admin/rules", rule)[0] == 201
    routed(client, stack, "x", "x_dm_refund.json")  # a direct message: nothing to hide
    record = get(client, "/mentions/x:1992000000000000100")
    assert record["message"]["routing"]["hide"] is None
    assert receive_all(stack["outbox"]) == []


def test_a_hide_the_platform_refuses_is_dead_lettered_with_its_reason(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    scam = scam_routed(client, stack, "77002")
    fakes.fail_next(400, {"error": {"message": "(#10) Permission denied", "code": 10}})
    drain_outbox(stack)
    [dead] = receive_all(stack["outbox-dlq"])
    error = dead["MessageAttributes"]["error"]["StringValue"]
    assert "Permission denied" in error and "giveaway-scam" in error
    assert summarise(dead["Body"]) == f"hide {scam} (rule giveaway-scam)"
    assert get(client, f"/mentions/{scam}")["hidden_at"] is None


@pytest.mark.parametrize("failure", [429, 503])
def test_a_hide_the_platform_cannot_do_now_is_tried_again(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, failure: int
) -> None:
    scam = scam_routed(client, stack, "77003")
    fakes.fail_next(failure, {"error": {"message": "try later", "code": 2}})
    drain_outbox(stack)  # put back for later: neither hidden nor dead-lettered
    assert receive_all(stack["outbox-dlq"]) == []
    assert get(client, f"/mentions/{scam}")["hidden_at"] is None


def test_switchboard_hide_and_unhide_and_the_case_history(
    client: Client,
    stack: dict[str, str],
    fakes: FakePlatforms,
    api_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    routed(client, stack, "x", "x_food_safety_thread.json")
    code, out = run("hide", X_REPLY, "doxxes a member of staff", "--url", api_url)
    assert (code, out) == (0, f"hidden on x: {X_REPLY} (by admin: doxxes a member of staff)\n")
    code, out = run("mention", X_REPLY, "--url", api_url)
    assert "  hidden: " in out and "(by admin: doxxes a member of staff: off the SLA clock)" in out
    code, out = run("unhide", X_REPLY, "--url", api_url)
    answered = "(answered already: off the SLA clock)"  # the brand answered it in the thread
    assert (code, out) == (0, f"shown again on x: {X_REPLY} {answered}\n")
    routed(client, stack, "x", "x_late_delivery.json")
    code, _ = run("hide", "x:1992000000000000001", "spam", "--url", api_url)
    assert code == 2 and "X hides replies to the brand only" in capsys.readouterr().err


def test_a_dry_run_lists_what_a_candidate_would_hide(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    for platform, sample in (("x", "x_food_safety_thread.json"), ("x", "x_late_delivery.json")):
        routed(client, stack, platform, sample)
    hide_x = {"id": "hide-x", "order": 0, "continue": True,
              "when": {"platform": {"equals": "x"}}, "then": {"hide": True}}  # fmt: skip
    rules = [hide_x, *live(client)["rules"]]
    status, report = call(client, "POST", "/admin/rules/test", {"rules": rules})
    assert status == 200
    [change] = report["changes"]  # the mention that is no reply cannot be hidden: no change
    assert change["id"] == X_REPLY
    assert (change["live"]["hide"], change["candidate"]["hide"]) == (None, "hide-x")
    assert change["candidate"]["department"] == change["live"]["department"] == "pr"
    shown = format_dry_run(report, "candidate.yaml")
    assert "  candidate: pr + support [urgent] tags: " in shown and " hidden by hide-x  (" in shown


def raid(client: Client, stack: dict[str, str], *comment_ids: str) -> None:
    """Scam comments under the Page's post, routed (no rule hides them)."""
    for comment_id in comment_ids:
        assert post_signed(client, "meta", scam_comment(comment_id)).status_code == 200
    drain_intake(stack)


GIVEAWAY = "text: {contains_any: [giveaway]}"


def test_a_raid_is_hidden_in_one_command_after_a_dry_run(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, api_url: str
) -> None:
    raid(client, stack, "88001", "88002", "88003")
    routed(client, stack, "meta", "meta_page_comments.json")  # a real customer: not matched
    hide(client, "facebook:122131676912594941_88003", "spam")  # one a colleague hid already
    code, out = run("hide-matching", GIVEAWAY, "crypto scam raid", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == (
        "2 of the 3 matching in the last 1 day(s) can be hidden; to hide them, run it again with"
        " --yes"
    )
    assert lines[1].startswith("facebook:122131676912594941_8800")
    assert lines[-1] == "left: 1 hidden already, deleted, or where nothing can be hidden"
    assert "facebook:122131676912594941_88001" not in fakes.hidden  # a dry run hides nothing
    code, out = run("hide-matching", GIVEAWAY, "crypto scam raid", "--yes", "--url", api_url)
    assert code == 0 and out.startswith("hid 2 of the 3 matching in the last 1 day(s): crypto")
    for comment_id in ("88001", "88002"):
        record = get(client, f"/mentions/facebook:122131676912594941_{comment_id}")
        assert (record["hidden_by"], record["hidden_reason"]) == ("admin", "crypto scam raid")
        assert fakes.hidden[f"facebook:122131676912594941_{comment_id}"] is True
    assert get(client, f"/mentions/{COMMENT}")["hidden_at"] is None


def test_what_a_platform_will_not_hide_in_a_raid_is_said_and_the_rest_hidden(
    client: Client, stack: dict[str, str], fakes: FakePlatforms, api_url: str
) -> None:
    raid(client, stack, "89001", "89002")
    fakes.fail_next(400, {"error": {"message": "(#10) Permission denied", "code": 10}})
    code, out = run("hide-matching", GIVEAWAY, "raid", "--yes", "--url", api_url)
    assert code == 1 and out.startswith("hid 1 of the 2 matching")
    [refused] = [line for line in out.splitlines() if line.startswith("not hidden: ")]
    assert "Permission denied" in refused
    response = client.http.post(
        "/mentions/hide", headers=AUTH, body=json.dumps({"when": {"txt": {}}}).encode()
    )
    assert response.status_code == 400  # no reason, and a field rules do not know
