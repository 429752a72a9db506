"""`make run`'s HTTP server answers a path no route has as Switchboard answers everything else,
and the demo sent to it says where each sample lands with that stack's departments."""

from __future__ import annotations

import io
import json
import os
import threading
import urllib.error
import urllib.request

import pytest
from chalice import Chalice
from chalice.config import Config

from chalicelib.devstack import local_server
from chalicelib.settings import get_settings


def test_a_path_no_route_has_is_a_json_404_naming_the_closest_route() -> None:
    app = Chalice(app_name="probe")

    @app.route("/admin/rules")
    def rules() -> dict[str, list[str]]:
        return {"rules": []}

    server = local_server(app, Config(chalice_stage="dev"), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server.server_address[1]}"
    try:
        typo = urllib.request.Request(
            f"{base}/admin/rule", headers={"Authorization": "Bearer secret-token"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(typo, timeout=10)
        body = refused.value.read()
        assert refused.value.code == 404
        assert json.loads(body) == {
            "error": "not_found",
            "message": "no route GET /admin/rule here; did you mean /admin/rules? the routes are"
            " in the README's Contract",
        }
        assert b"secret-token" not in body  # Chalice's 403 quoted the Authorization header
        with urllib.request.urlopen(f"{base}/admin/rules", timeout=10) as answered:
            assert json.loads(answered.read()) == {"rules": []}
    finally:
        server.shutdown()


def test_the_departments_are_listed_to_a_caller_with_the_token(api_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{api_url}/departments", timeout=10)
    assert refused.value.code == 401
    token = get_settings().admin_token
    asked = urllib.request.Request(
        f"{api_url}/departments", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(asked, timeout=10) as answered:
        assert json.loads(answered.read()) == {
            "departments": ["support", "pr", "marketing", "triage"],
            "triage": "triage",
        }


def test_the_demo_says_where_samples_land_with_the_stacks_departments(api_url: str) -> None:
    from chalicelib.demo import run_demo
    from chalicelib.settings import Settings

    out = io.StringIO()
    this_shell = Settings.from_env({**os.environ, "DEPARTMENTS": "support,pr,triage"})
    assert run_demo(api_url, this_shell, out) == 0
    said = out.getvalue()
    assert "x:1992000000000000004 → marketing" in said  # the stack has marketing
    assert said.endswith("switchboard inbox support|pr|marketing|triage\n")
