"""Credentials in and out of the cache: memory first, then disk, then one fetch at a time.

Given a cache key and a way to fetch, hand out credentials that are fresh, fetching at most once at
a time per key: across threads (a lock per key) and across processes (a file lock per key, held
across the fetch, so N processes racing a cold key make one STS call and one MFA prompt). Entries
live in memory and, unless a profile says ``cache = false``, on disk (:mod:`rolecall.cache`):

- folder ``ROLECALL_CACHE_DIR``, else ``platformdirs.user_cache_dir("rolecall")``, mode 0700;
- a corrupt or foreign entry is a miss, never a crash; expired entries are pruned;
- a cache that cannot be used (a foreign, loose-and-not-ours or symbolically linked-elsewhere
  folder, a relative path, a read-only or full disk, a lock that is not our regular file) is
  skipped with one warning: the credentials are served as with ``cache = false``.

Refresh windows scale with the credentials' lifetime (:func:`rolecall.temporary.windows`), so a
900-second role is not refreshed on every request the way botocore's fixed 15/10-minute windows
would. No botocore import here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from rolecall import _files, _private, cache, filelock
from rolecall.filelock import LockTimeout
from rolecall.temporary import TemporaryCredentials

__all__ = ["LockTimeout", "SharedFailure", "clear", "get", "lookup", "peek"]

logger = logging.getLogger("rolecall")

# How long a failure another process wrote is shared with those that queued behind it.
FAILURE_WINDOW = 5.0
# Temp files a crash left behind, and failure notes, older than this are removed.
_LEFTOVER_AGE = 3600


class SharedFailure(Exception):
    """The fetch this caller queued behind failed moments ago; its message says why. Callers
    waiting for one key get that failure instead of each repeating the whole (bounded) attempt."""


_entries: dict[str, TemporaryCredentials] = {}
_failures: dict[str, tuple[float, BaseException]] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def _ready(folder: str, create: bool = True) -> bool:
    """Create the folder 0700, tighten a loose one of ours; refuse a foreign one, a symbolic link
    to anything but a private folder of ours, and a relative path (one warning each)."""
    usable, note = _private.private_folder(folder, create)
    if note is not None:
        _private.warn_once(note)
    return usable


def _hit(key: str, need: float, label: str, folder: str | None,
         how: str = "") -> TemporaryCredentials | None:
    """Fresh credentials for ``key`` from memory, else (with a ``folder``) from disk; None."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    if folder is None or not os.path.isabs(folder):
        return None
    entry, problem = cache.read(folder, key)
    if problem not in (None, "missing"):
        logger.debug("rolecall: %s: cache entry %s.json %s: miss", label, key, problem)
    if entry is None or not entry.fresh(need=need):
        return None
    logger.debug("rolecall: %s: disk cache hit%s, expires %s", label, how,
                 entry.expiry.isoformat())
    _entries[key] = entry
    return entry


def lookup(key: str, need: float = 0, label: str = "", *,
           persist: bool = True) -> TemporaryCredentials | None:
    """Fresh credentials for ``key`` from memory or (when ``persist``) disk, without fetching."""
    return _hit(key, need, label, cache.folder() if persist else None)


def get(key: str, fetch: Callable[[], TemporaryCredentials], label: str = "", *,
        persist: bool = True, need: float = 0,
        lock_timeout: float | None = None) -> TemporaryCredentials:
    """Fresh credentials for ``key`` (see :meth:`TemporaryCredentials.fresh` for ``need``).
    ``fetch`` runs at most once at a time per key: in this process, and, when ``persist``, across
    every process that shares the disk cache. Raises :class:`LockTimeout` when another process
    holds the key's lock for longer than ``lock_timeout`` seconds (None: as long as it takes)."""
    folder = cache.folder() if persist else None
    entry = _hit(key, need, label, folder)
    if entry is not None:
        return entry
    queued = time.monotonic()
    with _lock_for(key):
        failure = _failures.get(key)
        if failure is not None and failure[0] >= queued:
            raise failure[1]  # the fetch we queued behind has just failed: so do we
        entry = _hit(key, need, label, None)  # another thread may have fetched meanwhile
        if entry is not None:
            return entry
        try:
            if folder is None or not _ready(folder):
                logger.debug("rolecall: %s: cache miss (disk cache off)", label)
                entry = fetch()
            else:
                entry = _shared(folder, key, fetch, label, need=need, lock_timeout=lock_timeout)
        except LockTimeout:
            raise  # not a failure of the fetch: nothing to share with those queued behind
        except Exception as exc:
            _failures[key] = (time.monotonic(), exc)
            raise
        _failures.pop(key, None)
        _entries[key] = entry
        return entry


def _shared(folder: str, key: str, fetch: Callable[[], TemporaryCredentials], label: str, *,
            need: float, lock_timeout: float | None) -> TemporaryCredentials:
    """The fetch under the key's file lock, so that other processes wait for its result."""
    queued, started = time.time(), time.monotonic()
    lock = os.path.join(folder, f"{key}.lock")
    try:
        held = filelock.acquire(lock, lock_timeout)
    except OSError as exc:  # a read-only or full disk, a lock file that is not ours or not a file
        _private.warn_once(f"cache folder {folder} cannot be used ({exc.strerror or exc}); "
                         "not caching on disk")
        logger.debug("rolecall: %s: cache miss (disk cache unusable)", label)
        return fetch()
    if held is None:
        raise LockTimeout(lock)
    try:
        entry = _hit(key, need, label, folder, how=" after wait")  # fetched while we waited?
        if entry is not None:
            return entry
        failed = os.path.join(folder, f"{key}.failed")
        message = _shared_failure(failed, queued, queued + (time.monotonic() - started))
        if message is not None:
            raise SharedFailure(message)  # the process we queued behind just failed
        logger.debug("rolecall: %s: cache miss", label)
        try:
            entry = fetch()
        except Exception as exc:
            with contextlib.suppress(OSError):
                _private.write_json(folder, os.path.basename(failed),
                                  {"at": time.time(), "message": _failure_text(exc)})
            raise
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(failed)
            cache.write(folder, key, entry)
            _prune(folder, keep=key)
        except OSError as exc:
            _private.warn_once(f"cannot write the disk cache in {folder} ({exc.strerror})")
    finally:
        filelock.release(held)
    return entry


def _failure_text(exc: BaseException) -> str:
    kwargs = getattr(exc, "kwargs", None)  # botocore errors keep their fields here
    detail = kwargs.get("error_msg") if isinstance(kwargs, dict) else None
    return str(detail or exc)


def _shared_failure(path: str, queued: float, now: float) -> str | None:
    """The message of a failure that the process we queued behind has just written, or None.

    It counts only if written after we queued and not after now (wall clock, ``now`` measured
    from ``queued`` by the monotonic clock, so a clock step during the wait changes nothing), and
    no more than :data:`FAILURE_WINDOW` seconds ago: a hand-written, far-future or
    pre-clock-step note is never replayed."""
    doc, problem = _files.read_json(path, _files.CACHE_FILE_MAX)
    if problem is not None or not isinstance(doc, dict):
        return None
    at, message = doc.get("at"), doc.get("message")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not isinstance(message, str):
        return None
    at = float(at)
    if not math.isfinite(at) or not queued <= at <= now + 1 or now - at > FAILURE_WINDOW:
        return None
    return message[:2000]


def _prune(folder: str, keep: str) -> None:
    """Remove expired entries (and their lock files), and temp files a crash left behind."""
    now = datetime.now(timezone.utc)
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        stem, _, suffix = name.rpartition(".")
        try:
            if name.startswith(".tmp-") or suffix == "failed":
                if time.time() - os.stat(path).st_mtime > _LEFTOVER_AGE:
                    os.unlink(path)
                continue
            if suffix != "json" or stem == keep:
                continue
            entry, _ = cache.read(folder, stem)
            if entry is None or entry.remaining(now) > 0:
                continue
            lock = os.path.join(folder, f"{stem}.lock")
            fd = filelock.acquire(lock, timeout=0)
            if fd is None:
                continue
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock)
            finally:
                filelock.release(fd)
            logger.debug("rolecall: pruned expired cache entry %s", name)
        except OSError:
            continue


def peek(key: str) -> TemporaryCredentials | None:
    """The disk entry for ``key`` whatever its freshness (for reports), or None."""
    folder = cache.folder()
    return cache.read(folder, key)[0] if os.path.isabs(folder) else None


def clear(keys: list[str] | None = None) -> int:
    """Forget entries (all, or those of ``keys``) in memory and on disk; returns how many entries
    were removed. All: the indexes, failure notes and config snapshots go too. A folder rolecall
    would not cache in (a foreign or symbolically linked one) is left alone."""
    removed = 0
    if keys is None:
        _entries.clear()
        _failures.clear()
    for key in keys or []:
        _entries.pop(key, None)
        _failures.pop(key, None)
    folder = cache.folder()
    if not _ready(folder, create=False):
        return 0
    for name in os.listdir(folder):
        stem, _, suffix = name.rpartition(".")
        if keys is None and (suffix in ("index", "failed") or
                             (suffix == "snapshot" and stem.startswith("config-"))):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
            continue
        if suffix != "json" or (keys is not None and stem not in keys):
            continue
        try:
            os.unlink(os.path.join(folder, name))
            removed += 1
        except OSError:
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, f"{stem}.failed"))
        with contextlib.suppress(OSError):
            filelock.remove(os.path.join(folder, f"{stem}.lock"))
    return removed


def forget_memory() -> None:
    """Forget the in-process entries only (tests; a fresh process starts like this)."""
    _entries.clear()
