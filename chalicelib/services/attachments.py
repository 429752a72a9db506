"""The files customers sent with their messages, for the people answering them: a link to each,
fetched first from a platform that keeps it behind its API (WhatsApp)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.errors import Gone, NotFound, PlatformUnavailable
from chalicelib.models import Attachment, MentionRecord
from chalicelib.platforms.meta import open_whatsapp_media
from chalicelib.platforms.outbound import (
    PlatformOutcomeUnknown,
    PlatformRejected,
    PlatformRetryLater,
    PlatformUnauthorized,
)
from chalicelib.settings import Settings
from chalicelib.stores.attachments import AttachmentFiles, files_of

LINK_SECONDS = 900
"""How long a link to a fetched file works."""


@dataclass
class AttachmentLinks:
    """Links to the files of stored mentions."""

    files: AttachmentFiles
    settings: Settings

    def link(self, record: MentionRecord, number: int) -> dict[str, Any]:
        """The `number`th (from 1) file of the mention: what it is and a link to it (`url`,
        with `expires_at` when it is Switchboard's copy). NotFound for one it does not have,
        Gone when WhatsApp no longer keeps it, PlatformUnavailable when WhatsApp cannot say."""
        attachments = record.message.mention.attachments
        if not 1 <= number <= len(attachments):
            having = f"has {len(attachments)}" if attachments else "has none"
            raise NotFound(f"{record.id} {having}: no attachment {number}")
        attachment = attachments[number - 1]
        shown = attachment.model_dump(exclude={"url"}, exclude_none=True)
        if attachment.url is not None or attachment.media_id is None:
            return {**shown, "url": attachment.url}
        key = f"{files_of(record.id)}{number}"
        if not self.files.has(key):
            self._fetch(attachment, key)
        expires = datetime.now(UTC) + timedelta(seconds=LINK_SECONDS)
        return {
            **shown,
            "url": self.files.link(key, LINK_SECONDS),
            "expires_at": expires.isoformat(),
        }

    def _fetch(self, attachment: Attachment, key: str) -> None:
        """Copy a WhatsApp media file to the bucket."""
        media = attachment.media_id or ""
        try:
            stream, mime_type = open_whatsapp_media(media, self.settings)
            with stream:
                self.files.keep(key, stream, mime_type or attachment.mime_type)
        except PlatformUnauthorized as exc:
            raise PlatformUnavailable(
                f"WhatsApp refused Switchboard's credentials ({exc}): store a working"
                " WHATSAPP_ACCESS_TOKEN in the platform secret"
            ) from exc
        except PlatformRejected as exc:
            raise Gone(
                f"WhatsApp no longer has media {media} (it keeps a customer's files 30 days): {exc}"
            ) from exc
        except (PlatformRetryLater, PlatformOutcomeUnknown) as exc:
            raise PlatformUnavailable(f"WhatsApp did not give media {media}: {exc}") from exc
