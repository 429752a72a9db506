"""A department's report from the mentions it had: answered, on time, waiting, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.cli_text import format_report
from chalicelib.models import CaseState
from chalicelib.services.reports import summarise
from chalicelib.stores.mentions import CaseTimes, FirstResponse

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)


def case(
    state: CaseState = "waiting",
    due_in: float | None = 60,
    answered_after: float | None = None,
    escalated: bool = False,
) -> CaseTimes:
    """A mention routed two hours ago, due `due_in` minutes from now, answered after
    `answered_after` minutes (from when it was routed)."""
    routed = NOW - timedelta(hours=2)
    answered = routed + timedelta(minutes=answered_after) if answered_after is not None else None
    return CaseTimes(
        routed_at=routed,
        due=NOW + timedelta(minutes=due_in) if due_in is not None else None,
        state=state,
        answered_at=answered,
        response_seconds=answered_after * 60 if answered_after is not None else None,
        escalated=escalated,
    )


def test_a_report_says_how_many_were_answered_on_time_and_how_many_wait() -> None:
    cases = [
        case("answered", due_in=-60, answered_after=10),  # due an hour ago, answered in time
        case("answered", due_in=-60, answered_after=30),
        case("answered", due_in=-90, answered_after=100, escalated=True),  # late
        case("waiting", due_in=-5, escalated=True),  # overdue
        case("waiting", due_in=30),  # still in time
        case("closed", due_in=-60),  # no reply needed: not counted against the deadline
        case("hidden", due_in=-60),
        case("deleted", due_in=-60),
    ]
    report = summarise("support", 7, SINCE, cases, NOW, handed_over=2)
    assert (report.mentions, report.answered, report.on_time, report.due) == (8, 3, 2, 4)
    assert report.handed_over == 2  # gone to other departments: not among the 8
    assert report.sla_met == 0.5  # two in time of the four whose deadline decided
    assert (report.waiting, report.overdue, report.escalated) == (2, 1, 2)
    assert (report.closed, report.withdrawn, report.truncated) == (1, 2, False)
    assert (report.first_response_p50, report.first_response_p90) == (1800.0, 6000.0)


def test_a_quiet_week_has_no_rates_to_report() -> None:
    report = summarise("pr", 7, SINCE, [case("waiting", due_in=30)], NOW)
    assert (report.sla_met, report.first_response_p50, report.first_response_p90) == (
        None,
        None,
        None,
    )
    assert (report.mentions, report.waiting, report.overdue) == (1, 1, 0)


def test_a_mention_without_a_deadline_answered_counts_as_on_time() -> None:
    report = summarise(
        "marketing", 7, SINCE, [case("answered", due_in=None, answered_after=5)], NOW
    )
    assert (report.on_time, report.due, report.sla_met) == (1, 1, 1.0)


def test_the_survey_answers_give_the_share_satisfied_and_the_average() -> None:
    ratings = [(5, "maya"), (4, "sam"), (2, "maya"), (5, None)]  # None: a survey of before
    report = summarise("support", 7, SINCE, [], NOW, ratings=ratings, surveyed=10)
    assert (report.rated, report.satisfied, report.satisfaction) == (4, 0.75, 4.0)
    assert (report.surveyed, report.response_rate) == (10, 0.4)
    assert format_report(report).splitlines()[-4:] == [
        "  satisfaction    75% satisfied (4 or 5 of 5), average 4.0  (4 answers to 10 surveys)",
        "    maya          50% satisfied, average 3.5  (2)",
        "    sam           100% satisfied, average 4.0  (1)",
        "    unknown       100% satisfied, average 5.0  (1)",
    ]
    quiet = summarise("support", 7, SINCE, [], NOW)
    assert (quiet.rated, quiet.satisfied, quiet.satisfaction, quiet.by_agent) == (0, None, None, [])
    assert quiet.response_rate is None  # no survey asked
    late = summarise("support", 7, SINCE, [], NOW, ratings=[(5, "maya"), (4, "maya")], surveyed=1)
    assert late.response_rate == 1.0  # an answer to a survey asked before the week


def test_each_person_sees_how_many_first_responses_they_sent_and_how_fast() -> None:
    responses = [
        FirstResponse("sam", 40 * 60, False),
        FirstResponse("maya", 5 * 60, True),
        FirstResponse("maya", 25 * 60, True),
        FirstResponse("maya", 95 * 60, False),
    ]
    report = summarise("support", 7, SINCE, [], NOW, responses=responses)
    assert [(p.agent, p.answered, p.on_time, p.first_response_p50) for p in report.by_person] == [
        ("maya", 3, 2, 1500.0),  # the most first
        ("sam", 1, 0, 2400.0),
    ]
    lines = format_report(report).splitlines()
    at = lines.index(
        "  by person       (first responses sent through Switchboard, cases let run out)"
    )
    assert lines[at + 1 : at + 3] == [
        "    maya          3 answered, 67% on time, median 25 min",
        "    sam           1 answered, 0% on time, median 40 min",
    ]
    assert lines[at + 3].startswith("  satisfaction")
    assert "by person" not in format_report(summarise("support", 7, SINCE, [], NOW))
    lapsed = summarise("support", 7, SINCE, [], NOW, responses=responses, passed=["lee", "sam"])
    assert [(p.agent, p.answered, p.passed_on) for p in lapsed.by_person] == [
        ("maya", 3, 0),
        ("sam", 1, 1),
        ("lee", 0, 1),  # let a case run out, answered none
    ]
    assert format_report(lapsed).splitlines()[at + 2 : at + 4] == [
        "    sam           1 answered, 0% on time, median 40 min; 1 passed on unanswered",
        "    lee           0 answered; 1 passed on unanswered",
    ]
