"""The acknowledgement path through the Chalice test client on moto: handshakes and statuses."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.settings import get_settings
from tests.helpers import sample_bytes
from tests.integration.conftest import post_signed, receive_all


def error_of(response: Any) -> dict[str, str]:
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, str] = json.loads(response.body)
    assert set(body) == {"error", "message"} and body["message"]
    return body


def test_x_crc_handshake(client: Client) -> None:
    response = client.http.get("/webhooks/x?crc_token=foo")
    assert response.status_code == 200
    token = json.loads(response.body)["response_token"]
    assert token.startswith("sha256=") and len(token) == len("sha256=") + 44


def test_x_crc_without_token_is_400(client: Client) -> None:
    response = client.http.get("/webhooks/x")
    assert response.status_code == 400
    assert error_of(response)["error"] == "malformed"


def test_meta_handshake_echoes_challenge_as_plain_text(client: Client) -> None:
    response = client.http.get(
        "/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=test-verify-token"
    )
    assert response.status_code == 200
    assert response.body == b"1158201444"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_meta_handshake_with_wrong_token_is_403(client: Client) -> None:
    response = client.http.get(
        "/webhooks/meta?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess"
    )
    assert response.status_code == 403
    assert error_of(response)["error"] == "forbidden"


def test_unknown_platform_is_404_on_both_methods(client: Client) -> None:
    assert client.http.get("/webhooks/myspace").status_code == 404
    response = client.http.post(
        "/webhooks/myspace", headers={"Content-Type": "application/json"}, body=b"{}"
    )
    assert response.status_code == 404
    assert "known platforms: generic, meta, slack, x, youtube" in error_of(response)["message"]


def test_generic_has_no_get(client: Client) -> None:
    assert client.http.get("/webhooks/generic").status_code == 405


def test_a_method_no_route_takes_is_405_saying_which_it_takes(client: Client) -> None:
    response = client.http.delete("/webhooks/x")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert json.loads(response.body) == {
        "error": "method_not_allowed",
        "message": "/webhooks/{platform} takes GET, POST, not DELETE",
    }


def test_accepted_delivery_is_on_the_intake_queue_byte_for_byte(
    client: Client, stack: dict[str, str]
) -> None:
    body = sample_bytes("meta_instagram_comment.json")  # escaped unicode: signed as sent
    response = post_signed(client, "meta", body)
    assert response.status_code == 200
    accepted = json.loads(response.body)
    assert accepted["status"] == "accepted"
    [message] = receive_all(stack["intake"])
    assert message["MessageId"] == accepted["intake_id"]
    delivery = json.loads(message["Body"])
    assert delivery["schema"] == "switchboard.raw-delivery/v1"
    assert delivery["platform"] == "meta"
    assert delivery["body"].encode() == body
    assert set(delivery["headers"]) == {"x-hub-signature-256", "content-type"}
    assert delivery["received_at"]
    assert message["MessageAttributes"]["platform"]["StringValue"] == "meta"


def emitted(out: str, name: str) -> list[list[float]]:
    """The values of metric `name` in each EMF line the API printed."""
    blobs = [json.loads(line) for line in out.splitlines() if "_aws" in line]
    return [blob[name] for blob in blobs if name in blob]


def test_refused_signatures_are_counted_for_the_operators_alarm(
    client: Client, stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    body = sample_bytes("x_late_delivery.json")
    forged = {"Content-Type": "application/json", "x-twitter-webhooks-signature": "sha256=AAAA"}
    assert client.http.post("/webhooks/x", headers=forged, body=body).status_code == 401
    assert emitted(capsys.readouterr().out, "DeliveriesRefused") == [[1.0]]
    assert post_signed(client, "x", body).status_code == 200
    assert emitted(capsys.readouterr().out, "DeliveriesRefused") == []  # only refusals count


def test_tampered_body_is_401_and_nothing_is_queued(client: Client, stack: dict[str, str]) -> None:
    body = sample_bytes("x_late_delivery.json")
    signature = post_signed_headers("x", body)["x-twitter-webhooks-signature"]
    tampered = body.replace(b"never arrived", b"arrived fine")
    response = client.http.post(
        "/webhooks/x",
        headers={"Content-Type": "application/json", "x-twitter-webhooks-signature": signature},
        body=tampered,
    )
    assert response.status_code == 401
    assert error_of(response)["error"] == "bad_signature"
    assert receive_all(stack["intake"]) == []


def post_signed_headers(platform: str, body: bytes) -> dict[str, str]:
    from chalicelib.demo import signed_headers

    return signed_headers(platform, body, get_settings(), time.time())


def test_reserialised_meta_body_fails_verification(client: Client) -> None:
    body = sample_bytes("meta_instagram_comment.json")
    headers = post_signed_headers("meta", body)
    reserialised = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    assert reserialised != body
    response = client.http.post("/webhooks/meta", headers=headers, body=reserialised)
    assert response.status_code == 401


def test_missing_signature_is_401(client: Client) -> None:
    response = client.http.post(
        "/webhooks/meta", headers={"Content-Type": "application/json"}, body=b'{"object":"page"}'
    )
    assert response.status_code == 401
    assert "missing X-Hub-Signature-256" in error_of(response)["message"]


def test_stale_generic_timestamp_is_401(client: Client) -> None:
    body = sample_bytes("generic_listening.json")
    from chalicelib.demo import signed_headers

    headers = signed_headers("generic", body, get_settings(), time.time() - 301)
    response = client.http.post("/webhooks/generic", headers=headers, body=body)
    assert response.status_code == 401
    assert "too old" in error_of(response)["message"]


def test_oversize_body_is_413(client: Client) -> None:
    body = b'{"for_user_id":"1","pad":"' + b"x" * get_settings().max_body_bytes + b'"}'
    response = post_signed(client, "x", body)
    assert response.status_code == 413
    assert error_of(response)["error"] == "payload_too_large"


def test_a_body_that_would_not_fit_one_intake_message_waits_in_the_payload_bucket(
    client: Client, stack: dict[str, str]
) -> None:
    # under SQS's limit, but every backslash doubles once the body is queued as JSON text
    body = b'{"for_user_id":"1","pad":"' + b"\\\\" * 95_000 + b'"}'
    assert len(body) < 262_144
    response = post_signed(client, "x", body)
    assert response.status_code == 200
    [message] = receive_all(stack["intake"])
    key = json.loads(message["Body"])["body_key"]
    kept = aws.s3().get_object(Bucket=get_settings().payload_bucket, Key=key)
    assert kept["Body"].read() == body


def test_a_signed_body_that_is_not_utf8_is_400(client: Client) -> None:
    response = post_signed(client, "x", b'{"for_user_id": "1", "x": "\xff\xfe"}')
    assert response.status_code == 400
    assert "not valid UTF-8" in error_of(response)["message"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"for_user_id": "1", ',
        # Python reads NaN and Infinity, JSON has neither: a follower count of Infinity would
        # otherwise reach the worker and fail every retry
        b'{"for_user_id": "1", "tweet_create_events": [{"user": {"followers_count": Infinity}}]}',
        b'{"for_user_id": "1", "x": NaN}',
        b'{"for_user_id": "1", "x": 1e400}',  # read as infinity
        b'{"for_user_id": "1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # too deep
    ],
)
def test_malformed_json_with_a_valid_signature_is_400(client: Client, body: bytes) -> None:
    response = post_signed(client, "x", body)
    assert response.status_code == 400
    assert "body is not valid JSON" in error_of(response)["message"]


def test_invalid_generic_mention_is_400_saying_which_field(client: Client) -> None:
    body = json.dumps([{"id": "reddit:1", "platform": "reddit"}]).encode()
    response = post_signed(client, "generic", body)
    assert response.status_code == 400
    assert "0.text: Field required" in error_of(response)["message"]


def test_a_generic_mention_longer_than_any_platform_post_is_400(
    client: Client, stack: dict[str, str]
) -> None:
    article = {"id": "news:1", "platform": "news", "text": "word " * 12_801}  # 64,005 characters
    response = post_signed(client, "generic", json.dumps(article).encode())
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "invalid mention: news:1: text is 64,005 characters; at most 64,000"
    )
    assert receive_all(stack["intake"]) == []


def test_unsupported_content_type_is_415_saying_what_the_webhooks_read(
    client: Client, stack: dict[str, str]
) -> None:
    response = post_signed(client, "x", b"{}", **{"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert json.loads(response.body) == {
        "error": "unsupported_media_type",
        "message": "application/xml is not read here; send application/json,"
        " application/atom+xml, text/plain, application/octet-stream",
    }
    assert receive_all(stack["intake"]) == []


def test_failed_intake_write_is_503_so_the_platform_retries(
    client: Client, stack: dict[str, str]
) -> None:
    aws.sqs().delete_queue(QueueUrl=stack["intake"])
    response = post_signed(client, "x", sample_bytes("x_late_delivery.json"))
    assert response.status_code == 503
    assert error_of(response)["error"] == "intake_unavailable"


def test_health(client: Client) -> None:
    assert json.loads(client.http.get("/health").body) == {"status": "ok"}


def test_slack_url_verification_is_answered_not_queued(
    client: Client, stack: dict[str, str]
) -> None:
    body = json.dumps(
        {
            "token": "t",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    response = post_signed(client, "slack", body)
    assert response.status_code == 200
    assert json.loads(response.body) == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }
    odd = json.dumps({"type": "url_verification", "challenge": {"nested": 1}}).encode()
    refused = post_signed(client, "slack", odd)
    assert refused.status_code == 400
    assert "challenge" in error_of(refused)["message"]
    assert receive_all(stack["intake"]) == []


def test_youtube_websub_handshake_and_signed_notification(
    client: Client, stack: dict[str, str]
) -> None:
    topic = (
        "https%3A%2F%2Fwww.youtube.com%2Fxml%2Ffeeds%2Fvideos.xml"
        "%3Fchannel_id%3DUCacmeChannel0000000000"
    )
    response = client.http.get(
        f"/webhooks/youtube?hub.mode=subscribe&hub.topic={topic}&hub.challenge=ch4ll3nge"
        "&hub.lease_seconds=432000"
    )
    assert (response.status_code, response.body) == (200, b"ch4ll3nge")
    assert client.http.get("/webhooks/youtube?hub.mode=subscribe&hub.topic=x").status_code == 404
    accepted = post_signed(client, "youtube", sample_bytes("youtube_new_video.xml"))
    assert accepted.status_code == 200
    [queued] = receive_all(stack["intake"])
    assert json.loads(queued["Body"])["headers"]["x-hub-signature"].startswith("sha1=")
    tampered = post_signed(
        client, "youtube", sample_bytes("youtube_new_video.xml"), **{"X-Hub-Signature": "sha1=00"}
    )
    assert tampered.status_code == 401
