"""`--role-arn ARN [--source-profile P]` on credential-process, env, exec and whoami: a role with
no roles.toml at all, through the installed console script, as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.cli_helpers import run
from tests.conftest import Aws

ROLECALL = str(Path(sys.executable).parent / "rolecall")
DEPLOY = "arn:aws:iam::111122223333:role/Deploy"


def rolecall(aws: Aws, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ROLECALL, *argv], env=aws.env, capture_output=True, text=True,
                          timeout=120, check=False)


def in_process(aws: Aws, *argv: str) -> subprocess.CompletedProcess[str]:
    """The command in this process, where the test is not about processes (exec still is one)."""
    return run(aws.env, *argv)


@pytest.mark.slow
def test_credential_process_with_a_role_arn_and_no_roles_toml(aws: Aws) -> None:
    assert not (aws.root / "roles.toml").exists()
    done = rolecall(aws, "credential-process", "--role-arn", DEPLOY, "--source-profile",
                    "default")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["Version"] == 1 and document["AccountId"] == "111122223333"
    again = rolecall(aws, "credential-process", "--role-arn", DEPLOY, "--source-profile",
                     "default")
    assert json.loads(again.stdout) == document
    assert aws.assume_role_calls() == 1  # the second answer came from the disk cache


@pytest.mark.slow
def test_an_aws_config_line_with_a_role_arn_works_for_any_sdk(aws: Aws) -> None:
    aws.config(f"[profile ci]\ncredential_process = {ROLECALL} credential-process "
               f"--role-arn {DEPLOY} --source-profile default\n")
    session = boto3.Session(profile_name="ci")
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    credentials = session.get_credentials()
    assert credentials is not None and credentials.method == "custom-process"


@pytest.mark.slow
def test_env_exec_and_whoami_with_a_role_arn(aws: Aws) -> None:
    env = in_process(aws, "env", "--role-arn", DEPLOY, "--format", "json")
    assert env.returncode == 0, env.stderr
    assert json.loads(env.stdout)["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    who = in_process(aws, "whoami", "--role-arn", DEPLOY, "--output", "json")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["arn"].startswith("arn:aws:sts::111122223333:assumed-role/")
    code = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"
    ran = in_process(aws, "exec", "--role-arn", DEPLOY, "--", sys.executable, "-c", code)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    assert aws.assume_role_calls() == 1


def test_role_arn_usage_errors(aws: Aws) -> None:
    for argv, said in (
            (["env", "--source-profile", "default"], "--source-profile goes with --role-arn"),
            (["env", "--profile", "prod", "--role-arn", DEPLOY], "not both"),
            (["credential-process", "--role-arn", "arn:aws:iam::1:role/x"],
             "--role-arn: expected an IAM role ARN")):
        done = in_process(aws, *argv)
        assert done.returncode == 1, (argv, done.stdout, done.stderr)
        assert said in done.stderr and done.stdout == ""
    assert aws.assume_role_calls() == 0
