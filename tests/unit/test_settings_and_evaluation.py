"""Settings from the environment, and the evaluation metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from chalicelib.evaluation import is_set, level, score
from chalicelib.settings import Settings


def test_settings_read_lists_and_json_from_environment() -> None:
    settings = Settings.from_env(
        {
            "DEPARTMENTS": "support, pr ,marketing,triage,legal",
            "BRAND_ACCOUNTS": "1,2",
            "QUEUE_URLS": '{"intake": "https://sqs/intake"}',
            "MAX_BODY_BYTES": "1000",
            "UNRELATED": "x",
        }
    )
    assert settings.departments == ["support", "pr", "marketing", "triage", "legal"]
    assert settings.brand_accounts == ["1", "2"]
    assert settings.queue_urls == {"intake": "https://sqs/intake"}
    assert settings.max_body_bytes == 1000
    assert settings.all_queues == [
        "intake",
        "support",
        "pr",
        "marketing",
        "triage",
        "legal",
        "outbox",
    ]


@pytest.mark.parametrize("departments", ["support,ignore,triage", "support,pr"])
def test_departments_must_include_triage_and_not_ignore(departments: str) -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({"DEPARTMENTS": departments})


@pytest.mark.parametrize("escalations", ['{"pr": "execs"}', '{"sales": "support"}'])
def test_escalations_name_configured_departments(escalations: str) -> None:
    """A typo in ESCALATIONS fails at start-up, not when the first SLA is breached."""
    with pytest.raises(ValidationError, match="is not a department"):
        Settings.from_env({"ESCALATIONS": escalations})
    assert Settings.from_env({"ESCALATIONS": '{"support": "pr"}'}).escalations == {"support": "pr"}


def test_approval_departments_name_configured_departments() -> None:
    """A typo in APPROVAL_DEPARTMENTS would post PR's replies unapproved: it fails at start-up."""
    with pytest.raises(ValidationError, match="approval department 'PR' is not a department"):
        Settings.from_env({"APPROVAL_DEPARTMENTS": "PR"})
    env = {"APPROVAL_DEPARTMENTS": "pr, legal", "DEPARTMENTS": "support,pr,legal,triage"}
    assert Settings.from_env(env).approval_departments == ["pr", "legal"]


def test_a_department_can_keep_cases_given_on_shift_longer() -> None:
    settings = Settings.from_env(
        {"ASSIGNMENT_MINUTES": "20", "ASSIGNMENT_DEPARTMENT_MINUTES": '{"pr": 120}'}
    )
    assert settings.assignment_for("pr") == timedelta(hours=2)
    assert settings.assignment_for("support") == timedelta(minutes=20)
    for given, problem in (
        ('{"legal": 60}', "ASSIGNMENT_DEPARTMENT_MINUTES: 'legal' is not a department"),
        ('{"pr": 0}', "'pr': 0 is not 1-480 minutes"),
        ('{"pr": "two hours"}', "valid integer"),
    ):
        with pytest.raises(ValidationError, match=problem):
            Settings.from_env({"ASSIGNMENT_DEPARTMENT_MINUTES": given})


@pytest.mark.parametrize("variable", ["WEBHOOK_SECRET", "WEBHOOK_SECRET_PREVIOUS"])
def test_a_standard_webhooks_secret_that_is_not_base64_fails_at_start_up(variable: str) -> None:
    with pytest.raises(ValidationError, match="not valid base64"):
        Settings.from_env({variable: "whsec_not base64!"})


def test_a_partial_sla_minutes_keeps_the_other_priorities_and_drops_platform_defaults() -> None:
    """It used to replace the defaults whole: KeyError for every mention of a missing priority."""
    settings = Settings.from_env({"SLA_MINUTES": '{"normal": 1}'})
    assert settings.sla("x", "normal") == 1  # no default x:normal entry overrides what was set
    assert settings.sla("x", "high") == 60 and settings.sla("facebook", "low") == 1440


@pytest.mark.parametrize(
    ("minutes", "problem"),
    [('{"x:soon": 5}', "'x:soon'"), ('{"urgent": -1}', "cannot be negative")],
)
def test_sla_minutes_that_make_no_sense_fail_at_start_up(minutes: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings.from_env({"SLA_MINUTES": minutes})


def test_score_per_class_and_macro() -> None:
    gold = ["support", "support", "pr", "marketing"]
    predicted = ["support", "pr", "pr", "triage"]
    report = score(gold, predicted, ["marketing", "pr", "support"])
    by_label = {s.label: s for s in report.scores}
    assert by_label["support"].precision == 1.0 and by_label["support"].recall == 0.5
    assert by_label["pr"].precision == 0.5 and by_label["pr"].recall == 1.0
    assert by_label["marketing"].f1 == 0.0
    assert report.macro_f1 == pytest.approx((0 + 2 / 3 + 2 / 3) / 3)
    assert report.accuracy == 0.5
    assert "triage" in report.format()


@pytest.mark.parametrize(
    ("cell", "yes"), [("1", True), ("1.0", True), (" TRUE ", True), ("yes", True), ("0", False),
                      ("false", False), ("", False), (None, False)],
)  # fmt: skip
def test_a_labeled_csvs_yes_no_cells_read_as_spreadsheets_write_them(
    cell: str | None, yes: bool
) -> None:
    assert is_set(cell) is yes


def test_a_severity_cell_is_a_level_or_none() -> None:
    assert [level(cell) for cell in ("3", "3.0", " 2 ", "", "n/a")] == [3, 3, 2, None, None]


def test_sla_by_platform_then_priority() -> None:
    settings = Settings.from_env({"SLA_MINUTES": '{"urgent": 15, "normal": 240, "x:normal": 60}'})
    assert settings.sla("x", "normal") == 60
    assert settings.sla("facebook", "normal") == 240
    assert settings.sla("x", "urgent") == 15
    chats = Settings()  # the defaults: a chat is answered sooner than a comment
    assert chats.sla("whatsapp", "normal") == chats.sla("messenger", "normal") == 120
    assert chats.sla("facebook", "normal") == 240


@pytest.mark.parametrize("platform", ["x", "messenger", "facebook", "youtube"])
def test_default_slas_answer_each_priority_sooner_than_the_one_below(platform: str) -> None:
    minutes = [Settings().sla(platform, p) for p in ("urgent", "high", "normal", "low")]
    assert minutes == sorted(set(minutes))  # strictly increasing: "high" is never just "normal"
