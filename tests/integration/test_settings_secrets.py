"""Deployed, platform secrets come from Secrets Manager (via Powertools parameters)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.settings import Settings, forget_settings, get_settings


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


def test_a_changed_secret_reaches_a_warm_function_within_five_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new Page token or a rotated signing secret put into the stage's secret is read again
    once the values are SECRET_MAX_AGE_SECONDS old, not only by the next cold start; a secret
    that cannot be read then leaves the values read before."""
    with mock_aws():
        client = boto3.client("secretsmanager")
        arn = client.create_secret(
            Name="switchboard/dev/platform",
            SecretString=json.dumps({"META_PAGE_ACCESS_TOKEN": "old-token"}),
        )["ARN"]
        monkeypatch.setenv("SECRETS_ARN", arn)
        forget_settings()
        try:
            assert get_settings(clock=lambda: 1000.0).meta_page_access_token == "old-token"
            client.put_secret_value(
                SecretId=arn, SecretString=json.dumps({"META_PAGE_ACCESS_TOKEN": "new-token"})
            )
            assert get_settings(clock=lambda: 1299.0).meta_page_access_token == "old-token"
            assert get_settings(clock=lambda: 1300.0).meta_page_access_token == "new-token"
            client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            assert get_settings(clock=lambda: 1700.0).meta_page_access_token == "new-token"
            client.create_secret(  # back, with another token: read again 30 s later, not sooner
                Name="switchboard/dev/platform",
                SecretString=json.dumps({"META_PAGE_ACCESS_TOKEN": "newer-token"}),
            )
            monkeypatch.setenv("SECRETS_ARN", "switchboard/dev/platform")
            assert get_settings(clock=lambda: 1729.0).meta_page_access_token == "new-token"
            assert get_settings(clock=lambda: 1730.0).meta_page_access_token == "newer-token"
        finally:
            monkeypatch.delenv("SECRETS_ARN")
            forget_settings()
