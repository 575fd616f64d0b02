"""The cache store (rolecall.cache.store): one STS call and one MFA prompt across processes, safe
files, kills."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import CredentialRetrievalError

from rolecall import cache
from rolecall.cache import store
from rolecall.temporary import TemporaryCredentials
from tests.conftest import PROD, Aws, first_fast

# An unmodified program, started N times at once: waits for the go file, then gets credentials.
WORKER = """
import os, sys, time
import boto3
go = sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.005)
credentials = boto3.Session(profile_name=sys.argv[1]).get_credentials()
print(credentials.get_frozen_credentials().access_key)
"""


def start_together(aws: Aws, count: int, profile: str = "prod",
                   env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    go = aws.root / f"go-{time.monotonic_ns()}"
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, profile, str(go)],
                                  env=env or aws.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]
    time.sleep(0.5 + count * 0.05)  # let every interpreter reach the wait loop
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def frozen(profile: str) -> ReadOnlyCredentials:
    """A new boto3 Session's credentials for ``profile``, as a program gets them."""
    credentials = boto3.Session(profile_name=profile).get_credentials()
    assert credentials is not None
    return credentials.get_frozen_credentials()


def entries(aws: Aws) -> list[Path]:
    folder = aws.root / "cache"
    return sorted(folder.glob("*.json")) if folder.exists() else []


@pytest.mark.parametrize("count", first_fast([1, 5, 20]))
def test_processes_started_together_make_one_assume_role(aws: Aws, count: int) -> None:
    aws.roles(PROD)
    results = start_together(aws, count)
    assert [r.returncode for r in results] == [0] * count, results[0].stderr
    assert len({r.stdout for r in results}) == 1
    assert aws.assume_role_calls() == 1


def test_cache_false_keeps_credentials_off_disk(aws: Aws) -> None:
    aws.roles(PROD + "cache = false\n")
    results = start_together(aws, 2)
    assert all(r.returncode == 0 for r in results)
    assert entries(aws) == []
    assert aws.assume_role_calls() == 2  # each process on its own


def test_files_are_private(aws: Aws) -> None:
    aws.roles(PROD)
    frozen("prod")
    folder = aws.root / "cache"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert {p.suffix for p in files} == {".json", ".lock", ".snapshot", ".index"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_entry_holds_only_what_rebuilds_credentials(aws: Aws) -> None:
    aws.roles(PROD)
    frozen("prod")
    (path,) = entries(aws)
    assert set(json.loads(path.read_text())) == {
        "version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "ExpiresAt",
        "Lifetime", "AccountId"}


def test_loose_cache_folder_is_tightened(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    frozen("prod")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "tightened to 0700" in caplog.text


def _refetch(aws: Aws) -> None:
    store.forget_memory()  # as a new process would start
    frozen("prod")


def test_a_new_process_reads_the_disk_entry(aws: Aws) -> None:
    aws.roles(PROD)
    _refetch(aws)
    _refetch(aws)
    assert aws.assume_role_calls() == 1


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "loose", "foreign", "symlink"])
def test_untrusted_entries_are_misses(aws: Aws, damage: str) -> None:
    aws.roles(PROD)
    _refetch(aws)
    (path,) = entries(aws)
    if damage == "corrupt":
        path.write_bytes(b"\x00not json")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "loose":
        path.chmod(0o644)
    elif damage == "foreign":
        if os.getuid() != 0:
            pytest.skip("changing a file's owner needs root")
        os.chown(path, 65534, 65534)
    else:
        target = path.with_name("elsewhere")
        path.rename(target)
        path.symlink_to(target)
    _refetch(aws)
    assert aws.assume_role_calls() == 2
    (path,) = entries(aws)
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_expired_entries_are_pruned(aws: Aws) -> None:
    aws.roles(PROD + '\n[profiles.other]\nrole_arn = "arn:aws:iam::111122223333:role/Other"\n'
              'source_profile = "default"\n')
    _refetch(aws)
    (old,) = entries(aws)
    expired = TemporaryCredentials("ASIAOLD", "secret", "token",
                          expiry=datetime.now(timezone.utc) - timedelta(minutes=1), lifetime=900)
    old.write_text(json.dumps(cache.encode(expired)))
    frozen("other")
    assert old not in entries(aws) and not old.with_suffix(".lock").exists()
    assert len(entries(aws)) == 1


def test_profiles_that_differ_never_share_an_entry(aws: Aws) -> None:
    aws.credentials(aws.root.joinpath("aws_credentials").read_text().replace("[default]", "[b]") +
                    aws.root.joinpath("aws_credentials").read_text())
    arn = 'role_arn = "arn:aws:iam::111122223333:role/Deploy"\n'
    aws.roles(f"""
[profiles.a]
{arn}source_profile = "default"
[profiles.b]
{arn}source_profile = "b"
[profiles.c]
{arn}source_profile = "default"
external_id = "other-party"
[profiles.d]
{arn}source_profile = "default"
duration_seconds = 1800
[profiles.e]
{arn}source_profile = "a"
""")
    keys = set()
    for name in "abcde":
        keys.add(frozen(name)
                 .access_key)
    assert len(keys) == 5 and len(entries(aws)) == 5
    assert aws.assume_role_calls() == 5


def mfa_profile(aws: Aws, command: str) -> None:
    script = aws.root / "token.py"
    script.write_text(command)
    aws.roles(PROD + 'mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n'
              f'mfa_token_command = ["{sys.executable}", "{script}"]\n')


COUNTING_TOKEN = """
import pathlib, sys
log = pathlib.Path(__file__).with_name("token-runs")
log.open("a").write("run\\n")
print("Your code: 123456")
"""


def token_runs(aws: Aws) -> int:
    log = aws.root / "token-runs"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.slow
def test_mfa_command_runs_once_for_ten_processes(aws: Aws) -> None:
    mfa_profile(aws, COUNTING_TOKEN)
    results = start_together(aws, 10)
    assert [r.returncode for r in results] == [0] * 10, results[0].stderr
    assert token_runs(aws) == 1
    assert aws.assume_role_calls() == 1


def test_mfa_refresh_runs_the_command_again(aws: Aws) -> None:
    mfa_profile(aws, COUNTING_TOKEN)
    credentials: Any = boto3.Session(profile_name="prod").get_credentials()
    first = credentials.get_frozen_credentials().access_key
    # Time passes: both the process's and the disk's credentials are now inside the window.
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    for key, entry in list(store._entries.items()):
        store._entries[key] = entry.replace(expiry=soon)
    for path in entries(aws):
        path.unlink()
    credentials._expiry_time = soon
    second = credentials.get_frozen_credentials().access_key  # no RefreshWithMFAUnsupportedError
    assert second != first
    assert token_runs(aws) == 2 and aws.assume_role_calls() == 2


def test_mfa_without_command_or_terminal_fails_at_once(aws: Aws) -> None:
    aws.roles(PROD + 'mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n')
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", WORKER, "prod", "/"], env=aws.env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                          start_new_session=True, check=False)  # setsid: no terminal
    assert time.monotonic() - started < 15
    assert done.returncode != 0
    assert "'prod'" in done.stderr and "no terminal" in done.stderr
    assert "mfa_token_command" in done.stderr
    assert aws.assume_role_calls() == 0


def test_mfa_prompt_on_the_terminal(aws: Aws) -> None:
    """The prompt goes to /dev/tty, so it works while stdout/stderr are captured."""
    aws.roles(PROD + 'mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n')
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child: its controlling terminal is the pty; stdout goes to a file
        os.environ.clear()
        os.environ.update(aws.env)
        out = os.open(str(aws.root / "child-out"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.execv(sys.executable, [sys.executable, "-c", WORKER, "prod", "/"])  # noqa: S606
    seen = b""
    deadline = time.monotonic() + 60
    while b"MFA code" not in seen and time.monotonic() < deadline:
        seen += os.read(fd, 1024)
    assert b"MFA code for arn:aws:iam::111122223333:mfa/alice" in seen
    os.write(fd, b"654321\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, (aws.root / "child-out").read_text()
    assert (aws.root / "child-out").read_text().startswith("ASIA")
    assert b"654321" not in seen.split(b"\n", 1)[0]  # the code is not echoed back in the prompt


HANGING_TOKEN = """
import pathlib, sys, time
marker = pathlib.Path(__file__).with_name("first-run")
if not marker.exists():
    marker.touch()
    time.sleep(600)
print("123456")
"""


def test_a_process_killed_while_holding_the_lock_blocks_nobody(aws: Aws) -> None:
    mfa_profile(aws, HANGING_TOKEN)
    holder = subprocess.Popen([sys.executable, "-c", WORKER, "prod", "/"], env=aws.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (aws.root / "first-run").exists():
        assert time.monotonic() < deadline and holder.poll() is None
        time.sleep(0.05)
    holder.send_signal(signal.SIGKILL)  # dies inside the critical section, lock held
    holder.wait()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", WORKER, "prod", "/"], env=aws.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
    assert aws.assume_role_calls() == 1


def test_mfa_command_failure_names_the_profile(aws: Aws) -> None:
    mfa_profile(aws, "print('no code here')")
    with pytest.raises(CredentialRetrievalError, match=r"'prod'.*no 6-digit code"):
        frozen("prod")
