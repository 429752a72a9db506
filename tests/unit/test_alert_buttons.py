"""The Slack side of the buttons on alerts: the blocks an alert is laid out in, the press or
the modal sent read back from Slack's form, and who did it by AGENT_CHANNELS."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chalicelib.errors import MalformedRequest
from chalicelib.platforms.slack import (
    Button,
    ButtonPress,
    ModalSubmission,
    alert_blocks,
    interaction,
)
from chalicelib.services.alert_buttons import agent_named
from chalicelib.settings import Settings


def test_an_alert_longer_than_a_section_holds_is_cut_to_fit_with_its_button_after() -> None:
    section, actions = alert_blocks("x" * 3500, (Button("take", "Take it", "x:1"),))
    assert len(section["text"]["text"]) == 3000
    assert actions["elements"] == [
        {
            "type": "button",
            "action_id": "take",
            "text": {"type": "plain_text", "text": "Take it"},
            "value": "x:1",
        }
    ]
    assert [b["type"] for b in alert_blocks("said", footnote="taken")] == ["section", "context"]


def test_a_press_is_read_from_the_forms_payload_and_one_without_its_message_refused() -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MAYA"},
        "container": {"type": "message", "channel_id": "C0PR", "message_ts": "1.2"},
        "message": {"text": "*[URGENT] new case*"},
        "actions": [{"action_id": "take", "value": "slack:C0/1.5"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert interaction(body) == ButtonPress(
        "take", "slack:C0/1.5", "U0MAYA", "C0PR", "1.2", "*[URGENT] new case*"
    )
    del payload["container"]
    with pytest.raises(MalformedRequest, match="without 'container'"):
        interaction(urlencode({"payload": json.dumps(payload)}).encode())


def test_a_modal_sent_is_read_with_what_was_written_in_it() -> None:
    written = {"reason": {"reason": {"type": "plain_text_input", "value": "off tone"}}}
    view = {"callback_id": "reject", "private_metadata": "{}", "state": {"values": written}}
    payload = {"type": "view_submission", "user": {"id": "U0SAM"}, "view": view}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert interaction(body) == ModalSubmission("reject", "U0SAM", "{}", "off tone")
    written["reason"]["reason"]["value"] = None  # type: ignore[assignment]  # left empty
    left_empty = interaction(urlencode({"payload": json.dumps(payload)}).encode())
    assert left_empty == ModalSubmission("reject", "U0SAM", "{}", "")


def test_the_presser_is_named_by_their_slack_member_id_never_by_a_teams_webhook() -> None:
    settings = Settings(agent_channels={"maya": "U0MAYA", "lee": "teams:lee"})
    assert agent_named("U0MAYA", settings) == "maya"
    assert agent_named("teams:lee", settings) is None
    assert agent_named("U0SAM", settings) is None
