"""What the command-line tests share: the roles.toml snippets, and ways to run ``rolecall`` as
users do (the console script in a subprocess) or, where the test is not about the process, in this
one (:func:`run`: the same arguments, environment, output and exit status, without starting an
interpreter and importing botocore again).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from tests.conftest import Aws

Runner = Callable[..., "subprocess.CompletedProcess[str]"]  # rolecall() or run()

ROLECALL = Path(sys.executable).parent / "rolecall"
ACCOUNT = "111122223333"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
ASSUMED = f"arn:aws:sts::{ACCOUNT}:assumed-role/"
CANARY = "CANARYSECRETCANARYSECRETCANARYSECRET0000"
EXPIRATION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
VERSION1_KEYS = {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration",
                 "AccountId"}
ENV_KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION"}

PROD_NO_REGION = f"""
[profiles.prod]
role_arn = "{DEPLOY}"
source_profile = "default"
"""
STAGING = f"""
[profiles.staging]
role_arn = "arn:aws:iam::{ACCOUNT}:role/Staging"
source_profile = "default"
"""
CHAINED = f"""
[profiles.base]
role_arn = "arn:aws:iam::{ACCOUNT}:role/Base"
source_profile = "default"

[profiles.prod]
role_arn = "{DEPLOY}"
source_profile = "base"
"""

# What the credential-process hit path may not import, printed on stderr by a probe process.
PROBE = ("import sys; from rolecall.cli import main; "
         "rc = main(['credential-process', '--profile', 'prod']); "
         "print(sorted(m for m in sys.modules if m == 'rolecall.config' or m.split('.')[0] in "
         "('botocore', 'boto3', 'tomllib', 'tomli', 'platformdirs', 'typing', 'argparse', "
         "'logging', 'hashlib')), file=sys.stderr); "
         "sys.exit(rc)")

COMMANDS = ["credential-process", "setup-process", "env", "exec", "whoami", "explain", "check",
            "list", "init", "login", "cache", "completion"]


def rolecall(env: dict[str, str], *args: str | Path,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The console script next to this interpreter, as a user runs it."""
    return subprocess.run([str(ROLECALL), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def python(env: dict[str, str], *args: str | Path,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """An error as the command reference promises it: exit 1, one line on stderr, no stdout."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rolecall: error: ")
    return lines[0]


def credential_process(env: dict[str, str], profile: str = "prod", *,
                       runner: Runner | None = None) -> dict[str, Any]:
    """``credential-process --profile PROFILE``'s document, by the console script (or ``runner``:
    :func:`run` where the test is not about processes or the disk cache)."""
    done = (runner or rolecall)(env, "credential-process", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def probe(env: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """credential-process in a process that reports which heavy modules it imported."""
    done = python(env, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    modules: list[str] = ast.literal_eval(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout), modules


def caller_arn(aws: Aws, creds: dict[str, Any]) -> str:
    """The identity STS reports for credentials printed by rolecall."""
    import boto3

    sts = boto3.session.Session().client(
        "sts", region_name="us-east-1", endpoint_url=aws.emulator.url,
        aws_access_key_id=creds.get("AccessKeyId") or creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds.get("SecretAccessKey") or creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds.get("SessionToken") or creds["AWS_SESSION_TOKEN"])
    return str(sts.get_caller_identity()["Arn"])


def stanza(region: str | None = "eu-west-1", profile: str = "prod") -> str:
    text = (f"[profile {profile}]\n"
            f"credential_process = {ROLECALL} credential-process --profile {profile}\n")
    return text + (f"region = {region}\n" if region else "")


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.rolecall-*"))


def run(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``rolecall ARGS`` in this process (:func:`rolecall.cli.main`), with exactly ``env`` as the
    environment and stdout/stderr captured; argparse's exits (help, version, usage) are statuses.
    ``exec`` (which replaces the process) still runs as a process. Not for what a process keeps
    once: the library's one warning per problem per process, its in-memory credentials."""
    argv = [str(arg) for arg in args]
    if "exec" in argv:  # it replaces the process: run it as one
        return rolecall(env, *argv)
    from rolecall.cli import main

    logger = logging.getLogger("rolecall")
    kept = (list(logger.handlers), logger.level, logger.propagate)
    out, err = io.StringIO(), io.StringIO()
    try:
        with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:  # the command set the rolecall logger up for itself; other tests expect the default
        logger.handlers[:] = kept[0]
        logger.setLevel(kept[1])
        logger.propagate = kept[2]
    return subprocess.CompletedProcess(["rolecall", *argv], status, out.getvalue(),
                                       err.getvalue())


def cache_entry(aws: Aws, profile: str = "prod") -> Path:
    """The disk cache entry that the hit path's index names for ``profile``."""
    folder = aws.root / "cache"
    index = json.loads((folder / f"profile-{profile.encode().hex()}.index").read_text())
    return folder / f"{index['key']}.json"


def env_json(aws: Aws, profile: str = "prod") -> dict[str, str]:
    done = run(aws.env, "env", "--profile", profile, "--format", "json")
    assert done.returncode == 0, done.stderr
    values: dict[str, str] = json.loads(done.stdout)
    return values
