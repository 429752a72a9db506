"""Alarms and a dashboard: dead letters, queue age, worker errors and throttles, business."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.queues import QueueWithDlq

METRICS_NAMESPACE = "Switchboard"
PERIOD = cdk.Duration.minutes(5)


class Monitoring(Construct):
    """Every alarm notifies one SNS topic; the dashboard shows the same signals."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        queues: dict[str, QueueWithDlq],
        functions: dict[str, lambda_.IFunction],
        max_age_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name=f"Switchboard {stage} alarms")
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
        business = {
            name: cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": "switchboard"},
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
                "DuplicatesDropped",
                "PoisonRecords",
                "PolledMentions",
                "PollFailures",
                "PollPageLimit",
                "MentionTextUnavailable",
                "ReplyBookkeepingFailures",
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
            "PlatformAccessRevoked",
            business["PlatformAccessRevoked"],
            1,
            "a platform account removed Switchboard's access: its deliveries have stopped",
        )
        self._alarm(
            "SlaEscalationFailures",
            business["SlaEscalationFailures"],
            1,
            "an overdue mention could not be copied to its escalation queue (tried every minute)",
        )
        widgets.append(cloudwatch.GraphWidget(title="Mentions", left=list(business.values())))
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"switchboard-{stage}", widgets=[widgets]
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> None:
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
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
