"""MFA sessions (``mfa_session_duration``): one MFA code and one GetSessionToken serve every role
that shares the source and the MFA device, across processes, until the session expires.

Counted for real: MFA codes (the ``mfa_token_command`` appends a line to a file each time it
runs), and the GetSessionToken and AssumeRole requests the STS emulator (moto) receives. moto's
GetSessionToken ignores SerialNumber and TokenCode (it validates no MFA code) and returns the
same example credentials every time, with the expiry DurationSeconds asks for.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from rolecall import cache, config, request, sts
from tests.conftest import STATIC_KEY_ID, Aws, run_python

ROLECALL = str(Path(sys.executable).parent / "rolecall")
SERIAL = "arn:aws:iam::111122223333:mfa/alice"
DEV = "arn:aws:iam::111122223333:role/Dev"
PROD = "arn:aws:iam::444455556666:role/Prod"
OPS = "arn:aws:iam::777788889999:role/Ops"
CODE = "314159"


class World:
    """An AWS world with MFA-protected roles behind one IAM user, and a counting token command."""

    def __init__(self, aws: Aws, delay: float = 0) -> None:
        self.aws = aws
        self.codes = aws.root / "codes.log"
        self.token = aws.root / "token.py"
        self.token.write_text(
            "import time\n"
            f"with open({str(self.codes)!r}, 'a') as f:\n    f.write('code\\n')\n"
            f"time.sleep({delay})\n"
            f"print('your code: {CODE}')\n")

    def roles(self, defaults: str = "", extra: str = "") -> None:
        self.aws.roles(f"""
[defaults]
source_profile = "default"
mfa_serial = "{SERIAL}"
mfa_token_command = ["{sys.executable}", "{self.token}"]
mfa_session_duration = 43200
{defaults}

[profiles.dev]
role_arn = "{DEV}"

[profiles.prod]
role_arn = "{PROD}"

[profiles.ops]
role_arn = "{OPS}"
{extra}
""")

    def code_count(self) -> int:
        return len(self.codes.read_text().splitlines()) if self.codes.exists() else 0

    def calls(self) -> tuple[int, int, int]:
        """(MFA codes, GetSessionToken, AssumeRole) so far."""
        counts = self.aws.emulator.counts()
        return self.code_count(), counts.get("GetSessionToken", 0), counts.get("AssumeRole", 0)

    def identity(self, profile: str) -> str:
        """The caller ARN an unmodified boto3 program sees for ``profile``, in a new process."""
        done = run_python("import boto3; print(boto3.Session().client('sts')"
                          ".get_caller_identity()['Arn'])",
                          {**self.aws.env, "AWS_PROFILE": profile})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def rolecall(self, *argv: str, env: dict[str, str] | None = None) -> \
            subprocess.CompletedProcess[str]:
        return subprocess.run([ROLECALL, *argv], env=env or self.aws.env, capture_output=True,
                              text=True, timeout=120, check=False)

    def session_key(self, profile: str = "dev") -> str:
        loaded = config.load()
        assert loaded is not None
        key = request.mfa_session_key(loaded, profile)
        assert key is not None
        return key


@pytest.fixture
def world(aws: Aws) -> World:
    return World(aws)


# --------------------------------------------------------------------------------------------
# The counts
# --------------------------------------------------------------------------------------------


def test_two_roles_in_two_processes_then_again_take_one_code(world: World) -> None:
    world.roles()
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Prod/" in world.identity("prod")
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Prod/" in world.identity("prod")
    assert world.calls() == (1, 1, 2)


def test_a_role_whose_credentials_expired_needs_no_new_code(world: World) -> None:
    world.roles()
    world.identity("dev")
    world.rolecall("cache", "clear", "--profile", "prod")  # nothing cached for prod: a no-op
    loaded = config.load()
    assert loaded is not None
    # dev's role credentials are gone (as when they expire); its MFA session is not.
    cache.clear([request.cache_key(loaded, "dev")])
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Ops/" in world.identity("ops")
    assert world.calls() == (1, 1, 3)


def test_processes_started_together_ask_for_one_code(aws: Aws) -> None:
    world = World(aws, delay=1.0)  # a slow code: the others arrive while it is being typed
    world.roles()
    code = ("import boto3; print(boto3.Session().client('sts')"
            ".get_caller_identity()['Arn'])")
    procs = [subprocess.Popen([sys.executable, "-c", code], text=True,
                              env={**aws.env, "AWS_PROFILE": name}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
             for name in ("dev", "prod", "ops", "dev", "prod", "ops")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    assert {out.split("assumed-role/")[1].split("/")[0] for out, _ in outputs} == \
        {"Dev", "Prod", "Ops"}
    codes, get_session_token, assume_role = world.calls()
    assert (codes, get_session_token) == (1, 1)
    assert assume_role == 3  # one per role: the role entries are shared too


def test_an_expired_session_takes_one_new_code(world: World) -> None:
    world.roles()
    world.identity("dev")
    path = cache.directory() / f"{world.session_key()}.json"
    doc = json.loads(path.read_text())
    doc["ExpiresAt"] = time.time() - 1  # the session has just expired (0600 kept: same file)
    path.write_text(json.dumps(doc))
    world.identity("prod")
    world.identity("ops")
    assert world.calls() == (2, 2, 3)


def test_a_session_near_its_end_is_renewed_before_it_is_used(world: World) -> None:
    world.roles()
    world.identity("dev")
    path = cache.directory() / f"{world.session_key()}.json"
    doc = json.loads(path.read_text())
    doc["ExpiresAt"] = time.time() + 60  # inside its refresh window: not handed out
    path.write_text(json.dumps(doc))
    world.identity("prod")
    assert world.calls() == (2, 2, 2)
