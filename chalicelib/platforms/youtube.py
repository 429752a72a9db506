"""YouTube: replies to comments through the Data API (`comments.insert`).

Comments are not pushed by YouTube (WebSub announces videos only); a poller posts them to the
generic intake as `youtube:<comment-id>` mentions.
"""

from __future__ import annotations

from chalicelib.models import Mention, Reply
from chalicelib.platforms.outbound import PostedReply, call
from chalicelib.settings import Settings


def post_reply(reply: Reply, mention: Mention, settings: Settings) -> PostedReply:
    """`POST /comments?part=snippet` with `snippet.parentId` (OAuth bearer token)."""
    answer = call(
        "POST",
        f"{settings.youtube_api_base_url.rstrip('/')}/comments",
        settings.platform_timeout_seconds,
        params={"part": "snippet"},
        headers={"Authorization": f"Bearer {settings.youtube_access_token}"},
        json={"snippet": {"parentId": mention.id.split(":", 1)[1], "textOriginal": reply.text}},
    )
    return PostedReply(str(answer["id"]))
