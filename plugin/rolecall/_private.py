"""rolecall's private folder and files: the folder made 0700 (a loose one of ours tightened, a
foreign one refused), files written 0600 and atomically (temp file + ``os.replace``), and the one
warning per problem that the cache and the config snapshot share.

Only on the paths that write (a cache miss, a roles.toml edit); reading is :mod:`rolecall._files`.
"""

from __future__ import annotations

import json
import os
import sys

from rolecall import __version__
from rolecall._files import NOFOLLOW, SNAPSHOT_FORMAT, cache_dir, snapshot_path, why_untrusted

TYPE_CHECKING = False  # `typing` is not imported at run time by the cache's modules
if TYPE_CHECKING:
    from typing import Any

__all__ = ["private_folder", "save_snapshot", "warn_once", "write_json"]

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
            fd = os.open(folder, os.O_RDONLY | directory | NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            if not os.path.islink(folder):
                raise
            try:
                st = os.stat(folder)
            except OSError:
                raise exc from None
            import stat

            problem = why_untrusted(st) or (None if stat.S_ISDIR(st.st_mode) else "not a folder")
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
        problem = why_untrusted(st)
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


def save_snapshot(config_path: str, key: list[int], profiles: dict[str, dict[str, Any]],
                  errors: dict[str, list[list[Any]]], problems: list[list[Any]]) -> None:
    """Keep a validated roles.toml for the next process (see :func:`rolecall._files.read_snapshot`),
    where the cache folder is ours."""
    folder = cache_dir()
    try:
        usable, note = private_folder(folder)
        if note is not None:  # the first to use the folder says what was wrong with it
            warn_once(note)
        if not usable:
            return
        write_json(folder, os.path.basename(snapshot_path(config_path)), {
            "format": SNAPSHOT_FORMAT, "rolecall": __version__, "path": config_path,
            "identity": key, "profiles": profiles, "errors": errors, "problems": problems})
    except OSError as exc:
        import logging

        logging.getLogger("rolecall").debug("rolecall: config snapshot not written (%s)",
                                            exc.strerror)
