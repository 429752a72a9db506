"""A small client of Switchboard's own HTTP API, for the CLI: bearer token locally, SigV4 (IAM)
against a deployed API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import SwitchboardError


class ApiError(SwitchboardError):
    """The API answered with an error, or could not be reached."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}" if status else str(message))
        self.status = status
        self.body = body


UNREACHED = ": is `make run` running? Else give the API's URL (--url or SWITCHBOARD_URL)"


@dataclass(frozen=True)
class ApiClient:
    """Calls the API at `base_url`."""

    base_url: str
    token: str = ""
    iam: bool = False
    region: str = "us-east-1"
    author: str | None = None
    timeout: float = 30.0
    answers: list[tuple[str, str, Any]] | None = None
    """Where each answer is kept, with its method and path, when the caller wants them all."""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request; returns the decoded JSON answer or raises ApiError."""
        answer = self._call(method, path, body)
        if self.answers is not None:
            self.answers.append((method, path, answer))
        return answer

    def _call(self, method: str, path: str, body: Any) -> Any:
        url = self.base_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.author:
            headers["X-Switchboard-Author"] = self.author
        if self.iam:
            headers.update(self._sigv4(method, url, data, headers))
        elif self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = raw.decode(errors="replace")
            raise ApiError(exc.code, answer) from None
        except urllib.error.URLError as exc:
            raise ApiError(0, f"cannot reach {self.base_url} ({exc.reason}){UNREACHED}") from None
        except TimeoutError:
            raise ApiError(0, f"no answer from {self.base_url} in {self.timeout:g} s") from None
        except OSError as exc:  # the connection dropped before an answer
            dropped = f"{self.base_url} dropped the connection unanswered ({exc})"
            raise ApiError(0, dropped) from None

    def _sigv4(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ApiError(0, "no AWS credentials to sign the request with")
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(
            request
        )
        return dict(request.headers.items())
