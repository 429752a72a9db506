"""SLA deadlines within business hours (SLA_BUSINESS_HOURS in BUSINESS_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from chalicelib.business_hours import BusinessHours
from chalicelib.models import Mention, Routing
from chalicelib.services.sla import sla_due
from chalicelib.settings import Settings

LONDON = ZoneInfo("Europe/London")
OFFICE = BusinessHours.parse("mon-fri 09:00-17:00")
FRIDAY_4PM = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # London is on UTC in November


@pytest.mark.parametrize(
    ("posted", "minutes", "due"),
    [
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 60, datetime(2026, 11, 23, 11, 0, tzinfo=UTC)),
        (FRIDAY_4PM, 240, datetime(2026, 11, 23, 12, 0, tzinfo=UTC)),  # 1 h Friday, 3 h Monday
        (datetime(2026, 11, 21, 11, 0, tzinfo=UTC), 60, datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), 30, datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
    ],
    ids=["within a day", "over the weekend", "posted on Saturday", "posted before opening"],
)
def test_the_clock_runs_only_while_open(posted: datetime, minutes: int, due: datetime) -> None:
    assert OFFICE.deadline(posted, minutes, LONDON) == due


def test_a_lunch_break_and_a_short_saturday() -> None:
    hours = BusinessHours.parse("Mon-Fri 08:00-12:00,13:00-18:00; sat 10:00-14:00")
    noon = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert hours.deadline(noon, 60, LONDON) == datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    friday = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # 30 min Friday, 90 min Saturday
    assert hours.deadline(friday, 120, LONDON) == datetime(2026, 11, 21, 11, 30, tzinfo=UTC)


def test_hours_are_read_in_the_business_time_zone() -> None:
    new_york = ZoneInfo("America/New_York")  # UTC-5 in November: 09:00-17:00 is 14:00-22:00 UTC
    friday = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 16:30 there: 30 min left on Friday
    assert OFFICE.deadline(friday, 60, new_york) == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def test_open_all_day_counts_elapsed_time_across_a_clock_change() -> None:
    always = BusinessHours.parse("mon-sun 00:00-24:00")
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # London springs forward at 01:00 UTC
    assert always.deadline(before, 120, LONDON) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)


def test_holidays_and_special_hours_override_their_weekday() -> None:
    """Christmas Eve closes at 13:00, Christmas and Boxing Day are closed: a comment posted on
    the 24th at noon with four hours to go is due on the 28th (Monday) at 12:00, not at 16:00
    that day, and nothing escalates over the holiday."""
    hours = BusinessHours.parse(
        "mon-fri 09:00-17:00; 2026-12-24 09:00-13:00; 2026-12-25..2026-12-26 closed"
    )
    eve = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)  # a Thursday; 1 h left that day
    assert hours.deadline(eve, 240, LONDON) == datetime(2026, 12, 28, 12, 0, tzinfo=UTC)
    assert OFFICE.deadline(eve, 240, LONDON) == datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    new_year = BusinessHours.parse("mon-fri 09:00-17:00; 2026-12-31,2027-01-01 closed")
    assert new_year.open_on(datetime(2027, 1, 1).date()) == ()
    assert new_year.open_on(datetime(2027, 1, 4).date()) == ((540, 1020),)  # a Monday


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mon-fri 09:00-17:00; 2026-12-25 closed; 2026-13-01 closed", "dates are YYYY-MM-DD"),
        ("mon-fri 09:00-17:00; 2026-12-26..2026-12-24 closed", "runs forward"),
        ("mon-fri 09:00-17:00; 2026-01-01..2036-01-01 closed", "at most 366 days"),
        ("mon-fri 09:00-17:00; sat closed", "closed by leaving it out"),
        ("2026-12-24 09:00-13:00", "at least one day"),
        ("mon-fri", "give days then hours"),
        ("mon-fri 9-5", "HH:MM-HH:MM"),
        ("funday 09:00-17:00", "days are mon"),
        ("fri-mon 09:00-17:00", "runs forward"),
        ("mon 17:00-09:00", "opening must be before closing"),
        ("mon 09:00-12:00,11:00-13:00", "overlap on mon"),
        (" ; ", "at least one day"),
    ],
)
def test_unreadable_hours_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BusinessHours.parse(text)
    with pytest.raises(ValidationError, match=problem):  # and stop the app at start-up
        Settings.from_env({"SLA_BUSINESS_HOURS": text})


def test_urgent_mentions_keep_a_round_the_clock_deadline() -> None:
    settings = Settings.from_env(
        {"SLA_BUSINESS_HOURS": "mon-fri 09:00-17:00", "BUSINESS_TIMEZONE": "Europe/London"}
    )
    saturday = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    mention = Mention(id="facebook:1", platform="facebook", text="fire!", created_at=saturday)
    urgent = sla_due(Routing(department="pr", priority="urgent"), mention, saturday, settings)
    normal = sla_due(Routing(department="support"), mention, saturday, settings)
    assert urgent == datetime(2026, 11, 21, 11, 15, tzinfo=UTC)  # 15 minutes, weekend or not
    assert normal == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 240 minutes from Monday 09:00
    assert sla_due(Routing(department="support"), mention, saturday, Settings()) == datetime(
        2026, 11, 21, 15, 0, tzinfo=UTC
    )  # unset: around the clock


def test_each_department_can_keep_its_own_hours() -> None:
    """Support answers around the clock, PR only in office hours, marketing also on Saturday
    mornings: the same Saturday comment is due at a different time in each."""
    settings = Settings.from_env(
        {
            "SLA_BUSINESS_HOURS": "mon-fri 09:00-17:00",
            "SLA_DEPARTMENT_HOURS": '{"support": "", "marketing": "mon-sat 09:00-13:00"}',
            "BUSINESS_TIMEZONE": "Europe/London",
        }
    )
    saturday = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    mention = Mention(id="facebook:2", platform="facebook", text="hi", created_at=saturday)

    def due(department: str) -> datetime | None:
        return sla_due(Routing(department=department), mention, saturday, settings)

    assert due("support") == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # around the clock
    assert due("pr") == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # SLA_BUSINESS_HOURS
    assert due("marketing") == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 2 h Sat, 2 h Mon


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ('{"legal": "mon-fri 09:00-17:00"}', "'legal' is not a department"),
        ('{"pr": "mon-fri 9-5"}', "SLA_DEPARTMENT_HOURS 'pr': '9-5': opening hours are HH:MM"),
    ],
)
def test_department_hours_that_cannot_work_stop_the_app(hours: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings.from_env({"SLA_DEPARTMENT_HOURS": hours})
