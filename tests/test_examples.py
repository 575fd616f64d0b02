"""The examples run as documented: the demo sets itself up; the scenario scripts are unmodified
boto3 programs that run as roles against the emulator."""

from __future__ import annotations

import subprocess
import sys

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


def test_demo_sets_itself_up_and_shows_the_role(isolated: object) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "arn:aws:sts::111122223333:assumed-role/Deploy/" in done.stdout


def test_example_config_is_valid() -> None:
    from rolecall import config

    parsed = config.parse((EXAMPLES / "roles.example.toml").read_bytes())
    assert parsed.profiles


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
