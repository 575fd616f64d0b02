"""``exec`` and ``env`` (:mod:`rolecall.cli.envexec`): a role's credentials in a child's environment
or printed for a shell, checked by what the child or the shell then gets from STS.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import (
    ASSUMED,
    ENV_KEYS,
    EXPIRATION,
    PROD_NO_REGION,
    ROLECALL,
    caller_arn,
    credential_process,
    env_json,
    one_error_line,
    rolecall,
    run,
)
from tests.conftest import EXAMPLES, Aws

# --- exec ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_exec_runs_an_unmodified_script_as_the_role(prod: Aws) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "prod"}
    done = rolecall(env, "exec", "--profile", "prod", "--", sys.executable,
                    EXAMPLES / "whoami.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{ASSUMED}Deploy/")
    assert done.stderr == ""


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- env -------------------------------------------------------------------------------------


@pytest.mark.slow
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
    cached = credential_process(prod.env, runner=run)
    assert cached["AccessKeyId"] == values["AWS_ACCESS_KEY_ID"]
    assert prod.assume_role_calls() == 1


def test_env_json_without_region(aws: Aws) -> None:
    aws.roles(PROD_NO_REGION)
    assert set(env_json(aws)) == ENV_KEYS


def test_env_default_format_is_sh(prod: Aws) -> None:
    default = run(prod.env, "env", "--profile", "prod")
    sh = run(prod.env, "env", "--profile", "prod", "--format", "sh")
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
    done = run(prod.env, "env", "--profile", "prod", "--format", fmt)
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


AWKWARD = "it's \"quoted\" $HOME `id` \\ ; & | *"


def test_env_quoting_sh_round_trips_through_bash(isolated: Path) -> None:
    from rolecall.cli.envexec import render

    rendered = render({"X_VALUE": AWKWARD}, "sh")
    done = subprocess.run(["bash", "-c", rendered + 'printf %s "$X_VALUE"'],
                          capture_output=True, text=True, timeout=30, check=False,
                          env={"PATH": os.environ["PATH"]})
    assert done.stdout == AWKWARD


def test_env_quoting_powershell_doubles_single_quotes(isolated: Path) -> None:
    from rolecall.cli.envexec import render

    rendered = render({"X_VALUE": "it's $HOME"}, "powershell")
    assert rendered.splitlines()[0] == "$Env:X_VALUE = 'it''s $HOME'"
