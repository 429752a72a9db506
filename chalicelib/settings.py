"""One typed settings object, read lazily from the environment.

Every configurable value of Switchboard enters here, under the environment variable named in
DESIGN.md §4 (upper-case field name). Deployed, CDK sets the same names.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:  # parsed only where SLA deadlines are computed, off the webhook path
    from chalicelib.business_hours import BusinessHours

DEFAULT_DEPARTMENTS = ("support", "pr", "marketing", "triage")
PRIORITIES = ("low", "normal", "high", "urgent")
BASE_SLA_MINUTES = {"urgent": 15, "high": 60, "normal": 240, "low": 1440}
SAVED_REPLY = "template:"
"""How SATISFACTION_SURVEY names a saved reply to ask with (`template:csat`)."""
TEAMS = "teams:"
"""An ALERT_CHANNELS value naming a Teams webhook (`teams:<name>`) rather than a Slack channel."""
_WEBHOOK_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
"""The `<name>` of a Teams webhook (TEAMS_WEBHOOKS' keys, `teams:<name>`)."""


UNSTATED = ""
"""The language key of an AWAY_MESSAGE given as one text: no stated language."""


def _fillable(text: str, field: str, kind: str) -> None:
    """ValueError naming what in a message Switchboard sends by itself (`kind`, as
    AUTOMATIC_PLACEHOLDERS names it) cannot be filled in."""
    from chalicelib.errors import SwitchboardError
    from chalicelib.services.templates import AUTOMATIC_PLACEHOLDERS, check_placeholders

    try:
        check_placeholders(text, field, AUTOMATIC_PLACEHOLDERS[kind])
    except SwitchboardError as exc:
        raise ValueError(exc.message) from None


class Settings(BaseModel):
    """Runtime configuration of the API and the workers."""

    aws_default_region: str = "us-east-1"
    queue_prefix: str = "switchboard-"
    departments: list[str] = Field(default_factory=lambda: list(DEFAULT_DEPARTMENTS))
    triage_department: str = "triage"
    # Optional explicit queue URLs by logical name ("intake", "support", ...); deployed from CDK.
    queue_urls: dict[str, str] = Field(default_factory=dict)
    mentions_table: str = "switchboard-mentions"
    rules_table: str = "switchboard-rules"
    traffic_table: str = "switchboard-traffic"

    replies_table: str = "switchboard-replies"
    # Where deliveries too large for an SQS message wait for the routing worker (claim check).
    payload_bucket: str = "switchboard-payloads"

    x_consumer_secret: str = ""
    # While a platform secret is rotated, the one it replaces: deliveries signed with either
    # verify, so nothing is refused between the platform's switch and Switchboard's.
    x_consumer_secret_previous: str = ""
    meta_app_secret_previous: str = ""
    slack_signing_secret_previous: str = ""
    webhook_secret_previous: str = ""
    websub_secret_previous: str = ""
    x_consumer_key: str = ""
    x_access_token: str = ""
    x_access_token_secret: str = ""
    meta_page_access_token: str = ""
    whatsapp_access_token: str = ""  # a system user's token for the WhatsApp Cloud API
    # The WhatsApp Business Account (the `entry.id` of its webhooks): the Slack reply form
    # offers its approved message templates to a customer past their 24 hours.
    whatsapp_business_account_id: str = ""
    youtube_access_token: str = ""
    # A deployed stage's YouTube credentials: the brand account's OAuth refresh token and the
    # client it was issued to (access tokens live an hour; see platforms/google_oauth.py).
    youtube_refresh_token: str = ""
    youtube_client_id: str = ""
    youtube_client_secret: str = ""
    google_token_url: str = "https://oauth2.googleapis.com/token"
    slack_bot_token: str = ""
    # Teams webhooks alerts may go to (ALERT_CHANNELS `teams:<name>`), by name: each URL carries
    # its own signature, so they belong with the secrets.
    teams_webhooks: dict[str, str] = Field(default_factory=dict)
    x_api_base_url: str = "https://api.x.com"
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"
    youtube_api_base_url: str = "https://www.googleapis.com/youtube/v3"
    slack_api_base_url: str = "https://slack.com/api"
    platform_timeout_seconds: float = 10.0
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    slack_signing_secret: str = ""
    websub_secret: str = ""
    youtube_channels: list[str] = Field(default_factory=list)
    x_poll_accounts: list[str] = Field(default_factory=list)
    youtube_follow_up_days: int = Field(default=7, ge=0, le=30)
    dm_conversation_hours: int = Field(default=72, ge=0)
    # How far back a mention's author's earlier cases are looked up (0: not at all).
    author_history_days: int = Field(default=30, ge=0, le=90)
    webhook_secret: str = ""
    admin_token: str = ""
    brand_accounts: list[str] = Field(default_factory=list)
    # The apps whose messages are automated (a chatbot, an auto-responder, the Page's instant
    # reply), by the id or name the platform gives: what they send the customer is no answer.
    automated_apps: list[str] = Field(default_factory=list)
    # Departments whose replies wait for a second person's approval before they are posted.
    approval_departments: list[str] = Field(default_factory=list)

    # A delivery larger than an SQS message waits in the payload bucket; this bounds it well
    # under the 6 MB a Lambda invocation can carry (its body JSON-escaped in the event).
    max_body_bytes: int = 3_000_000
    webhook_tolerance_seconds: int = 300
    claim_lease_seconds: int = 120
    mention_ttl_days: int = 90
    rules_cache_seconds: int = 30
    traffic_keep_days: int = 7
    # Below this confidence the department model's choice gives way to triage.
    classifier_threshold: float = 0.6
    business_timezone: str = "UTC"
    # "token": Authorization: Bearer ADMIN_TOKEN (local); "iam": API Gateway's IAM authorizer
    auth_mode: Literal["token", "iam"] = "token"
    # Minutes from the mention's creation to its first-response deadline: by priority, and
    # "platform:priority" entries override them (public posts are answered faster than DMs).
    sla_minutes: dict[str, int] = Field(
        default_factory=lambda: {
            **BASE_SLA_MINUTES,
            "x:high": 30,
            "x:normal": 60,
            "x:low": 240,
            "messenger:normal": 120,
            "whatsapp:normal": 120,  # a chat: answered within 24 hours or only by template
        }
    )

    @field_validator(
        "departments",
        "brand_accounts",
        "automated_apps",
        "approval_departments",
        "youtube_channels",
        "x_poll_accounts",
        "alert_labels",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # When set (chalicelib/business_hours.py), SLA minutes count only while the business is open
    # (BUSINESS_TIMEZONE); urgent mentions keep a round-the-clock deadline.
    sla_business_hours: str = ""

    @field_validator("sla_business_hours")
    @classmethod
    def _readable_hours(cls, value: str) -> str:
        if value.strip():
            from chalicelib.business_hours import BusinessHours

            BusinessHours.parse(value)
        return value

    # A department's own opening hours (JSON, department → the same format; "" for one that
    # answers around the clock), instead of SLA_BUSINESS_HOURS.
    sla_department_hours: dict[str, str] = Field(default_factory=dict)

    @field_validator("sla_department_hours")
    @classmethod
    def _readable_department_hours(cls, value: dict[str, str]) -> dict[str, str]:
        for department, hours in value.items():
            try:
                cls._readable_hours(hours)
            except ValueError as exc:
                raise ValueError(f"SLA_DEPARTMENT_HOURS {department!r}: {exc}") from None
        return value

    # How long a new case shared out to someone on shift (chalicelib/services/shifts.py) is
    # theirs alone to answer: past it, anyone may take it.
    assignment_minutes: int = Field(default=30, ge=1, le=480)
    # A department's own (JSON, department → minutes, 1-480), instead of ASSIGNMENT_MINUTES:
    # PR's statements take longer to write than a support answer.
    assignment_department_minutes: dict[str, int] = Field(default_factory=dict)

    @field_validator("assignment_department_minutes")
    @classmethod
    def _assignment_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        for department, minutes in value.items():
            if not 1 <= minutes <= 480:
                raise ValueError(
                    f"ASSIGNMENT_DEPARTMENT_MINUTES {department!r}: {minutes} is not 1-480 minutes"
                )
        return value

    def assignment_for(self, department: str) -> timedelta:
        """How long a case given to someone on shift in `department` is theirs alone."""
        return timedelta(
            minutes=self.assignment_department_minutes.get(department, self.assignment_minutes)
        )

    # An automatic answer to a direct message that comes while its department is closed
    # (chalicelib/services/away.py): one text, or a JSON object of texts by language
    # (`{"en": "…", "es": "…"}`, the first for the languages it has none in); "" sends none.
    away_message: dict[str, str] = Field(default_factory=dict)
    # The question a reply sent with `survey` is followed by, asking the customer to rate the
    # help from 1 to 5 (chalicelib/services/survey.py), or `template:<id>`, a saved reply with
    # its translations; "" asks none.
    satisfaction_survey: str = ""

    @field_validator("satisfaction_survey")
    @classmethod
    def _fillable_survey(cls, value: str) -> str:
        if value.startswith(SAVED_REPLY):
            from chalicelib.models import TEMPLATE_ID

            if not re.match(TEMPLATE_ID, value[len(SAVED_REPLY) :]):
                raise ValueError(f"SATISFACTION_SURVEY {value!r} names no template id")
        elif value.strip():
            _fillable(value, "SATISFACTION_SURVEY", "satisfaction_survey")
        return value.strip()

    @field_validator("away_message", mode="before")
    @classmethod
    def _away_by_language(cls, value: Any) -> Any:
        """One text is the message in no stated language; a JSON object, the texts by
        language."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text.startswith("{"):
            return {UNSTATED: text} if text else {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(
                f'AWAY_MESSAGE is not JSON ({exc}): one text, or {{"en": "…", "es": "…"}}'
            ) from None

    @field_validator("away_message")
    @classmethod
    def _fillable_away(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            field = f"AWAY_MESSAGE {language}" if language else "AWAY_MESSAGE"
            if language and not re.fullmatch(r"[a-z]{2,3}", language):
                raise ValueError(f"{field}: a language is a code as `lang` has it (en, es, pt…)")
            if not text.strip():
                raise ValueError(f"{field} is empty")
            _fillable(text, field, "away_message")
        return {language: text.strip() for language, text in value.items()}

    def business_hours(self, department: str) -> BusinessHours | None:
        """The opening hours a department's SLA clock counts in (its own, else
        SLA_BUSINESS_HOURS); None: the clock runs around the clock."""
        return self._parsed_hours.get(department, self._parsed_hours.get(""))

    @cached_property
    def _parsed_hours(self) -> dict[str, BusinessHours | None]:
        """Every department's hours read once ("" for SLA_BUSINESS_HOURS)."""
        from chalicelib.business_hours import BusinessHours

        given = {"": self.sla_business_hours, **self.sla_department_hours}
        return {
            name: BusinessHours.parse(text) if text.strip() else None
            for name, text in given.items()
        }

    # Where an overdue mention is copied, by department (default: its own department), with the
    # priority raised one level.
    escalations: dict[str, str] = Field(default_factory=dict)
    reply_lease_seconds: int = 300
    # Slack channels told at once, by department (chalicelib/services/alerts.py): of each new case
    # the department gets at ALERT_PRIORITY or above, and of each of its SLA breaches.
    alert_channels: dict[str, str] = Field(default_factory=dict)
    alert_priority: Literal["low", "normal", "high", "urgent"] = "urgent"
    # Author labels (press, vip…) whose every new case alerts, whatever its priority.
    alert_labels: list[str] = Field(default_factory=list)
    # Buttons on the Slack alerts (chalicelib/services/alert_buttons.py): "Take it", "Reply…"
    # and "Give back" on a case's, "Approve" and "Reject…" on a reply's waiting for approval;
    # on once the Slack app's Interactivity Request URL is /webhooks/slack/actions.
    alert_buttons: bool = False
    # Each person's own chat, by the name they work under (JSON: maya → a Slack member id, U…,
    # or teams:<name>): told at once when a case is given to them on shift.
    agent_channels: dict[str, str] = Field(default_factory=dict)
    # The hour (0-23, in BUSINESS_TIMEZONE) each department's alert channel is posted its report
    # of the last day (chalicelib/services/digest.py); unset: no digest.
    digest_hour: int | None = Field(default=None, ge=0, le=23)

    @field_validator("teams_webhooks")
    @classmethod
    def _teams_webhooks(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not _WEBHOOK_NAME.fullmatch(name):
                raise ValueError(f"TEAMS_WEBHOOKS: {name!r} is no name (a lowercase slug: leads)")
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"TEAMS_WEBHOOKS {name!r}: not a URL")
        return value

    @field_validator("alert_channels", "agent_channels")
    @classmethod
    def _alert_channels(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for told, channel in value.items():
            if channel.startswith(TEAMS) and not _WEBHOOK_NAME.fullmatch(channel[len(TEAMS) :]):
                raise ValueError(
                    f"{str(info.field_name).upper()} {told!r}: {channel!r} names no Teams webhook"
                    " (teams:<name>, the name in TEAMS_WEBHOOKS)"
                )
            if not channel.strip():
                raise ValueError(f"{str(info.field_name).upper()} {told!r}: no channel")
        return value

    @field_validator("alert_labels")
    @classmethod
    def _label_slugs(cls, value: list[str]) -> list[str]:
        from chalicelib.models import LABEL

        for label in value:
            if not re.match(LABEL, label):
                raise ValueError(f"ALERT_LABELS: {label!r} is no label (a lowercase slug: press)")
        return value

    @property
    def platform_call_reserve(self) -> float:
        """Seconds a worker keeps in hand before it starts more platform calls: two that time
        out, and its bookkeeping."""
        return 2 * self.platform_timeout_seconds + 5

    @property
    def slack_alerts(self) -> bool:
        """Whether alerts that are kept and changed as their case moves on go to Slack: a
        department's, or (with ALERT_BUTTONS) those telling someone of a case that is theirs."""
        people = self.agent_channels.values() if self.alert_buttons else ()
        kept = [*self.alert_channels.values(), *people]
        return any(not channel.startswith(TEAMS) for channel in kept)

    @property
    def own_accounts(self) -> frozenset[str]:
        """Every account of the brand's own: BRAND_ACCOUNTS and YOUTUBE_CHANNELS."""
        return frozenset({*self.brand_accounts, *self.youtube_channels})

    def escalation_target(self, department: str) -> str:
        """The department an overdue mention of `department` is copied to."""
        return self.escalations.get(department, department)

    @field_validator(
        "queue_urls",
        "sla_minutes",
        "escalations",
        "sla_department_hours",
        "assignment_department_minutes",
        "alert_channels",
        "agent_channels",
        "teams_webhooks",
        mode="before",
    )
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @model_validator(mode="after")
    def _check_departments(self) -> Settings:
        if "ignore" in self.departments:
            raise ValueError("'ignore' is a decision, not a department")
        if self.triage_department not in self.departments:
            raise ValueError(f"triage department {self.triage_department!r} is not in departments")
        for source, target in self.escalations.items():
            for name in (source, target):
                if name not in self.departments:
                    raise ValueError(
                        f"escalation {source} → {target}: {name!r} is not a department"
                    )
        for name in self.approval_departments:
            if name not in self.departments:
                raise ValueError(f"approval department {name!r} is not a department")
        for setting, named in (
            ("SLA_DEPARTMENT_HOURS", self.sla_department_hours),
            ("ASSIGNMENT_DEPARTMENT_MINUTES", self.assignment_department_minutes),
            ("ALERT_CHANNELS", self.alert_channels),
        ):
            for name in named:
                if name not in self.departments:
                    raise ValueError(f"{setting}: {name!r} is not a department")
        return self

    @field_validator("sla_minutes")
    @classmethod
    def _sla_minutes_for_every_priority(cls, value: dict[str, int]) -> dict[str, int]:
        """Exactly the keys given (no default platform entry overrides them), and a priority
        left out keeps its default minutes, so no mention is ever without a deadline."""
        for key, minutes in value.items():
            if key.rpartition(":")[2] not in PRIORITIES:
                raise ValueError(f"SLA_MINUTES key {key!r}: a priority or 'platform:priority'")
            if minutes < 0:
                raise ValueError(f"SLA_MINUTES {key!r}: minutes cannot be negative")
        return {**BASE_SLA_MINUTES, **value}

    @field_validator("webhook_secret", "webhook_secret_previous")
    @classmethod
    def _standard_webhooks_secret(cls, value: str) -> str:
        if value:
            from chalicelib.platforms.signatures import standard_webhooks_secret

            standard_webhooks_secret(value)  # ValueError when not base64: refused at start-up
        return value

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def sla(self, platform: str, priority: str) -> int:
        """Minutes to the first response for a mention of this platform and priority."""
        return self.sla_minutes.get(f"{platform}:{priority}", self.sla_minutes[priority])

    @property
    def timezone(self) -> ZoneInfo:
        """The business time zone: rules' `hour`, `weekday` and `date`, and SLA_BUSINESS_HOURS."""
        return ZoneInfo(self.business_timezone)

    def queue_name(self, logical: str) -> str:
        """Local queue name for a logical queue ("intake", "support", "outbox", ...)."""
        return f"{self.queue_prefix}{logical}"

    @property
    def all_queues(self) -> list[str]:
        """Logical names of every queue Switchboard owns (each also has a -dlq)."""
        return ["intake", *self.departments, "outbox"]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables named after the fields.

        Deployed, SECRETS_ARN names a Secrets Manager secret (JSON, the same variable names)
        whose values are read through Powertools parameters (cached) and override the rest.
        """
        env: dict[str, str] = dict(os.environ if environ is None else environ)
        if env.get("SECRETS_ARN"):
            env.update({k: v for k, v in _secret_values(env["SECRETS_ARN"]).items() if v})
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)


def _secret_values(arn: str) -> dict[str, str]:
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(arn, transform="json", force_fetch=True)
    if not isinstance(secret, dict):
        raise ValueError(f"secret {arn} must be a JSON object of variable names to values")
    return {str(k): str(v) for k, v in secret.items()}


SECRET_MAX_AGE_SECONDS = 300.0
"""How long a process keeps the values it read from the stage's secret: one changed in Secrets
Manager (a rotated signing secret, a new Page token) reaches warm functions within this time."""
SECRET_RETRY_SECONDS = 30.0
_loaded: list[tuple[float, Settings]] = []


def get_settings(clock: Callable[[], float] = time.monotonic) -> Settings:
    """The process-wide settings, read on first use; where a secret supplies values (SECRETS_ARN,
    deployed), read again once SECRET_MAX_AGE_SECONDS old. A secret that cannot be read then
    leaves the values read before (logged; tried again SECRET_RETRY_SECONDS later, not on every
    request)."""
    now = clock()
    if _loaded:
        read_at, settings = _loaded[0]
        if not os.environ.get("SECRETS_ARN") or now - read_at < SECRET_MAX_AGE_SECONDS:
            return settings
        try:
            fresh = Settings.from_env()
        except Exception:  # Secrets Manager out of reach, throttled: keep serving
            from chalicelib.observability import logger

            logger.exception("the platform secret could not be read again; values kept")
            _loaded[0] = (now - SECRET_MAX_AGE_SECONDS + SECRET_RETRY_SECONDS, settings)
            return settings
        _loaded[0] = (now, fresh)
        return fresh
    _loaded.append((now, Settings.from_env()))
    return _loaded[0][1]


def forget_settings() -> None:
    """Read the settings anew on the next get_settings (after the environment changed)."""
    _loaded.clear()
