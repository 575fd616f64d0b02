"""``check``, ``list``, ``explain`` and ``whoami`` (:mod:`rolecall.cli.report`): what a profile
resolves to and why, with no secret in any report.
"""

from __future__ import annotations

import json
import os
import re
from unittest import mock

import pytest

from tests.cli_helpers import (
    ACCOUNT,
    ASSUMED,
    CANARY,
    CHAINED,
    DEPLOY,
    STAGING,
    credential_process,
    one_error_line,
    run,
)
from tests.conftest import PROD, STATIC_KEY_ID, Aws

# --- check -----------------------------------------------------------------------------------


def test_check_misspelt_key(aws: Aws) -> None:
    path = aws.roles(PROD + "duraton_seconds = 3600\n")
    done = run(aws.env, "check")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert str(path) in line and "'prod'" in line and "'duraton_seconds'" in line
    assert "did you mean 'duration_seconds'" in line


def test_check_reports_every_problem(aws: Aws) -> None:
    aws.roles(PROD + "duraton_seconds = 3600\n" + STAGING + 'region = "EU WEST"\n')
    done = run(aws.env, "check")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert any("'prod'" in x and "'duraton_seconds'" in x for x in lines)
    assert any("'staging'" in x and "'region'" in x for x in lines)


def test_check_valid(aws: Aws) -> None:
    path = aws.roles(PROD + STAGING)
    done = run(aws.env, "check")
    assert done.returncode == 0, done.stdout
    assert done.stdout == f"{path}: OK, 2 profile(s)\n" and done.stderr == ""


def test_check_source_profile_in_neither_file(aws: Aws) -> None:
    path = aws.roles(PROD + STAGING.replace('"default"', '"ghost"'))
    aws.config("[profile other]\nregion = us-east-1\n")
    done = run(aws.env, "check")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert str(path) in line and "'staging'" in line and "source_profile" in line
    assert "'ghost'" in line


def test_check_source_profile_from_the_config_file(aws: Aws) -> None:
    aws.roles(PROD.replace('"default"', '"ops"'))
    aws.config("[profile ops]\ncredential_process = /bin/false\n")
    assert run(aws.env, "check").returncode == 0


# --- list, explain, whoami -------------------------------------------------------------------


def test_list_shows_profiles_and_cache_state(aws: Aws) -> None:
    aws.roles(PROD + CHAINED.replace("profiles.prod", "profiles.chained"))
    done = run(aws.env, "list")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["PROFILE", "ROLE", "SOURCE", "REGION", "CACHE"]
    table = {row.split()[0]: row for row in rows}
    assert set(table) == {"base", "chained", "prod"}
    assert table["prod"].split() == ["prod", DEPLOY, "AWS", "profile", "default", "eu-west-1",
                                     "empty"]
    assert "rolecall profile base" in table["chained"]
    credential_process(aws.env, "prod", runner=run)
    table = {row.split()[0]: row for row in run(aws.env, "list").stdout.splitlines()[1:]}
    assert re.search(r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 5\d min\)$", table["prod"])
    assert table["base"].endswith("empty")


def test_list_cache_off(aws: Aws) -> None:
    aws.roles(PROD + "cache = false\n")
    assert run(aws.env, "list").stdout.splitlines()[1].endswith("off (cache = false)")


def test_explain_managed_profile(prod: Aws) -> None:
    done = run(prod.env, "explain", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "profile 'prod' (from --profile)" in out
    assert "winner: rolecall" in out
    assert f"prod: assumes {DEPLOY}" in out
    assert "source: AWS profile 'default': static keys" in out
    assert "cache: empty" in out
    assert prod.assume_role_calls() == 0  # nothing fetched


def test_explain_chained_profile(aws: Aws) -> None:
    aws.roles(CHAINED)
    done = run(aws.env, "explain", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"prod: assumes {DEPLOY}" in lines
    assert "  source: rolecall profile base, below" in lines
    assert f"  base: assumes arn:aws:iam::{ACCOUNT}:role/Base" in lines
    assert "    source: AWS profile 'default': static keys" in lines
    assert lines.index(f"prod: assumes {DEPLOY}") < \
        lines.index(f"  base: assumes arn:aws:iam::{ACCOUNT}:role/Base")


def test_explain_environment_keys_win_without_an_explicit_profile(prod: Aws) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
           "AWS_SECRET_ACCESS_KEY": CANARY}
    done = run(env, "explain")
    assert done.returncode == 0, done.stderr
    assert "profile 'prod' (from AWS_PROFILE)" in done.stdout
    assert "winner: botocore's environment provider" in done.stdout
    assert "winner: rolecall" not in done.stdout
    assert CANARY not in done.stdout + done.stderr
    explicit = run(env, "explain", "--profile", "prod")
    assert "winner: rolecall" in explicit.stdout


def test_explain_unmanaged_profile(prod: Aws) -> None:
    done = run(prod.env, "explain", "--profile", "default")
    assert done.returncode == 0
    assert "winner: botocore, unchanged (not declared in roles.toml): static keys" in done.stdout


def test_explain_names_the_profile_boto3_uses(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    env = {**aws.env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "staging"}
    used = run(env, "whoami")
    assert used.returncode == 0, used.stderr
    assert "profile:  staging" in used.stdout  # what boto3 really uses
    assert "profile 'staging'" in run(env, "explain").stdout


KEYS = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": CANARY}
# (the environment, --profile): every way the profile and the winning provider are chosen
PRECEDENCE: list[tuple[dict[str, str], str | None]] = [
    ({}, None),
    ({"AWS_PROFILE": "prod"}, None),
    ({"AWS_DEFAULT_PROFILE": "prod"}, None),
    ({"AWS_DEFAULT_PROFILE": "staging", "AWS_PROFILE": "prod"}, None),
    ({"AWS_DEFAULT_PROFILE": "staging", "AWS_PROFILE": "prod"}, "prod"),
    ({"AWS_PROFILE": "prod", **KEYS}, None),
    ({"AWS_PROFILE": "prod", **KEYS}, "prod"),
    (KEYS, "default"),
    (KEYS, None),
    ({"ROLECALL_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/Auditor"}, None),
    ({"ROLECALL_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/Auditor", **KEYS}, "prod"),
]
WINNER = {"env": "environment", "rolecall": "rolecall", "rolecall-role-arn": "rolecall"}


def test_explain_agrees_with_what_boto3_does(aws: Aws) -> None:
    """explain's profile and winner are what a boto3 Session in the same environment really uses
    (and the botocore-free default of credential-process/env/exec agrees on the profile)."""
    import boto3

    from rolecall.cli import default_profile

    aws.roles(PROD + STAGING)
    for variables, explicit in PRECEDENCE:
        env = {**aws.env, **variables}
        done = run(env, "explain", "--output", "json",
                   *(["--profile", explicit] if explicit else []))
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        with mock.patch.dict(os.environ, env, clear=True):
            session = boto3.Session(profile_name=explicit)
            credentials = session.get_credentials()
            assert credentials is not None
            if explicit is None:
                assert default_profile()[0] == session.profile_name, variables
        case = (sorted(variables), explicit)
        assert report["profile"] == session.profile_name, case
        assert report["winner"] == WINNER.get(credentials.method, "botocore"), \
            (case, credentials.method, report["reason"])
        assert CANARY not in done.stdout


def test_whoami(prod: Aws) -> None:
    done = run(prod.env, "whoami", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    fields = dict(line.split(":", 1) for line in done.stdout.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["arn"].startswith(f"{ASSUMED}Deploy/")
    assert fields["account"] == ACCOUNT
    assert fields["profile"] == "prod"
    assert fields["provider"] == "rolecall"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 5\d min\)", fields["expires"])


def test_whoami_with_aws_profile_and_unmanaged(prod: Aws) -> None:
    done = run({**prod.env, "AWS_PROFILE": "prod"}, "whoami")
    assert "provider: rolecall" in done.stdout and "profile:  prod" in done.stdout
    plain = run(prod.env, "whoami")
    assert "provider: shared-credentials-file" in plain.stdout
    assert "assumed-role" not in plain.stdout
    missing = one_error_line(run(prod.env, "whoami", "--profile", "nope"))
    assert "nope" in missing


# --- no secrets in reports -------------------------------------------------------------------


@pytest.mark.slow
def test_reports_never_print_secrets(aws: Aws) -> None:
    aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {CANARY}\n"
                    f"[static]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {CANARY}\n")
    aws.roles(CHAINED + PROD.replace("profiles.prod", "profiles.direct"))
    issued = credential_process(aws.env, "prod", runner=run)
    base = credential_process(aws.env, "base", runner=run)
    secrets = [CANARY, issued["SecretAccessKey"], issued["SessionToken"],
               base["SecretAccessKey"], base["SessionToken"]]
    env_keys = {**aws.env, "AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": CANARY,
                "AWS_PROFILE": "prod"}
    runs = [
        (aws.env, ["list"]),
        (aws.env, ["explain", "--profile", "prod"]),
        (aws.env, ["explain", "--profile", "static"]),
        (env_keys, ["explain"]),
        (aws.env, ["whoami", "--profile", "prod"]),
        (aws.env, ["whoami", "--profile", "static"]),
        (env_keys, ["whoami"]),
        (aws.env, ["check"]),
        (aws.env, ["cache", "clear", "--profile", "direct"]),
    ]
    for env, argv in runs:
        done = run(env, *argv)
        assert done.returncode == 0, (argv, done.stderr)
        for secret in secrets:
            assert secret not in done.stdout + done.stderr, argv


def test_errors_never_print_secrets(aws: Aws) -> None:
    """A source that does not resolve: the errors name profile and role, never the key."""
    aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {CANARY}\n")
    aws.roles(PROD.replace('source_profile = "default"', 'source_profile = "nowhere"'))
    for argv in (["credential-process", "--profile", "prod"], ["env", "--profile", "prod"],
                 ["whoami", "--profile", "prod"], ["check"]):
        done = run(aws.env, *argv)
        assert done.returncode == 1
        assert CANARY not in done.stdout + done.stderr
