"""Unit tests for rolecall.filelock: one holder per lock file across processes, timeouts, release,
removal by the holder, and what is never locked (links, folders, FIFOs).

The other process is a real one: a small Python program that takes the lock, says so on stdout and
holds it until its standard input closes (or it is killed).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rolecall import filelock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and modes")

HOLDER = """
import sys
from pathlib import Path
from rolecall import filelock
with filelock.hold(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def held_elsewhere(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the lock at ``path`` for the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_acquire_creates_a_private_lock_file_and_release_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    fd = filelock.acquire(path)
    assert fd is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert filelock.acquire(path, timeout=0) is None  # taken (a second descriptor: flock says no)
    filelock.release(fd)
    again = filelock.acquire(path, timeout=0)
    assert again is not None
    filelock.release(again)


def test_hold_is_a_context_manager_and_releases_on_error(tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    with pytest.raises(RuntimeError), filelock.hold(path):
        assert filelock.acquire(path, timeout=0) is None
        raise RuntimeError("inside")
    with filelock.hold(path, timeout=0):
        pass


def test_a_lock_held_by_another_process_times_out_then_is_taken_once_freed(
        tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    with held_elsewhere(path) as holder:
        assert filelock.acquire(path, timeout=0) is None
        start = time.monotonic()
        with pytest.raises(filelock.LockTimeout, match=r"key\.lock"):
            filelock.acquire(path, timeout=0.3)
        assert 0.25 <= time.monotonic() - start < 5
        with pytest.raises(filelock.LockTimeout), filelock.hold(path, timeout=0):
            pass
        assert holder.stdin is not None
        holder.stdin.close()  # the holder leaves its block and releases
        fd = filelock.acquire(path, timeout=10)
    assert fd is not None
    filelock.release(fd)


def test_a_waiter_without_timeout_gets_the_lock_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    got: list[float] = []
    with held_elsewhere(path) as holder:
        def wait() -> None:
            with filelock.hold(path):
                got.append(time.monotonic())

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.2)
        assert not got  # still waiting
        released = time.monotonic()
        assert holder.stdin is not None
        holder.stdin.close()
        waiter.join(10)
    assert got and got[0] >= released


def test_a_holder_that_dies_never_blocks_the_others(tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    with held_elsewhere(path) as holder:
        holder.kill()
        holder.wait(10)
        fd = filelock.acquire(path, timeout=5)
    assert fd is not None
    filelock.release(fd)


def test_remove_deletes_only_a_free_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "key.lock"
    with held_elsewhere(path):
        assert filelock.remove(path) is False
        assert path.exists()
    assert filelock.remove(path) is True
    assert not path.exists()


def test_a_lock_file_removed_by_its_holder_is_not_shared_by_two_waiters(tmp_path: Path) -> None:
    # The holder removes the file as it leaves (as awsconfig does); a process that was waiting
    # on the old file must lock the new one, not think it holds a lock nobody else can see.
    path = tmp_path / "key.lock"
    fd = filelock.acquire(path)
    assert fd is not None
    taken: list[int] = []

    def wait() -> None:  # no timeout: blocked in the kernel on the file it opened first
        waited = filelock.acquire(path)
        assert waited is not None
        taken.append(waited)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    path.unlink()
    filelock.release(fd)
    waiter.join(10)
    assert taken
    assert path.exists() and os.path.samestat(os.fstat(taken[0]), path.stat())
    assert filelock.acquire(path, timeout=0) is None  # the waiter holds the file at the path
    filelock.release(taken[0])


@pytest.mark.parametrize("kind", ["symlink", "directory", "fifo"])
def test_what_no_one_should_lock_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "key.lock"
    if kind == "symlink":
        target = tmp_path / "elsewhere"
        target.write_text("")
        path.symlink_to(target)
    elif kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(OSError):  # the errno differs by kind
        filelock.acquire(path, timeout=0)
