"""The Slack app Switchboard needs, as an app manifest (Slack's "Create an app from a
manifest"): the events it reads and where Slack sends them, the buttons' interactivity URL, the
slash command, the bot's scopes, and a Messages tab for the alerts sent to people in their own
chat."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.errors import MalformedRequest

BOT_EVENTS = ("app_mention", "message.channels", "message.groups")
"""What Switchboard reads: the app @mentioned, and the messages (and their edits and deletions)
of the public and private channels it is invited to, a community's."""
BOT_SCOPES = ("app_mentions:read", "channels:history", "groups:history", "chat:write", "commands")
"""What those events need, the calls Switchboard makes (chat.postMessage for alerts and
replies in threads, chat.update to change an alert, chat.postEphemeral to answer a press;
views.open needs none), and its slash command."""
COMMAND = "/switchboard"
"""The slash command (`services/slack_commands.py`)."""
CREATE_APP = "https://api.slack.com/apps?new_app=1&manifest_json="
"""Slack's page creating an app, filled in with the manifest that follows."""


def app_manifest(endpoint: str, name: str = "Switchboard") -> dict[str, Any]:
    """The manifest of the Slack app for a Switchboard deployed at `endpoint` (the stack's
    EndpointURL, https); MalformedRequest for a URL Slack would not call."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or parts.hostname in (None, "", "localhost", "127.0.0.1"):
        raise MalformedRequest(
            f"Slack sends its requests to a public https URL, not {endpoint!r}: give the"
            " deployed stack's EndpointURL"
        )
    base = endpoint.rstrip("/")
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Social mentions routed to the right team, alerts you answer from",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    "url": f"{base}/webhooks/slack/commands",
                    "description": "Your next case, those nobody has, yours, one; search; shifts",
                    "usage_hint": "next support | waiting pr | mine | case x:1 | find blender fire",
                    "should_escape": False,
                }
            ],
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,  # alerts to a person come to the app's chat
                "messages_tab_read_only_enabled": True,
            },
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {
                "request_url": f"{base}/webhooks/slack",
                "bot_events": list(BOT_EVENTS),
            },
            "interactivity": {"is_enabled": True, "request_url": f"{base}/webhooks/slack/actions"},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


def create_app_link(manifest: dict[str, Any]) -> str:
    """The link that opens Slack's "create an app" page with `manifest` filled in."""
    return CREATE_APP + quote(json.dumps(manifest, separators=(",", ":")), safe="")
