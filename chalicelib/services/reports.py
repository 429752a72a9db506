"""A department's report: what happened to the mentions routed to it over the last days."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from chalicelib.models import AgentSatisfaction, DepartmentReport, PersonReport
from chalicelib.stats import percentile
from chalicelib.stores.mentions import CaseTimes, FirstResponse, MentionStore, Score

SATISFIED = 4
"""The lowest score a satisfied customer gives (CSAT: the share of 4s and 5s)."""
MAX_REPORTED = 200_000
"""Mentions one report reads at most (the newest): a few seconds of index pages."""


def report_of(store: MentionStore, department: str, days: int, now: datetime) -> DepartmentReport:
    """The report of `department` over the `days` before `now`."""
    since = now - timedelta(days=days)
    cases = store.department_cases(department, since, MAX_REPORTED + 1)
    handed_over = store.handed_over_count(department, since)
    surveyed = store.surveyed_count(department, since)
    ratings = store.ratings(department, since, MAX_REPORTED + 1)
    responses = store.first_responses(department, since, MAX_REPORTED + 1)
    passed = store.passed_on(department, since, MAX_REPORTED + 1)
    truncated = any(len(each) > MAX_REPORTED for each in (cases, ratings, responses, passed))
    return summarise(
        department,
        days,
        since,
        cases[:MAX_REPORTED],
        now,
        handed_over,
        truncated,
        ratings[:MAX_REPORTED],
        surveyed,
        responses[:MAX_REPORTED],
        passed[:MAX_REPORTED],
    )


def summarise(
    department: str,
    days: int,
    since: datetime,
    cases: list[CaseTimes],
    now: datetime,
    handed_over: int = 0,
    truncated: bool = False,
    ratings: list[Score] | None = None,
    surveyed: int = 0,
    responses: list[FirstResponse] | None = None,
    passed: list[str] | None = None,
) -> DepartmentReport:
    """The figures of a report, from the mentions it covers, the satisfaction survey's
    `ratings` of its cases and how many times it was asked (`surveyed`), the first
    `responses` people sent, and whose takes ran out and were `passed` on."""
    answered = [c for c in cases if c.state == "answered"]
    on_time = [c for c in answered if c.due is None or _on_time(c)]
    waiting = [c for c in cases if c.state == "waiting"]
    overdue = [c for c in waiting if c.due is not None and c.due < now]
    due = len(answered) + len(overdue)
    seconds = [c.response_seconds for c in answered if c.response_seconds is not None]
    return DepartmentReport(
        department=department,
        days=days,
        since=since,
        mentions=len(cases),
        answered=len(answered),
        on_time=len(on_time),
        due=due,
        sla_met=round(len(on_time) / due, 4) if due else None,
        first_response_p50=percentile(seconds, 0.5) if seconds else None,
        first_response_p90=percentile(seconds, 0.9) if seconds else None,
        waiting=len(waiting),
        overdue=len(overdue),
        escalated=sum(c.escalated for c in cases),
        closed=sum(c.state == "closed" for c in cases),
        withdrawn=sum(c.state in ("hidden", "deleted") for c in cases),
        handed_over=handed_over,
        **_satisfaction(ratings or []),
        surveyed=surveyed,
        response_rate=min(1.0, round(len(ratings or []) / surveyed, 4)) if surveyed else None,
        by_person=_by_person(responses or [], passed or []),
        truncated=truncated,
    )


def _by_person(responses: list[FirstResponse], passed: list[str]) -> list[PersonReport]:
    """The report's figures by person, the one who answered most first: the first responses
    they sent, and the cases they had that ran out and were `passed` on."""
    by: dict[str, list[FirstResponse]] = defaultdict(list)
    for response in responses:
        by[response.by].append(response)
    lapsed = Counter(passed)
    people = sorted(by.keys() | lapsed.keys(), key=lambda agent: (-len(by[agent]), agent))
    return [
        PersonReport(
            agent=agent,
            answered=len(by[agent]),
            on_time=sum(each.on_time for each in by[agent]),
            first_response_p50=(
                percentile([each.seconds for each in by[agent]], 0.5) if by[agent] else None
            ),
            passed_on=lapsed[agent],
        )
        for agent in people
    ]


def _satisfaction(ratings: list[Score]) -> dict[str, Any]:
    """The report's satisfaction figures: over all survey answers, and by agent."""
    if not ratings:
        return {}
    by_agent: dict[str, list[int]] = defaultdict(list)
    for score, agent in ratings:
        by_agent[agent or "unknown"].append(score)
    agents = sorted(by_agent.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        **_scored([score for score, _ in ratings]),
        "by_agent": [AgentSatisfaction(agent=agent, **_scored(scores)) for agent, scores in agents],
    }


def _scored(scores: list[int]) -> dict[str, Any]:
    """How many rated, their average and the share satisfied (4 or 5)."""
    return {
        "rated": len(scores),
        "satisfaction": round(sum(scores) / len(scores), 2),
        "satisfied": round(sum(score >= SATISFIED for score in scores) / len(scores), 4),
    }


def _on_time(case: CaseTimes) -> bool:
    return case.answered_at is not None and case.due is not None and case.answered_at <= case.due
