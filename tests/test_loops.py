"""credential_process loops: a profile whose source runs `rolecall credential-process` for a
profile that is being fetched. The fetching process holds that profile's lock while botocore runs
the child, so a child that waited for it would wait forever; it must fail within seconds instead,
however the loop forms. Real processes: boto3 in a subprocess, the installed console script."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Aws, first_fast, run_python

ROLE = "arn:aws:iam::111122223333:role/Deploy"
ROLECALL = str(Path(sys.executable).parent / "rolecall")
RESOLVE = ("import sys, boto3\n"
           "try:\n"
           "    boto3.Session(profile_name=sys.argv[1]).get_credentials()"
           ".get_frozen_credentials()\n"
           "except Exception as exc:\n"
           "    print(type(exc).__name__, exc)\n"
           "else:\n"
           "    print('resolved')\n")


def resolve(aws: Aws, profile: str) -> tuple[str, float]:
    start = time.monotonic()
    done = run_python(RESOLVE, aws.env, sys.executable, profile, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), time.monotonic() - start


@pytest.mark.parametrize("cache", first_fast([False, True]))
def test_a_profile_whose_source_runs_rolecall_for_itself(aws: Aws, cache: bool) -> None:
    aws.config(f"[profile selfish]\ncredential_process = {ROLECALL} credential-process "
               "--profile selfish\n")
    aws.roles(f'[profiles.selfish]\nrole_arn = "{ROLE}"\nsource_profile = "selfish"\n'
              f"cache = {str(cache).lower()}\n")
    out, elapsed = resolve(aws, "selfish")
    assert elapsed < 15, elapsed
    assert out.startswith("AssumeRoleError could not get credentials for profile 'selfish'")
    assert "credential_process loop: selfish -> selfish" in out
    assert aws.assume_role_calls() == 0


@pytest.mark.slow
def test_a_loop_through_a_second_profile(aws: Aws) -> None:
    aws.config(f"[profile base]\ncredential_process = {ROLECALL} credential-process "
               "--profile partner\n")
    aws.roles(f'[profiles.prod]\nrole_arn = "{ROLE}"\nsource_profile = "base"\n'
              f'[profiles.partner]\nrole_arn = "{ROLE}"\nsource_profile = "prod"\n')
    out, elapsed = resolve(aws, "prod")
    assert elapsed < 15, elapsed
    assert "credential_process loop: prod -> partner -> prod" in out, out
    assert aws.assume_role_calls() == 0


@pytest.mark.slow
def test_no_false_loop_for_a_process_started_during_a_fetch(aws: Aws) -> None:
    """A child that inherited the variable while its parent was fetching (long done) resolves."""
    aws.roles(f'[profiles.prod]\nrole_arn = "{ROLE}"\nsource_profile = "default"\n')
    aws.env["ROLECALL_PROCESS_CHAIN"] = "1:prod"
    out, _ = resolve(aws, "prod")
    assert out == "resolved"
    assert aws.assume_role_calls() == 1
