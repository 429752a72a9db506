"""`make run`'s HTTP server answers a path no route has as Switchboard answers everything else."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from chalice import Chalice
from chalice.config import Config

from chalicelib.devstack import local_server


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
