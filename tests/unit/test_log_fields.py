"""No log call names a field the logging module keeps for itself: `logger.info("…",
extra={"thread": …})` raises KeyError ("Attempt to overwrite 'thread' in LogRecord") where it
is logged, failing what it reports on; tests log at WARNING, so an info call would hide it."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import chalicelib

RESERVED = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def test_no_log_call_overwrites_a_field_of_the_log_record() -> None:
    clashes = []
    for path in sorted(Path(chalicelib.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                    names = [k.value for k in keyword.value.keys if isinstance(k, ast.Constant)]
                    clashes += [f"{path.name}:{node.lineno} {n}" for n in names if n in RESERVED]
    assert clashes == []
