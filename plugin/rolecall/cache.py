"""Where assumed-role credentials are kept between uses, and how long they are good for.

One job: given a cache key and a way to fetch, hand out credentials that are fresh, fetching at
most once at a time per key (single flight). Refresh windows scale with the credentials' lifetime,
so a 900-second role is not refreshed on every request the way botocore's fixed 15/10-minute
windows would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["ADVISORY_MAX", "MANDATORY_MAX", "Entry", "clear", "get", "make_key", "windows"]

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


_entries: dict[str, Entry] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def get(key: str, fetch: Callable[[], Entry], label: str = "") -> Entry:
    """A fresh entry for ``key``; ``fetch`` runs at most once at a time per key in this process."""
    entry = _entries.get(key)
    if entry is not None and entry.fresh():
        logger.debug("rolecall: %s: memory cache hit, expires %s", label, entry.expiry.isoformat())
        return entry
    with _lock_for(key):
        entry = _entries.get(key)
        if entry is not None and entry.fresh():
            logger.debug("rolecall: %s: memory cache hit after wait, expires %s", label,
                         entry.expiry.isoformat())
            return entry
        logger.debug("rolecall: %s: cache miss", label)
        entry = fetch()
        _entries[key] = entry
        return entry


def clear() -> None:
    """Forget every in-process entry (the next use fetches again)."""
    _entries.clear()
