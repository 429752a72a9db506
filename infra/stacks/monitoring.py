"""Alarms and a dashboard: dead letters, queue age, worker errors and throttles, business; and
the departments' surge alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from chalicelib.observability import (
    FIRST_RESPONSE,
    NAMESPACE,
    QUEUED_MENTIONS,
    SATISFACTION,
    SERVICE,
    SLA_BREACHES,
    TRANSFERS,
)
from stacks.queues import QueueWithDlq

PERIOD = cdk.Duration.minutes(5)
REFUSED_DELIVERIES = 10
"""Deliveries refused for their signature in one period that page the operators: a secret that
no longer matches refuses every delivery of its platform; a stray probe stays under it."""
SURGE_PERIOD = cdk.Duration.minutes(15)
SURGE_STD_DEVS = 3
"""How far above the volume CloudWatch expects for the time of day and week (its anomaly band,
in standard deviations) a department's 15 minutes must be to count as a surge."""


def by_department(
    name: str, department: str, statistic: str, period: cdk.Duration
) -> cloudwatch.Metric:
    """One of the metrics the app emits per department (`per_department`)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE, "department": department},
        statistic=statistic,
        period=period,
    )


class Monitoring(Construct):
    """Every operational alarm notifies one SNS topic, the departments' surges another; the
    dashboard shows the same signals."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        queues: dict[str, QueueWithDlq],
        functions: dict[str, lambda_.IFunction],
        api: tuple[str, str],
        max_age_minutes: int,
        departments: tuple[str, ...],
        surge_min_mentions: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name=f"Switchboard {stage} alarms")
        self.surges = sns.Topic(self, "Surges", display_name=f"Switchboard {stage} surges")
        self.alarms: list[cloudwatch.Alarm] = []
        widgets: list[cloudwatch.IWidget] = []
        for name, pair in queues.items():
            dead = pair.dlq.metric_approximate_number_of_messages_visible(period=PERIOD)
            age = pair.queue.metric_approximate_age_of_oldest_message(period=PERIOD)
            self._alarm(f"{name}DeadLetters", dead, 1, f"{name}: messages in the dead-letter queue")
            self._alarm(
                f"{name}OldestMessage",
                age,
                max_age_minutes * 60,
                f"{name}: a message has waited over {max_age_minutes} minutes",
            )
            widgets.append(cloudwatch.GraphWidget(title=f"{name} queue", left=[age], right=[dead]))
        for name, function in functions.items():
            errors = function.metric_errors(period=PERIOD, statistic="Sum")
            throttles = function.metric_throttles(period=PERIOD, statistic="Sum")
            self._alarm(f"{name}Errors", errors, 1, f"{name}: invocation errors")
            self._alarm(f"{name}Throttles", throttles, 1, f"{name}: throttled invocations")
            widgets.append(cloudwatch.GraphWidget(title=name, left=[errors, throttles]))
        name, stage_name = api
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map={"ApiName": name, "Stage": stage_name},
            statistic="Sum",
            period=PERIOD,
        )
        self._alarm(
            "ApiServerErrors",
            server_errors,
            1,
            "the API answered 5xx: a delivery it could not put on the intake queue (the platform"
            " retries it), or an unexpected error (the API function's logs say which)",
        )
        business = {
            name: cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE},
                statistic="Sum",
                period=PERIOD,
            )
            for name in (
                "MentionsRouted",
                "MentionsIgnored",
                "MentionsDeleted",
                "MentionsEdited",
                "AnsweredOnPlatform",
                "MentionsHidden",
                "CasesClosed",
                "PlatformAccessRevoked",
                "PlatformCredentialsRefused",
                "DeliveriesRefused",
                "RepliesFailed",
                "RepliesUndelivered",
                "DuplicatesDropped",
                "MentionsFannedOut",
                "PoisonRecords",
                "RetriesExhausted",
                "PolledMentions",
                "PollFailures",
                "PollPageLimit",
                "PollsDeferred",
                "MentionTextUnavailable",
                "RepliedPostUnavailable",
                "ReplyBookkeepingFailures",
                "HistoryUnavailable",
                "SlaBreaches",
                "SlaEscalationFailures",
            )
        }
        self._alarm(
            "PoisonRecords", business["PoisonRecords"], 1, "deliveries that cannot be routed"
        )
        self._alarm(
            "PollFailures",
            business["PollFailures"],
            1,
            "a poller could not read a platform (retried on its next run)",
        )
        self._alarm(
            "PollPageLimit",
            business["PollPageLimit"],
            1,
            "a poll found more new mentions than a run reads: the older ones were skipped",
        )
        self._alarm(
            "PollsDeferred",
            business["PollsDeferred"],
            1,
            "a poll ran out of time: its last sources wait for the next run (a slow platform API)",
        )
        self._alarm(
            "PlatformAccessRevoked",
            business["PlatformAccessRevoked"],
            1,
            "a platform account removed Switchboard's access: its deliveries have stopped",
        )
        self._alarm(
            "PlatformCredentialsRefused",
            business["PlatformCredentialsRefused"],
            1,
            "a platform refused Switchboard's credentials: replies wait until working ones are in"
            " the platform secret (then redrive the outbox's dead-letter queue)",
        )
        self._alarm(
            "DeliveriesRefused",
            business["DeliveriesRefused"],
            REFUSED_DELIVERIES,
            f"{REFUSED_DELIVERIES} or more webhook deliveries in 5 minutes refused for their"
            " signature: a platform's secret in Switchboard no longer matches the platform's"
            " (rotated there only?), so its deliveries are being lost, or someone is probing"
            " the webhooks",
        )
        self._alarm(
            "SlaEscalationFailures",
            business["SlaEscalationFailures"],
            1,
            "an overdue mention could not be copied to its escalation queue (tried every minute)",
        )
        widgets.append(cloudwatch.GraphWidget(title="Mentions", left=list(business.values())))
        volumes = [self._surge_alarm(d, surge_min_mentions) for d in departments]
        widgets.append(cloudwatch.GraphWidget(title="Mentions by department", left=volumes))
        for title, metric, stat in (
            ("First response by department (p90, s)", FIRST_RESPONSE, "p90"),
            ("SLA breaches by department", SLA_BREACHES, "Sum"),
            ("Cases handed over, by the department that let them go", TRANSFERS, "Sum"),
            ("Satisfaction by department (average survey score, 1-5)", SATISFACTION, "Average"),
        ):
            lines = [by_department(metric, d, stat, PERIOD).with_(label=d) for d in departments]
            widgets.append(cloudwatch.GraphWidget(title=title, left=lines))
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"switchboard-{stage}", widgets=[widgets]
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        notify: bool = True,
    ) -> cloudwatch.Alarm:
        """An alarm at `threshold` or more in one period; with `notify`, one of the operators'
        (on their topic), else a part of a composite alarm."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if notify:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            self.alarms.append(alarm)
        return alarm

    def _surge_alarm(self, department: str, at_least: int) -> cloudwatch.Metric:
        """A surge in `department`: at least `at_least` mentions reached its queue in 15
        minutes and that is far above what CloudWatch's anomaly detection expects then (both,
        so a quiet department's few mentions never page anyone). Returns the volume metric, for
        the dashboard."""
        volume = by_department(QUEUED_MENTIONS, department, "Sum", SURGE_PERIOD)
        name = "".join(part.title() for part in department.replace("_", "-").split("-"))
        unusual = cloudwatch.AnomalyDetectionAlarm(
            self,
            f"{name}UnusualVolume",
            metric=volume,
            evaluation_periods=1,
            std_devs=SURGE_STD_DEVS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{department}: more mentions than usual for the time",
        )
        busy = self._alarm(
            f"{name}Busy",
            volume,
            at_least,
            f"{department}: {at_least} or more mentions in 15 minutes",
            notify=False,
        )
        surge = cloudwatch.CompositeAlarm(
            self,
            f"{name}Surge",
            alarm_rule=cloudwatch.AlarmRule.all_of(unusual, busy),
            alarm_description=f"{department}: a surge of mentions ({at_least} or more in 15"
            " minutes, far above the usual for the time): a crisis, an outage or a campaign",
        )
        surge.add_alarm_action(actions.SnsAction(self.surges))
        return volume.with_(label=department)
