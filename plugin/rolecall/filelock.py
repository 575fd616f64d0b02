"""A per-key lock between processes, released by the operating system when its holder dies.

POSIX: ``flock`` on a lock file; Windows: ``msvcrt.locking`` on its first byte. A process killed
while it holds the lock never blocks the others, and no lock file ever needs cleaning by hand.
After locking, the file is checked to still be the one at that path, so a lock file may be removed
by whoever holds it (see :func:`remove`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LockTimeout", "acquire", "hold", "release", "remove"]

_POLL = 0.02


class LockTimeout(Exception):
    """The lock was not free within the allowed time."""


def _try_lock(fd: int, block: bool) -> bool:
    """Lock ``fd``; POSIX may block in the kernel, Windows always polls."""
    if sys.platform == "win32":  # pragma: no cover - tests run on Linux
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _open(path: str | os.PathLike[str]) -> int:
    """The lock file, created 0600. Raises OSError for what no one should lock: a symbolic link,
    a folder, a FIFO, or a file of another user's (who could hold it forever)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), 0o600)
    if sys.platform == "win32":  # pragma: no cover - no POSIX owners
        return fd
    import errno
    import stat

    st = os.fstat(fd)
    why = None if stat.S_ISREG(st.st_mode) else "not a regular file"
    if why is None and st.st_uid != os.getuid():
        why = f"owned by uid {st.st_uid}"
    if why is not None:
        os.close(fd)
        raise OSError(errno.EPERM, f"lock file {why}", str(path))
    return fd


def _same_file(fd: int, path: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except OSError:
        return False


def acquire(path: str | os.PathLike[str], timeout: float | None = None) -> int | None:
    """Take the lock at ``path``; returns its descriptor, or None when ``timeout`` is 0 and it is
    taken. Raises :class:`LockTimeout` after ``timeout`` seconds (None: wait as long as needed)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = _POLL
    while True:
        fd = _open(path)
        if _try_lock(fd, block=deadline is None):
            if _same_file(fd, path):
                return fd
            _unlock(fd)  # removed or replaced while we waited: lock the new one
            os.close(fd)
            continue
        os.close(fd)
        if deadline is not None and time.monotonic() >= deadline:
            if timeout == 0:
                return None
            raise LockTimeout(str(path))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def release(fd: int) -> None:
    try:
        _unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def hold(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[None]:
    """``with hold(path):`` the lock is ours for the block."""
    fd = acquire(path, timeout)
    if fd is None:
        raise LockTimeout(str(path))
    try:
        yield
    finally:
        release(fd)


def remove(path: str | os.PathLike[str]) -> bool:
    """Delete the lock file at ``path`` if nobody holds it; True if it was removed."""
    fd = acquire(path, timeout=0)
    if fd is None:
        return False
    try:
        os.unlink(path)
    except OSError:
        return False
    finally:
        release(fd)
    return True
