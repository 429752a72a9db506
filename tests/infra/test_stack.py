"""CDK assertions on the synthesized stack (synthesized in a subprocess, as `make synth` does).

Marked `infra`: `pytest -m "not infra"` skips them locally; CI runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from chalicelib.stores.mentions import REPORT_INDEX_ATTRIBUTES

pytestmark = pytest.mark.infra
INFRA = Path(__file__).resolve().parents[2] / "infra"
DEPARTMENTS = ["support", "pr", "marketing", "triage"]


def run_synth(
    name: str, context: Mapping[str, Any]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Synthesize the app with this CDK context into `cdk.out/test-<name>`."""
    out = INFRA / "cdk.out" / f"test-{name}"
    command = [sys.executable, "cdk_app.py"]
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "CDK_OUTDIR": str(out)}
    env.pop("AWS_ENDPOINT_URL", None)
    if context:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    done = subprocess.run(command, cwd=INFRA, env=env, capture_output=True, text=True)
    return done, out


@cache
def synth(departments: str = "") -> dict[str, Any]:
    """The CloudFormation template of Switchboard-dev."""
    context = {"departments": departments} if departments else {}
    done, out = run_synth(departments.replace(",", "-") or "default", context)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "Switchboard-dev.template.json").read_text())


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.from_json(synth())


def resources(template: Template, kind: str) -> Mapping[str, Any]:
    return template.find_resources(kind)


def test_every_queue_has_an_encrypted_dlq_with_redrive(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    names = {q["Properties"]["QueueName"] for q in queues.values()}
    expected = {"intake", *DEPARTMENTS, "outbox"}
    assert names == {f"switchboard-dev-{n}" for n in expected} | {
        f"switchboard-dev-{n}-dlq" for n in expected
    }
    for queue in queues.values():
        props = queue["Properties"]
        assert props["SqsManagedSseEnabled"] is True
        assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
        if not props["QueueName"].endswith("-dlq"):
            assert props["RedrivePolicy"]["maxReceiveCount"] == 5


def test_worker_visibility_is_six_times_its_timeout(template: Template) -> None:
    worker = resources(template, "AWS::Serverless::Function")["RouteMentions"]["Properties"]
    intake = next(
        q
        for q in resources(template, "AWS::SQS::Queue").values()
        if q["Properties"]["QueueName"] == "switchboard-dev-intake"
    )
    assert intake["Properties"]["VisibilityTimeout"] == 6 * worker["Timeout"] == 360


def test_tables_are_on_demand_with_pitr_and_ttl(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 4
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    ttl_names = sorted(
        t["Properties"].get("TimeToLiveSpecification", {}).get("AttributeName", "-")
        for t in tables.values()
    )
    assert ttl_names == ["-", "-", "expires_at", "expires_at"]
    mentions = next(
        t for t in tables.values() if t["Properties"]["KeySchema"][0]["AttributeName"] == "id"
    )
    indexes = {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in mentions["Properties"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "open-by-due": ["open", "sla_due_at"],  # what the SLA check still has to look at
        "waiting-by-due": ["waiting", "sla_due_at"],  # each department's unanswered cases
        "cases-by-author": ["author", "routed_at"],  # each author's earlier cases
        "listed-by-time": ["listed", "routed_at"],  # what routing ignored or people moved
        "department-by-time": ["department", "routed_at"],  # the departments' reports
        "said-by-author": ["said_by", "routed_at"],  # what to erase when an author asks
    }
    projections = {
        index["IndexName"]: index["Projection"]
        for index in mentions["Properties"]["GlobalSecondaryIndexes"]
    }
    assert projections["department-by-time"] == {  # what a report reads, not the records
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(REPORT_INDEX_ATTRIBUTES),
    }
    assert projections["said-by-author"] == {"ProjectionType": "KEYS_ONLY"}  # ids, no content
    replies = next(
        t for t in tables.values() if t["Properties"]["KeySchema"][0]["AttributeName"] == "reply_id"
    )
    assert {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in replies["Properties"]["GlobalSecondaryIndexes"]
    } == {
        "pending-by-time": ["pending", "created_at"],  # each department's replies to approve
        "by-mention": ["mention_id", "created_at"],  # what was said to a customer
    }


@pytest.mark.parametrize(("worker", "most"), [("RouteMentions", 20), ("SendReplies", 5)])
def test_sqs_event_sources_report_partial_batch_failures_and_leave_the_api_room(
    template: Template, worker: str, most: int
) -> None:
    events = {
        f"{worker}SqsEventSource": {
            "Type": "SQS",
            "Properties": Match.object_like(
                {
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "ScalingConfig": {"MaximumConcurrency": most},
                }
            ),
        }
    }
    template.has_resource_properties("AWS::Serverless::Function", {"Events": events})


def test_sla_check_runs_every_minute_and_youtube_is_polled_every_five(
    template: Template,
) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    for name, rate in (("CheckSla", "rate(1 minute)"), ("PollPlatforms", "rate(5 minutes)")):
        [event] = functions[name]["Properties"]["Events"].values()
        assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == rate


def test_functions_use_the_cdk_role_and_no_sqs_or_dynamodb_grant_is_on_star(
    template: Template,
) -> None:
    for function in resources(template, "AWS::Serverless::Function").values():
        assert "FunctionRole" in json.dumps(function["Properties"]["Role"])
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if any(a.startswith(("sqs:", "dynamodb:")) for a in actions):
                assert statement["Resource"] != "*"
                assert "*" not in (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )


def test_large_deliveries_wait_in_a_private_bucket_that_forgets_them(
    template: Template,
) -> None:
    [(name, bucket)] = resources(template, "AWS::S3::Bucket").items()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30 and rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    [policy] = resources(template, "AWS::S3::BucketPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st) for st in statements
    )
    for function in resources(template, "AWS::Serverless::Function").values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["PAYLOAD_BUCKET"] == {"Ref": name}
    granted = json.dumps(resources(template, "AWS::IAM::Policy"))
    assert "s3:PutObject" in granted and "s3:GetObject*" in granted
    statements = [
        st
        for policy in resources(template, "AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    [delete] = [st for st in statements if st["Action"] == "s3:DeleteObject*"]
    assert json.dumps(delete["Resource"]).endswith('"/attachments/*/*"]]}')  # only the files


def test_the_secrets_template_never_changes(template: Template) -> None:
    """CloudFormation regenerates a secret whose SecretStringTemplate changes: the next deploy
    would wipe every credential a stage keeps there and its ADMIN_TOKEN. New keys (the YouTube
    refresh token and its client) are added to the secret by hand, never to this template."""
    [secret] = resources(template, "AWS::SecretsManager::Secret").values()
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "ADMIN_TOKEN"
    assert list(json.loads(generated["SecretStringTemplate"])) == [
        "X_CONSUMER_SECRET", "X_CONSUMER_KEY", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
        "META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_ACCESS_TOKEN", "SLACK_SIGNING_SECRET",
        "WEBSUB_SECRET", "SLACK_BOT_TOKEN", "YOUTUBE_ACCESS_TOKEN", "WEBHOOK_SECRET",
        "X_CONSUMER_SECRET_PREVIOUS", "META_APP_SECRET_PREVIOUS", "SLACK_SIGNING_SECRET_PREVIOUS",
        "WEBHOOK_SECRET_PREVIOUS", "WEBSUB_SECRET_PREVIOUS",
    ]  # fmt: skip


def test_every_route_but_the_webhooks_and_health_needs_iam(
    template: Template,
) -> None:
    api = resources(template, "AWS::Serverless::Api")["RestAPI"]["Properties"]
    for path, methods in api["DefinitionBody"]["paths"].items():
        for method, spec in methods.items():
            protected = not path.startswith(("/webhooks", "/health"))
            assert (spec.get("security") == [{"sigv4": []}]) is protected, (path, method)


def test_api_gateways_own_refusals_answer_in_switchboards_error_body(
    template: Template,
) -> None:
    api = resources(template, "AWS::Serverless::Api")["RestAPI"]["Properties"]
    responses = api["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    said = {}
    for kind, response in responses.items():
        body = response["responseTemplates"]["application/json"]
        filled = json.loads(body.replace("$context.error.messageString", '"API Gateway says"'))
        said[kind] = (response.get("statusCode"), filled["error"], filled["message"])
    assert said["MISSING_AUTHENTICATION_TOKEN"][:2] == ("401", "unauthorized")
    assert "SigV4" in said["MISSING_AUTHENTICATION_TOKEN"][2]
    assert said["THROTTLED"] == ("429", "throttled", "API Gateway says")
    assert said["REQUEST_TOO_LARGE"] == ("413", "payload_too_large", "API Gateway says")
    assert said["DEFAULT_4XX"] == (None, "bad_request", "API Gateway says")
    assert said["DEFAULT_5XX"] == (None, "unavailable", "API Gateway says")


def test_stage_is_throttled_with_access_logs(template: Template) -> None:
    api = resources(template, "AWS::Serverless::Api")["RestAPI"]["Properties"]
    [settings] = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert "$context.requestId" in api["AccessLogSetting"]["Format"]


def test_settings_reach_the_functions_under_the_names_the_app_reads(template: Template) -> None:
    from chalicelib.settings import Settings

    for function in resources(template, "AWS::Serverless::Function").values():
        env = function["Properties"]["Environment"]["Variables"]
        assert {
            "QUEUE_URLS",
            "INTAKE_QUEUE_ARN",
            "OUTBOX_QUEUE_ARN",
            "DEPARTMENTS",
            "MENTIONS_TABLE",
            "RULES_TABLE",
            "TRAFFIC_TABLE",
            "REPLIES_TABLE",
            "SECRETS_ARN",
            "AUTH_MODE",
            "BRAND_ACCOUNTS",
            "AUTOMATED_APPS",
            "APPROVAL_DEPARTMENTS",
        } <= set(env)
        assert env["AUTH_MODE"] == "iam" and env["DEPARTMENTS"] == ",".join(DEPARTMENTS)
        for name in (
            "MENTIONS_TABLE",
            "RULES_TABLE",
            "TRAFFIC_TABLE",
            "REPLIES_TABLE",
            "DEPARTMENTS",
            "AUTH_MODE",
            "BRAND_ACCOUNTS",
            "AUTOMATED_APPS",
            "APPROVAL_DEPARTMENTS",
        ):
            assert name.lower() in Settings.model_fields


def operational_alarms(template: Template) -> dict[str, Any]:
    """The alarms that page the operators (not the parts of the departments' surge alarms)."""
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    return {
        name: alarm
        for name, alarm in alarms.items()
        if alarm["Properties"].get("MetricName") != "QueuedMentions"
        and "ThresholdMetricId" not in alarm["Properties"]
    }


def test_alarms_on_every_dead_letter_queue_and_worker(template: Template) -> None:
    alarms = operational_alarms(template)
    dlq_alarms = [
        a
        for a in alarms.values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    age_alarms = [
        a
        for a in alarms.values()
        if a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    ]
    assert len(dlq_alarms) == len(age_alarms) == len(DEPARTMENTS) + 2
    metrics = {a["Properties"]["MetricName"] for a in alarms.values()}
    assert {
        "Errors",
        "Throttles",
        "PoisonRecords",
        "PollFailures",
        "PollPageLimit",
        "PollsDeferred",
        "SlaEscalationFailures",
        "PlatformAccessRevoked",
        "PlatformCredentialsRefused",
    } <= metrics
    errors = [a for a in alarms.values() if a["Properties"]["MetricName"] == "Errors"]
    assert len(errors) == 5  # API, route_mentions, send_replies, check_sla, poll_platforms
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"]
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    [dashboard] = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    shown = (
        "MentionsEdited",
        "AnsweredOnPlatform",
        "MentionsHidden",
        "CasesClosed",
        "SlaBreaches",
        "RetriesExhausted",
    )
    assert all(name in body for name in shown)
    assert "Mentions by department" in body and "QueuedMentions" in body
    for widget in (
        "First response by department (p90, s)",
        "SLA breaches by department",
        "Cases handed over, by the department that let them go",
        "Satisfaction by department (average survey score, 1-5)",
    ):
        assert widget in body
    assert "CasesTransferred" in body and "SatisfactionScore" in body


def test_operators_are_paged_when_the_api_fails_deliveries_or_refuses_their_signatures(
    template: Template,
) -> None:
    alarms = operational_alarms(template).values()
    api = resources(template, "AWS::Serverless::Api")["RestAPI"]["Properties"]
    [server_errors] = [a for a in alarms if a["Properties"]["MetricName"] == "5XXError"]
    assert server_errors["Properties"]["Namespace"] == "AWS/ApiGateway"
    assert server_errors["Properties"]["Threshold"] == 1
    dimensions = {d["Name"]: d["Value"] for d in server_errors["Properties"]["Dimensions"]}
    assert dimensions == {"ApiName": api["Name"], "Stage": api["StageName"]}
    assert api["Name"] == "switchboard-dev"  # another stage's API is another name
    [refused] = [a for a in alarms if a["Properties"]["MetricName"] == "DeliveriesRefused"]
    assert refused["Properties"]["Threshold"] == 10
    assert "signature" in refused["Properties"]["AlarmDescription"]


def test_each_department_has_a_surge_alarm_for_its_leads(template: Template) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    unusual = [a["Properties"] for a in alarms.values() if "ThresholdMetricId" in a["Properties"]]
    busy = [a["Properties"] for a in alarms.values()
            if a["Properties"].get("MetricName") == "QueuedMentions"]  # fmt: skip
    assert len(unusual) == len(busy) == len(DEPARTMENTS)
    for props in unusual:
        assert props["ComparisonOperator"] == "GreaterThanUpperThreshold"
        band = next(m for m in props["Metrics"] if m["Id"] == props["ThresholdMetricId"])
        assert band["Expression"].startswith("ANOMALY_DETECTION_BAND(") and band[
            "Expression"
        ].endswith(", 3)")
        [stat] = [m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m]
        assert stat["Metric"]["MetricName"] == "QueuedMentions"
        assert (stat["Period"], stat["Stat"]) == (900, "Sum")
        assert "AlarmActions" not in props  # only the surge itself notifies
    departments = {d["Value"] for a in busy for d in a["Dimensions"] if d["Name"] == "department"}
    assert departments == set(DEPARTMENTS)
    assert {(a["Threshold"], a["Period"], a["TreatMissingData"]) for a in busy} == {
        (20, 900, "notBreaching")
    }
    surges = resources(template, "AWS::CloudWatch::CompositeAlarm")
    assert len(surges) == len(DEPARTMENTS)
    topics = resources(template, "AWS::SNS::Topic")
    [surge_topic] = [n for n, t in topics.items() if "surges" in t["Properties"]["DisplayName"]]
    for surge in surges.values():
        rule = json.dumps(surge["Properties"]["AlarmRule"])
        assert rule.count("ALARM(") == 2 and " AND " in rule  # unusual and busy, both
        assert surge["Properties"]["AlarmActions"] == [{"Ref": surge_topic}]
    template.has_output("SurgeTopicArn", {"Value": {"Ref": surge_topic}})


def test_adding_a_department_adds_its_queue_dlq_grants_alarms_and_map_entry() -> None:
    template = synth("support,pr,marketing,triage,legal")
    names = {
        q["Properties"]["QueueName"]
        for q in template["Resources"].values()
        if q["Type"] == "AWS::SQS::Queue"
    }
    assert {"switchboard-dev-legal", "switchboard-dev-legal-dlq"} <= names
    text = json.dumps(template)
    assert "DepartmentlegalQueue" in text and '\\"legal\\":' in text.replace(" ", "")
    policies = json.dumps(
        [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    )
    assert "DepartmentlegalQueue" in policies and "DepartmentlegalDlq" in policies


def test_a_stage_sets_its_sla_and_routing_policies_with_context() -> None:
    context = {
        "sla_business_hours": "mon-fri 09:00-17:00; 2026-12-25 closed",
        "sla_department_hours": {"support": ""},  # support: around the clock
        "business_timezone": "Europe/London",
        "escalations": {"support": "pr"},  # as cdk.json would hold it
        "sla_minutes": '{"high": 45}',  # as -c gives it
        "classifier_threshold": "0.55",
        "satisfaction_survey": "Hi {name}, how did we do? Reply 1 (poor) to 5 (great).",
        "assignment_minutes": "45",
        "assignment_department_minutes": {"pr": 120},
        "alert_channels": {"pr": "C0PRALERTS"},
        "alert_priority": "high",
        "alert_labels": "press,vip",
        "alert_buttons": "true",
        "agent_channels": {"maya": "U0MAYA"},
        "digest_hour": "9",
        "whatsapp_business_account_id": "102290129340398",
    }
    done, out = run_synth("policies", context)
    assert done.returncode == 0, done.stderr
    template = Template.from_json(json.loads((out / "Switchboard-dev.template.json").read_text()))
    for function in resources(template, "AWS::Serverless::Function").values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["SLA_BUSINESS_HOURS"] == "mon-fri 09:00-17:00; 2026-12-25 closed"
        assert json.loads(env["SLA_DEPARTMENT_HOURS"]) == {"support": ""}
        assert env["BUSINESS_TIMEZONE"] == "Europe/London"
        assert json.loads(env["ESCALATIONS"]) == {"support": "pr"}
        assert json.loads(env["SLA_MINUTES"]) == {"high": 45}
        assert env["CLASSIFIER_THRESHOLD"] == "0.55"
        assert env["SATISFACTION_SURVEY"].startswith("Hi {name}, how did we do?")
        assert env["ASSIGNMENT_MINUTES"] == "45"
        assert json.loads(env["ASSIGNMENT_DEPARTMENT_MINUTES"]) == {"pr": 120}
        assert json.loads(env["ALERT_CHANNELS"]) == {"pr": "C0PRALERTS"}
        assert env["ALERT_PRIORITY"] == "high"
        assert env["ALERT_LABELS"] == "press,vip"
        assert env["ALERT_BUTTONS"] == "true"
        assert json.loads(env["AGENT_CHANNELS"]) == {"maya": "U0MAYA"}
        assert env["DIGEST_HOUR"] == "9"
        assert env["WHATSAPP_BUSINESS_ACCOUNT_ID"] == "102290129340398"


@pytest.mark.parametrize(
    ("context", "says"),
    [
        ({"sla_business_hours": "whenever"}, "sla_business_hours"),
        ({"escalations": {"support": "legal"}}, "legal"),
        ({"sla_department_hours": {"pr": "2026-12-25 closed"}}, "at least one day"),
        ({"business_timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"satisfaction_survey": "We open {opens}"}, "unknown placeholder {opens}"),
        ({"alert_channels": {"legal": "C0LEGAL"}}, "ALERT_CHANNELS: 'legal' is not a department"),
        ({"digest_hour": "25"}, "digest_hour"),
    ],
)
def test_a_stage_policy_the_app_would_refuse_fails_the_synth(
    context: dict[str, Any], says: str
) -> None:
    done, _ = run_synth("bad-policy", context)
    assert done.returncode != 0
    assert "a -c setting of this stage is not valid" in done.stderr and says in done.stderr
