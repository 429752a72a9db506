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
from tests.integration.test_transferring_cases import customer_tweet

CASE = "x:1992000000000000001"  # the late delivery, by Dana Kim (@danakim)
AUTH = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}
LANGUAGES = ["de", "es", "fr", "it", "ja", "pt"]
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
        (
            "/templates/late",
            {"text": "Hi", "tags": []},
            "tags: no such field; the fields here are text, language, translations",
        ),
        ("/templates/late", b"{", "body is not valid JSON"),
        (
            "/templates/late",
            {"text": "Hi", "translations": {"es": "Hola {nombre}"}},
            "template translations.es: unknown placeholder {nombre}",
        ),
        (
            "/templates/late",
            {"text": "Hi", "translations": {"ES": "Hola"}},
            "translations.ES.[key]: a language is its ISO 639-1 code",
        ),
        (
            "/templates/late",
            {"text": "Hi", "translations": {"es": ""}},
            "translations.es: String should have at least 1 character",
        ),
        (
            "/templates/late",
            {"text": "Hola", "language": "es", "translations": {"es": "Hola"}},
            "text is in es already: translate it into others",
        ),
        (
            "/templates/late",
            {"text": "Hi", "language": "english"},
            "language: a language is its ISO 639-1 code",
        ),
        (
            "/templates/late",
            {"text": "Hi", "translations": dict.fromkeys(LANGUAGES, "日本" * 3_000)},
            "text and translations take 108,002 bytes; a saved reply holds at most 100,000",
        ),
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
    call(client, "PUT", "/templates/late-delivery", {"text": LATE + " ^{agent}"})
    body = json.dumps({"mention_id": CASE, "template": "late-delivery"}).encode()
    headers = {**AUTH, "X-Switchboard-Author": "MK"}  # signed by whoever sends it
    response = client.http.post("/replies", headers=headers, body=body)
    queued = json.loads(response.body)
    assert response.status_code == 202, queued
    drain_outbox(stack)
    sent = get(client, f"/replies/{queued['reply_id']}")
    expected = (
        "So sorry Dana Kim! Please DM us your order number, @danakim, and we will chase it. ^MK"
    )
    assert (sent["status"], sent["text"], sent["template"]) == ("sent", expected, "late-delivery")
    [posted] = [r for r in fakes.accepted("x") if r.path == "/x/2/tweets"]
    assert posted.body["text"] == expected


SPANISH = "Lo siento {name}. Envíanos tu número de pedido por DM, {handle}, y lo buscamos."
SPANISH_CASE = "x:1992000000000000077"


def spanish_late_delivery() -> bytes:
    """The late-delivery customer writing again, in Spanish."""
    text = "@AcmeHelp mi pedido #88213 nunca llegó y nadie contesta. ¿Dónde está?"
    payload = json.loads(customer_tweet(SPANISH_CASE[2:], text, None))
    payload["tweet_create_events"][0]["lang"] = "es"
    return json.dumps(payload).encode()


def test_a_customer_is_answered_in_their_language_when_the_saved_reply_has_it(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    deliver(client, stack, "x", spanish_late_delivery())
    template = {"text": LATE, "language": "en", "translations": {"es": SPANISH}}
    status, saved = call(client, "PUT", "/templates/late-delivery", template)
    assert status == 200 and (saved["language"], saved["translations"]) == ("en", {"es": SPANISH})

    def answer(mention_id: str, **extra: str) -> tuple[str, str]:
        body = {"mention_id": mention_id, "template": "late-delivery", **extra}
        status, queued = call(client, "POST", "/replies", body)
        assert status == 202, queued
        reply = get(client, f"/replies/{queued['reply_id']}")
        return reply["template_language"], reply["text"]

    assert answer(SPANISH_CASE) == ("es", SPANISH.format(name="Dana Kim", handle="@danakim"))
    assert answer(CASE)[0] == "en"
    assert answer(SPANISH_CASE, language="en") == (
        "en",
        LATE.format(name="Dana Kim", handle="@danakim"),
    )
    status, refused = call(
        client,
        "POST",
        "/replies",
        {"mention_id": CASE, "template": "late-delivery", "language": "de"},
    )
    assert (status, refused["message"]) == (
        400,
        "template 'late-delivery' is not written in 'de', only in en, es",
    )


def test_a_saved_reply_in_a_language_nobody_named_answers_everyone_else(
    client: Client, stack: dict[str, str]
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    call(client, "PUT", "/templates/late-delivery", {"text": LATE, "translations": {"es": SPANISH}})
    body = {"mention_id": CASE, "template": "late-delivery"}
    reply = get(client, f"/replies/{call(client, 'POST', '/replies', body)[1]['reply_id']}")
    assert (reply["template_language"], reply["text"][:17]) == (None, "So sorry Dana Kim")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"template": "late-delivery", "language": "fr"}, 400, "not written in 'fr', only in es"),
        ({"text": "Hi", "language": "es"}, 400, "a language chooses a template's translation"),
        ({"template": "nope"}, 404, "no template 'nope': switchboard templates lists them"),
        ({"template": "late-delivery", "text": "Hi"}, 400, "one of them"),
        ({"template": "long"}, 400, "characters as X counts them"),
    ],
)
def test_a_reply_from_a_saved_reply_is_checked_like_any_reply(
    client: Client, stack: dict[str, str], body: dict[str, Any], status: int, says: str
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    call(client, "PUT", "/templates/late-delivery", {"text": LATE, "translations": {"es": SPANISH}})
    call(client, "PUT", "/templates/long", {"text": "{name} " + "x" * 280})
    code, answer = call(client, "POST", "/replies", {"mention_id": CASE, **body})
    assert code == status and says in answer["message"], answer


def test_switchboard_templates_and_reply_with_one(
    client: Client, stack: dict[str, str], api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(client, stack, "x", sample_bytes("x_late_delivery.json"))
    code, out = run("templates", "set", "late-delivery", LATE, "--url", api_url)
    assert (code, out.strip()) == (0, "saved late-delivery")
    spanish = ["--translation", "es", "¡Gracias {name}!"]
    french = ["--translation", "fr", "Merci {name} !"]
    code, out = run(
        "templates", "set", "thanks", "Thanks {name}!", "--language", "en", *spanish, *french,
        "--url", api_url,
    )  # fmt: skip
    assert (code, out.strip()) == (0, "saved thanks, in es, fr too")
    code, out = run("templates", "--url", api_url)
    lines = out.splitlines()
    assert code == 0 and lines == [
        "late-delivery  (admin, " + lines[0].split("(admin, ")[1],
        f"  {LATE}",
        "thanks  (admin, " + lines[2].split("(admin, ")[1],
        "  en: Thanks {name}!",
        "  es: ¡Gracias {name}!",
        "  fr: Merci {name} !",
    ]
    code, out = run("reply", CASE, "--template", "late-delivery", "--wait", "0", "--url", api_url)
    assert code == 0 and ": queued" in out.splitlines()[0]
    code, out = run("reply", CASE, "--template", "thanks", "--language", "fr", "--wait", "0",
                    "--force", "--url", api_url)  # fmt: skip
    reply = get(client, f"/replies/{out.split(':')[0]}")
    assert (reply["text"], reply["template_language"]) == ("Merci Dana Kim !", "fr")
    code, out = run("templates", "delete", "late-delivery", "--url", api_url)
    assert (code, out.strip()) == (0, "deleted late-delivery")
    capsys.readouterr()
    assert run("reply", CASE, "--url", api_url)[0] == 2  # neither text nor a template
    assert "give the reply's TEXT, --template or --whatsapp-template" in capsys.readouterr().err
