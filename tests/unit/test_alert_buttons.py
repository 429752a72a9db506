"""The Slack side of the "Take it" button: the blocks an alert is laid out in, the press read
back from Slack's form, and who pressed it by AGENT_CHANNELS."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chalicelib.errors import MalformedRequest
from chalicelib.platforms.slack import ButtonPress, alert_blocks, button_press
from chalicelib.services.alert_buttons import agent_named
from chalicelib.settings import Settings


def test_an_alert_longer_than_a_section_holds_is_cut_to_fit_with_its_button_after() -> None:
    section, actions = alert_blocks("x" * 3500, take="x:1")
    assert len(section["text"]["text"]) == 3000
    assert actions["elements"][0]["value"] == "x:1"
    assert [b["type"] for b in alert_blocks("said", footnote="taken")] == ["section", "context"]


def test_a_press_is_read_from_the_forms_payload() -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MAYA"},
        "container": {"type": "message", "channel_id": "C0PR", "message_ts": "1.2"},
        "message": {"text": "*[URGENT] new case*"},
        "actions": [{"action_id": "take", "value": "slack:C0/1.5"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert button_press(body) == ButtonPress(
        "take", "slack:C0/1.5", "U0MAYA", "C0PR", "1.2", "*[URGENT] new case*"
    )
    del payload["container"]
    with pytest.raises(MalformedRequest, match="without 'container'"):
        button_press(urlencode({"payload": json.dumps(payload)}).encode())


def test_the_presser_is_named_by_their_slack_member_id_never_by_a_teams_webhook() -> None:
    settings = Settings(agent_channels={"maya": "U0MAYA", "lee": "teams:lee"})
    assert agent_named("U0MAYA", settings) == "maya"
    assert agent_named("teams:lee", settings) is None
    assert agent_named("U0SAM", settings) is None
