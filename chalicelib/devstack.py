"""`make run`: the whole of Switchboard on one machine, on the embedded AWS (moto server).

Starts moto on 127.0.0.1:4566, creates every queue (with DLQ and redrive) and table, seeds the
default ruleset, serves the Chalice app on 127.0.0.1:8000 and runs local workers that poll the
SQS queues and call the very handler functions Lambda runs, with Lambda-shaped SQS events.
Ctrl-C stops everything.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chalicelib.cli import use_local_defaults

REPO_ROOT = Path(__file__).resolve().parents[1]
POLL_WAIT_SECONDS = 1
SLA_CHECK_SECONDS = 60
POLL_SECONDS = 300
FAKE_BASE_URLS = {
    "X_API_BASE_URL": "/x",
    "GRAPH_API_BASE_URL": "/graph",
    "YOUTUBE_API_BASE_URL": "/youtube/v3",
    "SLACK_API_BASE_URL": "/slack/api",
}


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping would pass for these received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "dataType": value.get("DataType", "String"),
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueueWorker(threading.Thread):
    """Polls one queue and hands batches to a Lambda handler, deleting what succeeded."""

    def __init__(
        self, sqs: Any, queue_url: str, handler: Any, region: str, wait: int = POLL_WAIT_SECONDS
    ) -> None:
        super().__init__(daemon=True, name=f"worker:{queue_url.rsplit('/', 1)[-1]}")
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._region = region
        self._wait = wait
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.stopping = threading.Event()

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep the worker alive, as Lambda would retry
                print(f"[{self.name}] {exc!r}", flush=True)
                time.sleep(1)

    def poll_once(self) -> int:
        """Receive one batch and run the handler on it; returns the number of records."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        result = self._handler(lambda_sqs_event(messages, self._arn, self._region), None) or {}
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        return len(messages)


def scheduled_event() -> dict[str, Any]:
    """The event EventBridge passes to a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "resources": [],
        "detail": {},
    }


class Scheduled(threading.Thread):
    """Runs a scheduled Lambda handler every `seconds`, as EventBridge would."""

    def __init__(self, handler: Any, seconds: int) -> None:
        super().__init__(daemon=True, name="schedule")
        self._handler = handler
        self._seconds = seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        """Call the handler until stopped."""
        while not self.stopping.wait(self._seconds):
            try:
                self._handler(scheduled_event(), None)
            except Exception as exc:
                print(f"[{self.name}] {exc!r}", flush=True)


def local_server(app: Any, config: Any, host: str, port: int) -> Any:
    """Chalice's local HTTP server for `app`, answering a path no route has with Switchboard's
    JSON 404 (the closest route suggested) instead of Chalice's stand-in for API Gateway, a 403
    "Missing Authentication Token" that quotes any Authorization header back."""
    from chalice.local import ChaliceRequestHandler, ForbiddenError, create_local_server

    from chalicelib.errors import NotFound, did_you_mean

    class Handler(ChaliceRequestHandler):
        def _send_error_response(self, error: Any) -> None:
            if not (
                isinstance(error, ForbiddenError)
                and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException"
            ):
                return super()._send_error_response(error)
            path = urlparse(self.path).path
            refusal = NotFound(
                f"no route {self.command} {path} here; {did_you_mean(path, app.routes)}the"
                " routes are in the README's Contract"
            )
            body = json.dumps(refusal.to_body())
            self._send_http_response(404, {"Content-Type": "application/json"}, body)
            return None

    server = create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(Handler, app_object=app, config=config)
    return server


def busy_ports(addresses: dict[str, tuple[str, int]]) -> list[str]:
    """Which of the named (host, port) addresses another program already listens on."""
    busy = []
    for what, (host, port) in addresses.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(f"{what} {host}:{port}")
    return busy


def main() -> None:
    """Run the local stack until Ctrl-C."""
    use_local_defaults()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
    aws_address = (endpoint.hostname or "127.0.0.1", endpoint.port or 4566)
    host, port = os.environ.get("SWITCHBOARD_HOST", "127.0.0.1"), 8000
    fakes_port = int(os.environ.get("FAKE_PLATFORMS_PORT", "4580"))
    busy = busy_ports(
        {
            "embedded AWS": aws_address,
            "HTTP API": (host, port),
            "fake platform APIs": ("127.0.0.1", fakes_port),
        }
    )
    if busy:
        sys.exit(
            f"make run: {', '.join(busy)} already in use (is another `make run` going?);"
            " stop it, or set AWS_ENDPOINT_URL / FAKE_PLATFORMS_PORT to free ports"
        )
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address=aws_address[0], port=aws_address[1])
    moto.start()

    from chalice.config import Config

    from chalicelib import aws, wiring
    from chalicelib.fakeplatforms import FakePlatforms
    from chalicelib.settings import get_settings
    from chalicelib.stores.provision import (
        create_bucket,
        create_queues,
        create_tables,
        seed_default_rules,
    )

    fakes = FakePlatforms(port=fakes_port).start()
    fakes.add_sample_posts()
    for variable, path in FAKE_BASE_URLS.items():
        os.environ.setdefault(variable, fakes.url + path)
    settings = get_settings()
    urls = create_queues(aws.sqs(), settings)
    create_tables(aws.dynamodb(), settings)
    create_bucket(aws.s3(), settings)
    version = seed_default_rules(wiring.rules(), settings)

    from app import app

    config = Config(
        chalice_stage="dev",
        config_from_disk=json.loads((REPO_ROOT / ".chalice" / "config.json").read_text()),
    )
    server = local_server(app, config, host, port)
    api = threading.Thread(target=server.serve_forever, daemon=True, name="api")
    api.start()
    region = settings.aws_default_region
    workers: list[QueueWorker | Scheduled] = [
        QueueWorker(aws.sqs(), urls["intake"], app.handler_map["route_mentions"], region),
        QueueWorker(aws.sqs(), urls["outbox"], app.handler_map["send_replies"], region),
        Scheduled(app.handler_map["check_sla"], SLA_CHECK_SECONDS),
        Scheduled(app.handler_map["poll_platforms"], POLL_SECONDS),
    ]
    for worker in workers:
        worker.start()

    print(
        "\nSwitchboard is running:\n"
        f"  embedded AWS (moto)   {os.environ['AWS_ENDPOINT_URL']}\n"
        f"  HTTP API              http://{host}:{port}"
        "  webhooks: /webhooks/{x,meta,slack,youtube,generic}, /webhooks/slack/actions\n"
        f"  queues                {', '.join(settings.queue_name(q) for q in settings.all_queues)}"
        " (each with a -dlq)\n"
        f"  tables                {settings.mentions_table}, {settings.rules_table}"
        f" (ruleset v{version} live)\n"
        f"  payload bucket        {settings.payload_bucket} (deliveries too large for a message)\n"
        f"  workers               route_mentions <- {settings.queue_name('intake')},"
        f" send_replies <- {settings.queue_name('outbox')}, check_sla every {SLA_CHECK_SECONDS} s,"
        f" poll_platforms every {POLL_SECONDS} s\n"
        f"  fake platform APIs    {fakes.url}  (X, Graph, YouTube, Slack; replies land here)\n"
        "Try: .venv/bin/switchboard demo && .venv/bin/switchboard inbox support\n"
        "     .venv/bin/switchboard reply x:1992000000000000001 'Sorry! DM us your order number'\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(timeout=1):
            pass
    finally:
        print("\nstopping…", flush=True)
        for worker in workers:
            worker.stopping.set()
        server.shutdown()
        fakes.stop()
        moto.stop()


if __name__ == "__main__":
    main()
