"""Customers' files fetched from a platform that keeps them behind its API (WhatsApp), kept in
the payload bucket under `attachments/` (its lifecycle rule forgets them after 30 days, as
WhatsApp forgets its media) and handed to people as links that expire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from botocore.exceptions import ClientError


def files_of(mention_id: str) -> str:
    """The key prefix of the files kept for one mention (`attachments/<id>/<n>`)."""
    return f"attachments/{mention_id}/"


class AttachmentFiles:
    """Files as objects of the payload bucket; the client is made on first use."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def has(self, key: str) -> bool:
        """Whether a file is kept under `key` (HeadObject)."""
        try:
            self._client().head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def keep(self, key: str, body: BinaryIO, content_type: str | None) -> None:
        """Upload a stream (in parts, when large) under `key`."""
        extra = {"ContentType": content_type} if content_type else {}
        self._client().upload_fileobj(body, self._bucket, key, ExtraArgs=extra)

    def link(self, key: str, seconds: int) -> str:
        """A presigned GET of the file, good for `seconds`."""
        return str(
            self._client().generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
            )
        )

    def forget(self, prefix: str) -> None:
        """Delete every file kept under `prefix` (a thousand a call, DeleteObjects' limit)."""
        client = self._client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
        for page in pages:
            keys = [{"Key": found["Key"]} for found in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self._bucket, Delete={"Objects": keys})
