"""The user's private files: read only when owned by this user, not group/world accessible and
not through a symbolic link; written 0600 and atomically (temp file + ``os.replace``).

Only ``os`` and ``json``: the credential-process cache-hit path reads through this module.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["CACHE_FILE_MAX", "JSON_MAX", "Unreadable", "distrust", "private_folder", "read_capped",
           "read_json", "warn_once", "write_json"]

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


def _open_regular(path: str, nofollow: bool) -> tuple[int, os.stat_result]:
    """A descriptor on a regular file and its fstat; never blocks on a FIFO or a device."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | (_NOFOLLOW if nofollow else 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise Unreadable(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Unreadable("not a regular file")
    return fd, st


def _read_fd(fd: int, limit: int) -> bytes:
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"larger than {limit} bytes")
    return data


def read_capped(path: str, limit: int, *, nofollow: bool = False) -> bytes:
    """A regular file of at most ``limit`` bytes, read without ever blocking (a FIFO or a device
    in its place is refused, never waited on)."""
    fd, _ = _open_regular(path, nofollow)
    return _read_fd(fd, limit)


# Cache entries, indexes and failure notes are a few hundred bytes: far below roles.toml's cap.
CACHE_FILE_MAX = 1 << 16
# Without a limit of the caller's: room for the snapshot of the largest roles.toml accepted
# (4 MiB of TOML; its validated JSON form is about five times larger).
JSON_MAX = 32 << 20


def read_json(path: str, limit: int = JSON_MAX) -> tuple[object, str | None]:
    """(document, None), or (None, why not): missing, unreadable (a FIFO, a device, a symbolic
    link, too large), foreign, loose or corrupt (deep nesting included). Never blocks."""
    try:
        fd, st = _open_regular(path, nofollow=True)
    except FileNotFoundError:
        return None, "missing"
    except Unreadable as exc:
        return None, f"unreadable ({exc})"
    problem = distrust(st)
    if problem is not None:
        os.close(fd)
        return None, f"refused, {problem}"
    try:
        data = _read_fd(fd, limit)
    except Unreadable as exc:
        return None, f"unreadable ({exc})"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError):
        return None, "corrupt"


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """A warning on the ``rolecall`` logger, once per process (the cache and the snapshot both
    meet an unusable folder: the user hears of it once)."""
    if message not in _warned:
        _warned.add(message)
        import logging

        logging.getLogger("rolecall").warning("rolecall: %s", message)


def private_folder(folder: str, create: bool = True) -> tuple[bool, str | None]:
    """Whether ``folder`` may hold this user's private files, and a note for the user (why not,
    or what was fixed). Never changes anyone else's folder: a loose folder of ours is tightened to
    0700 through its own descriptor; a symbolic link is followed only to a folder that is ours and
    already private (it is never chmodded); a relative path is refused (it would make one cache
    per working directory)."""
    if not os.path.isabs(folder):
        return False, f"cache folder {folder!r} is a relative path (ROLECALL_CACHE_DIR must be " \
                      "absolute); not caching on disk"
    if sys.platform == "win32":  # pragma: no cover - no POSIX owners or modes
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            return False, f"cache folder {folder} unusable ({exc.strerror}); not caching on disk"
        return True, None
    directory = getattr(os, "O_DIRECTORY", 0)
    try:
        if create and not os.path.lexists(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        try:
            fd = os.open(folder, os.O_RDONLY | directory | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            if not os.path.islink(folder):
                raise
            try:
                st = os.stat(folder)
            except OSError:
                raise exc from None
            import stat

            problem = distrust(st) or (None if stat.S_ISDIR(st.st_mode) else "not a folder")
            if problem is not None:
                return False, f"cache folder {folder} is a symbolic link to a folder " \
                              f"{problem}; not caching on disk"
            return True, None
    except FileNotFoundError:
        return False, None
    except OSError as exc:
        return False, f"cache folder {folder} unusable ({exc.strerror}); not caching on disk"
    try:
        st = os.fstat(fd)
        problem = distrust(st)
        if problem is None:
            return True, None
        if st.st_uid != os.getuid():
            return False, f"cache folder {folder} is {problem}; not caching on disk"
        try:
            os.fchmod(fd, 0o700)
        except OSError as exc:
            return False, f"cache folder {folder} is {problem} and cannot be tightened " \
                          f"({exc.strerror}); not caching on disk"
        return True, f"cache folder {folder} was {problem}; tightened to 0700"
    finally:
        os.close(fd)


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
