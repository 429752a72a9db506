"""Slack: replies in the message's thread with `chat.postMessage`.

Slack mention ids are `slack:<channel>/<ts>`.
"""

from __future__ import annotations

from chalicelib.models import Mention, Reply
from chalicelib.platforms.outbound import PlatformRejected, PlatformRetryLater, PostedReply, call
from chalicelib.settings import Settings


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """`POST chat.postMessage` with `thread_ts` (bot token); Slack says `ok: false` on errors."""
    channel, _, ts = mention.id.split(":", 1)[1].partition("/")
    answer = call(
        "POST",
        f"{settings.slack_api_base_url.rstrip('/')}/chat.postMessage",
        settings.platform_timeout_seconds,
        headers={"Authorization": f"Bearer {settings.slack_bot_token}"},
        json={"channel": channel, "text": reply.text, "thread_ts": ts},
    )
    if not answer.get("ok"):
        error = str(answer.get("error"))
        if error == "ratelimited":
            raise PlatformRetryLater("rate limited")
        raise PlatformRejected(error)
    return PostedReply(f"{channel}/{answer['ts']}")
