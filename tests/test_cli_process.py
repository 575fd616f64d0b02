"""``credential-process`` and ``setup-process`` (:mod:`rolecall.cli.process`, and the cache-hit path
of :mod:`rolecall.cli.fastpath`): the Version 1 document, what a hit costs and what invalidates it,
loops, and the stanzas written to the AWS config file, as the AWS CLI and other SDKs run them.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.cli_helpers import (
    ACCOUNT,
    ASSUMED,
    EXPIRATION,
    PROD_NO_REGION,
    ROLECALL,
    STAGING,
    VERSION1_KEYS,
    backups,
    cache_entry,
    caller_arn,
    credential_process,
    one_error_line,
    probe,
    python,
    rolecall,
    run,
    stanza,
)
from tests.conftest import PROD, Aws
from tests.venvs import Venv

# --- the AWS CLI v1 through credential_process, in a fresh environment -----------------------


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


@pytest.mark.slow
def test_setup_process_stanza_works_for_the_aws_cli(prod: Aws) -> None:
    """What `setup-process --write` adds is what the AWS CLI runs (plugin off in the CLI)."""
    prod.config("")
    assert rolecall(prod.env, "setup-process", "prod", "--write").returncode == 0
    env = {**prod.env, "ROLECALL_DISABLE": "1"}
    done = python(env, "-m", "awscli", "sts", "get-caller-identity", "--profile", "prod",
                  "--output", "json")
    assert done.returncode == 0, done.stderr
    assert f"{ASSUMED}Deploy/" in json.loads(done.stdout)["Arn"]


# --- credential-process: the Version 1 document ----------------------------------------------


@pytest.mark.parametrize("spelling", [["--profile", "prod"], ["--profile=prod"]])
def test_credential_process_prints_exactly_version_1(prod: Aws, spelling: list[str]) -> None:
    done = run(prod.env, "credential-process", *spelling)
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


# --- a cache hit imports no botocore ---------------------------------------------------------


def test_cache_hit_imports_no_botocore_and_calls_sts_once(prod: Aws) -> None:
    first, modules = probe(prod.env)  # a miss: the full path, which needs botocore
    assert "botocore" in modules, modules
    second, modules = probe(prod.env)
    assert modules == []
    assert second == first
    assert credential_process(prod.env) == first  # the console script agrees
    assert prod.assume_role_calls() == 1


# --- what invalidates the hit path -----------------------------------------------------------


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_variable_outside_the_key_still_rechecks(prod: Aws) -> None:
    """The profile pins its region, so AWS_REGION does not change the key: the full path runs,
    finds the same cache entry and calls STS no more."""
    first = credential_process(prod.env)
    again, modules = probe({**prod.env, "AWS_REGION": "ap-south-1"})
    assert "rolecall.config" in modules  # roles.toml was read: the full path ...
    assert "botocore" not in modules  # ... which answers from the disk cache
    assert again == first
    assert prod.assume_role_calls() == 1


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_corrupt_index_is_a_miss_not_a_crash(prod: Aws) -> None:
    first = credential_process(prod.env)
    index = prod.root / "cache" / f"profile-{b'prod'.hex()}.index"
    index.write_text("{not json")
    assert credential_process(prod.env) == first  # the full path, from the cache entry
    assert prod.assume_role_calls() == 1
    again, modules = probe(prod.env)  # and the index is whole again
    assert modules == [] and again == first


@pytest.mark.slow
def test_a_loose_cache_entry_is_not_trusted(prod: Aws) -> None:
    first = credential_process(prod.env)
    entry = cache_entry(prod)
    entry.chmod(0o644)
    second = credential_process(prod.env)
    assert second != first
    assert prod.assume_role_calls() == 2
    assert stat.S_IMODE(cache_entry(prod).stat().st_mode) == 0o600


@pytest.mark.slow
def test_concurrent_cold_calls_make_one_assume_role(prod: Aws) -> None:
    procs = [subprocess.Popen([str(ROLECALL), "credential-process", "--profile", "prod"],
                              env=prod.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert len({out for out, _ in outputs}) == 1
    assert prod.assume_role_calls() == 1


# --- credential_process loops ----------------------------------------------------------------


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- setup-process ---------------------------------------------------------------------------

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
    done = run(aws.env, "setup-process")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == stanza() + "\n" + stanza(None, "staging")
    command = shlex.split(done.stdout.splitlines()[1].partition(" = ")[2])
    assert Path(command[0]).is_absolute() and os.access(command[0], os.X_OK)
    assert command[1:] == ["credential-process", "--profile", "prod"]
    only = run(aws.env, "setup-process", "staging")
    assert only.stdout == stanza(None, "staging")
    assert not (aws.root / "aws_config").read_text()  # printing writes nothing


def test_setup_process_write_adds_only_the_stanza(prod: Aws) -> None:
    path = prod.config(HAND_WRITTEN)
    path.chmod(0o640)
    original = path.read_bytes()
    done = run(prod.env, "setup-process", "prod", "--write")
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
    assert run(prod.env, "setup-process", "prod", "--write").returncode == 0
    written = path.read_bytes()
    made = backups(path)
    prod.roles(PROD.replace("eu-west-1", "us-west-2"))
    again = run(prod.env, "setup-process", "prod", "--write")
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
    done = run(prod.env, "setup-process", "prod", "--write", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"replaced [profile prod] in {path}"
    assert path.read_text() == before + stanza() + after
    [backup] = backups(path)
    assert backup.read_text() == before + old + after


def test_setup_process_write_creates_a_missing_file_privately(prod: Aws) -> None:
    path = prod.root / "new" / "config"
    env = {**prod.env, "AWS_CONFIG_FILE": str(path)}
    done = run(env, "setup-process", "--write")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"added [profile prod] to {path}\n"  # no backup of nothing
    assert path.read_text() == stanza()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_setup_process_force_keeps_the_comment_of_the_next_section(prod: Aws) -> None:
    before = "[default]\nregion = us-east-1\n\n"
    after = ("\n# staging: the test account, do not touch\n"
             "[profile staging]\nregion = eu-central-1\n")
    path = prod.config(before + "[profile prod]\nregion = ap-south-1\n" + after)
    assert run(prod.env, "setup-process", "prod", "--write", "--force").returncode == 0
    assert path.read_text() == before + stanza() + after


def test_setup_process_keeps_crlf_line_endings(prod: Aws) -> None:
    original = HAND_WRITTEN.replace("\n", "\r\n").encode()
    path = prod.root / "aws_config"
    path.write_bytes(original)
    assert run(prod.env, "setup-process", "prod", "--write").returncode == 0
    assert path.read_bytes().startswith(original)


def test_setup_process_writes_through_a_symlinked_config(prod: Aws) -> None:
    target = prod.root / "dotfiles" / "aws-config"
    target.parent.mkdir()
    target.write_text(HAND_WRITTEN)
    link = prod.root / "aws_config"
    link.unlink()
    link.symlink_to(target)
    assert run(prod.env, "setup-process", "prod", "--write").returncode == 0
    assert link.is_symlink()
    assert target.read_text() == HAND_WRITTEN + "\n" + stanza()


@pytest.mark.slow
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


@pytest.mark.slow
def test_setup_process_stanza_runs_for_every_valid_profile_name(aws: Aws) -> None:
    aws.roles(PROD.replace("profiles.prod", "profiles.-ops"))
    assert run(aws.env, "check").returncode == 0  # a valid name
    done = run(aws.env, "setup-process", "--", "-ops")
    assert done.returncode == 0, done.stderr
    command = shlex.split(done.stdout.splitlines()[1].partition(" = ")[2])
    ran = subprocess.run(command, env=aws.env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert ran.returncode == 0, ran.stderr
    assert set(json.loads(ran.stdout)) == VERSION1_KEYS
