"""Microsoft Teams: alerts posted to a channel through a Teams webhook (a Workflows flow "When
a Teams webhook request is received" with "Post card in a chat or channel", or a channel's
incoming webhook): a `message` whose one attachment is an Adaptive Card. Its URL carries its own
signature, so it is kept with the secrets (TEAMS_WEBHOOKS, by name)."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import Settings

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
"""RichTextBlock (1.2) and Action.OpenUrl: what Teams renders in channels."""


def text_run(text: str, **style: Any) -> dict[str, Any]:
    """One run of text. A RichTextBlock's runs are shown as written, never read as markdown,
    so what a customer wrote cannot format the card or smuggle a link into it."""
    return {"type": "TextRun", "text": text, **style}


def card_message(lines: list[list[dict[str, Any]]], link: tuple[str, str] | None) -> dict[str, Any]:
    """The webhook's body: a card of one RichTextBlock per line of runs, with a button that
    opens `link` (title, url) when there is one."""
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [{"type": "RichTextBlock", "inlines": runs} for runs in lines],
    }
    if link is not None:
        title, url = link
        content["actions"] = [{"type": "Action.OpenUrl", "title": title, "url": url}]
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": content}],
    }


def post_card(url: str, message: dict[str, Any], settings: Settings) -> None:
    """POST the card to a Teams webhook (it answers 202 with no body); a refusal is raised as
    the Platform* error its status says."""
    from chalicelib.platforms.outbound import call  # requests: off the webhook path

    call("POST", url, settings.platform_timeout_seconds, json=message)
