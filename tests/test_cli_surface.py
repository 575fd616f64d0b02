"""The command line as AWS CLI users meet it (issue 14): pipes and Ctrl-C, global options before or
after the command, AWS_PROFILE as the default everywhere, bare ``rolecall``, one message per
problem, ``--debug``. Everything runs the installed console script in a subprocess.

Tests marked "bug" in their docstring failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.cli_helpers import (
    ASSUMED,
    CHAINED,
    COMMANDS,
    PROBE,
    ROLECALL,
    STAGING,
    credential_process,
    one_error_line,
    probe,
    rolecall,
    run,
)
from tests.conftest import PROD, STATIC_KEY_ID, STATIC_SECRET, Aws

STAGING_ROLE = "Staging"


@pytest.fixture
def two(aws: Aws) -> Aws:
    aws.roles(PROD + STAGING)
    return aws


def into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run rolecall with stdout a pipe nobody reads any more (the reader has exited)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([str(ROLECALL), *args], env=env, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(write)


# --- pipes and Ctrl-C ------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["list"], ["explain", "--profile", "prod"], ["check"], ["setup-process"],
    ["whoami", "--profile", "prod"], ["env", "--profile", "prod"], ["completion", "bash"],
    ["--help"], ["credential-process", "--profile", "prod"],
], ids=" ".join)
@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(two: Aws, argv: list[str]) -> None:
    """bug: a BrokenPipeError traceback. Now: nothing on stderr, exit 141 (128 + SIGPIPE)."""
    done = into_closed_pipe(two.env, *argv)
    assert done.stderr == ""
    # argparse's --help swallows the write error itself on Python >= 3.11 and exits 0 (on 3.10
    # rolecall's own handler ends it with 141): quiet either way.
    assert done.returncode in ((0, 141) if argv == ["--help"] else (141,))


@pytest.mark.slow
def test_a_cache_hit_into_a_closed_pipe_ends_quietly(prod: Aws) -> None:
    credential_process(prod.env)
    done = into_closed_pipe(prod.env, "credential-process", "--profile", "prod")
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.parametrize("reader", ["true", "head -1"])
@pytest.mark.slow
def test_piped_into_a_reader_that_stops(two: Aws, reader: str) -> None:
    """bug: `rolecall check | true` printed a traceback."""
    for command in ("list", "check", "setup-process", "explain --profile prod"):
        done = subprocess.run(["bash", "-c", f"{ROLECALL} {command} | {reader}; "
                               "echo ${PIPESTATUS[0]} >&2"], env=two.env, capture_output=True,
                              text=True, timeout=60, check=False)
        status, *rest = done.stderr.splitlines()[::-1]
        assert rest == [], (command, done.stderr)
        assert status in ("0", "141"), (command, done.stderr)


class Silent:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connected = threading.Event()
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.clients.append(client)
            self.connected.set()

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.server.close()


@pytest.mark.parametrize("argv", [["whoami"], ["credential-process", "--profile", "prod"]])
@pytest.mark.slow
def test_ctrl_c_exits_130_without_a_traceback(prod: Aws, argv: list[str]) -> None:
    silent = Silent()
    try:
        env = {**prod.env, "AWS_ENDPOINT_URL": silent.url, "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.Popen([str(ROLECALL), *argv], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert silent.connected.wait(60), "rolecall never called STS"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        silent.close()
    assert proc.returncode == 130
    assert "Traceback" not in err and out == ""


@pytest.mark.slow
def test_exec_gives_the_command_the_default_sigpipe(prod: Aws) -> None:
    """Python ignores SIGPIPE; `exec` must not pass that on (as subprocess does not), or
    `rolecall exec -- sh -c 'yes | head -1'` would never end."""
    done = rolecall(prod.env, "exec", "--profile", "prod", "--", "sh", "-c",
                    "grep SigIgn /proc/self/status")
    assert done.returncode == 0, done.stderr
    ignored = int(done.stdout.split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    finished = rolecall(prod.env, "exec", "--profile", "prod", "--", "sh", "-c",
                        "yes | head -1", timeout=30)
    assert finished.stdout == "y\n"


# --- global options before or after the command ----------------------------------------------


def whoami_json(env: dict[str, str], *args: str) -> dict[str, str]:
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    document: dict[str, str] = json.loads(done.stdout)
    return document


def test_profile_before_the_command(two: Aws) -> None:
    """bug: `rolecall --profile prod whoami` said "invalid choice: 'prod'"."""
    before = whoami_json(two.env, "--profile", "prod", "whoami", "--output", "json")
    assert before["arn"].startswith(f"{ASSUMED}Deploy/")
    after = whoami_json(two.env, "whoami", "--profile", "prod", "--output", "json")
    assert after["arn"].startswith(f"{ASSUMED}Deploy/")
    # Given twice, the one after the command wins (the later one, as argparse reads them).
    both = whoami_json(two.env, "--profile", "prod", "whoami", "--profile", "staging",
                       "--output", "json")
    assert both["arn"].startswith(f"{ASSUMED}{STAGING_ROLE}/")


@pytest.mark.parametrize("argv", [
    ["--profile", "prod", "env", "--format", "json"],
    ["--profile=prod", "env", "--format", "json"],
    ["--profile", "prod", "credential-process"],
    pytest.param(["--debug", "--profile", "prod", "exec", "--", sys.executable, "-c",
                  "import json, os; print(json.dumps(dict(os.environ)))"], marks=pytest.mark.slow),
])
def test_global_options_before_every_command(two: Aws, argv: list[str]) -> None:
    done = run(two.env, *argv)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    key = values.get("AWS_ACCESS_KEY_ID") or values.get("AccessKeyId")
    assert key and key != STATIC_KEY_ID


@pytest.mark.parametrize(("argv", "option"), [
    (["--region", "eu-west-1", "explain"], "--region"),
    (["--profile", "prod", "check"], "--profile"),
    (["--output", "json", "env"], "--output"),
])
def test_a_global_option_a_command_has_no_use_for_is_a_usage_error(
        two: Aws, argv: list[str], option: str) -> None:
    done = run(two.env, *argv)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{option} does not apply to {argv[2]}" in done.stderr
    assert "applies to:" in done.stderr


def test_region_is_the_whoami_client_region(two: Aws) -> None:
    no_env = {k: v for k, v in two.env.items() if k != "AWS_DEFAULT_REGION"}
    default = whoami_json(no_env, "whoami", "--profile", "prod", "--output", "json")
    assert default["region"] == "eu-west-1"  # the profile's region, as boto3 gives it
    chosen = whoami_json(two.env, "--region", "ap-south-1", "whoami", "--profile", "prod",
                         "--output", "json")
    assert chosen["region"] == "ap-south-1"
    text = run(two.env, "whoami", "--region", "sa-east-1")
    assert "region:   sa-east-1" in text.stdout.splitlines()


@pytest.mark.slow
def test_region_is_the_region_env_and_exec_export(two: Aws) -> None:
    done = run(two.env, "--region", "ap-south-1", "env", "--profile", "prod", "--format",
                    "json")
    values = json.loads(done.stdout)
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "ap-south-1"
    child = run(two.env, "exec", "--profile", "staging", "--region", "us-west-2", "--",
                     sys.executable, "-c", "import os; print(os.environ['AWS_REGION'])")
    assert child.stdout == "us-west-2\n"
    plain = json.loads(run(two.env, "env", "--profile", "prod", "--format", "json").stdout)
    assert plain["AWS_REGION"] == "eu-west-1"


# --- AWS_PROFILE, then AWS_DEFAULT_PROFILE, then default -------------------------------------


def _identity(env: dict[str, str], argv: list[str]) -> str:
    """The role a command's output gives, whatever form that output takes."""
    done = run(env, *argv)
    assert done.returncode == 0, (argv, done.stderr)
    if argv[0] == "exec":
        return done.stdout.strip()
    if argv[0] == "explain":
        return str(re.findall(r"assumes (\S+)", done.stdout)[0]).rpartition("/")[2]
    values = json.loads(done.stdout)
    if argv[0] == "whoami":
        return str(values["arn"]).split("/")[1]
    import boto3

    sts = boto3.session.Session().client(
        "sts", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=values["AWS_SESSION_TOKEN"])
    return str(sts.get_caller_identity()["Arn"]).split("/")[1]


PRINT_ROLE = ("import boto3; print(boto3.client('sts', endpoint_url=__import__('os')"
              ".environ['AWS_ENDPOINT_URL']).get_caller_identity()['Arn'].split('/')[1])")
BY_ENVIRONMENT = {
    "env": ["env", "--format", "json"],
    "exec": ["exec", "--", sys.executable, "-c", PRINT_ROLE],
    "credential-process": ["credential-process"],
    "whoami": ["whoami", "--output", "json"],
    "explain": ["explain"],
}


@pytest.mark.parametrize("command", [pytest.param(name, marks=pytest.mark.slow) if name == "exec"
                                     else name for name in BY_ENVIRONMENT])
def test_aws_profile_is_the_default_profile(two: Aws, command: str) -> None:
    """bug (env, exec, credential-process): they demanded --profile."""
    argv = BY_ENVIRONMENT[command]
    env = {**two.env, "ROLECALL_DISABLE": "1"} if command == "exec" else two.env
    if command == "credential-process":
        env = {**env, "AWS_PROFILE": "prod"}
        doc = credential_process(env, "prod", runner=run)  # as with --profile (cached)
        done = run(env, *argv)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == doc
        env = {**env, "AWS_DEFAULT_PROFILE": "staging"}
        assert json.loads(run(env, *argv).stdout)["AccessKeyId"] == \
            credential_process(env, "staging", runner=run)["AccessKeyId"]
        return
    assert _identity({**env, "AWS_PROFILE": "prod"}, argv) == "Deploy"
    # botocore reads AWS_DEFAULT_PROFILE first, and so does rolecall
    both = {**env, "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "staging"}
    assert _identity(both, argv) == STAGING_ROLE
    # --profile wins over both
    assert _identity(both, [argv[0], "--profile", "prod", *argv[1:]]) == "Deploy"


@pytest.mark.parametrize("argv", [["env"], ["exec", "--", "true"], ["credential-process"]])
def test_without_profile_or_aws_profile_the_default_is_named(two: Aws, argv: list[str]) -> None:
    line = one_error_line(run(two.env, *argv))
    assert "profile 'default' (no --profile given, AWS_PROFILE unset) is not declared" in line
    assert "declared: prod, staging" in line


@pytest.mark.slow
def test_the_cache_hit_path_reads_aws_profile_without_botocore(prod: Aws) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod"}
    first = credential_process(env)
    code = PROBE.replace("['credential-process', '--profile', 'prod']", "['credential-process']")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == first
    assert done.stderr.strip() == "[]"  # no botocore, TOML parser or platformdirs
    assert probe(prod.env)[0] == first
    assert prod.assume_role_calls() == 1


def test_cache_clear_takes_aws_profile_and_all_clears_everything(two: Aws) -> None:
    credential_process(two.env, "prod", runner=run)
    credential_process(two.env, "staging", runner=run)
    folder = two.root / "cache"
    done = run({**two.env, "AWS_PROFILE": "staging"}, "cache", "clear")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"removed 1 cache entry from {folder} (profile 'staging' from "
                           "AWS_PROFILE; --all for every profile)\n")
    assert len(list(folder.glob("*.json"))) == 1
    everything = run({**two.env, "AWS_PROFILE": "staging"}, "cache", "clear", "--all")
    assert everything.stdout == f"removed 1 cache entry from {folder}\n"
    assert list(folder.glob("*.json")) == []
    unmanaged = one_error_line(run({**two.env, "AWS_PROFILE": "ops"}, "cache", "clear"))
    assert "'ops' (from AWS_PROFILE; `rolecall cache clear --all` clears every profile)" in \
        unmanaged


# --- bare rolecall, help, messages -----------------------------------------------------------


def test_bare_rolecall_lists_the_commands(two: Aws) -> None:
    """bug: one usage line and "the following arguments are required: COMMAND"."""
    done = run(two.env)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("usage: rolecall")
    listed = {m[1]: m[2] for line in lines if (m := re.match(r"  (\S+) +(\S.*)$", line))}
    assert list(listed) == COMMANDS
    assert all(len(text) > 10 for text in listed.values())
    assert "required" not in done.stderr


def test_env_format_has_help(isolated: Path) -> None:
    """bug: `env --help` showed --format with no text."""
    done = run(dict(os.environ), "env", "--help")
    flat = " ".join(done.stdout.split())
    match = re.search(r"--format \{sh,fish,powershell,dotenv,json\} (\S[^-]*)", flat)
    assert match and "fish" in match[1] and "dotenv" in match[1], done.stdout


def test_check_without_a_file_says_how_to_make_one(aws: Aws) -> None:
    """bug: `check` lacked the `(run rolecall init)` hint that `list` gives."""
    for argv in (["check"], ["list"]):
        line = one_error_line(run(aws.env, *argv))
        assert f"no roles.toml at {aws.root / 'roles.toml'} (run `rolecall init`)" in line


def test_errors_do_not_repeat_rolecall(aws: Aws) -> None:
    """bug: `rolecall: error: rolecall could not get credentials ...`."""
    aws.roles(PROD)
    aws.credentials("")  # the source profile has no credentials
    for argv in (["credential-process", "--profile", "prod"], ["env", "--profile", "prod"],
                 ["whoami", "--profile", "prod"]):
        line = one_error_line(run(aws.env, *argv))
        assert line.startswith("rolecall: error: ") and "could not get credentials" in line
        assert not re.search(r"rolecall: error: rolecall\b", line), line
        assert "'prod'" in line


def test_a_chained_error_names_the_profile_asked_for_and_the_path(aws: Aws) -> None:
    """bug: run as `partner`, a failed first link said only `profile 'prod' (role ...)`."""
    aws.roles(PROD + '[profiles.partner]\nrole_arn = "arn:aws:iam::444455556666:role/P"\n'
              'source_profile = "prod"\n')
    aws.credentials("")  # prod's source has no credentials: the first link fails
    line = one_error_line(run(aws.env, "credential-process", "--profile", "partner"))
    assert line.startswith("rolecall: error: could not get credentials for profile 'partner' "
                           "(via 'prod', role arn:aws:iam::111122223333:role/Deploy): "), line
    assert "source_profile 'default'" in line


BROKEN = '[profiles.prod]\nrole_arn = "nope"\nsource_profile = "default"\n'


@pytest.mark.parametrize("argv", [
    ["whoami", "--profile", "prod"], ["credential-process", "--profile", "prod"],
    ["env", "--profile", "prod"], ["list"], ["check"], ["explain", "--profile", "prod"],
])
@pytest.mark.slow
def test_a_broken_roles_toml_is_reported_once(aws: Aws, argv: list[str]) -> None:
    """bug (whoami): printed as a warning and again as the error."""
    aws.roles(BROKEN)
    done = rolecall(aws.env, *argv)
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert said.count("expected an IAM role ARN") == 1, said


@pytest.mark.slow
def test_a_broken_roles_toml_still_warns_where_nothing_else_says_so(aws: Aws) -> None:
    """whoami for a profile roles.toml does not declare: the file's problem is said once, as a
    warning when the profile still works (a mistake breaks only what it touches), else as the
    error."""
    aws.roles(BROKEN)
    done = rolecall(aws.env, "whoami", "--profile", "default")
    assert done.stderr.count("expected an IAM role ARN") == 1, done.stderr
    assert done.returncode == 0, done.stderr  # the undeclared profile works as without rolecall
    assert done.stderr.startswith("rolecall: warning: ")
    assert "provider: shared-credentials-file" in done.stdout


@pytest.mark.slow
def test_debug_logs_what_rolecall_does_and_no_secret(prod: Aws) -> None:
    quiet = rolecall(prod.env, "credential-process", "--profile", "prod")
    issued = json.loads(quiet.stdout)
    assert quiet.stderr == ""
    prod.roles(PROD.replace("eu-west-1", "eu-west-2"))  # a new role request: a miss
    done = rolecall(prod.env, "--debug", "credential-process", "--profile", "prod")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("rolecall: debug: ") for line in lines), lines
    assert any("cache miss" in line for line in lines)
    assert any("AssumeRole" in line and "Deploy" in line for line in lines)
    after = rolecall(prod.env, "credential-process", "--debug", "--profile", "prod")
    assert any("disk cache hit" in line for line in after.stderr.splitlines())
    for secret in (STATIC_SECRET, doc["SecretAccessKey"], doc["SessionToken"],
                   issued["SecretAccessKey"], issued["SessionToken"]):
        assert secret not in done.stderr + after.stderr


@pytest.mark.slow
def test_switch_roles_takes_any_number_of_profiles(aws: Aws) -> None:
    from tests.conftest import EXAMPLES, run_python

    aws.roles(PROD + STAGING + CHAINED.replace("profiles.prod", "profiles.chained"))
    done = run_python(EXAMPLES / "switch_roles.py", aws.env, sys.executable, "prod", "staging",
                      "chained")
    assert done.returncode == 0, done.stderr
    assert [line.split(": ")[0] for line in done.stdout.splitlines()] == \
        ["prod", "staging", "chained"]
    assert [line.split("/")[1] for line in done.stdout.splitlines()] == \
        ["Deploy", STAGING_ROLE, "Deploy"]
    one = run_python(EXAMPLES / "switch_roles.py", aws.env, sys.executable, "staging")
    assert one.returncode == 0 and one.stdout.startswith("staging: ")
    none = run_python(EXAMPLES / "switch_roles.py", aws.env, sys.executable)
    assert none.returncode != 0 and "usage" in none.stderr
