"""The examples run as documented: the demo sets itself up; the scenario scripts are unmodified
boto3 programs that run as roles against the emulator."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, Aws, run_python

ROLES = """
[defaults]
region = "us-east-1"
source_profile = "default"

[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"

[profiles.dev]
role_arn = "arn:aws:iam::444455556666:role/Developer"
"""


@pytest.mark.slow
def test_demo_sets_itself_up_and_shows_the_role(isolated: object) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "arn:aws:sts::111122223333:assumed-role/Deploy/" in done.stdout


def test_example_config_is_valid() -> None:
    from rolecall import config

    parsed = config.parse((EXAMPLES / "roles.example.toml").read_bytes())
    assert parsed.profiles


@pytest.mark.slow
def test_cross_account_script(aws: Aws) -> None:
    aws.roles(ROLES)
    done = run_python(EXAMPLES / "cross_account.py", {**aws.env, "AWS_PROFILE": "dev"})
    assert done.returncode == 0, done.stderr
    assert "444455556666" in done.stdout and "assumed-role/Developer/" in done.stdout


def test_switch_roles_script(aws: Aws) -> None:
    aws.roles(ROLES)
    done = run_python(EXAMPLES / "switch_roles.py", aws.env, sys.executable, "dev", "prod")
    assert done.returncode == 0, done.stderr
    dev, prod = done.stdout.splitlines()
    assert "assumed-role/Developer/" in dev and "assumed-role/Deploy/" in prod


def test_list_buckets_script(aws: Aws) -> None:
    aws.roles(ROLES)
    env = {**aws.env, "AWS_PROFILE": "prod"}
    done = run_python(EXAMPLES / "list_buckets.py", env, sys.executable, "rolecall-example")
    assert done.returncode == 0, done.stderr
    assert "rolecall-example" in done.stdout.splitlines()[1:]


# --- the same scenarios in code, with rolecall.assume -----------------------------------------

IN_CODE = EXAMPLES / "in_code"
DEPLOY = "arn:aws:iam::111122223333:role/Deploy"
AUDIT = "arn:aws:iam::444455556666:role/Audit"


def test_in_code_basic(aws: Aws) -> None:
    done = run_python(IN_CODE / "basic.py", aws.env, sys.executable, DEPLOY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "arn:aws:sts::111122223333:assumed-role/Deploy/tutorial"


def test_in_code_cross_account(aws: Aws) -> None:
    done = run_python(IN_CODE / "cross_account.py", aws.env, sys.executable, AUDIT, "ext-4242")
    assert done.returncode == 0, done.stderr
    account, arn = done.stdout.split()
    assert account == "444455556666" and "assumed-role/Audit/" in arn


@pytest.mark.slow
def test_in_code_session_from_the_assumed_role(aws: Aws) -> None:
    done = run_python(IN_CODE / "session_from_role.py", aws.env, sys.executable, DEPLOY, AUDIT)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert "assumed-role/Deploy/" in first and "assumed-role/Audit/" in second
    assert aws.assume_role_calls() == 2


@pytest.mark.slow
def test_in_code_switch_roles_over_accounts(aws: Aws) -> None:
    accounts = ["111111111111", "222222222222", "333333333333"]
    done = run_python(IN_CODE / "switch_roles.py", aws.env, sys.executable, "Audit", *accounts)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == accounts
    for account, line in zip(accounts, lines, strict=True):
        assert f"::{account}:assumed-role/Audit/" in line
    again = run_python(IN_CODE / "switch_roles.py", aws.env, sys.executable, "Audit", *accounts)
    assert again.returncode == 0, again.stderr
    assert aws.assume_role_calls() == 3  # the second run: all from the disk cache


def test_in_code_list_buckets(aws: Aws) -> None:
    done = run_python(IN_CODE / "list_buckets.py", aws.env, sys.executable, DEPLOY,
                      "rolecall-in-code")
    assert done.returncode == 0, done.stderr
    assert "rolecall-in-code" in done.stdout.splitlines()
