"""Hardening, round two (issue 11): hostile or unlucky files around the cache, a full or
read-only disk, overlapping ``setup-process --write`` runs, MFA commands that leave children.

Each case runs as a user meets it: real files, FIFOs, symbolic links, modes enforced inside
``unshare --user`` (skipped with a reason where user namespaces are not available), concurrent
processes. Whatever could hang is bounded by a subprocess timeout, so a regression fails.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from rolecall import cache, config, mfa, request
from rolecall.cache import store
from tests.conftest import PROD, Aws, credentials_of, first_fast

ROLECALL = Path(sys.executable).parent / "rolecall"


# Ten threads of an unmodified program ask for the same profile at once; prints the distinct
# access keys they got. Warnings of the rolecall logger go to stderr.
THREADS = """
import logging, sys, threading
import boto3
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
keys, errors = [], []
def work():
    try:
        credentials = boto3.Session(profile_name="prod").get_credentials()
        keys.append(credentials.get_frozen_credentials().access_key)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(10)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(len(keys), len(set(keys)), errors)
"""

UNCACHED = "not caching on disk"


def key_of(aws: Aws, profile: str = "prod") -> str:
    loaded = config.load(aws.root / "roles.toml")
    assert loaded is not None
    return request.cache_key(loaded, profile)


def frozen_key(profile: str = "prod") -> str:
    return str(credentials_of(boto3.Session(profile_name=profile))
               .get_frozen_credentials().access_key)


def run(argv: list[str], env: dict[str, str], timeout: float = 60,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A bounded subprocess: a hang fails the test instead of hanging the suite."""
    try:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv[:3]} hung for {timeout} s")


def rolecall(env: dict[str, str], *args: str, cwd: Path | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run([str(ROLECALL), *args], env, timeout=timeout, cwd=cwd)


def process_credentials(aws: Aws) -> dict[str, Any]:
    done = rolecall(aws.env, "credential-process", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def private_file(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


# --- namespaces: file modes that bind root, mounts of our own ---------------------------------

def _works(prefix: list[str], script: str = "true") -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run([*prefix, "sh", "-c", script], capture_output=True,
                              timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


AS_USER = ["unshare", "--user", "--map-user=1000"]  # uid 1000 inside, no capabilities
AS_MOUNTER = ["unshare", "--user", "--mount", "--map-root-user"]  # may mount, over its own mounts

needs_user_ns = pytest.mark.skipif(
    not _works(AS_USER, 'test "$(id -u)" = 1000'),
    reason="unshare --user (user namespaces) is not available here")
needs_mount_ns = pytest.mark.skipif(
    not _works(AS_MOUNTER, "d=$(mktemp -d) && mount -t tmpfs -o size=16k tmpfs $d"),
    reason="unshare --user --mount with a tmpfs mount is not available here")


def threads_in(prefix: list[str], setup: str, aws: Aws) -> tuple[list[str], str]:
    """Run :data:`THREADS` after ``setup`` (shell) inside a namespace; (its summary, stderr)."""
    argv = [*prefix, "sh", "-c", f'{setup}\nexec "$0" -c "$1"', sys.executable, THREADS]
    done = run(argv, aws.env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(maxsplit=2), done.stderr


def assert_served_uncached_once(summary: list[str], stderr: str, aws: Aws) -> None:
    assert summary == ["10", "1", "[]\n"], (summary, stderr)  # every thread, one set of keys
    assert aws.assume_role_calls() == 1  # single flight still holds within the process
    warnings = [line for line in stderr.splitlines() if UNCACHED in line]
    assert len(warnings) == 1, stderr
    assert "Traceback" not in stderr


# --- 2. a cache that cannot be used is skipped, not fatal ------------------------------------

@needs_user_ns
def test_a_read_only_cache_folder_is_skipped(aws: Aws) -> None:
    """chmod 500 on the cache folder, as a user who cannot override modes."""
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o500)
    folder.chmod(0o500)
    summary, stderr = threads_in(AS_USER, "", aws)
    assert_served_uncached_once(summary, stderr, aws)
    assert list(folder.iterdir()) == []


@needs_mount_ns
def test_a_read_only_mount_is_skipped(aws: Aws) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    summary, stderr = threads_in(
        AS_MOUNTER, f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}", aws)
    assert_served_uncached_once(summary, stderr, aws)
    assert "Read-only file system" in stderr


@needs_mount_ns
def test_a_full_disk_is_skipped(aws: Aws) -> None:
    """A tiny tmpfs over the cache folder, filled to the last block and the last inode, so that
    even the lock file cannot be created (ENOSPC)."""
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    fill = (f"mount -t tmpfs -o size=16k,nr_inodes=16,mode=0700 tmpfs {folder} && "
            f"(dd if=/dev/zero of={folder}/fill bs=1k 2>/dev/null; true) && "
            f"i=0; while touch {folder}/f$i 2>/dev/null; do i=$((i+1)); done; "
            f"touch {folder}/probe 2>/dev/null && exit 3; true")
    summary, stderr = threads_in(AS_MOUNTER, fill, aws)
    assert_served_uncached_once(summary, stderr, aws)
    assert "No space left on device" in stderr


@needs_user_ns
def test_a_lock_file_left_by_another_user_is_skipped(aws: Aws) -> None:
    """The entry's lock file belongs to someone else (left by sudo), mode 0644."""
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    # The key inside the namespace: the default session name comes from the user's name.
    done = run([*AS_USER, sys.executable, "-c", "from rolecall import config, request; "
                "print(request.cache_key(config.load(), 'prod'))"], aws.env)
    lock = folder / f"{done.stdout.strip()}.lock"
    lock.touch(mode=0o644)
    os.chown(lock, 65534, 65534)  # we are root here; inside the namespace we are not
    summary, stderr = threads_in(AS_USER, "", aws)
    assert_served_uncached_once(summary, stderr, aws)


@pytest.mark.parametrize("kind", ["folder", "symlink"])
def test_a_lock_that_is_no_file_is_skipped(aws: Aws, kind: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    lock = folder / f"{key_of(aws)}.lock"
    if kind == "folder":
        lock.mkdir()
    else:
        (aws.root / "elsewhere").touch()
        lock.symlink_to(aws.root / "elsewhere")
    keys: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            keys.append(frozen_key())
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    with caplog.at_level(logging.WARNING, logger="rolecall"):
        threads = [threading.Thread(target=work) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(keys) == 10 and len(set(keys)) == 1
    assert aws.assume_role_calls() == 1
    assert len([r for r in caplog.records if UNCACHED in r.getMessage()]) == 1, caplog.text


# --- 3. no unbounded blocking read -----------------------------------------------------------

@pytest.mark.parametrize("which", first_fast(["entry", "failed"]))
def test_a_fifo_in_the_cache_is_a_miss(aws: Aws, which: str) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    suffix = {"entry": ".json", "failed": ".failed"}[which]
    os.mkfifo(folder / f"{key_of(aws)}{suffix}", 0o600)
    done = run([sys.executable, "-c", "import boto3; print(boto3.Session(profile_name='prod')"
                ".get_credentials().get_frozen_credentials().access_key)"], aws.env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ASIA")


@pytest.mark.slow
def test_a_fifo_in_place_of_the_index_is_a_miss(aws: Aws) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / f"profile-{b'prod'.hex()}.index", 0o600)
    doc = process_credentials(aws)
    assert doc["AccessKeyId"].startswith("ASIA")


def test_a_huge_cache_file_is_a_miss(aws: Aws) -> None:
    aws.roles(PROD)
    first = frozen_key()
    path = aws.root / "cache" / f"{key_of(aws)}.json"
    document = json.loads(path.read_text())
    document["padding"] = "x" * (1 << 20)  # otherwise a valid, fresh entry
    private_file(path, json.dumps(document))
    store.forget_memory()
    assert frozen_key() != first
    assert aws.assume_role_calls() == 2


# --- 4. the cache never widens or narrows other people's folders -----------------------------

def test_a_symlink_to_a_shared_folder_is_refused(aws: Aws, caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    shared = aws.root / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = aws.root / "link"
    link.symlink_to(shared)
    aws.env["ROLECALL_CACHE_DIR"] = str(link)
    monkeypatch.setenv("ROLECALL_CACHE_DIR", str(link))
    with caplog.at_level(logging.WARNING, logger="rolecall"):
        assert frozen_key().startswith("ASIA")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert "symbolic link" in caplog.text and UNCACHED in caplog.text
    assert process_credentials(aws)["AccessKeyId"].startswith("ASIA")
    assert list(shared.iterdir()) == []  # no entry, no lock, no index


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_symlink_to_someone_elses_folder_is_refused(aws: Aws) -> None:
    aws.roles(PROD)
    theirs = aws.root / "theirs"
    theirs.mkdir(mode=0o755)
    theirs.chmod(0o755)
    os.chown(theirs, 65534, 65534)
    link = aws.root / "link"
    link.symlink_to(theirs)
    aws.env["ROLECALL_CACHE_DIR"] = str(link)
    assert process_credentials(aws)["AccessKeyId"].startswith("ASIA")
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o755
    assert list(theirs.iterdir()) == []


def test_a_symlink_to_our_private_folder_is_used_without_a_warning(
        aws: Aws, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    ours = aws.root / "ours"
    ours.mkdir(mode=0o700)
    link = aws.root / "link"
    link.symlink_to(ours)
    monkeypatch.setenv("ROLECALL_CACHE_DIR", str(link))
    with caplog.at_level(logging.WARNING, logger="rolecall"):
        frozen_key()
        store.forget_memory()
        frozen_key()
    assert caplog.text == ""  # no false "was mode 0777; tightened" on a miss
    assert aws.assume_role_calls() == 1  # the second came from the disk
    assert stat.S_IMODE(ours.stat().st_mode) == 0o700
    assert len(list(ours.glob("*.json"))) == 1


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
@pytest.mark.slow
def test_no_index_in_someone_elses_cache_folder(aws: Aws) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert process_credentials(aws)["AccessKeyId"].startswith("ASIA")
    assert list(folder.iterdir()) == []


@pytest.mark.slow
def test_a_relative_cache_dir_is_refused(aws: Aws) -> None:
    """It would make one cache per working directory: refused with a warning, run uncached."""
    aws.roles(PROD)
    env = {**aws.env, "ROLECALL_CACHE_DIR": "relative-cache"}
    for place in ("one", "two"):
        cwd = aws.root / place
        cwd.mkdir()
        done = rolecall(env, "credential-process", "--profile", "prod", cwd=cwd)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
        assert "relative" in done.stderr and UNCACHED in done.stderr
        assert list(cwd.iterdir()) == []
    assert aws.assume_role_calls() == 2


# --- 5. corrupt files are misses, never crashes ----------------------------------------------

def test_deep_nesting_in_an_entry_is_a_miss(aws: Aws) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    private_file(folder / f"{key_of(aws)}.json", "[" * 100_000)
    assert frozen_key().startswith("ASIA")


def test_deep_nesting_in_an_index_is_a_miss(aws: Aws) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    private_file(folder / f"profile-{b'prod'.hex()}.index", "[" * 100_000)
    assert process_credentials(aws)["AccessKeyId"].startswith("ASIA")


@pytest.mark.parametrize("at", ['"x"', "1e308", "null", "true", "NaN"])
def test_a_hand_written_failure_note_is_ignored(aws: Aws, at: str) -> None:
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    private_file(folder / f"{key_of(aws)}.failed", f'{{"at": {at}, "message": "boom"}}')
    assert frozen_key().startswith("ASIA")
    assert aws.assume_role_calls() == 1


def test_a_failure_from_before_the_clock_stepped_back_is_not_replayed(aws: Aws) -> None:
    """Written an hour 'ahead' (the clock has since been set back an hour): stale, not shared."""
    aws.roles(PROD)
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    private_file(folder / f"{key_of(aws)}.failed",
                 json.dumps({"at": time.time() + 3600, "message": "boom"}))
    assert frozen_key().startswith("ASIA")
    assert aws.assume_role_calls() == 1


def test_cache_clear_removes_failure_notes_and_snapshots(aws: Aws) -> None:
    aws.roles(PROD)
    frozen_key()
    folder = aws.root / "cache"
    private_file(folder / f"{key_of(aws)}.failed", json.dumps({"at": 1, "message": "boom"}))
    assert list(folder.glob("config-*.snapshot")) != []
    done = rolecall(aws.env, "cache", "clear", "--all")
    assert done.returncode == 0, done.stderr
    left = sorted(p.name for p in folder.iterdir())
    assert not [name for name in left if name.endswith((".failed", ".snapshot", ".json"))], left


def test_cache_clear_leaves_a_symlinked_shared_folder_alone(aws: Aws) -> None:
    aws.roles(PROD)
    shared = aws.root / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "someone-elses.json").write_text("{}")
    link = aws.root / "link"
    link.symlink_to(shared)
    done = rolecall({**aws.env, "ROLECALL_CACHE_DIR": str(link)}, "cache", "clear", "--all")
    assert done.returncode == 0, done.stderr
    assert (shared / "someone-elses.json").exists()


# --- 6. the fast path trusts nothing on disk -------------------------------------------------

TAMPERED: dict[str, dict[str, Any]] = {
    "lifetime zero": {"Lifetime": 0, "past": True},
    "lifetime negative": {"Lifetime": -1e9, "past": True},
    "lifetime -inf": {"Lifetime": float("-inf"), "past": True},
    "lifetime NaN": {"Lifetime": float("nan"), "past": True},
    "access key a list": {"AccessKeyId": ["a"]},
    "expiration not a date": {"Expiration": "not-a-date"},
    "expiration disagrees": {"Expiration": "2099-01-01T00:00:00Z"},
    "expires-at a string": {"ExpiresAt": "soon"},
    "expires-at infinite": {"ExpiresAt": float("inf")},
    "account id a number": {"AccountId": 111122223333},
    "empty token": {"SessionToken": ""},
}


def tamper(aws: Aws, change: dict[str, Any]) -> None:
    path = aws.root / "cache" / f"{key_of(aws)}.json"
    document = json.loads(path.read_text())
    change = dict(change)
    if change.pop("past", False):  # expired an hour ago
        document["ExpiresAt"] -= document["Lifetime"] + 3600
        expired = time.gmtime(document["ExpiresAt"])
        document["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", expired)
    document.update(change)
    private_file(path, json.dumps(document))


@pytest.mark.parametrize("name", list(TAMPERED))
def test_a_tampered_entry_is_a_miss_for_both_readers(aws: Aws, name: str) -> None:
    """The credential-process hit path and the library (``env``, ``exec``, the plugin) decide
    alike: the entry is a miss."""
    from rolecall import _files
    from rolecall.cli import fastpath

    aws.roles(PROD)
    frozen_key()
    key = key_of(aws)
    path = _files.config_file()
    cache.remember("prod", key, path, tuple(_files.identity(os.stat(path))),
                   request.KEY_ENVIRONMENT)
    assert fastpath.answer("prod") is not None  # the untouched entry is a hit
    tamper(aws, TAMPERED[name])
    assert fastpath.answer("prod") is None
    store.forget_memory()
    assert store.lookup(key) is None


# Quick tier: test_a_tampered_entry_is_a_miss_for_both_readers (in-process, every tampering).
@pytest.mark.slow
@pytest.mark.parametrize("name", ["lifetime -inf", "access key a list", "expiration not a date"])
def test_credential_process_hands_out_no_tampered_entry(aws: Aws, name: str) -> None:
    aws.roles(PROD)
    process_credentials(aws)  # a miss: fills the entry and the index
    tamper(aws, TAMPERED[name])
    doc = process_credentials(aws)
    assert isinstance(doc["AccessKeyId"], str) and doc["AccessKeyId"].startswith("ASIA")
    expires = time.mktime(time.strptime(doc["Expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert expires > time.time() + 15 * 60
    assert aws.assume_role_calls() == 2  # the tampered entry was a miss


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lifetime -inf", "lifetime negative"])
def test_env_hands_out_no_tampered_entry(aws: Aws, name: str) -> None:
    aws.roles(PROD)
    process_credentials(aws)
    tamper(aws, TAMPERED[name])
    done = rolecall(aws.env, "env", "--profile", "prod", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"ASIA' in done.stdout and "[" not in done.stdout
    assert aws.assume_role_calls() == 2


# --- 7. setup-process --write loses nothing when two runs overlap ----------------------------

@pytest.mark.slow
def test_overlapping_setup_process_writes_keep_both_sections(aws: Aws) -> None:
    aws.roles(PROD + PROD.replace("prod", "stage"))
    config_file = aws.root / "aws_config"
    lost = 0
    for _ in range(40):
        config_file.write_text("[default]\nregion = us-east-1\n")
        runs = [subprocess.Popen([str(ROLECALL), "setup-process", name, "--write"],
                                 env=aws.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for name in ("prod", "stage")]
        for process in runs:
            _, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
        text = config_file.read_text()
        lost += not ("[profile prod]" in text and "[profile stage]" in text
                     and "[default]" in text)
    assert lost == 0
    assert list(aws.root.glob(".aws_config.rolecall-lock")) == []
    assert list(aws.root.glob("aws_config.rolecall-*")) != []  # the backups are kept


# --- 8. an MFA command that times out takes its children with it -----------------------------

@pytest.mark.slow
def test_mfa_timeout_leaves_no_orphan(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mfa, "COMMAND_TIMEOUT", 1.0)
    pidfile = aws.root / "child.pid"
    aws.roles(PROD + 'mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n'
              f'mfa_token_command = ["sh", "-c", "sleep 100 & echo $! > {pidfile}; wait"]\n')
    with pytest.raises(Exception, match="did not finish within 1 second"):
        frozen_key()
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not _alive(pid), "the command's child outlived the timeout"
    finally:
        if _alive(pid):
            os.kill(pid, 9)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that never comes counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
