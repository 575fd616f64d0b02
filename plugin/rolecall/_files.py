"""rolecall's own files: where they live (roles.toml, the cache folder), and how they are read
without trusting them: only when owned by this user, not group/world accessible, not through a
symbolic link, a regular file of bounded size, read without ever blocking.

``ROLECALL_CONFIG`` / ``ROLECALL_CACHE_DIR`` win; otherwise platformdirs' user folders. On Linux
and the BSDs those are the XDG folders, computed here directly, because importing platformdirs
costs more than everything else on the cache-hit paths (a test checks that the two agree).

Only ``os`` and ``json``: every Session's first look at roles.toml and every cache hit read through
this module. Writing is :mod:`rolecall._private`'s job.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["CACHE_FILE_MAX", "NOFOLLOW", "Unreadable", "cache_dir", "config_file", "identity",
           "read_capped", "read_json", "why_untrusted"]

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_XDG = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))


def _xdg(variable: str, fallback: str) -> str:
    value = os.environ.get(variable, "").strip()
    return value if value else os.path.expanduser(fallback)


def config_file() -> str:
    """roles.toml: ``ROLECALL_CONFIG``, else ``user_config_dir("rolecall")/roles.toml``."""
    override = os.environ.get("ROLECALL_CONFIG")
    if override:
        return os.path.expanduser(override)
    if _XDG:
        folder = os.path.join(_xdg("XDG_CONFIG_HOME", "~/.config"), "rolecall")
    else:  # pragma: no cover - tests run on Linux
        import platformdirs

        folder = platformdirs.user_config_dir("rolecall", appauthor=False)
    return os.path.join(folder, "roles.toml")


def cache_dir() -> str:
    """The cache folder: ``ROLECALL_CACHE_DIR``, else ``user_cache_dir("rolecall")``."""
    override = os.environ.get("ROLECALL_CACHE_DIR")
    if override:
        return os.path.expanduser(override)
    if _XDG:
        return os.path.join(_xdg("XDG_CACHE_HOME", "~/.cache"), "rolecall")
    import platformdirs  # pragma: no cover

    return platformdirs.user_cache_dir("rolecall", appauthor=False)  # pragma: no cover


def identity(st: os.stat_result) -> list[int]:
    """What changes whenever a file's content may have changed (size, mtime, ctime, inode,
    device): kept beside what was derived from the file, compared before it is reused."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def why_untrusted(st: os.stat_result) -> str | None:
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
        fd = os.open(path, flags | (NOFOLLOW if nofollow else 0))
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
    """At most ``limit`` bytes from ``fd`` (closed after), with plain reads: no file object."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise Unreadable(f"larger than {limit} bytes")
    return b"".join(chunks)


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
    problem = why_untrusted(st)
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
