"""Deployed, platform secrets come from Secrets Manager (via Powertools parameters)."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from chalicelib.settings import Settings


def test_secret_values_override_the_environment() -> None:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="switchboard/dev/platform",
            SecretString=json.dumps(
                {
                    "X_CONSUMER_SECRET": "from-secrets-manager",
                    "META_APP_SECRET": "",
                    "ADMIN_TOKEN": "t",
                }
            ),
        )["ARN"]
        settings = Settings.from_env(
            {"SECRETS_ARN": arn, "X_CONSUMER_SECRET": "from-env", "META_APP_SECRET": "env-meta"}
        )
    assert settings.x_consumer_secret == "from-secrets-manager"
    assert settings.meta_app_secret == "env-meta"  # an empty secret value does not erase
    assert settings.admin_token == "t"
