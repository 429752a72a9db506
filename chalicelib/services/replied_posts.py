"""The brand's own post a customer's reply answers (a campaign post, an announcement, a
contest), for whoever answers the reply and for the rules (`replied_post.text`).

Platforms deliver a reply with its parent's id only. The brand's own posts that deliveries carry
(X sends the account's posts back, Meta the Page's feed posts, YouTube's notifications the
channel's new videos) are kept a week in the mention store (`post/<id>`) as they arrive; a post
not seen so is read from the platform once and kept as long, so the hundreds of replies a
campaign post draws cost one read at most; a post the platform will not show (deleted) is kept
as unreadable for that week too. A rate limit or refused credentials pause the platform's reads
(`post-reads/<platform>`) as long as the platform asks. Best effort throughout: a reply whose
post cannot be had is routed without it (metric RepliedPostUnavailable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.models import Mention, Quoted
from chalicelib.observability import logger, metrics
from chalicelib.services.time_budget import TimeLeft, short_of_time
from chalicelib.settings import Settings
from chalicelib.stores.mentions import MentionStore

KEEP = timedelta(days=7)
"""How long a post seen or read (or found unreadable) is kept for the replies to it: most come
within days of it."""
UNREADABLE_POST = ""
"""What is kept of a post the platform would not show."""

Reader = Callable[[str, Settings], Quoted]


def _readers() -> dict[str, tuple[Reader, Callable[[Settings], bool]]]:
    """Each platform's post reader, with whether the settings let it read (imported here:
    requests and tweepy stay off the webhook path)."""
    from chalicelib.platforms import meta, xapi, youtube

    def meta_token(settings: Settings) -> bool:
        return bool(settings.meta_page_access_token)

    def google(settings: Settings) -> bool:
        return bool(settings.youtube_access_token or settings.youtube_refresh_token)

    return {
        "x": (xapi.read_post, lambda settings: bool(settings.x_access_token)),
        "facebook": (meta.read_post, meta_token),
        "instagram": (meta.read_post, meta_token),
        "youtube": (youtube.read_post, google),
    }


def answers_brand_post(mention: Mention) -> bool:
    """Whether `mention` answers a post of the brand's: a reply to the brand on X, a comment on
    the brand's Facebook Page or Instagram media (the post, or a comment under it), a comment
    under one of the brand's YouTube videos."""
    kinds = {"x": "reply", "facebook": "comment", "instagram": "comment", "youtube": "comment"}
    return mention.in_reply_to is not None and kinds.get(mention.platform) == mention.kind


def post_key(post: str) -> str:
    """The key a post seen or read is kept under in the mention store."""
    return f"post/{post}"


def paused_key(platform: str) -> str:
    """The key under which a platform's post reads are paused (rate limit, credentials)."""
    return f"post-reads/{platform}"


@dataclass
class RepliedPosts:
    """Adds to a reply the brand's post it answers (module docstring)."""

    mentions: MentionStore
    settings: Settings
    time_left: TimeLeft | None = None

    def add_to(self, mention: Mention, now: datetime) -> Mention:
        """`mention` with `replied_post` when it answers a post of the brand's that can be
        read (kept, or read now); else `mention` as it is."""
        if mention.replied_post is not None or not answers_brand_post(mention):
            return mention
        reader = _readers().get(mention.platform)
        if reader is None or not reader[1](self.settings):
            return mention
        post = str(mention.in_reply_to)
        try:
            found = self._post(post, reader[0], now)
        except Exception as exc:  # context is worth less than the reply reaching its department
            found = str(exc) or type(exc).__name__
        if isinstance(found, Quoted):
            return mention.model_copy(update={"replied_post": found})
        logger.warning(
            "replied post unavailable",
            extra={"mention_id": mention.id, "post": post, "reason": found},
        )
        metrics.add_metric(name="RepliedPostUnavailable", unit="Count", value=1)
        return mention

    def remember(self, posts: list[Quoted], now: datetime) -> None:
        """Keep the brand's posts a delivery carried for the replies to come (best effort: a
        post not kept is read when a reply needs it)."""
        for post in posts:
            try:
                self.mentions.hold(post_key(post.id), post.model_dump_json(), now, now + KEEP)
            except Exception:
                logger.warning("could not keep the brand's post", extra={"post": post.id})

    def _post(self, post: str, read: Reader, now: datetime) -> Quoted | str:
        """The post, kept or read now, or why it cannot be had."""
        from chalicelib.platforms.outbound import (
            CREDENTIALS_RETRY_SECONDS,
            PlatformRejected,
            PlatformRetryLater,
            PlatformUnauthorized,
        )

        kept = self.mentions.held(post_key(post), now)
        if kept is not None:
            found = kept[0]
            return Quoted.model_validate_json(found) if found else "the platform would not show it"
        platform = post.partition(":")[0]
        paused = self.mentions.held(paused_key(platform), now)
        if paused is not None:
            return f"reads paused: {paused[0]}"
        if short_of_time(self.time_left, self.settings.platform_call_reserve):
            return "too little time left in this invocation to read it"
        try:
            quoted = read(post, self.settings)
        except PlatformRetryLater as exc:
            self._pause(platform, str(exc), now, exc.delay)
            return str(exc)
        except PlatformUnauthorized as exc:
            self._pause(platform, str(exc), now, CREDENTIALS_RETRY_SECONDS)
            return str(exc)
        except PlatformRejected as exc:
            self.mentions.hold(post_key(post), UNREADABLE_POST, now, now + KEEP)
            return str(exc)
        self.mentions.hold(post_key(post), quoted.model_dump_json(), now, now + KEEP)
        return quoted

    def _pause(self, platform: str, why: str, now: datetime, seconds: int) -> None:
        self.mentions.hold(paused_key(platform), why, now, now + timedelta(seconds=seconds))
