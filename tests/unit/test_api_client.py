"""The CLI's API client signs with SigV4 (IAM) for a deployed API, for the API's region, and
says plainly when the API cannot be reached or does not answer."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.api_client import ApiClient, ApiError


def test_iam_signs_for_execute_api_in_the_apis_region(
    server: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    client = ApiClient(url, token="never-sent", iam=True, region="eu-west-1", author="ana@acme")
    assert client.call("POST", "/admin/rules/test", {"rules": []}) == {"ok": True}
    [headers] = seen
    signature = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}",
        headers["authorization"],
    )
    assert signature is not None  # signed, not the bearer token
    assert {"host", "x-amz-date", "content-type", "x-switchboard-author"} <= set(
        signature.group(1).split(";")
    )


def test_iam_without_credentials_says_so(
    server: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    url, seen = server
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ApiError, match="no AWS credentials"):
        ApiClient(url, iam=True).call("POST", "/admin/rules/test", {})
    assert seen == []  # nothing unsigned was sent


@pytest.fixture
def listener() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A local port whose one connection `then` handles (hang, hang up); its URL."""
    sockets: list[socket.socket] = []

    def listening(then: Callable[[socket.socket], None]) -> str:
        sock = socket.create_server(("127.0.0.1", 0))
        sockets.append(sock)

        def serve() -> None:
            connection, _ = sock.accept()
            connection.recv(65536)
            then(connection)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield listening
    for sock in sockets:
        sock.close()


def test_an_api_that_is_not_there_is_told_with_what_to_do() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ApiError) as refused:  # the port is closed again: refused
        ApiClient(url).call("GET", "/health")
    assert str(refused.value).startswith(f"cannot reach {url} (")
    assert str(refused.value).endswith(
        "is `make run` running? Else give the API's URL (--url or SWITCHBOARD_URL)"
    )


def test_an_api_that_does_not_answer_in_time_is_told_so(
    listener: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    hung: list[socket.socket] = []
    url = listener(hung.append)  # reads the request, never answers
    with pytest.raises(ApiError, match=rf"^no answer from {url} in 0.5 s$"):
        ApiClient(url, timeout=0.5).call("GET", "/health")


def test_an_api_that_hangs_up_unanswered_is_told_so(
    listener: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    url = listener(lambda connection: connection.close())
    with pytest.raises(ApiError, match=rf"^{url} dropped the connection unanswered \("):
        ApiClient(url, timeout=5).call("GET", "/health")
