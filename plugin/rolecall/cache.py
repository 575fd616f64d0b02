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

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rolecall import filelock

__all__ = ["ADVISORY_MAX", "MANDATORY_MAX", "Entry", "clear", "directory", "get", "lookup",
           "make_key", "windows"]

logger = logging.getLogger("rolecall")

ADVISORY_MAX = 15 * 60  # botocore's advisory window, for credentials that live an hour or more
MANDATORY_MAX = 10 * 60  # botocore's mandatory window


def windows(lifetime: float) -> tuple[float, float]:
    """Advisory and mandatory refresh windows (seconds before expiry) for a given lifetime."""
    return min(ADVISORY_MAX, lifetime / 4), min(MANDATORY_MAX, lifetime / 6)


@dataclass(frozen=True)
class Entry:
    """One set of temporary credentials. Secrets are kept out of the repr."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str = field(repr=False)
    expiry: datetime  # timezone-aware
    lifetime: float  # seconds the credentials were valid for when issued
    account_id: str | None = None

    def remaining(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (self.expiry - now).total_seconds()

    def windows(self) -> tuple[float, float]:
        return windows(self.lifetime)

    def fresh(self, now: datetime | None = None) -> bool:
        """Good to hand out: more time left than the advisory refresh window."""
        return self.remaining(now) > self.windows()[0]


def make_key(parts: Mapping[str, object]) -> str:
    """A stable key for everything that makes two AssumeRole results interchangeable."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def directory() -> Path:
    """The disk cache folder: ``ROLECALL_CACHE_DIR``, else the platform's user cache folder."""
    override = os.environ.get("ROLECALL_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rolecall", appauthor=False))


def _private(st: os.stat_result) -> str | None:
    """Why a file or folder may not be trusted, or None when it is ours and private."""
    if sys.platform == "win32":  # pragma: no cover - no POSIX owners or modes
        return None
    if st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not {os.getuid()}"
    if st.st_mode & 0o077:
        return f"mode {st.st_mode & 0o777:04o} lets others in"
    return None


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
    problem = _private(st)
    if problem is None:
        return True
    if sys.platform != "win32" and st.st_uid == os.getuid():
        os.chmod(folder, 0o700)
        _warn_once(f"cache folder {folder} was {problem}; tightened to 0700")
        return True
    _warn_once(f"cache folder {folder} is {problem}; not caching on disk")
    return False


def _encode(entry: Entry) -> bytes:
    return json.dumps({
        "version": 1,
        "AccessKeyId": entry.access_key,
        "SecretAccessKey": entry.secret_key,
        "SessionToken": entry.token,
        "Expiration": entry.expiry.isoformat(),
        "Lifetime": entry.lifetime,
        "AccountId": entry.account_id,
    }).encode()


def _decode(data: bytes) -> Entry:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise ValueError("unknown format")
    expiry = datetime.fromisoformat(doc["Expiration"])
    if expiry.tzinfo is None:
        raise ValueError("naive expiry")
    fields = (doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"])
    if not all(isinstance(f, str) and f for f in fields):
        raise ValueError("missing credentials")
    lifetime = float(doc["Lifetime"])
    account = doc.get("AccountId")
    return Entry(*fields, expiry=expiry, lifetime=lifetime,
                 account_id=account if isinstance(account, str) else None)


def _read(path: Path) -> Entry | None:
    """The entry at ``path``, or None (missing, foreign, loose, corrupt) with a DEBUG line."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.debug("rolecall: cache entry %s unreadable (%s): miss", path.name, exc.strerror)
        return None
    with os.fdopen(fd, "rb") as handle:
        problem = _private(os.fstat(handle.fileno()))
        if problem is not None:
            logger.debug("rolecall: cache entry %s refused, %s: miss", path.name, problem)
            return None
        data = handle.read(1 << 16)
    try:
        return _decode(data)
    except (ValueError, KeyError, TypeError):
        logger.debug("rolecall: cache entry %s is corrupt: miss", path.name)
        return None


def _write(folder: Path, key: str, entry: Entry) -> None:
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_encode(entry))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, folder / f"{key}.json")
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _prune(folder: Path, keep: str) -> None:
    """Remove expired entries (and their lock files), and temp files a crash left behind."""
    now = datetime.now(timezone.utc)
    for path in folder.iterdir():
        try:
            if path.name.startswith(".tmp-"):
                if time.time() - path.stat().st_mtime > 3600:
                    path.unlink()
                continue
            if path.suffix != ".json" or path.stem == keep:
                continue
            entry = _read(path)
            if entry is None or entry.remaining(now) > 0:
                continue
            lock = path.with_suffix(".lock")
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


def lookup(key: str) -> Entry | None:
    """A fresh entry for ``key`` from memory or disk, without fetching (and without botocore)."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh():
        return entry
    entry = _read(directory() / f"{key}.json")
    return entry if entry is not None and entry.fresh() else None


_entries: dict[str, Entry] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def get(key: str, fetch: Callable[[], Entry], label: str = "", persist: bool = True) -> Entry:
    """A fresh entry for ``key``. ``fetch`` runs at most once at a time per key: in this process,
    and, when ``persist``, across every process that shares the disk cache."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh():
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    with _lock_for(key):
        entry = _entries.get(key)
        if entry is not None and entry.fresh():
            logger.debug("rolecall: %s: memory cache hit, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        folder = directory() if persist else None
        if folder is None or not _ready(folder):
            logger.debug("rolecall: %s: cache miss (disk cache off)", label)
            entry = fetch()
        else:
            entry = _get_shared(folder, key, fetch, label)
        _entries[key] = entry
        return entry


def _get_shared(folder: Path, key: str, fetch: Callable[[], Entry], label: str) -> Entry:
    path = folder / f"{key}.json"
    entry = _read(path)
    if entry is not None and entry.fresh():
        logger.debug("rolecall: %s: disk cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    with filelock.hold(folder / f"{key}.lock"):
        entry = _read(path)  # another process may have fetched while we waited
        if entry is not None and entry.fresh():
            logger.debug("rolecall: %s: disk cache hit after wait, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        logger.debug("rolecall: %s: cache miss", label)
        entry = fetch()
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
    for path in folder.glob("*.json"):
        if keys is not None and path.stem not in keys:
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
        filelock.remove(path.with_suffix(".lock"))
    return removed


def forget_memory() -> None:
    """Forget the in-process entries only (tests; a fresh process starts like this)."""
    _entries.clear()
