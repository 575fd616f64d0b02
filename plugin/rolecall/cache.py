"""Where assumed-role credentials are kept between uses, and how long they are good for.

One job: given a cache key and a way to fetch, hand out credentials that are fresh, fetching at
most once at a time per key: across threads (a lock per key) and across processes (a file lock per
key, held across the fetch, so N processes racing a cold key make one STS call and one MFA
prompt). Entries live in memory and, unless a profile says ``cache = false``, on disk:

- directory ``ROLECALL_CACHE_DIR``, else ``platformdirs.user_cache_dir("rolecall")``, mode 0700;
- one JSON file per key, mode 0600, written atomically (temp file + ``os.replace``), holding only
  what rebuilds the credentials; read only when owned by this user and not group/world
  accessible; a corrupt or foreign entry is a miss, never a crash; expired entries are pruned;
- a cache that cannot be used (a foreign, loose-and-not-ours or symbolically linked-elsewhere
  folder, a relative path, a read-only or full disk, a lock that is not our regular file) is
  skipped with one warning: the credentials are served as with ``cache = false``.

Refresh windows scale with the credentials' lifetime, so a 900-second role is not refreshed on
every request the way botocore's fixed 15/10-minute windows would. No botocore import here.
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
from pathlib import Path

from rolecall import _files, _stored, locations
from rolecall.filelock import LockTimeout
from rolecall.temporary import TemporaryCredentials, utc_text

__all__ = ["LockTimeout", "SharedFailure", "clear", "directory", "encode", "get", "lookup", "peek"]

logger = logging.getLogger("rolecall")



def directory() -> Path:
    """The disk cache folder: ``ROLECALL_CACHE_DIR``, else the platform's user cache folder."""
    return Path(locations.cache_dir())


_warn_once = _files.warn_once



def _ready(folder: Path, create: bool = True) -> bool:
    """Create the folder 0700, tighten a loose one of ours; refuse a foreign one, a symbolic link
    to anything but a private folder of ours, and a relative path (one warning each)."""
    usable, note = _files.private_folder(str(folder), create)
    if note is not None:
        _warn_once(note)
    return usable


def encode(entry: TemporaryCredentials) -> dict[str, object]:
    """The on-disk form of an entry: only what rebuilds the credentials."""
    expiry = entry.expiry.astimezone(timezone.utc)
    return {
        "version": 1,
        "AccessKeyId": entry.access_key,
        "SecretAccessKey": entry.secret_key,
        "SessionToken": entry.token,
        "Expiration": utc_text(expiry),
        "ExpiresAt": expiry.timestamp(),
        "Lifetime": entry.lifetime,
        "AccountId": entry.account_id,
    }


def _decode(doc: object) -> TemporaryCredentials:
    """The entry an on-disk document holds; ValueError when any field is off (see
    :func:`rolecall._stored.decode`, the one decoder the credential-process hit path uses too)."""
    fields = _stored.decode(doc)
    if fields is None:
        raise ValueError("corrupt")
    access, secret, token, expires_at, seconds, account = fields
    return TemporaryCredentials(access, secret, token,
                                expiry=datetime.fromtimestamp(expires_at, timezone.utc),
                                lifetime=seconds, account_id=account)


def _read(path: Path) -> TemporaryCredentials | None:
    """The entry at ``path``, or None (missing, foreign, loose, corrupt) with a DEBUG line."""
    doc, problem = _files.read_json(str(path), _files.CACHE_FILE_MAX)
    if problem is None:
        try:
            return _decode(doc)
        except (ValueError, KeyError, TypeError, OverflowError):
            problem = "corrupt"
    if problem != "missing":
        logger.debug("rolecall: cache entry %s %s: miss", path.name, problem)
    return None


def _write(folder: Path, key: str, entry: TemporaryCredentials) -> None:
    _files.write_json(str(folder), f"{key}.json", encode(entry))


def _prune(folder: Path, keep: str) -> None:
    """Remove expired entries (and their lock files), and temp files a crash left behind."""
    now = datetime.now(timezone.utc)
    for path in folder.iterdir():
        try:
            if path.name.startswith(".tmp-") or path.suffix == ".failed":
                if time.time() - path.stat().st_mtime > 3600:
                    path.unlink()
                continue
            if path.suffix != ".json" or path.stem == keep:
                continue
            entry = _read(path)
            if entry is None or entry.remaining(now) > 0:
                continue
            lock = path.with_suffix(".lock")
            from rolecall import filelock

            fd = filelock.acquire(lock, timeout=0)
            if fd is None:
                continue
            try:
                path.unlink(missing_ok=True)
                lock.unlink(missing_ok=True)
            finally:
                filelock.release(fd)
            logger.debug("rolecall: pruned expired cache entry %s", path.name)
        except OSError:
            continue


def lookup(key: str, need: float = 0, label: str = "") -> TemporaryCredentials | None:
    """A fresh entry for ``key`` from memory or disk, without fetching (and without botocore)."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    if not os.path.isabs(directory()):
        return None
    entry = _read(directory() / f"{key}.json")
    if entry is None or not entry.fresh(need=need):
        return None
    logger.debug("rolecall: %s: disk cache hit, expires %s", label, entry.expiry.isoformat())
    _entries[key] = entry
    return entry


def peek(key: str) -> TemporaryCredentials | None:
    """The disk entry for ``key`` whatever its freshness (for reports), or None."""
    if not os.path.isabs(directory()):
        return None
    return _read(directory() / f"{key}.json")


class SharedFailure(Exception):
    """The fetch this caller queued behind failed moments ago; its message says why. Callers
    waiting for one key get that failure instead of each repeating the whole (bounded) attempt."""


def _failure_text(exc: BaseException) -> str:
    kwargs = getattr(exc, "kwargs", None)  # botocore errors keep their fields here
    detail = kwargs.get("error_msg") if isinstance(kwargs, dict) else None
    return str(detail or exc)


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


def get(key: str, fetch: Callable[[], TemporaryCredentials], label: str = "", *,
        persist: bool = True, need: float = 0,
        lock_timeout: float | None = None) -> TemporaryCredentials:
    """A fresh entry for ``key`` (see :meth:`TemporaryCredentials.fresh` for ``need``). ``fetch``
    runs at most once at a time per key: in this process, and, when ``persist``, across every
    process that shares the disk cache. Raises :class:`LockTimeout` when another process holds
    the key's lock for longer than ``lock_timeout`` seconds (None: as long as it takes)."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    queued = time.monotonic()
    with _lock_for(key):
        failure = _failures.get(key)
        if failure is not None and failure[0] >= queued:
            raise failure[1]  # the fetch we queued behind has just failed: so do we
        entry = _entries.get(key)
        if entry is not None and entry.fresh(need=need):
            logger.debug("rolecall: %s: memory cache hit, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        folder = directory() if persist else None
        try:
            if folder is None or not _ready(folder):
                logger.debug("rolecall: %s: cache miss (disk cache off)", label)
                entry = fetch()
            else:
                entry = _get_shared(folder, key, fetch, label, need=need,
                                    lock_timeout=lock_timeout)
        except LockTimeout:
            raise  # not a failure of the fetch: nothing to share with those queued behind
        except Exception as exc:
            _failures[key] = (time.monotonic(), exc)
            raise
        _failures.pop(key, None)
        _entries[key] = entry
        return entry


def _get_shared(folder: Path, key: str, fetch: Callable[[], TemporaryCredentials], label: str, *,
                need: float, lock_timeout: float | None) -> TemporaryCredentials:
    path = folder / f"{key}.json"
    entry = _read(path)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: disk cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    from rolecall import filelock  # only on a miss

    queued, started = time.time(), time.monotonic()
    lock = folder / f"{key}.lock"
    try:
        held = filelock.acquire(lock, lock_timeout)
    except OSError as exc:  # a read-only or full disk, a lock file that is not ours or not a file
        _warn_once(f"cache folder {folder} cannot be used ({exc.strerror or exc}); "
                   "not caching on disk")
        logger.debug("rolecall: %s: cache miss (disk cache unusable)", label)
        return fetch()
    if held is None:
        raise LockTimeout(str(lock))
    try:
        entry = _read(path)  # another process may have fetched while we waited
        if entry is not None and entry.fresh(need=need):
            logger.debug("rolecall: %s: disk cache hit after wait, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        failed = folder / f"{key}.failed"
        message = _shared_failure(failed, queued, queued + (time.monotonic() - started))
        if message is not None:
            raise SharedFailure(message)  # the process we queued behind just failed
        logger.debug("rolecall: %s: cache miss", label)
        try:
            entry = fetch()
        except Exception as exc:
            with contextlib.suppress(OSError):
                _files.write_json(str(folder), failed.name,
                                  {"at": time.time(), "message": _failure_text(exc)})
            raise
        try:
            failed.unlink(missing_ok=True)
            _write(folder, key, entry)
            _prune(folder, keep=key)
        except OSError as exc:
            _warn_once(f"cannot write the disk cache in {folder} ({exc.strerror})")
    finally:
        filelock.release(held)
    return entry


# How long a failure another process wrote is shared with those that queued behind it.
FAILURE_WINDOW = 5.0


def _shared_failure(path: Path, queued: float, now: float) -> str | None:
    """The message of a failure that the process we queued behind has just written, or None.

    It counts only if written after we queued and not after now (wall clock, ``now`` measured
    from ``queued`` by the monotonic clock, so a clock step during the wait changes nothing), and
    no more than :data:`FAILURE_WINDOW` seconds ago: a hand-written, far-future or
    pre-clock-step note is never replayed."""
    doc, problem = _files.read_json(str(path), _files.CACHE_FILE_MAX)
    if problem is not None or not isinstance(doc, dict):
        return None
    at, message = doc.get("at"), doc.get("message")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not isinstance(message, str):
        return None
    at = float(at)
    if not math.isfinite(at) or not queued <= at <= now + 1 or now - at > FAILURE_WINDOW:
        return None
    return message[:2000]


def clear(keys: list[str] | None = None) -> int:
    """Forget entries (all, or those of ``keys``) in memory and on disk; returns how many entries
    were removed. All: the indexes, failure notes and config snapshots go too. A folder rolecall
    would not cache in (a foreign or symbolically linked one) is left alone."""
    removed = 0
    if keys is None:
        _entries.clear()
    for key in keys or []:
        _entries.pop(key, None)
        _failures.pop(key, None)
    folder = directory()
    if not _ready(folder, create=False):
        return 0
    if keys is None:
        _failures.clear()
        for pattern in ("*.index", "*.failed", "config-*.snapshot"):
            for extra in folder.glob(pattern):
                with contextlib.suppress(OSError):
                    extra.unlink()
    for path in folder.glob("*.json"):
        if keys is not None and path.stem not in keys:
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
        with contextlib.suppress(OSError):
            path.with_suffix(".failed").unlink()
        from rolecall import filelock

        with contextlib.suppress(OSError):
            filelock.remove(path.with_suffix(".lock"))
    return removed


def forget_memory() -> None:
    """Forget the in-process entries only (tests; a fresh process starts like this)."""
    _entries.clear()
