"""The Slack app's manifest (`switchboard slack-manifest`): the URLs Slack calls on a deployed
stage, the events the webhook reads and the scopes its calls need."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from chalicelib.errors import MalformedRequest
from chalicelib.platforms.slack import _MESSAGE_EVENTS
from chalicelib.platforms.slack_app import CREATE_APP, app_manifest, create_app_link
from tests.unit.test_cli import run

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/"


def test_the_manifest_points_slack_at_the_stages_webhooks_with_what_they_need() -> None:
    manifest = app_manifest(ENDPOINT, "Acme care")
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == f"{ENDPOINT}webhooks/slack"
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": f"{ENDPOINT}webhooks/slack/actions",
    }
    events = settings["event_subscriptions"]["bot_events"]
    assert {event.split(".")[0] for event in events} == set(_MESSAGE_EVENTS)  # what it reads
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "channels:history", "groups:history", "chat:write"} < scopes
    [command] = manifest["features"]["slash_commands"]
    assert (command["command"], command["url"]) == (
        "/switchboard",
        f"{ENDPOINT}webhooks/slack/commands",
    )
    assert "commands" in scopes  # what a slash command needs
    assert manifest["features"]["app_home"]["messages_tab_enabled"]  # alerts to a person
    assert manifest["features"]["bot_user"]["display_name"] == "Acme care"


@pytest.mark.parametrize(
    "endpoint", ["http://abc.execute-api.us-east-1.amazonaws.com/dev/", "https://localhost/", "dev"]
)
def test_a_url_slack_would_not_call_is_refused(endpoint: str) -> None:
    with pytest.raises(MalformedRequest, match="public https URL"):
        app_manifest(endpoint)


def test_the_link_opens_slacks_new_app_page_with_the_manifest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = app_manifest(ENDPOINT)
    link = create_app_link(manifest)
    assert link.startswith(CREATE_APP)
    assert json.loads(unquote(link.removeprefix(CREATE_APP))) == manifest

    code, printed = run("slack-manifest", ENDPOINT.rstrip("/"))
    assert code == 0 and json.loads(printed) == manifest  # with or without the final slash
    assert capsys.readouterr().err.startswith("Create the app with it (signed in to Slack): https")
    assert run("slack-manifest", "http://127.0.0.1:8000")[0] == 2
    assert "give the deployed stack's EndpointURL" in capsys.readouterr().err
