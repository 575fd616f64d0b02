"""rolecall.sts: the region and signer of the AssumeRole call, as the user's settings decide."""

from __future__ import annotations

import logging

import boto3
import pytest

from tests.conftest import Aws, credentials_of

NO_REGION = """
[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
"""


def sts_region_used(aws: Aws, caplog: pytest.LogCaptureFixture) -> str:
    """The region rolecall's AssumeRole call went to, as its DEBUG line says."""
    with caplog.at_level(logging.DEBUG, logger="rolecall"):
        frozen = credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
        assert str(frozen.access_key).startswith("ASIA")
    (line,) = [r.getMessage() for r in caplog.records if ": AssumeRole arn:" in r.getMessage()]
    return line.split("(region ", 1)[1].split(",")[0].rstrip(")")


@pytest.mark.parametrize(("variables", "config", "expected"), [
    ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}, "", "eu-central-1"),
    ({"AWS_DEFAULT_REGION": "us-west-2"}, "", "us-west-2"),
    ({}, "[profile prod]\nregion = ap-south-1\n", "ap-south-1"),
    ({}, "", "us-east-1"),
])
def test_the_sts_region_follows_the_cache_keys_rule(
        aws: Aws, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        variables: dict[str, str], config: str, expected: str) -> None:
    """roles.toml's region, then AWS_REGION, then AWS_DEFAULT_REGION (the order the cache key
    records, and newer AWS SDKs follow), then the profile's section of the AWS config file, then
    us-east-1."""
    aws.roles(NO_REGION)
    aws.config(config)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert sts_region_used(aws, caplog) == expected


def test_roles_toml_region_wins(aws: Aws, caplog: pytest.LogCaptureFixture,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(NO_REGION + 'region = "ca-central-1"\n')
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert sts_region_used(aws, caplog) == "ca-central-1"
