"""The files customers send with messages reach the people answering them: a WhatsApp voice note
or photo is fetched from WhatsApp (which keeps it behind its API) into the payload bucket and
linked; a Messenger photo is linked where Meta serves it."""

from __future__ import annotations

import json
import os
from typing import Any

import requests
from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.settings import get_settings
from tests.helpers import sample_bytes
from tests.integration.conftest import bodies, post_signed
from tests.integration.test_replies import AUTH
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run

VOICE = b"OggS\x00\x02 a customer's voice note"


def whatsapp_voice_note(media_id: str) -> bytes:
    """The sample's customer sending a voice note, and nothing else."""
    delivery = json.loads(sample_bytes("meta_whatsapp.json"))
    [message, _] = delivery["entry"][0]["changes"][0]["value"]["messages"]
    message.update(type="audio", id="wamid.voice1")
    del message["text"]
    message["audio"] = {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": True}
    delivery["entry"][0]["changes"][0]["value"]["messages"] = [message]
    return json.dumps(delivery).encode()


def attachment(client: Client, mention_id: str, number: str) -> tuple[int, dict[str, Any]]:
    response = client.http.get(f"/mentions/{mention_id}/attachments/{number}", headers=AUTH)
    return response.status_code, json.loads(response.body)


def test_a_whatsapp_voice_note_is_fetched_from_whatsapp_and_linked(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.whatsapp_media["1037543291543636"] = (VOICE, "audio/ogg")
    assert post_signed(client, "meta", whatsapp_voice_note("1037543291543636")).status_code == 200
    drain_intake(stack)
    [message] = bodies(stack["triage"])  # nothing to read: a person listens to it
    assert message["mention"]["attachments"] == [
        {
            "kind": "voice",
            "url": None,
            "media_id": "1037543291543636",
            "mime_type": "audio/ogg; codecs=opus",
            "filename": None,
        }
    ]
    mention_id = message["mention"]["id"]
    for _ in range(2):  # the second time from Switchboard's copy, WhatsApp not asked again
        code, found = attachment(client, mention_id, "1")
        assert code == 200 and found["kind"] == "voice" and found["expires_at"]
        assert requests.get(found["url"], timeout=5).content == VOICE
    assert len([r for r in fakes.accepted("whatsapp-media")]) == 1
    kept = aws.s3().get_object(
        Bucket=get_settings().payload_bucket, Key=f"attachments/{mention_id}/1"
    )
    assert kept["ContentType"] == "audio/ogg"

    assert attachment(client, mention_id, "2")[0] == 404
    assert attachment(client, mention_id, "first")[0] == 400


def test_a_file_whatsapp_no_longer_keeps_is_gone_and_refused_credentials_say_so(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    assert post_signed(client, "meta", whatsapp_voice_note("404404")).status_code == 200
    drain_intake(stack)
    [message] = bodies(stack["triage"])
    code, error = attachment(client, message["mention"]["id"], "1")
    assert code == 410 and "keeps a customer's files 30 days" in error["message"]

    os.environ["WHATSAPP_ACCESS_TOKEN"] = "revoked"
    wiring.reset()
    code, error = attachment(client, message["mention"]["id"], "1")
    assert code == 502 and "store a working WHATSAPP_ACCESS_TOKEN" in error["message"]


def test_switchboard_attachment_prints_the_link_and_the_inbox_says_what_is_attached(
    api_url: str, client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    fakes.whatsapp_media["77"] = (VOICE, "audio/ogg")
    aws.s3()  # the app's S3 client, made on moto before the CLI fills in `make run`'s endpoint
    assert post_signed(client, "meta", whatsapp_voice_note("77")).status_code == 200
    drain_intake(stack)
    code, out = run("inbox", "triage")
    assert code == 0
    assert (
        "  (no text)\n  attached: 1 voice (switchboard attachment whatsapp:wamid.voice1 N)" in out
    )
    code, out = run("attachment", "whatsapp:wamid.voice1", "--url", api_url)
    assert code == 0 and out.startswith("voice audio/ogg; codecs=opus: http")
    link = out.split(": ", 1)[1].split(" (until ")[0]
    assert requests.get(link, timeout=5).content == VOICE


def test_a_messenger_photo_is_linked_where_meta_serves_it(
    client: Client, stack: dict[str, str]
) -> None:
    delivery = json.loads(sample_bytes("meta_messenger.json"))
    [message, _] = delivery["entry"][0]["messaging"]
    photo = "https://scontent.xx.fbcdn.net/v/t1.15752-9/tracking.png"
    message["message"]["attachments"] = [{"type": "image", "payload": {"url": photo}}]
    delivery["entry"][0]["messaging"] = [message]
    assert post_signed(client, "meta", json.dumps(delivery).encode()).status_code == 200
    drain_intake(stack)
    [routed] = bodies(stack["support"])
    code, found = attachment(client, routed["mention"]["id"], "1")
    assert code == 200 and found == {"kind": "image", "url": photo}
