"""Signed Slack payloads of any shape (a button press, a form sent, a menu item, with any field
of any type in any place) never crash the actions route: done, refused or a 4xx saying why."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.fakeplatforms import FakePlatforms
from tests.integration.test_alert_buttons import (
    blender_alert,
    buttons,
    chose,
    press,
    reply_pressed,
    sent_modal,
)
from tests.integration.test_hostile_requests import a_crash
from tests.integration.test_slack_commands import typed
from tests.unit.test_worker_robustness import ODD, paths, replaced

__all__ = ["buttons"]  # the fixture


def payloads(client: Client, stack: dict[str, str], fakes: FakePlatforms) -> list[Any]:
    """The payloads Slack sends for the alert of a case: Reply… pressed, its form sent, a
    menu item chosen."""
    alert = blender_alert(client, stack, fakes)
    press(client, reply_pressed(alert, "U0MAYA"))
    [view] = fakes.slack_views
    bodies = [
        reply_pressed(alert, "U0MAYA"),
        sent_modal(view, "U0MAYA", "Sorry!", ticked=("private",)),
        chose(alert, "U0MAYA", "Close…"),
    ]
    return [json.loads(parse_qs(body.decode())["payload"][0]) for body in bodies]


def form(payload: Any) -> bytes:
    """The body Slack posts for an interaction payload."""
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.usefixtures("buttons")
@pytest.mark.hypothesis  # its examples come from a nested @given
def test_no_signed_slack_payload_crashes_the_actions_route(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    originals = payloads(client, stack, fakes)
    crashed: list[str] = []
    reply = originals[0]  # Reply… pressed on a case no such value names
    for value in ("", "a" * 3000, "😀" * 700):
        action = {**reply["actions"][0], "value": value}
        response = press(client, form({**reply, "actions": [action]}))
        assert response.status_code == 200, response.body
        assert json.loads(response.body)["status"] == "refused"

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def mutated(data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(originals))
        path = data.draw(st.sampled_from(list(paths(original))))
        response = press(client, form(replaced(original, path, data.draw(ODD))))
        if a_crash(response):
            crashed.append(f"{path}: {response.status_code} {response.body[:200]!r}")

    mutated()
    assert crashed == [], "\n".join(crashed)


WORDS = ("next", "mine", "waiting", "case", "find", "approvals", "shifts", "help", "support")
HOSTILE = ("", "\x00", "a" * 3000, '"', "99999d", "-1d", "x:", "%ZZ", "😀" * 700)


@pytest.mark.usefixtures("buttons")
@pytest.mark.hypothesis  # its examples come from a nested @given
def test_no_slash_command_crashes_its_route(
    client: Client, stack: dict[str, str], fakes: FakePlatforms
) -> None:
    blender_alert(client, stack, fakes)  # a case to find
    crashed: list[str] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(WORDS) | st.sampled_from(HOSTILE) | st.text(), max_size=4))
    @example(["case", "a" * 3000])
    @example(["case", "x:"])
    @example(["find", "99999d", "blender"])
    @example(["approvals", "😀" * 700])
    @example(["next", "a" * 3000])
    def typed_anything(words: list[str]) -> None:
        response = typed(client, " ".join(words))
        if a_crash(response):
            crashed.append(f"{words!r}: {response.status_code} {response.body[:200]!r}")

    typed_anything()
    assert crashed == [], "\n".join(crashed)
