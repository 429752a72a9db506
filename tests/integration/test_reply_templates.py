"""Saved replies (PUT|DELETE /templates/{id}, GET /templates, `switchboard templates`): a
department answers with one (`POST /replies` `{"template": …}`, `switchboard reply --template`),
filled in for the customer and checked like any reply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.fakeplatforms import FakePlatforms
from tests.helpers import sample_bytes
from tests.integration.test_native_answers import deliver
from tests.integration.test_replies import drain_outbox, get
from tests.integration.test_rules_cli import run

CASE = "x:1992000000000000001"  # the late delivery, by Dana Kim (@danakim)
AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}
LATE = "So sorry {name}! Please DM us your order number, {handle}, and we will chase it."


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
    response = getattr(client.http, method.lower())(path, headers=AUTH, body=raw)
    return response.status_code, json.loads(response.body)


def test_a_saved_reply_is_kept_listed_replaced_and_removed(client: Client) -> None:
    status, saved = call(client, "PUT", "/templates/late-delivery", {"text": LATE})
    assert status == 200 and saved["id"] == "late-delivery" and saved["updated_by"] == "admin"
    call(client, "PUT", "/templates/thanks", {"text": "Thank you {name}!"})
    call(client, "PUT", "/templates/late-delivery", {"text": "Sorry {name}, DM us"})
    listed = get(client, "/templates")["templates"]
    assert [(t["id"], t["text"]) for t in listed] == [
        ("late-delivery", "Sorry {name}, DM us"),
        ("thanks", "Thank you {name}!"),
    ]
    assert call(client, "DELETE", "/templates/thanks") == (200, {"deleted": "thanks"})
    status, answer = call(client, "DELETE", "/templates/thanks")
    assert status == 404 and answer["message"] == "no template 'thanks'"


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/templates/late", {"text": "Hi {order}"}, "unknown placeholder {order}"),
        ("/templates/late", {"text": "Hi {name"}, "expected '}' before end of string"),
        ("/templates/Late%20Delivery", {"text": "Hi"}, "a template id is 1-64 lowercase"),
        ("/templates/late", {"text": ""}, "text: String should have at least 1 character"),
        ("/templates/late", {"text": "Hi", "tags": []}, "tags: Extra inputs are not permitted"),
        ("/templates/late", b"{", "body is not valid JSON"),
    ],
)
def test_a_saved_reply_that_cannot_work_is_refused(
    client: Client, path: str, body: Any, says: str
) -> None:
    status, answer = call(client, "PUT", path, body)
    assert status == 400 and says in answer["message"], answer
    assert get(client, "/templates")["templates"] == []


def test_a_customer_is_answered_with_a_saved_reply(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    call(client, "PUT", "/templates/late-delivery", {"text": LATE})
    status, queued = call(
        client, "POST", "/replies", {"mention_id": CASE, "template": "late-delivery"}
    )
    assert status == 202, queued
    drain_outbox(stack)
    sent = get(client, f"/replies/{queued['reply_id']}")
    expected = "So sorry Dana Kim! Please DM us your order number, @danakim, and we will chase it."
    assert (sent["status"], sent["text"], sent["template"]) == ("sent", expected, "late-delivery")
    [posted] = [r for r in fakes.accepted("x") if r.path == "/x/2/tweets"]
    assert posted.body["text"] == expected


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"template": "nope"}, 404, "no template 'nope': switchboard templates lists them"),
        ({"template": "late-delivery", "text": "Hi"}, 400, "send text or a template, not both"),
        ({"template": "long"}, 400, "characters as X counts them"),
    ],
)
def test_a_reply_from_a_saved_reply_is_checked_like_any_reply(
    client: Client, stack: dict[str, str], body: dict[str, Any], status: int, says: str
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    call(client, "PUT", "/templates/late-delivery", {"text": LATE})
    call(client, "PUT", "/templates/long", {"text": "{name} " + "x" * 280})
    code, answer = call(client, "POST", "/replies", {"mention_id": CASE, **body})
    assert code == status and says in answer["message"], answer


def test_switchboard_templates_and_reply_with_one(
    client: Client, stack: dict[str, str], api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    code, out = run("templates", "set", "late-delivery", LATE, "--url", api_url)
    assert (code, out.strip()) == (0, "saved late-delivery")
    code, out = run("templates", "--url", api_url)
    assert code == 0 and out.splitlines() == [
        "late-delivery  (admin, " + out.splitlines()[0].split("(admin, ")[1],
        f"  {LATE}",
    ]
    code, out = run("reply", CASE, "--template", "late-delivery", "--wait", "0", "--url", api_url)
    assert code == 0 and ": queued" in out.splitlines()[0]
    code, out = run("templates", "delete", "late-delivery", "--url", api_url)
    assert (code, out.strip()) == (0, "deleted late-delivery")
    capsys.readouterr()
    assert run("reply", CASE, "--url", api_url)[0] == 2  # neither text nor a template
    assert "give the reply's TEXT or --template" in capsys.readouterr().err
