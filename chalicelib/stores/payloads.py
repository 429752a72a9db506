"""Delivery bodies too large for an SQS message (a Meta batch of up to 1,000 changes), kept in S3
while the intake queue carries a pointer to them (the claim-check pattern); and an in-memory twin.
A bucket lifecycle rule removes them once no queue can hold their pointer any more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError


class PayloadUnavailable(RuntimeError):
    """A body could not be written or read (S3 failing, the caller retries)."""


class PayloadGone(RuntimeError):
    """No body under that key: expired or deleted; no retry can bring it back."""


class Payloads(Protocol):
    """Where large delivery bodies wait for the routing worker."""

    def put(self, key: str, body: str) -> None:
        """Keep a body; PayloadUnavailable when it could not be written."""
        ...

    def get(self, key: str) -> str:
        """A kept body; PayloadGone when there is none, PayloadUnavailable on a failure."""
        ...


class S3Payloads:
    """Bodies as objects of one bucket; the client is made on first use (the webhook path
    needs it only for the rare delivery too large for SQS)."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: str) -> None:
        """PutObject (UTF-8 text)."""
        try:
            self._client().put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body.encode(),
                ContentType="text/plain; charset=utf-8",
            )
        except (BotoCoreError, ClientError) as exc:
            raise PayloadUnavailable(f"cannot write s3://{self._bucket}/{key}: {exc}") from exc

    def get(self, key: str) -> str:
        """GetObject."""
        try:
            answer = self._client().get_object(Bucket=self._bucket, Key=key)
            return str(answer["Body"].read().decode())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise PayloadGone(
                    f"s3://{self._bucket}/{key} is gone (expired or deleted)"
                ) from exc
            raise PayloadUnavailable(f"cannot read s3://{self._bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise PayloadUnavailable(f"cannot read s3://{self._bucket}/{key}: {exc}") from exc


class MemoryPayloads:
    """In-memory twin of S3Payloads."""

    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}

    def put(self, key: str, body: str) -> None:
        """Keep it."""
        self.bodies[key] = body

    def get(self, key: str) -> str:
        """The body, or PayloadGone."""
        if key not in self.bodies:
            raise PayloadGone(f"{key} is gone")
        return self.bodies[key]
