"""The API function serves webhooks: importing the app must not load the worker's heavy parts."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["vaderSentiment", "ahocorasick", "re2", "tweepy", "requests", "yaml",
         "chalicelib.classify", "chalicelib.rules", "chalicelib.services.routing"]  # fmt: skip


def test_importing_the_app_leaves_models_rules_and_platform_clients_unloaded() -> None:
    code = f"import json, sys, app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(loaded) == []
