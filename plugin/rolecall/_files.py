"""The user's private files: read only when owned by this user, not group/world accessible and
not through a symbolic link; written 0600 and atomically (temp file + ``os.replace``).

Only ``os`` and ``json``: the credential-process cache-hit path reads through this module.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["Unreadable", "distrust", "read_capped", "read_json", "write_json"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def distrust(st: os.stat_result) -> str | None:
    """Why a file or folder may not be trusted, or None when it is ours and private."""
    if sys.platform == "win32":  # pragma: no cover - no POSIX owners or modes
        return None
    if st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not {os.getuid()}"
    if st.st_mode & 0o077:
        return f"mode {st.st_mode & 0o777:04o} lets others in"
    return None


class Unreadable(Exception):
    """A file that may not or cannot be read; str() says why (no path in the text)."""


def read_capped(path: str, limit: int, *, nofollow: bool = False) -> bytes:
    """A regular file of at most ``limit`` bytes, read without ever blocking (a FIFO or a device
    in its place is refused, never waited on)."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | (_NOFOLLOW if nofollow else 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Unreadable("not a regular file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"larger than {limit} bytes")
    return data


def read_json(path: str, limit: int = 1 << 16) -> tuple[object, str | None]:
    """(document, None), or (None, why not): missing, unreadable, foreign, loose or corrupt."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        problem = distrust(os.fstat(handle.fileno()))
        if problem is not None:
            return None, f"refused, {problem}"
        data = handle.read(limit)
    try:
        return json.loads(data), None
    except ValueError:
        return None, "corrupt"


def write_json(folder: str, name: str, document: object) -> None:
    """Write ``folder/name`` atomically, mode 0600."""
    import tempfile  # only when writing: not on the cache-hit path

    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")  # created 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, os.path.join(folder, name))
    except BaseException:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
