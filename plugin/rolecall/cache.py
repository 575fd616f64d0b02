"""Where assumed-role credentials are kept between uses, and how long they are good for.

One job: given a cache key and a way to fetch, hand out credentials that are fresh, fetching at
most once at a time per key: across threads (a lock per key) and across processes (a file lock per
key, held across the fetch, so N processes racing a cold key make one STS call and one MFA
prompt). Entries live in memory and, unless a profile says ``cache = false``, on disk:

- directory ``ROLECALL_CACHE_DIR``, else ``platformdirs.user_cache_dir("rolecall")``, mode 0700;
- one JSON file per key, mode 0600, written atomically (temp file + ``os.replace``), holding only
  what rebuilds the credentials; read only when owned by this user and not group/world
  accessible; a corrupt or foreign entry is a miss, never a crash; expired entries are pruned.

Refresh windows scale with the credentials' lifetime, so a 900-second role is not refreshed on
every request the way botocore's fixed 15/10-minute windows would. No botocore import here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from rolecall import _files, lifetime, locations
from rolecall.filelock import LockTimeout

__all__ = ["ADVISORY_MAX", "MANDATORY_MAX", "Entry", "LockTimeout", "SharedFailure", "clear",
           "directory",
           "encode", "get", "lookup", "make_key", "peek", "windows"]

logger = logging.getLogger("rolecall")

ADVISORY_MAX = lifetime.ADVISORY_MAX
MANDATORY_MAX = lifetime.MANDATORY_MAX
windows = lifetime.windows


class Entry(NamedTuple):
    """One set of temporary credentials. Secrets are kept out of the repr."""

    access_key: str
    secret_key: str
    token: str
    expiry: datetime  # timezone-aware
    lifetime: float  # seconds the credentials were valid for when issued
    account_id: str | None = None

    def __repr__(self) -> str:
        return (f"Entry(access_key={self.access_key!r}, expiry={self.expiry.isoformat()}, "
                f"lifetime={self.lifetime:.0f}, account_id={self.account_id!r})")

    def remaining(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (self.expiry - now).total_seconds()

    def windows(self) -> tuple[float, float]:
        return lifetime.windows(self.lifetime)

    def fresh(self, now: datetime | None = None, need: float = 0) -> bool:
        """Good to hand out (see :func:`rolecall.lifetime.fresh`)."""
        return lifetime.fresh(self.remaining(now), self.lifetime, need)


def make_key(parts: Mapping[str, object]) -> str:
    """A stable key for everything that makes two AssumeRole results interchangeable."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def directory() -> Path:
    """The disk cache folder: ``ROLECALL_CACHE_DIR``, else the platform's user cache folder."""
    return Path(locations.cache_dir())


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning("rolecall: %s", message)


def _ready(folder: Path) -> bool:
    """Create the folder 0700, tighten a loose one of ours, refuse a foreign one."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder, follow_symlinks=False)
    except OSError as exc:
        _warn_once(f"cache folder {folder} unusable ({exc.strerror}); not caching on disk")
        return False
    problem = _files.distrust(st)
    if problem is None:
        return True
    if sys.platform != "win32" and st.st_uid == os.getuid():
        os.chmod(folder, 0o700)
        _warn_once(f"cache folder {folder} was {problem}; tightened to 0700")
        return True
    _warn_once(f"cache folder {folder} is {problem}; not caching on disk")
    return False


def encode(entry: Entry) -> dict[str, object]:
    """The on-disk form of an entry: only what rebuilds the credentials."""
    expiry = entry.expiry.astimezone(timezone.utc)
    return {
        "version": 1,
        "AccessKeyId": entry.access_key,
        "SecretAccessKey": entry.secret_key,
        "SessionToken": entry.token,
        "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ExpiresAt": expiry.timestamp(),
        "Lifetime": entry.lifetime,
        "AccountId": entry.account_id,
    }


def _decode(doc: object) -> Entry:
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise ValueError("unknown format")
    expiry = datetime.fromtimestamp(float(doc["ExpiresAt"]), timezone.utc)
    fields = (doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"])
    if not all(isinstance(f, str) and f for f in fields):
        raise ValueError("missing credentials")
    account = doc.get("AccountId")
    return Entry(*fields, expiry=expiry, lifetime=float(doc["Lifetime"]),
                 account_id=account if isinstance(account, str) else None)


def _read(path: Path) -> Entry | None:
    """The entry at ``path``, or None (missing, foreign, loose, corrupt) with a DEBUG line."""
    doc, problem = _files.read_json(str(path))
    if problem is None:
        try:
            return _decode(doc)
        except (ValueError, KeyError, TypeError, OverflowError):
            problem = "corrupt"
    if problem != "missing":
        logger.debug("rolecall: cache entry %s %s: miss", path.name, problem)
    return None


def _write(folder: Path, key: str, entry: Entry) -> None:
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


def lookup(key: str, need: float = 0, label: str = "") -> Entry | None:
    """A fresh entry for ``key`` from memory or disk, without fetching (and without botocore)."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    entry = _read(directory() / f"{key}.json")
    if entry is None or not entry.fresh(need=need):
        return None
    logger.debug("rolecall: %s: disk cache hit, expires %s", label, entry.expiry.isoformat())
    _entries[key] = entry
    return entry


def peek(key: str) -> Entry | None:
    """The disk entry for ``key`` whatever its freshness (for reports), or None."""
    return _read(directory() / f"{key}.json")


class SharedFailure(Exception):
    """The fetch this caller queued behind failed moments ago; its message says why. Callers
    waiting for one key get that failure instead of each repeating the whole (bounded) attempt."""


def _failure_text(exc: BaseException) -> str:
    kwargs = getattr(exc, "kwargs", None)  # botocore errors keep their fields here
    detail = kwargs.get("error_msg") if isinstance(kwargs, dict) else None
    return str(detail or exc)


_entries: dict[str, Entry] = {}
_failures: dict[str, tuple[float, BaseException]] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def get(key: str, fetch: Callable[[], Entry], label: str = "", *, persist: bool = True,
        need: float = 0, lock_timeout: float | None = None) -> Entry:
    """A fresh entry for ``key`` (see :meth:`Entry.fresh` for ``need``). ``fetch`` runs at most
    once at a time per key: in this process, and, when ``persist``, across every process that
    shares the disk cache. Raises :class:`LockTimeout` when another process holds the key's lock
    for longer than ``lock_timeout`` seconds (None: as long as it takes)."""
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


def _get_shared(folder: Path, key: str, fetch: Callable[[], Entry], label: str, *,
                need: float, lock_timeout: float | None) -> Entry:
    path = folder / f"{key}.json"
    entry = _read(path)
    if entry is not None and entry.fresh(need=need):
        logger.debug("rolecall: %s: disk cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    from rolecall import filelock  # only on a miss

    queued = time.time()
    with filelock.hold(folder / f"{key}.lock", lock_timeout):
        entry = _read(path)  # another process may have fetched while we waited
        if entry is not None and entry.fresh(need=need):
            logger.debug("rolecall: %s: disk cache hit after wait, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        failed = folder / f"{key}.failed"
        doc, problem = _files.read_json(str(failed))
        if problem is None and isinstance(doc, dict) and \
                float(doc.get("at", 0)) >= queued and isinstance(doc.get("message"), str):
            raise SharedFailure(doc["message"])  # the process we queued behind just failed
        logger.debug("rolecall: %s: cache miss", label)
        try:
            entry = fetch()
        except Exception as exc:
            with contextlib.suppress(OSError):
                _files.write_json(str(folder), failed.name,
                                  {"at": time.time(), "message": _failure_text(exc)})
            raise
        failed.unlink(missing_ok=True)
        try:
            _write(folder, key, entry)
            _prune(folder, keep=key)
        except OSError as exc:
            _warn_once(f"cannot write the disk cache in {folder} ({exc.strerror})")
    return entry


def clear(keys: list[str] | None = None) -> int:
    """Forget entries (all, or those of ``keys``) in memory and on disk; returns how many files
    were removed."""
    removed = 0
    if keys is None:
        _entries.clear()
    for key in keys or []:
        _entries.pop(key, None)
    folder = directory()
    if not folder.is_dir():
        return 0
    if keys is None:
        for index in folder.glob("*.index"):
            index.unlink(missing_ok=True)
    for path in folder.glob("*.json"):
        if keys is not None and path.stem not in keys:
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
        from rolecall import filelock

        filelock.remove(path.with_suffix(".lock"))
    return removed


def forget_memory() -> None:
    """Forget the in-process entries only (tests; a fresh process starts like this)."""
    _entries.clear()
