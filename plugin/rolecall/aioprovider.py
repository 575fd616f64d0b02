"""``AioRolecallProvider``: the async twin of :mod:`rolecall.provider`, for aiobotocore sessions.

aiobotocore (and so s3fs, pandas ``s3://`` and Dask) awaits every provider's ``load()`` and every
refresh, so it needs a provider of its own. This one decides exactly as the sync provider does
(None for profiles rolecall does not manage; deferred refreshable credentials for managed ones)
and runs the sync path (cache, file lock, STS AssumeRole, MFA prompt) in a worker thread, so the
event loop never blocks. aiobotocore's own lock on its refreshable credentials makes concurrent
coroutines share one fetch; the disk cache shares it with other threads and processes.

Importing this module raises ImportError when the installed aiobotocore is outside the supported
range: the Session layer then puts a provider in its place that refuses managed profiles, so a
managed profile never silently falls through to its source's keys.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path
from typing import Any

import aiobotocore  # type: ignore[import-untyped]

from rolecall import config, resolve, sessions
from rolecall.temporary import utc_now

__all__ = ["AioRoleCredentials", "AioRolecallProvider"]

logger = logging.getLogger("rolecall")

# The oldest aiobotocore whose pinned botocore (1.27.59) has register_initializer (>= 1.27.12),
# and the first major release not yet known: its refresh machinery may differ.
MINIMUM = (2, 4, 0)
MAXIMUM = (4, 0, 0)  # exclusive
SUPPORTED = ">=2.4.0,<4"


def _version(text: str) -> tuple[int, ...]:
    """The leading numeric release of a version string, three parts ("2.4.0rc1" -> (2, 4, 0),
    "3.10" -> (3, 10, 0), "unknown" -> (0, 0, 0))."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts + [0] * (3 - len(parts)))


_INSTALLED = str(getattr(aiobotocore, "__version__", "unknown"))
if not MINIMUM <= _version(_INSTALLED) < MAXIMUM:
    raise ImportError(
        f"rolecall does not support aiobotocore {_INSTALLED} (supported: aiobotocore{SUPPORTED}); "
        "profiles declared in roles.toml cannot be used from aiobotocore sessions (s3fs, pandas "
        "s3://, Dask) until aiobotocore or rolecall is upgraded")

try:
    from aiobotocore.credentials import (  # type: ignore[import-untyped]
        AioDeferredRefreshableCredentials,
    )
except ImportError as exc:  # pragma: no cover - every supported release has it
    raise ImportError(f"rolecall does not support aiobotocore {_INSTALLED}: {exc}") from exc


class AioRoleCredentials(AioDeferredRefreshableCredentials):  # type: ignore[misc]
    """aiobotocore refreshable credentials for one rolecall profile; nothing fetched until used.

    The refresh windows follow the credentials' lifetime as in the sync
    :class:`rolecall.provider.RoleCredentials`; aiobotocore's asyncio lock around refreshes makes
    concurrent coroutines share one fetch.
    """

    def __init__(self, profile: str, config_: config.Config) -> None:
        super().__init__(refresh_using=self._metadata, method=AioRolecallProvider.METHOD,
                         time_fetcher=utc_now)
        self._profile = profile
        self._config = config_

    async def _metadata(self) -> dict[str, Any]:
        # The sync path (memory cache, disk cache under a file lock, STS, MFA) in a worker thread.
        token = sessions.COOPERATIVE.set(True)  # to_thread copies this context to the worker
        try:
            entry = await asyncio.to_thread(resolve.credentials, self._config, self._profile)
        finally:
            sessions.COOPERATIVE.reset(token)
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = entry.windows()
        return entry.metadata()

    def __repr__(self) -> str:
        expiry_time = getattr(self, "_expiry_time", None)
        expiry = expiry_time.isoformat() if expiry_time else "not fetched yet"
        return f"<AioRoleCredentials profile={self._profile!r} expiry={expiry}>"


class AioRolecallProvider:
    """Assumes the role roles.toml declares for ``profile_name`` in aiobotocore sessions; None for
    other profiles, so aiobotocore carries on unchanged.

    ``config_path`` defaults to ``ROLECALL_CONFIG`` or the platform's config directory, looked up at
    each ``load()``. Raises :class:`rolecall.ConfigError` when the profile's roles.toml entry is
    invalid.
    """

    METHOD = "rolecall"
    CANONICAL_NAME = "custom-rolecall"

    def __init__(self, profile_name: str | None = None,
                 config_path: str | os.PathLike[str] | None = None) -> None:
        self._profile_name = profile_name or "default"
        self._config_path = None if config_path is None else Path(config_path)

    @property
    def profile_name(self) -> str:
        return self._profile_name

    async def load(self) -> AioRoleCredentials | None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio through httpx): no worker thread to wait on
            if config.managing(self._profile_name, self._config_path) is None:
                return None
            raise RuntimeError(
                f"rolecall: profile {self._profile_name!r} is declared in roles.toml, but this "
                "aiobotocore session does not run on asyncio; rolecall serves aiobotocore on "
                "asyncio only") from None
        # Reading roles.toml is file I/O: off the event loop too.
        loaded = await asyncio.to_thread(config.managing, self._profile_name, self._config_path)
        if loaded is None:
            return None
        logger.debug("rolecall: profile %s is managed by %s (aiobotocore)", self._profile_name,
                     loaded.path)
        return AioRoleCredentials(self._profile_name, loaded)

    def __repr__(self) -> str:
        return f"AioRolecallProvider(profile_name={self._profile_name!r})"
