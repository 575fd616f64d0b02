"""rolecall's own files: where they live (roles.toml, the cache folder, the roles.toml snapshot),
and how they are read without trusting them: only when owned by this user, not group/world
accessible, not through a symbolic link, a regular file of bounded size, read without ever
blocking.

``ROLECALL_CONFIG`` / ``ROLECALL_CACHE_DIR`` win; otherwise platformdirs' user folders. On Linux
and the BSDs those are the XDG folders, computed here directly, because importing platformdirs
costs more than everything else on the cache-hit paths (a test checks that the two agree).

The snapshot is the validated roles.toml kept in the cache folder, so that tomllib and validation
run once per edit, not once per process: one JSON file per roles.toml path, trusted only while the
file's identity (size, mtime, ctime, inode, device) and rolecall's version are exactly those it was
made from. :mod:`rolecall.config` fills it (written by :mod:`rolecall._private`) and builds records
from it; the Session layer reads the profile names and regions straight from it.

Only ``os`` and ``json``: a process's first Session reads roles.toml's snapshot through
this module alone, and every cache hit its files. Writing is :mod:`rolecall._private`'s job.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from rolecall import __version__

# Not `typing.TYPE_CHECKING`: the credential-process hit path reads through this module, and
# importing typing alone costs it ~2 ms. Type checkers understand this spelling.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CACHE_FILE_MAX", "NOFOLLOW", "SNAPSHOT_FORMAT", "Unreadable", "cache_dir",
           "config_file", "identity", "read_capped", "read_json", "read_snapshot", "snapshot_path",
           "why_untrusted"]

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


def _read_fd(fd: int, limit: int, expected: int = 0) -> bytes:
    """At most ``limit`` bytes from ``fd`` (closed after), with plain reads: no file object.
    ``expected``: the size fstat gave, asked for in one read whatever it is (one more read then
    finds the end: a file that grew meanwhile is read on, up to ``limit``)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, max(expected + 1 - size, 1 << 16)))
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
        data = _read_fd(fd, limit, st.st_size)
    except Unreadable as exc:
        return None, f"unreadable ({exc})"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError):
        return None, "corrupt"


# -- the roles.toml snapshot ---------------------------------------------------------------------

SNAPSHOT_FORMAT = 1
_CONFIG_MAX = 4 << 20  # config.MAX_BYTES (not imported: the Session path builds no record)


def snapshot_path(config_path: str) -> str:
    """One snapshot per roles.toml path. The name only spreads paths over files (a CRC: its first
    use costs nothing, where hashlib's first SHA-256 costs ~50 us on every process's first
    Session); the path inside the snapshot decides whether it is the right one."""
    import zlib  # the Session path only (botocore has imported it); not credential-process's

    absolute = config_path if os.path.isabs(config_path) else os.path.abspath(config_path)
    digest = f"{zlib.crc32(absolute.encode()):08x}{len(absolute):04x}"
    return os.path.join(cache_dir(), f"config-{digest}.snapshot")


# The last snapshot read per roles.toml path: the Session layer reads it for the profile names and
# the provider again for the records; once per process is enough.
_snapshots: dict[str, tuple[list[int], dict[str, Any]]] = {}


def read_snapshot(config_path: str, key: list[int]) -> dict[str, Any] | None:
    """The snapshot of ``config_path`` with identity ``key``, or None. Its ``profiles`` map names
    to their fields, ``errors`` names to problem lists, ``problems`` lists every problem."""
    seen = _snapshots.get(config_path)
    if seen is not None and seen[0] == key:
        return seen[1]
    # A snapshot holds every profile: more than a cache entry, at most what roles.toml may hold.
    doc, problem = read_json(snapshot_path(config_path), limit=4 * _CONFIG_MAX)
    if problem is not None or not isinstance(doc, dict):
        return None
    if (doc.get("format"), doc.get("rolecall"), doc.get("path"), doc.get("identity")) != \
            (SNAPSHOT_FORMAT, __version__, config_path, key):
        return None
    if not (isinstance(doc.get("profiles"), dict) and isinstance(doc.get("errors"), dict)
            and isinstance(doc.get("problems"), list)):
        return None
    _snapshots[config_path] = (key, doc)
    return doc
