"""The CLI's API client signs with SigV4 (IAM) for a deployed API, for the API's region."""

from __future__ import annotations

import re
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
