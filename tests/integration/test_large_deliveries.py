"""A delivery too large for an SQS message (Meta batches up to 1,000 changes in one) is not
refused: its raw body is kept in the payload bucket and the intake message carries the key; the
routing worker reads it from there. Refused, Meta would retry the same batch for 36 hours and then
drop every mention in it."""

from __future__ import annotations

import json
import os
from typing import Any

from chalice.test import Client

from chalicelib import aws, wiring
from chalicelib.models import Mention
from chalicelib.services.dead_letters import read_dead_letter
from chalicelib.settings import get_settings
from tests.integration.conftest import post_signed, receive_all
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_replies import AUTH, store
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_rules_cli import run
from tests.integration.test_webhooks import error_of

PAGE, POST = "448242228374517", "448242228374517_122131676912594941"


def comment(n: int) -> dict[str, Any]:
    """One feed change: a customer's comment, long enough that sixty of them pass 256 KB."""
    text = f"Order {n} arrived broken and nobody answers my messages. " * 80
    return {
        "field": "feed",
        "value": {
            "from": {"id": f"65432109876{n:05d}", "name": f"Customer {n}"},
            "message": text,
            "post_id": POST,
            "comment_id": f"122131676912594941_{1213590066990000 + n}",
            "created_time": 1795335590,
            "item": "comment",
            "parent_id": POST,
            "verb": "add",
        },
    }


def batch(count: int) -> bytes:
    changes = [comment(n) for n in range(count)]
    return json.dumps(
        {"object": "page", "entry": [{"id": PAGE, "time": 1795335600, "changes": changes}]}
    ).encode()


def test_a_batch_larger_than_an_sqs_message_is_kept_and_every_mention_routed(
    client: Client, stack: dict[str, str]
) -> None:
    body = batch(60)
    assert len(body) > 262_144
    response = post_signed(client, "meta", body)
    assert response.status_code == 200, response.body
    [message] = receive_all(stack["intake"])
    pointer = json.loads(message["Body"])
    assert pointer["body"] == "" and pointer["body_key"].startswith("intake/")
    kept = aws.s3().get_object(Bucket=get_settings().payload_bucket, Key=pointer["body_key"])
    assert kept["Body"].read() == body  # the raw bytes Meta signed
    aws.sqs().send_message(QueueUrl=stack["intake"], MessageBody=message["Body"])
    drain_intake(stack)
    routed = routed_mentions(stack)
    assert len(routed) == 60
    assert {m["routing"]["department"] for m in routed.values()} == {"support"}


def test_a_batch_that_cannot_be_kept_is_a_503_so_meta_retries(
    client: Client, stack: dict[str, str]
) -> None:
    os.environ["PAYLOAD_BUCKET"] = "no-such-bucket"
    wiring.reset()
    response = post_signed(client, "meta", batch(60))
    assert response.status_code == 503
    assert error_of(response)["error"] == "intake_unavailable"
    assert receive_all(stack["intake"]) == []  # nothing acknowledged, nothing queued


def test_a_body_gone_from_the_bucket_is_dead_lettered_with_the_reason(
    client: Client, stack: dict[str, str]
) -> None:
    assert post_signed(client, "meta", batch(60)).status_code == 200
    [message] = receive_all(stack["intake"])
    key = json.loads(message["Body"])["body_key"]
    aws.s3().delete_object(Bucket=get_settings().payload_bucket, Key=key)
    aws.sqs().send_message(QueueUrl=stack["intake"], MessageBody=message["Body"])
    drain_intake(stack)
    [dead] = receive_all(stack["intake-dlq"])
    letter = read_dead_letter(dead)
    assert key in letter.reason and "gone" in letter.reason
    assert f"its body in the payload bucket: {key}" in letter.summary


def test_a_bucket_that_cannot_be_read_is_retried_not_dead_lettered(
    client: Client, stack: dict[str, str]
) -> None:
    from app import app

    assert post_signed(client, "meta", batch(60)).status_code == 200
    [message] = receive_all(stack["intake"])
    bucket, key = get_settings().payload_bucket, json.loads(message["Body"])["body_key"]
    kept = aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    aws.s3().delete_object(Bucket=bucket, Key=key)
    aws.s3().delete_bucket(Bucket=bucket)  # S3 answers NoSuchBucket: not the body gone, a fault
    record = {"messageId": "m-1", "receiptHandle": "r", "body": message["Body"]}
    failed = app.handler_map["route_mentions"]({"Records": [record]}, None)["batchItemFailures"]
    assert failed == [{"itemIdentifier": "m-1"}]  # tried again, as SQS redelivers it
    assert receive_all(stack["intake-dlq"]) == []
    aws.s3().create_bucket(Bucket=bucket)
    aws.s3().put_object(Bucket=bucket, Key=key, Body=kept)
    aws.sqs().send_message(QueueUrl=stack["intake"], MessageBody=message["Body"])
    drain_intake(stack)
    assert len(routed_mentions(stack)) == 60  # the retry, once S3 answers, routes every one


def test_a_listing_of_long_posts_is_cut_to_what_a_lambda_can_answer(
    client: Client, stack: dict[str, str], api_url: str
) -> None:
    """Thirty waiting cases of 200,000 characters each are 6 MB of JSON, more than a Lambda may
    answer (API Gateway would return a bare 502): the list keeps what fits, and says so."""
    for n in range(30):
        store(Mention(id=f"generic:{n}", platform="generic", text="a" * 200_000))
    response = client.http.get("/departments/support/waiting?limit=50", headers=AUTH)
    assert response.status_code == 200
    assert len(response.body) < 6_000_000
    listed = json.loads(response.body)
    assert listed["truncated"] is True and 20 <= len(listed["waiting"]) < 30
    short = json.loads(client.http.get("/departments/support/waiting?limit=5", headers=AUTH).body)
    assert len(short["waiting"]) == 5 and "truncated" not in short
    code, out = run("waiting", "support", "--limit", "50", "--url", api_url)
    assert code == 0 and out.startswith(f"(the first {len(listed['waiting'])} only")
