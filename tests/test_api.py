"""Roles from code (``rolecall.assume``, ``rolecall.credentials``) and from the environment
(``ROLECALL_ROLE_ARN``): the tutorial's scenarios in one call each, on the same path as roles.toml
profiles (validation, cache keys, disk cache, single flight). STS is the local emulator."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

import boto3
import botocore.session
import pytest
from botocore.credentials import RefreshableCredentials

import rolecall
from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Aws, credentials_of, run_python

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

DEPLOY = "arn:aws:iam::111122223333:role/Deploy"
AUDIT = "arn:aws:iam::444455556666:role/Audit"


@pytest.fixture(autouse=True)
def fresh_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def arn(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


def test_assume_from_just_an_arn(aws: Aws) -> None:
    session = rolecall.assume(DEPLOY)  # source: botocore's default chain (the default profile)
    assert arn(session).startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    assert credentials_of(session).method == "rolecall"
    assert aws.assume_role_calls() == 1


def test_a_role_in_another_account_with_options(aws: Aws) -> None:
    session = rolecall.assume(AUDIT, role_session_name="audit-run", external_id="ext-1234",
                              duration_seconds=900, region="eu-west-1")
    assert arn(session) == "arn:aws:sts::444455556666:assumed-role/Audit/audit-run"
    assert session.region_name == "eu-west-1"


@pytest.mark.slow
def test_switching_roles_over_accounts_once_per_role(aws: Aws) -> None:
    roles = [f"arn:aws:iam::{n:012d}:role/Audit" for n in range(100000000001, 100000000006)]
    for role in roles:
        assert f"::{role.split(':')[4]}:assumed-role/Audit/" in arn(rolecall.assume(role))
    for role in roles:
        credentials_of(rolecall.assume(role)).get_frozen_credentials()
    assert aws.assume_role_calls() == 5
    code = ("import rolecall, sys\n"
            "for role in sys.argv[1:]:\n"
            "    rolecall.assume(role).get_credentials().get_frozen_credentials()\n")
    done = run_python(code, aws.env, sys.executable, *roles)
    assert done.returncode == 0, done.stderr
    assert aws.assume_role_calls() == 5  # a second process: all from the disk cache


def test_a_roles_toml_profile_with_the_same_parameters_shares_the_entry(aws: Aws) -> None:
    aws.roles(f'[profiles.prod]\nrole_arn = "{DEPLOY}"\nsource_profile = "default"\n')
    credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    same = rolecall.assume(DEPLOY, source_profile="default")
    credentials_of(same).get_frozen_credentials()
    assert aws.assume_role_calls() == 1


def test_chaining_from_code_with_a_session(aws: Aws) -> None:
    first = rolecall.assume(DEPLOY)
    second = rolecall.assume(AUDIT, session=first, duration_seconds=7200)
    assert "assumed-role/Audit/" in arn(second)
    refreshable = credentials_of(second)
    assert isinstance(refreshable, RefreshableCredentials)
    remaining = (vars(refreshable)["_expiry_time"] - datetime.now(timezone.utc)).total_seconds()
    assert remaining <= 3600  # role chaining: capped at one hour
    chained = rolecall.assume(AUDIT, source_profile="prod-missing")
    with pytest.raises(rolecall.AssumeRoleError, match="prod-missing"):
        credentials_of(chained).get_frozen_credentials()


def test_chaining_from_a_roles_toml_profile(aws: Aws) -> None:
    aws.roles(f'[profiles.prod]\nrole_arn = "{DEPLOY}"\nsource_profile = "default"\n')
    session = rolecall.assume(AUDIT, source_profile="prod")
    assert "assumed-role/Audit/" in arn(session)
    assert aws.assume_role_calls() == 2


def test_credentials_for_a_plain_botocore_session(aws: Aws) -> None:
    credentials = rolecall.credentials(DEPLOY)
    assert aws.assume_role_calls() == 0  # nothing fetched until first used
    core = botocore.session.Session()
    client = cast("STSClient", core.create_client(
        "sts", region_name="us-east-1", aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key, aws_session_token=credentials.token))
    assert "assumed-role/Deploy/" in client.get_caller_identity()["Arn"]
    assert "SECRET" not in repr(credentials).upper()


@pytest.mark.parametrize(("options", "message"), [
    ({"duration_seconds": 60}, "rolecall.assume(): argument 'duration_seconds': expected an "
                               "integer from 900 to 43200 (seconds), got 60"),
    ({"duraton_seconds": 900}, "rolecall.assume(): argument 'duraton_seconds': unknown key; "
                               "did you mean 'duration_seconds'?"),
    ({"source_profile": "a", "credential_source": "Environment"},
     "rolecall.assume(): argument 'credential_source': source_profile and credential_source "
     "exclude each other; keep one"),
])
def test_options_are_checked_like_roles_toml(aws: Aws, options: dict[str, object],
                                             message: str) -> None:
    with pytest.raises(rolecall.ConfigError) as caught:
        rolecall.assume(DEPLOY, **options)
    assert str(caught.value) == message
    with pytest.raises(rolecall.ConfigError, match="expected an IAM role ARN"):
        rolecall.assume("not-an-arn")


# --- ROLECALL_ROLE_ARN -----------------------------------------------------------------------


@pytest.fixture
def ci(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The CI case: keys in the environment, one role ARN."""
    aws.credentials("")
    for name, value in (("AWS_ACCESS_KEY_ID", STATIC_KEY_ID),
                        ("AWS_SECRET_ACCESS_KEY", STATIC_SECRET),
                        ("ROLECALL_ROLE_ARN", DEPLOY),
                        ("ROLECALL_ROLE_SESSION_NAME", "ci-job-7")):
        monkeypatch.setenv(name, value)
    aws.env = dict(__import__("os").environ)
    return aws


def test_role_arn_variable_assumes_the_role_over_environment_keys(ci: Aws) -> None:
    assert arn(boto3.Session()) == "arn:aws:sts::111122223333:assumed-role/Deploy/ci-job-7"
    done = run_python("import boto3\nprint(boto3.client('sts').get_caller_identity()['Arn'])",
                      ci.env)
    assert done.stdout.strip() == "arn:aws:sts::111122223333:assumed-role/Deploy/ci-job-7"
    assert ci.assume_role_calls() == 1  # the second process: from the disk cache


def test_role_arn_variable_leaves_declared_profiles_and_sources_alone(ci: Aws) -> None:
    ci.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                   f"aws_secret_access_key = {STATIC_SECRET}\n")
    ci.roles(f'[profiles.prod]\nrole_arn = "{AUDIT}"\nsource_profile = "default"\n')
    assert "assumed-role/Audit/" in arn(boto3.Session(profile_name="prod"))
    assert ci.assume_role_calls() == 1  # its source is the plain default profile, no Deploy hop


def test_a_malformed_role_arn_variable_is_a_clear_error(ci: Aws,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_ROLE_ARN", "arn:aws:iam::1:role/x")
    monkeypatch.setenv("ROLECALL_DURATION_SECONDS", "ten")
    with pytest.raises(rolecall.ConfigError) as caught:
        boto3.Session().get_credentials()
    text = str(caught.value)
    assert "the environment: variable 'ROLECALL_ROLE_ARN': expected an IAM role ARN" in text
    assert "'ROLECALL_DURATION_SECONDS': expected an integer" in text
    done = run_python("print('started')", {**ci.env, "ROLECALL_ROLE_ARN": "garbage"})
    assert (done.returncode, done.stdout, done.stderr) == (0, "started\n", "")
