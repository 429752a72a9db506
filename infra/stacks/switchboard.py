"""The Switchboard stack: the Chalice app (API + workers), its queues, tables, secrets, IAM role,
API stage settings and monitoring. CDK owns infrastructure, names and IAM; Chalice owns code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from chalice.cdk import Chalice
from constructs import Construct, Node

from chalicelib.errors import Forbidden, PayloadTooLarge, Unauthorized
from chalicelib.observability import NAMESPACE
from chalicelib.settings import DEFAULT_DEPARTMENTS, Settings
from chalicelib.stores.attachments import files_of
from chalicelib.stores.mentions import (
    AUTHOR_INDEX,
    AUTHOR_INDEX_ATTRIBUTES,
    LIST_INDEX,
    OPEN_INDEX,
    REPORT_INDEX,
    REPORT_INDEX_ATTRIBUTES,
    SAID_INDEX,
    WAITING_INDEX,
)
from chalicelib.stores.replies import MENTION_INDEX, PENDING_INDEX
from stacks.monitoring import Monitoring
from stacks.queues import QueueWithDlq

REPO_ROOT = str(Path(__file__).resolve().parents[2])
API_TIMEOUT_SECONDS = 10
WORKER_TIMEOUT_SECONDS = 60
NOT_SIGNED = (
    "no such route, or the route needs a SigV4-signed request (IAM): sign it with the"
    " credentials of a role allowed to call this API"
)
GATEWAY_ERRORS: dict[str, tuple[str | None, str, str | None]] = {
    "DEFAULT_4XX": (None, "bad_request", None),
    "DEFAULT_5XX": (None, "unavailable", None),
    "MISSING_AUTHENTICATION_TOKEN": ("401", Unauthorized.code, NOT_SIGNED),
    "INVALID_SIGNATURE": ("401", Unauthorized.code, None),
    "EXPIRED_TOKEN": ("401", Unauthorized.code, None),
    "ACCESS_DENIED": ("403", Forbidden.code, None),
    "REQUEST_TOO_LARGE": ("413", PayloadTooLarge.code, None),
    "THROTTLED": ("429", "throttled", None),
}
"""The refusals API Gateway makes itself (before the app sees a request): response type →
(status, or None to keep API Gateway's; Switchboard's error code; message, or None for API
Gateway's own). A missing signature is 401, as the app answers a missing token, and it is also
what API Gateway answers a path no route has."""
# AWS: an SQS event source's queue visibility should be at least six times the function timeout.
WORKER_VISIBILITY = cdk.Duration.seconds(6 * WORKER_TIMEOUT_SECONDS)
SQS_WORKERS = ("RouteMentions", "SendReplies")
WORKER_CONCURRENCY = {"RouteMentions": 20, "SendReplies": 5}
"""At most this many of each SQS worker at once (the event sources' MaximumConcurrency): a
surge of deliveries never takes the account's Lambda concurrency from the webhook API, whose
acknowledgements the platforms wait for; five reply senders keep within the platforms' rates."""
PAYLOAD_DAYS = cdk.Duration.days(30)
SCHEDULED = ("CheckSla", "PollPlatforms")
PLATFORM_SECRET_KEYS = (  # frozen: CloudFormation regenerates the secret when this changes
    "X_CONSUMER_SECRET",
    "X_CONSUMER_KEY",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
    "META_PAGE_ACCESS_TOKEN",
    "SLACK_SIGNING_SECRET",
    "WEBSUB_SECRET",
    "SLACK_BOT_TOKEN",
    "YOUTUBE_ACCESS_TOKEN",
    "WEBHOOK_SECRET",
    # set during a rotation to the secret being replaced (see README, Configuration)
    "X_CONSUMER_SECRET_PREVIOUS",
    "META_APP_SECRET_PREVIOUS",
    "SLACK_SIGNING_SECRET_PREVIOUS",
    "WEBHOOK_SECRET_PREVIOUS",
    "WEBSUB_SECRET_PREVIOUS",
)


POLICY_SETTINGS = (
    "sla_minutes",
    "sla_business_hours",
    "sla_department_hours",
    "business_timezone",
    "escalations",
    "classifier_threshold",
    "author_history_days",
    "dm_conversation_hours",
    "youtube_follow_up_days",
    "traffic_keep_days",
    "away_message",
    "satisfaction_survey",
    "assignment_minutes",
    "assignment_department_minutes",
    "alert_channels",
    "alert_priority",
    "alert_labels",
    "alert_buttons",
    "agent_channels",
    "digest_hour",
    "whatsapp_business_account_id",
)
"""The app's policies a stage sets with `-c <name>=<value>`: the same values as the environment
variables of the same names, upper-cased (a JSON one as a JSON string or, in cdk.json, as JSON);
checked by the app's own settings when the stack is synthesized, so a typo fails `cdk synth`,
not the functions."""


def _policies(node: Node, departments: tuple[str, ...], approval: str) -> dict[str, str]:
    """The POLICY_SETTINGS given as context, as environment variables, once the app's settings
    accept them (ValueError naming what is wrong)."""
    given = {name: node.try_get_context(name) for name in POLICY_SETTINGS}
    env = {
        name.upper(): value if isinstance(value, str) else json.dumps(value)
        for name, value in given.items()
        if value not in (None, "")
    }
    context = {"DEPARTMENTS": ",".join(departments), "APPROVAL_DEPARTMENTS": approval}
    try:
        Settings.from_env({**env, **context})
    except ValueError as exc:
        raise ValueError(f"a -c setting of this stage is not valid: {exc}") from None
    return env


def _projection(projected: tuple[str, ...] | None) -> dynamodb.ProjectionType:
    """How an index projects: every attribute (None), the keys only (()), or some."""
    if projected is None:
        return dynamodb.ProjectionType.ALL
    return dynamodb.ProjectionType.INCLUDE if projected else dynamodb.ProjectionType.KEYS_ONLY


@dataclass(frozen=True)
class StageConfig:
    """What differs between stages (dev, prod), from CDK context."""

    stage: str
    departments: tuple[str, ...]
    brand_accounts: str
    automated_apps: str
    approval_departments: str
    youtube_channels: str
    x_poll_accounts: str
    throttle_rate: int
    throttle_burst: int
    max_age_minutes: int
    retain_data: bool
    surge_min_mentions: int
    policies: dict[str, str]

    @classmethod
    def for_stage(cls, stage: str, node: Node) -> StageConfig:
        """Defaults per stage; `-c departments=support,pr,…` and others override."""
        given = node.try_get_context("departments")
        departments = tuple(given.split(",")) if given else DEFAULT_DEPARTMENTS
        approval = node.try_get_context("approval_departments") or ""
        prod = stage == "prod"
        return cls(
            stage=stage,
            departments=departments,
            brand_accounts=node.try_get_context("brand_accounts") or "",
            automated_apps=node.try_get_context("automated_apps") or "",
            approval_departments=approval,
            youtube_channels=node.try_get_context("youtube_channels") or "",
            x_poll_accounts=node.try_get_context("x_poll_accounts") or "",
            throttle_rate=500 if prod else 50,
            throttle_burst=1000 if prod else 100,
            max_age_minutes=5 if prod else 15,
            retain_data=prod,
            surge_min_mentions=int(node.try_get_context("surge_min_mentions") or 20),
            policies=_policies(node, departments, approval),
        )


class SwitchboardStack(cdk.Stack):
    """Everything one stage of Switchboard needs."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        prefix = f"switchboard-{config.stage}-"
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY

        self.queues = {
            "intake": QueueWithDlq(
                self, "Intake", name=f"{prefix}intake", visibility=WORKER_VISIBILITY
            ),
            **{
                department: QueueWithDlq(
                    self,
                    f"Department-{department}",
                    name=f"{prefix}{department}",
                    visibility=cdk.Duration.seconds(60),
                )
                for department in config.departments
            },
            "outbox": QueueWithDlq(
                self, "Outbox", name=f"{prefix}outbox", visibility=WORKER_VISIBILITY
            ),
        }
        self.tables = {
            "mentions": self._table("Mentions", "id", None, "expires_at", removal),
            "rules": self._table("Rules", "pk", "sk", None, removal),
            "traffic": self._table("Traffic", "day", "sk", "expires_at", removal),
            "replies": self._table("Replies", "reply_id", None, None, removal),
        }
        # Sparse indexes by deadline: mentions the SLA check has still to look at ("open"), and
        # each department's cases waiting for a first response ("waiting", its department).
        text = dynamodb.AttributeType.STRING
        for index, partition in ((OPEN_INDEX, "open"), (WAITING_INDEX, "waiting")):
            self.tables["mentions"].add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=partition, type=text),
                sort_key=dynamodb.Attribute(name="sla_due_at", type=text),
            )
        # Each department's replies waiting for approval (APPROVAL_DEPARTMENTS), oldest first;
        # and every reply by the mention it answers (what was said to the customer).
        for index, partition in ((PENDING_INDEX, "pending"), (MENTION_INDEX, "mention_id")):
            self.tables["replies"].add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=partition, type=text),
                sort_key=dynamodb.Attribute(name="created_at", type=text),
            )
        # And four by time: each author's cases (the earlier cases a department message
        # lists); two lists in one index, the mentions routing ignored and the cases people
        # handed over, by the department routing chose; every mention by department, its
        # deadline and what became of it only (the departments' reports); and every mention by
        # its author, keys only (what to erase when they ask to be forgotten).
        for index, partition, projected in (
            (AUTHOR_INDEX, "author", AUTHOR_INDEX_ATTRIBUTES),
            (LIST_INDEX, "listed", None),
            (REPORT_INDEX, "department", REPORT_INDEX_ATTRIBUTES),
            (SAID_INDEX, "said_by", ()),
        ):
            self.tables["mentions"].add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=partition, type=text),
                sort_key=dynamodb.Attribute(name="routed_at", type=text),
                projection_type=_projection(projected),
                non_key_attributes=list(projected) if projected else None,
            )
        # Delivery bodies too large for an SQS message wait here, their key on the intake queue;
        # kept past what any queue (14 days) or a redrive from a dead-letter queue needs. The
        # customers' files fetched from WhatsApp (`attachments/`) are kept as long as WhatsApp
        # keeps them; a copy an API call ran out of time for leaves no parts behind.
        self.payloads = s3.Bucket(
            self,
            "Payloads",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=PAYLOAD_DAYS,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=removal,
        )
        self.secret = secretsmanager.Secret(
            self,
            "PlatformSecrets",
            secret_name=f"switchboard/{config.stage}/platform",
            description="Platform credentials: put the real values here after the first deploy",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(dict.fromkeys(PLATFORM_SECRET_KEYS, "")),
                generate_string_key="ADMIN_TOKEN",
                exclude_punctuation=True,
            ),
        )
        self.role = self._role()

        queue_urls = {}
        for logical, pair in self.queues.items():
            queue_urls[logical] = pair.queue.queue_url
            queue_urls[f"{logical}-dlq"] = pair.dlq.queue_url
        self.chalice = Chalice(
            self,
            "App",
            source_dir=REPO_ROOT,
            stage_config={
                "api_gateway_stage": config.stage,
                "lambda_timeout": API_TIMEOUT_SECONDS,
                "lambda_memory_size": 1024,
                "xray": True,
                "manage_iam_role": False,
                "iam_role_arn": self.role.role_arn,
                "environment_variables": {
                    "QUEUE_URLS": self.to_json_string(queue_urls),
                    "INTAKE_QUEUE_ARN": self.queues["intake"].queue.queue_arn,
                    "OUTBOX_QUEUE_ARN": self.queues["outbox"].queue.queue_arn,
                    "DEPARTMENTS": ",".join(config.departments),
                    "MENTIONS_TABLE": self.tables["mentions"].table_name,
                    "RULES_TABLE": self.tables["rules"].table_name,
                    "TRAFFIC_TABLE": self.tables["traffic"].table_name,
                    "REPLIES_TABLE": self.tables["replies"].table_name,
                    "PAYLOAD_BUCKET": self.payloads.bucket_name,
                    "SECRETS_ARN": self.secret.secret_arn,
                    "BRAND_ACCOUNTS": config.brand_accounts,
                    "AUTOMATED_APPS": config.automated_apps,
                    "APPROVAL_DEPARTMENTS": config.approval_departments,
                    "YOUTUBE_CHANNELS": config.youtube_channels,
                    "X_POLL_ACCOUNTS": config.x_poll_accounts,
                    "AUTH_MODE": "iam",
                    "POWERTOOLS_SERVICE_NAME": "switchboard",
                    "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                    **config.policies,
                },
            },
        )
        for worker in SQS_WORKERS:
            resource = self.chalice.get_resource(worker)
            resource.add_property_override("Timeout", WORKER_TIMEOUT_SECONDS)
            resource.add_property_override(
                f"Events.{worker}SqsEventSource.Properties.FunctionResponseTypes",
                ["ReportBatchItemFailures"],
            )
            resource.add_property_override(
                f"Events.{worker}SqsEventSource.Properties.ScalingConfig",
                {"MaximumConcurrency": WORKER_CONCURRENCY[worker]},
            )
        for scheduled in SCHEDULED:
            self.chalice.get_resource(scheduled).add_property_override(
                "Timeout", WORKER_TIMEOUT_SECONDS
            )
        self._api_stage_settings(config)

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=config.stage,
            queues=self.queues,
            functions={
                name: self.chalice.get_function(name)
                for name in ("APIHandler", *SQS_WORKERS, *SCHEDULED)
            },
            api=(api_name(config.stage), config.stage),
            max_age_minutes=config.max_age_minutes,
            departments=config.departments,
            surge_min_mentions=config.surge_min_mentions,
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        cdk.CfnOutput(self, "SurgeTopicArn", value=self.monitoring.surges.topic_arn)
        cdk.CfnOutput(self, "PlatformSecretArn", value=self.secret.secret_arn)

    def _table(
        self,
        construct_id: str,
        key: str,
        sort_key: str | None,
        ttl: str | None,
        removal: cdk.RemovalPolicy,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
            if sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl,
            removal_policy=removal,
        )

    def _role(self) -> iam.Role:
        """One role for the app's functions, with exactly the grants they need."""
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaBasicExecutionRole"
                ),
                iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
            ],
        )
        for logical, pair in self.queues.items():
            pair.queue.grant_send_messages(role)
            pair.dlq.grant_send_messages(role)
            if logical in ("intake", "outbox"):
                pair.queue.grant_consume_messages(role)
        for table in self.tables.values():
            table.grant_read_write_data(role)
        self.payloads.grant_put(role)
        self.payloads.grant_read(role)
        self.payloads.grant_delete(role, f"{files_of('*')}*")  # an erased customer's files
        self.secret.grant_read(role)
        return role

    def _api_stage_settings(self, config: StageConfig) -> None:
        """Stage-wide throttling (webhooks are public), JSON access logs, and API Gateway's own
        refusals in Switchboard's error body (in the API's definition, so a change is deployed
        with it)."""
        access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        api = self.chalice.get_resource("RestAPI")
        api.add_property_override("Name", api_name(config.stage))  # each stage's own metrics
        api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses()
        )
        api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": config.throttle_rate,
                    "ThrottlingBurstLimit": config.throttle_burst,
                    "MetricsEnabled": True,
                }
            ],
        )
        api.add_property_override(
            "AccessLogSetting",
            {
                "DestinationArn": access_logs.log_group_arn,
                "Format": json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "caller": "$context.identity.userArn",
                        "method": "$context.httpMethod",
                        "path": "$context.resourcePath",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                        "bytes": "$context.responseLength",
                    }
                ),
            },
        )
        # API Gateway writes logs through an account-wide role.
        logging_role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        account = apigateway.CfnAccount(
            self, "ApiGatewayAccount", cloud_watch_role_arn=logging_role.role_arn
        )
        api.node.add_dependency(account)


def gateway_responses() -> dict[str, dict[str, object]]:
    """GATEWAY_ERRORS as the API definition's `x-amazon-apigateway-gateway-responses`: each a
    JSON body `{"error", "message"}`, as the app's own errors are."""
    responses: dict[str, dict[str, object]] = {}
    for kind, (status, code, message) in GATEWAY_ERRORS.items():
        said = json.dumps(message) if message else "$context.error.messageString"
        body = f'{{"error": {json.dumps(code)}, "message": {said}}}'
        response: dict[str, object] = {"responseTemplates": {"application/json": body}}
        if status is not None:
            response["statusCode"] = status
        responses[kind] = response
    return responses


def api_name(stage: str) -> str:
    """The REST API's name (API Gateway's metrics are by name and stage; Chalice would name
    every stage's API after the app)."""
    return f"switchboard-{stage}"
