"""The daily digest: at DIGEST_HOUR (in BUSINESS_TIMEZONE) each department with an alert
channel (ALERT_CHANNELS) is posted its report of the last day, as `switchboard report
DEPARTMENT --days 1` prints it, so a lead reads how yesterday went without asking. The minute's
SLA check posts it, once a day: a claim per department and date, released when the outbox
cannot take it (the next minute of the hour tries again)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.observability import logger
from chalicelib.services.alerts import digest_message
from chalicelib.services.reports import report_of
from chalicelib.settings import Settings
from chalicelib.stores.mentions import Claim, MentionStore
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import OUTBOX

DIGEST_LEASE = timedelta(hours=25)
"""How long a day's digest stays claimed: past the day it names."""


def post_digests(
    mentions: MentionStore, queues: Queues, settings: Settings, now: datetime
) -> list[str]:
    """Within DIGEST_HOUR, put on the outbox the digest of each department with an alert
    channel that was not posted today yet; the departments whose digest went out (best effort:
    one that cannot be read or sent waits for the next minute, within the hour)."""
    local = now.astimezone(settings.timezone)
    if settings.digest_hour is None or local.hour != settings.digest_hour:
        return []
    posted = []
    for department, channel in settings.alert_channels.items():
        key = f"digest#{department}#{local.date().isoformat()}"
        if mentions.claim(key, now, DIGEST_LEASE)[0] is not Claim.CLAIMED:
            continue  # posted today already
        try:
            queues.send(OUTBOX, digest_message(channel, report_of(mentions, department, 1, now)))
        except Exception:
            logger.warning("could not post the daily digest", exc_info=True)
            mentions.release(key)
            continue
        posted.append(department)
    return posted
