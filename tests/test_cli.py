"""The ``rolecall`` command, run the way users run it: the console script in a subprocess, STS at
the local emulator (127.0.0.1), and assertions on what the user sees: stdout, stderr, exit status.

Some tests first demonstrated bugs (explain's profile order, setup-process losing comments, CRLF
endings, symlinks and backups, names starting with "-", help without examples); they now guard the
fixes.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, STATIC_KEY_ID, Aws
from tests.venvs import Venv

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

PROD = f"""
[profiles.prod]
role_arn = "{DEPLOY}"
source_profile = "default"
region = "eu-west-1"
"""
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
         "('botocore', 'boto3', 'tomllib', 'tomli', 'platformdirs')), file=sys.stderr); "
         "sys.exit(rc)")

COMMANDS = ["credential-process", "setup-process", "env", "exec", "whoami", "explain", "check",
            "list", "init", "login", "cache", "completion"]


# --- helpers ---------------------------------------------------------------------------------


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


def credential_process(env: dict[str, str], profile: str = "prod") -> dict[str, Any]:
    done = rolecall(env, "credential-process", "--profile", profile)
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


@pytest.fixture
def prod(aws: Aws) -> Aws:
    aws.roles(PROD)
    return aws


# --- 1. the AWS CLI v1 through credential_process, in a fresh environment --------------------


@pytest.mark.slow
def test_aws_cli_v1_gets_the_role_through_credential_process(
        prod: Aws, venv: Venv) -> None:
    prod.config(f"[profile prod]\ncredential_process = {ROLECALL} credential-process "
                "--profile prod\n")
    env = {**prod.env, "ROLECALL_DISABLE": "1"}  # the in-process plugin is off in that venv
    done = subprocess.run([venv.python, "-m", "awscli", "sts", "get-caller-identity", "--profile",
                           "prod", "--output", "json"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{ASSUMED}Deploy/" in json.loads(done.stdout)["Arn"]
    assert prod.assume_role_calls() == 1


def test_setup_process_stanza_works_for_the_aws_cli(prod: Aws) -> None:
    """What `setup-process --write` adds is what the AWS CLI runs (plugin off in the CLI)."""
    prod.config("")
    assert rolecall(prod.env, "setup-process", "prod", "--write").returncode == 0
    env = {**prod.env, "ROLECALL_DISABLE": "1"}
    done = python(env, "-m", "awscli", "sts", "get-caller-identity", "--profile", "prod",
                  "--output", "json")
    assert done.returncode == 0, done.stderr
    assert f"{ASSUMED}Deploy/" in json.loads(done.stdout)["Arn"]


# --- 2. credential-process: the Version 1 document -------------------------------------------


@pytest.mark.parametrize("spelling", [["--profile", "prod"], ["--profile=prod"]])
def test_credential_process_prints_exactly_version_1(prod: Aws, spelling: list[str]) -> None:
    done = rolecall(prod.env, "credential-process", *spelling)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.endswith("}\n") and done.stdout.count("\n") == 1
    doc = json.loads(done.stdout)
    assert set(doc) == VERSION1_KEYS
    assert doc["Version"] == 1 and type(doc["Version"]) is int
    assert EXPIRATION.match(doc["Expiration"])
    expires = datetime.fromisoformat(doc["Expiration"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None
    assert expires - datetime.now(timezone.utc) > timedelta(minutes=15)
    assert doc["AccountId"] == ACCOUNT
    assert all(isinstance(doc[k], str) and doc[k]
               for k in ("AccessKeyId", "SecretAccessKey", "SessionToken"))
    assert caller_arn(prod, doc).startswith(f"{ASSUMED}Deploy/")


# --- 3. a cache hit imports no botocore ------------------------------------------------------


def test_cache_hit_imports_no_botocore_and_calls_sts_once(prod: Aws) -> None:
    first, modules = probe(prod.env)  # a miss: the full path, which needs botocore
    assert "botocore" in modules, modules
    second, modules = probe(prod.env)
    assert modules == []
    assert second == first
    assert credential_process(prod.env) == first  # the console script agrees
    assert prod.assume_role_calls() == 1


# --- 4. what invalidates the hit path --------------------------------------------------------


def test_editing_roles_toml_takes_the_full_path(prod: Aws) -> None:
    first = credential_process(prod.env)
    assert credential_process(prod.env) == first
    assert prod.assume_role_calls() == 1
    prod.roles(PROD.replace("role/Deploy", "role/Auditor"))
    second, modules = probe(prod.env)
    assert "botocore" in modules
    assert prod.assume_role_calls() == 2
    assert second != first
    assert caller_arn(prod, first).startswith(f"{ASSUMED}Deploy/")
    assert caller_arn(prod, second).startswith(f"{ASSUMED}Auditor/")
    third, modules = probe(prod.env)  # ... and the new answer is a hit again
    assert modules == [] and third == second
    assert prod.assume_role_calls() == 2


def test_a_key_variable_takes_the_full_path(aws: Aws) -> None:
    aws.roles(PROD_NO_REGION)  # the cache key depends on AWS_REGION / AWS_DEFAULT_REGION
    first = credential_process(aws.env)
    same, modules = probe({**aws.env, "UNRELATED_VARIABLE": "1"})
    assert modules == [] and same == first
    moved = {**aws.env, "AWS_REGION": "eu-west-1"}
    second, modules = probe(moved)
    assert "botocore" in modules
    assert second != first
    assert aws.assume_role_calls() == 2
    third, modules = probe(moved)
    assert modules == [] and third == second
    assert aws.assume_role_calls() == 2


def test_a_variable_outside_the_key_still_rechecks(prod: Aws) -> None:
    """The profile pins its region, so AWS_REGION does not change the key: the full path runs,
    finds the same cache entry and calls STS no more."""
    first = credential_process(prod.env)
    again, modules = probe({**prod.env, "AWS_REGION": "ap-south-1"})
    assert "rolecall.config" in modules  # roles.toml was read: the full path ...
    assert "botocore" not in modules  # ... which answers from the disk cache
    assert again == first
    assert prod.assume_role_calls() == 1


def cache_entry(aws: Aws, profile: str = "prod") -> Path:
    """The disk cache entry that the hit path's index names for ``profile``."""
    folder = aws.root / "cache"
    index = json.loads((folder / f"profile-{profile.encode().hex()}.index").read_text())
    return folder / f"{index['key']}.json"


def test_never_hands_out_less_than_15_minutes(prod: Aws) -> None:
    credential_process(prod.env)
    entry = cache_entry(prod)
    stored = json.loads(entry.read_text())
    soon = time.time() + 600
    stored["ExpiresAt"] = soon
    stored["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(soon))
    entry.write_text(json.dumps(stored))  # keeps the file's 0600
    doc = credential_process(prod.env)
    assert doc["Expiration"] != stored["Expiration"]
    expires = datetime.fromisoformat(doc["Expiration"].replace("Z", "+00:00"))
    assert expires - datetime.now(timezone.utc) > timedelta(minutes=15)
    assert prod.assume_role_calls() == 2


def test_a_corrupt_index_is_a_miss_not_a_crash(prod: Aws) -> None:
    first = credential_process(prod.env)
    index = prod.root / "cache" / f"profile-{b'prod'.hex()}.index"
    index.write_text("{not json")
    assert credential_process(prod.env) == first  # the full path, from the cache entry
    assert prod.assume_role_calls() == 1
    again, modules = probe(prod.env)  # and the index is whole again
    assert modules == [] and again == first


def test_a_loose_cache_entry_is_not_trusted(prod: Aws) -> None:
    first = credential_process(prod.env)
    entry = cache_entry(prod)
    entry.chmod(0o644)
    second = credential_process(prod.env)
    assert second != first
    assert prod.assume_role_calls() == 2
    assert stat.S_IMODE(cache_entry(prod).stat().st_mode) == 0o600


def test_concurrent_cold_calls_make_one_assume_role(prod: Aws) -> None:
    procs = [subprocess.Popen([str(ROLECALL), "credential-process", "--profile", "prod"],
                              env=prod.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert len({out for out, _ in outputs}) == 1
    assert prod.assume_role_calls() == 1


# --- 5. credential_process loops -------------------------------------------------------------


def test_loop_through_the_aws_config_fails_fast_naming_it(aws: Aws) -> None:
    aws.config(f"[profile base]\ncredential_process = {ROLECALL} credential-process "
               "--profile prod\n")
    aws.roles(PROD.replace('source_profile = "default"', 'source_profile = "base"'))
    start = time.monotonic()
    done = rolecall(aws.env, "credential-process", "--profile", "prod", timeout=30)
    elapsed = time.monotonic() - start
    line = one_error_line(done)
    assert elapsed < 5, elapsed
    assert "loop" in line and "prod -> prod" in line
    assert aws.assume_role_calls() == 0


def test_loop_variable_fails_while_an_ancestor_holds_the_profile(prod: Aws) -> None:
    from rolecall import config, filelock, request

    loaded = config.load()
    assert loaded is not None
    lock = prod.root / "cache" / f"{request.cache_key(loaded, 'prod')}.lock"
    lock.parent.mkdir(mode=0o700, exist_ok=True)
    chain = {**prod.env, "ROLECALL_PROCESS_CHAIN": "1:staging,2:prod"}
    with filelock.hold(lock):  # an ancestor process fetching prod holds its lock
        start = time.monotonic()
        line = one_error_line(rolecall(chain, "credential-process", "--profile", "prod"))
        assert time.monotonic() - start < 6
    assert "staging -> prod -> prod" in line and "loop" in line
    assert prod.assume_role_calls() == 0
    # The same variable with nobody holding the lock (a process started while its parent was
    # fetching, long done) is no loop; nor is a chain without this profile.
    for value in ("1:staging,2:prod", "1:staging"):
        done = rolecall({**prod.env, "ROLECALL_PROCESS_CHAIN": value},
                        "credential-process", "--profile", "prod")
        assert done.returncode == 0, done.stderr
    assert prod.assume_role_calls() == 1


# --- 6. errors: one line on stderr, exit 1 ---------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "nope"],
    ["credential-process", "--profile=nope"],
    ["env", "--profile", "nope"],
    ["exec", "--profile", "nope", "--", "true"],
    ["cache", "clear", "--profile", "nope"],
])
def test_unknown_profile(prod: Aws, argv: list[str]) -> None:
    line = one_error_line(rolecall(prod.env, *argv))
    assert "'nope'" in line
    assert str(prod.root / "roles.toml") in line
    if argv[0] != "cache":
        assert "declared: prod" in line


def test_unknown_profile_lists_every_declared_profile(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    line = one_error_line(rolecall(aws.env, "credential-process", "--profile", "nope"))
    assert "declared: prod, staging" in line


def test_setup_process_unknown_profile(prod: Aws) -> None:
    line = one_error_line(rolecall(prod.env, "setup-process", "nope"))
    assert "nope" in line and str(prod.root / "roles.toml") in line


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "prod"],
    ["env", "--profile", "prod"],
    ["exec", "--profile", "prod", "--", "true"],
    ["setup-process"],
    ["list"],
])
def test_no_roles_toml(aws: Aws, argv: list[str]) -> None:
    line = one_error_line(rolecall(aws.env, *argv))
    assert "no roles.toml" in line and str(aws.root / "roles.toml") in line


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "prod"],
    ["env", "--profile", "prod"],
    ["exec", "--profile", "prod", "--", "true"],
    ["list"],
])
def test_invalid_roles_toml(aws: Aws, argv: list[str]) -> None:
    # Two problems (a misspelt key and a bad ARN) still make one line.
    aws.roles('[profiles.prod]\nrole_arn = "nope"\nsource_profile = "default"\n'
              "duraton_seconds = 1\n")
    line = one_error_line(rolecall(aws.env, *argv))
    assert str(aws.root / "roles.toml") in line
    assert "role_arn" in line and "duraton_seconds" in line
    assert aws.assume_role_calls() == 0


def test_invalid_toml_syntax(aws: Aws) -> None:
    aws.roles("[profiles.prod\nrole_arn = \n")
    line = one_error_line(rolecall(aws.env, "credential-process", "--profile", "prod"))
    assert "invalid TOML" in line and str(aws.root / "roles.toml") in line


def test_usage_errors_exit_2(prod: Aws) -> None:
    for argv in (["cache"], ["nonsense"], ["env", "--profile", "prod", "--format", "csh"], [],
                 ["--output", "yaml", "list"], ["--region", "eu-west-1", "check"],
                 ["completion"], ["completion", "tcsh"]):
        done = rolecall(prod.env, *argv)
        assert done.returncode == 2, argv
        assert "usage: rolecall" in done.stderr and done.stdout == ""


# --- 7. exec ---------------------------------------------------------------------------------


def test_exec_runs_an_unmodified_script_as_the_role(prod: Aws) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "prod"}
    done = rolecall(env, "exec", "--profile", "prod", "--", sys.executable,
                    EXAMPLES / "whoami.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{ASSUMED}Deploy/")
    assert done.stderr == ""


def test_exec_child_environment(prod: Aws) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "prod"}
    code = ("import os, json; print(json.dumps({k: v for k, v in os.environ.items() "
            "if k.startswith(('AWS_', 'ROLECALL_'))}))")
    done = rolecall(env, "exec", "--profile", "prod", "--", sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout)
    assert "AWS_PROFILE" not in child and "AWS_DEFAULT_PROFILE" not in child
    assert set(child) >= ENV_KEYS
    assert child["AWS_REGION"] == child["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert child["ROLECALL_EXEC"] == "prod"
    assert EXPIRATION.match(child["AWS_CREDENTIAL_EXPIRATION"])
    assert caller_arn(prod, child).startswith(f"{ASSUMED}Deploy/")


def test_exec_exit_status_passes_through(prod: Aws) -> None:
    done = rolecall(prod.env, "exec", "--profile", "prod", "--", sys.executable, "-c",
                    "import sys; print('ran'); sys.exit(7)")
    assert done.returncode == 7
    assert done.stdout == "ran\n"


def test_exec_command_not_found_or_not_executable(prod: Aws) -> None:
    done = rolecall(prod.env, "exec", "--profile", "prod", "--", "no-such-command-rolecall")
    assert done.returncode == 127
    assert done.stderr.splitlines() == ["rolecall: error: command not found: "
                                        "no-such-command-rolecall"]
    script = prod.root / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    done = rolecall(prod.env, "exec", "--profile", "prod", "--", script)
    assert done.returncode == 126
    assert len(done.stderr.splitlines()) == 1 and "not executable" in done.stderr


def test_exec_refuses_to_nest_unless_forced(prod: Aws) -> None:
    nested = {**prod.env, "ROLECALL_EXEC": "staging"}
    line = one_error_line(rolecall(nested, "exec", "--profile", "prod", "--", sys.executable,
                                   "-c", "print('ran')"))
    assert "'staging'" in line and "--force" in line
    assert prod.assume_role_calls() == 0
    forced = rolecall(nested, "exec", "--profile", "prod", "--force", "--", sys.executable,
                      "-c", "import os; print(os.environ['ROLECALL_EXEC'])")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "prod\n"


def test_exec_without_a_command(prod: Aws) -> None:
    line = one_error_line(rolecall(prod.env, "exec", "--profile", "prod", "--"))
    assert "nothing to run" in line


# --- 8. env ----------------------------------------------------------------------------------


def env_json(aws: Aws, profile: str = "prod") -> dict[str, str]:
    done = rolecall(aws.env, "env", "--profile", profile, "--format", "json")
    assert done.returncode == 0, done.stderr
    values: dict[str, str] = json.loads(done.stdout)
    return values


def test_env_sh_evaluated_by_bash_gives_the_role(prod: Aws) -> None:
    command = (f'eval "$({shlex.quote(str(ROLECALL))} env --profile prod)" && '
               'echo "profile=${AWS_PROFILE-unset}" && '
               f"{shlex.quote(sys.executable)} {shlex.quote(str(EXAMPLES / 'whoami.py'))}")
    # The plugin is off in the script's Python: only the exported variables can give the role.
    env = {**prod.env, "AWS_PROFILE": "prod", "ROLECALL_DISABLE": "1"}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    profile_line, arn = done.stdout.splitlines()
    assert profile_line == "profile=unset"
    assert arn.startswith(f"{ASSUMED}Deploy/")


def test_env_json(prod: Aws) -> None:
    values = env_json(prod)
    assert set(values) == ENV_KEYS | {"AWS_REGION", "AWS_DEFAULT_REGION"}
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert EXPIRATION.match(values["AWS_CREDENTIAL_EXPIRATION"])
    assert caller_arn(prod, values).startswith(f"{ASSUMED}Deploy/")
    assert credential_process(prod.env)["AccessKeyId"] == values["AWS_ACCESS_KEY_ID"]  # cached
    assert prod.assume_role_calls() == 1


def test_env_json_without_region(aws: Aws) -> None:
    aws.roles(PROD_NO_REGION)
    assert set(env_json(aws)) == ENV_KEYS


def test_env_default_format_is_sh(prod: Aws) -> None:
    default = rolecall(prod.env, "env", "--profile", "prod")
    sh = rolecall(prod.env, "env", "--profile", "prod", "--format", "sh")
    assert default.returncode == sh.returncode == 0
    assert default.stdout == sh.stdout
    values = env_json(prod)
    lines = sh.stdout.splitlines()
    for line, (name, value) in zip(lines, values.items(), strict=False):
        match = re.fullmatch(r"export ([A-Z_]+)=(.+)", line)
        assert match, line
        assert match[1] == name and shlex.split(match[2]) == [value]
    assert lines[len(values):] == ["unset AWS_PROFILE", "unset AWS_DEFAULT_PROFILE"]


@pytest.mark.parametrize(("fmt", "pattern", "unquote", "unsets"), [
    ("fish", r"set -gx ([A-Z_]+) (.+);", lambda v: shlex.split(v)[0],
     ["set -e AWS_PROFILE;", "set -e AWS_DEFAULT_PROFILE;"]),
    ("powershell", r"\$Env:([A-Z_]+) = '(.*)'", lambda v: v.replace("''", "'"),
     ["Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue",
      "Remove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue"]),
    ("dotenv", r"([A-Z_]+)=(\S+)", lambda v: shlex.split(v)[0], []),
])
def test_env_other_formats(prod: Aws, fmt: str, pattern: str, unquote: Any,
                           unsets: list[str]) -> None:
    values = env_json(prod)
    done = rolecall(prod.env, "env", "--profile", "prod", "--format", fmt)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == len(values) + len(unsets)
    for line, (name, value) in zip(lines, values.items(), strict=False):
        match = re.fullmatch(pattern, line)
        assert match, line
        assert match[1] == name and unquote(match[2]) == value
    assert lines[len(values):] == unsets
    if fmt == "dotenv":
        dotenv = pytest.importorskip("dotenv")
        assert dict(dotenv.dotenv_values(stream=io.StringIO(done.stdout))) == values


RENDER = ("import sys; from rolecall.cli.envexec import render; "
          "sys.stdout.write(render({'X_VALUE': sys.argv[2]}, sys.argv[1]))")
AWKWARD = "it's \"quoted\" $HOME `id` \\ ; & | *"


def test_env_quoting_sh_round_trips_through_bash(isolated: Path) -> None:
    rendered = python(dict(os.environ), "-c", RENDER, "sh", AWKWARD)
    assert rendered.returncode == 0, rendered.stderr
    done = subprocess.run(["bash", "-c", rendered.stdout + 'printf %s "$X_VALUE"'],
                          capture_output=True, text=True, timeout=30, check=False,
                          env={"PATH": os.environ["PATH"]})
    assert done.stdout == AWKWARD


def test_env_quoting_powershell_doubles_single_quotes(isolated: Path) -> None:
    rendered = python(dict(os.environ), "-c", RENDER, "powershell", "it's $HOME")
    assert rendered.stdout.splitlines()[0] == "$Env:X_VALUE = 'it''s $HOME'"


# --- 9. setup-process ------------------------------------------------------------------------

HAND_WRITTEN = """\
# My AWS config. Hand-written: keep my comments!
; a semicolon comment, too

[default]
region = us-east-1
output = json

# the test account
[profile staging]
role_arn = arn:aws:iam::444455556666:role/Staging
source_profile = default
s3 =
    max_concurrent_requests = 20
"""


def test_setup_process_prints_stanzas_with_an_absolute_path(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    done = rolecall(aws.env, "setup-process")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == stanza() + "\n" + stanza(None, "staging")
    command = shlex.split(done.stdout.splitlines()[1].partition(" = ")[2])
    assert Path(command[0]).is_absolute() and os.access(command[0], os.X_OK)
    assert command[1:] == ["credential-process", "--profile", "prod"]
    only = rolecall(aws.env, "setup-process", "staging")
    assert only.stdout == stanza(None, "staging")
    assert not (aws.root / "aws_config").read_text()  # printing writes nothing


def test_setup_process_write_adds_only_the_stanza(prod: Aws) -> None:
    path = prod.config(HAND_WRITTEN)
    path.chmod(0o640)
    original = path.read_bytes()
    done = rolecall(prod.env, "setup-process", "prod", "--write")
    assert done.returncode == 0, done.stderr
    new = path.read_bytes()
    assert new == original + b"\n" + stanza().encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    [backup] = backups(path)
    assert backup.read_bytes() == original
    assert done.stdout.splitlines() == [f"added [profile prod] to {path}", f"backup: {backup}"]
    # The file is still one botocore reads, with every profile it had.
    code = ("import json, botocore.session as s; p = s.Session().full_config['profiles']; "
            "print(json.dumps([sorted(p), p['prod']['credential_process']]))")
    read = python({**prod.env, "ROLECALL_DISABLE": "1"}, "-c", code)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == [["default", "prod", "staging"],
                                       f"{ROLECALL} credential-process --profile prod"]


def test_setup_process_write_keeps_an_existing_section(prod: Aws) -> None:
    path = prod.config(HAND_WRITTEN)
    assert rolecall(prod.env, "setup-process", "prod", "--write").returncode == 0
    written = path.read_bytes()
    made = backups(path)
    prod.roles(PROD.replace("eu-west-1", "us-west-2"))
    again = rolecall(prod.env, "setup-process", "prod", "--write")
    assert again.returncode == 0
    assert again.stdout == ""
    assert again.stderr.splitlines() == [f"kept the existing [profile prod] in {path} "
                                         "(use --force to replace it)"]
    assert path.read_bytes() == written
    assert backups(path) == made


def test_setup_process_force_replaces_only_that_section(prod: Aws) -> None:
    before = "# top\n[default]\nregion = us-east-1\n\n"
    old = "[profile prod]\nregion = ap-south-1\noutput = text\n"
    after = "\n[profile staging]\nregion = eu-central-1\n"
    path = prod.config(before + old + after)
    done = rolecall(prod.env, "setup-process", "prod", "--write", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"replaced [profile prod] in {path}"
    assert path.read_text() == before + stanza() + after
    [backup] = backups(path)
    assert backup.read_text() == before + old + after


def test_setup_process_write_creates_a_missing_file_privately(prod: Aws) -> None:
    path = prod.root / "new" / "config"
    env = {**prod.env, "AWS_CONFIG_FILE": str(path)}
    done = rolecall(env, "setup-process", "--write")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"added [profile prod] to {path}\n"  # no backup of nothing
    assert path.read_text() == stanza()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_setup_process_force_keeps_the_comment_of_the_next_section(prod: Aws) -> None:
    before = "[default]\nregion = us-east-1\n\n"
    after = ("\n# staging: the test account, do not touch\n"
             "[profile staging]\nregion = eu-central-1\n")
    path = prod.config(before + "[profile prod]\nregion = ap-south-1\n" + after)
    assert rolecall(prod.env, "setup-process", "prod", "--write", "--force").returncode == 0
    assert path.read_text() == before + stanza() + after


def test_setup_process_keeps_crlf_line_endings(prod: Aws) -> None:
    original = HAND_WRITTEN.replace("\n", "\r\n").encode()
    path = prod.root / "aws_config"
    path.write_bytes(original)
    assert rolecall(prod.env, "setup-process", "prod", "--write").returncode == 0
    assert path.read_bytes().startswith(original)


def test_setup_process_writes_through_a_symlinked_config(prod: Aws) -> None:
    target = prod.root / "dotfiles" / "aws-config"
    target.parent.mkdir()
    target.write_text(HAND_WRITTEN)
    link = prod.root / "aws_config"
    link.unlink()
    link.symlink_to(target)
    assert rolecall(prod.env, "setup-process", "prod", "--write").returncode == 0
    assert link.is_symlink()
    assert target.read_text() == HAND_WRITTEN + "\n" + stanza()


def test_two_writes_in_one_second_keep_the_original_backup(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    path = aws.config(HAND_WRITTEN)
    while time.time() % 1 > 0.2:  # start both runs early in one second
        time.sleep(0.02)
    start = time.time()
    assert rolecall(aws.env, "setup-process", "prod", "--write").returncode == 0
    assert rolecall(aws.env, "setup-process", "staging", "--write", "--force").returncode == 0
    if int(time.time()) != int(start):
        pytest.skip("the two runs did not fit in one second")
    assert HAND_WRITTEN in [b.read_text() for b in backups(path)]


def test_setup_process_stanza_runs_for_every_valid_profile_name(aws: Aws) -> None:
    aws.roles(PROD.replace("profiles.prod", "profiles.-ops"))
    assert rolecall(aws.env, "check").returncode == 0  # a valid name
    done = rolecall(aws.env, "setup-process", "--", "-ops")
    assert done.returncode == 0, done.stderr
    command = shlex.split(done.stdout.splitlines()[1].partition(" = ")[2])
    ran = subprocess.run(command, env=aws.env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert ran.returncode == 0, ran.stderr
    assert set(json.loads(ran.stdout)) == VERSION1_KEYS


# --- 10. check -------------------------------------------------------------------------------


def test_check_misspelt_key(aws: Aws) -> None:
    path = aws.roles(PROD + "duraton_seconds = 3600\n")
    done = rolecall(aws.env, "check")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert str(path) in line and "'prod'" in line and "'duraton_seconds'" in line
    assert "did you mean 'duration_seconds'" in line


def test_check_reports_every_problem(aws: Aws) -> None:
    aws.roles(PROD + "duraton_seconds = 3600\n" + STAGING + 'region = "EU WEST"\n')
    done = rolecall(aws.env, "check")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert any("'prod'" in x and "'duraton_seconds'" in x for x in lines)
    assert any("'staging'" in x and "'region'" in x for x in lines)


def test_check_valid(aws: Aws) -> None:
    path = aws.roles(PROD + STAGING)
    done = rolecall(aws.env, "check")
    assert done.returncode == 0, done.stdout
    assert done.stdout == f"{path}: OK, 2 profile(s)\n" and done.stderr == ""


def test_check_source_profile_in_neither_file(aws: Aws) -> None:
    path = aws.roles(PROD + STAGING.replace('"default"', '"ghost"'))
    aws.config("[profile other]\nregion = us-east-1\n")
    done = rolecall(aws.env, "check")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert str(path) in line and "'staging'" in line and "source_profile" in line
    assert "'ghost'" in line


def test_check_source_profile_from_the_config_file(aws: Aws) -> None:
    aws.roles(PROD.replace('"default"', '"ops"'))
    aws.config("[profile ops]\ncredential_process = /bin/false\n")
    assert rolecall(aws.env, "check").returncode == 0


# --- 11. list, explain, whoami ---------------------------------------------------------------


def test_list_shows_profiles_and_cache_state(aws: Aws) -> None:
    aws.roles(PROD + CHAINED.replace("profiles.prod", "profiles.chained"))
    done = rolecall(aws.env, "list")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["PROFILE", "ROLE", "SOURCE", "REGION", "CACHE"]
    table = {row.split()[0]: row for row in rows}
    assert set(table) == {"base", "chained", "prod"}
    assert table["prod"].split() == ["prod", DEPLOY, "AWS", "profile", "default", "eu-west-1",
                                     "empty"]
    assert "rolecall profile base" in table["chained"]
    credential_process(aws.env, "prod")
    table = {row.split()[0]: row for row in rolecall(aws.env, "list").stdout.splitlines()[1:]}
    assert re.search(r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 5\d min\)$", table["prod"])
    assert table["base"].endswith("empty")


def test_list_cache_off(aws: Aws) -> None:
    aws.roles(PROD + "cache = false\n")
    assert rolecall(aws.env, "list").stdout.splitlines()[1].endswith("off (cache = false)")


def test_explain_managed_profile(prod: Aws) -> None:
    done = rolecall(prod.env, "explain", "--profile", "prod")
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
    done = rolecall(aws.env, "explain", "--profile", "prod")
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
    done = rolecall(env, "explain")
    assert done.returncode == 0, done.stderr
    assert "profile 'prod' (from AWS_PROFILE)" in done.stdout
    assert "winner: botocore's environment provider" in done.stdout
    assert "winner: rolecall" not in done.stdout
    assert CANARY not in done.stdout + done.stderr
    explicit = rolecall(env, "explain", "--profile", "prod")
    assert "winner: rolecall" in explicit.stdout


def test_explain_unmanaged_profile(prod: Aws) -> None:
    done = rolecall(prod.env, "explain", "--profile", "default")
    assert done.returncode == 0
    assert "winner: botocore, unchanged (not declared in roles.toml): static keys" in done.stdout


def test_explain_names_the_profile_boto3_uses(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    env = {**aws.env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "staging"}
    used = rolecall(env, "whoami")
    assert used.returncode == 0, used.stderr
    assert "profile:  staging" in used.stdout  # what boto3 really uses
    assert "profile 'staging'" in rolecall(env, "explain").stdout


def test_whoami(prod: Aws) -> None:
    done = rolecall(prod.env, "whoami", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    fields = dict(line.split(":", 1) for line in done.stdout.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["arn"].startswith(f"{ASSUMED}Deploy/")
    assert fields["account"] == ACCOUNT
    assert fields["profile"] == "prod"
    assert fields["provider"] == "rolecall"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 5\d min\)", fields["expires"])


def test_whoami_with_aws_profile_and_unmanaged(prod: Aws) -> None:
    done = rolecall({**prod.env, "AWS_PROFILE": "prod"}, "whoami")
    assert "provider: rolecall" in done.stdout and "profile:  prod" in done.stdout
    plain = rolecall(prod.env, "whoami")
    assert "provider: shared-credentials-file" in plain.stdout
    assert "assumed-role" not in plain.stdout
    missing = one_error_line(rolecall(prod.env, "whoami", "--profile", "nope"))
    assert "nope" in missing


# --- 12. no secrets in reports ---------------------------------------------------------------


def test_reports_never_print_secrets(aws: Aws) -> None:
    aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {CANARY}\n"
                    f"[static]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {CANARY}\n")
    aws.roles(CHAINED + PROD.replace("profiles.prod", "profiles.direct"))
    issued = credential_process(aws.env, "prod")
    base = credential_process(aws.env, "base")
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
        done = rolecall(env, *argv)
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
        done = rolecall(aws.env, *argv)
        assert done.returncode == 1
        assert CANARY not in done.stdout + done.stderr


# --- 13. init --------------------------------------------------------------------------------


def test_init_writes_a_starter_that_parses_and_never_overwrites(isolated: Path) -> None:
    from rolecall import config

    path = isolated / "deeper" / "roles.toml"
    env = {**os.environ, "ROLECALL_CONFIG": str(path)}
    done = rolecall(env, "init")
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stdout and "rolecall check" in done.stdout
    text = path.read_text()
    assert text.startswith("#") and "[profiles.prod]" in text
    assert config.parse(text, str(path)).profiles == {}
    assert rolecall(env, "check").stdout == f"{path}: OK, 0 profile(s)\n"
    again = rolecall(env, "init")
    line = one_error_line(again)
    assert str(path) in line and "exists" in line
    assert path.read_text() == text


def test_init_default_location(isolated: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ROLECALL_CONFIG"}
    done = rolecall(env, "init")
    assert done.returncode == 0, done.stderr
    assert (Path(env["XDG_CONFIG_HOME"]) / "rolecall" / "roles.toml").is_file()


# --- 14. cache clear -------------------------------------------------------------------------


def test_cache_clear_one_profile_then_all(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    prod_first = credential_process(aws.env, "prod")
    staging_first = credential_process(aws.env, "staging")
    assert aws.assume_role_calls() == 2
    folder = aws.root / "cache"
    assert len(list(folder.glob("*.json"))) == 2

    done = rolecall(aws.env, "cache", "clear", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"removed 1 cache entry from {folder}\n"
    assert credential_process(aws.env, "staging") == staging_first
    assert aws.assume_role_calls() == 2
    prod_second = credential_process(aws.env, "prod")
    assert prod_second != prod_first
    assert aws.assume_role_calls() == 3

    done = rolecall(aws.env, "cache", "clear")
    assert done.stdout == f"removed 2 cache entries from {folder}\n"
    assert list(folder.glob("*.json")) == [] and list(folder.glob("*.index")) == []
    assert credential_process(aws.env, "prod") != prod_second
    assert credential_process(aws.env, "staging") != staging_first
    assert aws.assume_role_calls() == 5
    nothing = rolecall({**aws.env, "ROLECALL_CACHE_DIR": str(aws.root / "none")}, "cache", "clear")
    assert nothing.returncode == 0 and nothing.stdout.startswith("removed 0 cache entries")


# --- 15. help and version --------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    pytest.param([]),
    *([name] for name in COMMANDS),
    pytest.param(["cache", "clear"]),
], ids=lambda argv: " ".join(argv) or "rolecall")
def test_help_has_examples(isolated: Path, argv: list[str]) -> None:
    done = rolecall(dict(os.environ), *argv, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: rolecall")
    assert "examples:" in done.stdout


def test_every_command_is_in_the_top_level_help(isolated: Path) -> None:
    done = rolecall(dict(os.environ), "--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\b", done.stdout, re.M), name


def test_version(isolated: Path) -> None:
    from rolecall import __version__

    done = rolecall(dict(os.environ), "--version")
    assert (done.returncode, done.stdout) == (0, f"rolecall {__version__}\n")
    module = python(dict(os.environ), "-m", "rolecall", "--version")
    assert (module.returncode, module.stdout) == (0, f"rolecall {__version__}\n")
