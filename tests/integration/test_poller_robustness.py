"""What X and YouTube list, of any shape in any place, never stops a source's polling for good:
an item that cannot be read is skipped (and logged), the rest are routed, the cursor moves on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import wiring
from chalicelib.fakeplatforms import FakePlatforms
from chalicelib.services import polling
from tests.integration.test_instagram_mentions import routed_mentions
from tests.integration.test_routing_flow import drain_intake
from tests.integration.test_x_poller import BRAND, enable_x_polling, post
from tests.integration.test_youtube_poller import CHANNEL, poll, thread
from tests.unit.test_worker_robustness import ODD, paths, replaced


@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Why each source's poll failed, as the run logs it."""
    said: list[str] = []
    logged = polling.logger.warning

    def warning(message: str, *args: Any, **kwargs: Any) -> None:
        if message == "poll failed":
            said.append(str(kwargs["extra"]["reason"]))
        logged(message, *args, **kwargs)

    monkeypatch.setattr(polling.logger, "warning", warning)
    return said


def test_a_youtube_comment_that_cannot_be_read_is_skipped_and_the_channel_moves_on(
    stack: dict[str, str], fakes: FakePlatforms, failures: list[str]
) -> None:
    broken = thread(2, "hello", timedelta(minutes=1))
    broken["snippet"]["topLevelComment"]["snippet"]["textOriginal"] = 5  # not a text
    odd = thread(4, "where can I buy the blender?", timedelta(minutes=2))
    odd["snippet"]["totalReplyCount"] = float("inf")  # JSON's Infinity: read as no engagement
    fakes.youtube_threads[CHANNEL] = [thread(3, "is part 2 out?", timedelta(0)), broken, odd]
    assert poll() == {"queued": 2} and failures == []
    assert wiring.cursors().get(f"youtube:{CHANNEL}") is not None
    drain_intake(stack)
    assert set(routed_mentions(stack)) == {"youtube:Ugcomment3", "youtube:Ugcomment4"}


@pytest.mark.hypothesis  # its examples come from a nested @given
def test_nothing_a_platform_lists_fails_its_sources_poll(
    stack: dict[str, str], fakes: FakePlatforms, failures: list[str]
) -> None:
    enable_x_polling()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def polled(data: st.DataObject) -> None:
        posts = [post(f"19920000000000003{n}", "@AcmeHelp hi", timedelta(0)) for n in (10, 11)]
        threads = [thread(n, "a comment", timedelta(minutes=n)) for n in (1, 2)]
        x_listed = data.draw(st.booleans())
        listed: Any = posts if x_listed else threads
        place = data.draw(st.sampled_from(list(paths(listed))[1:]))  # in it, not all of it
        listed = replaced(listed, place, data.draw(ODD))
        fakes.x_mentions[BRAND] = listed if x_listed else posts
        fakes.youtube_threads[CHANNEL] = threads if x_listed else listed
        for cursor in (f"x:{BRAND}", f"youtube:{CHANNEL}"):
            wiring.cursors().delete(cursor)  # read it all again
        failures.clear()
        poll()
        drain_intake(stack)
        # the fake platforms' own failure to serve an odd list is the only failure there is
        assert [f for f in failures if not f.startswith("no answer from the platform")] == []

    polled()
