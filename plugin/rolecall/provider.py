"""``RolecallProvider``: a botocore credential provider for the profiles roles.toml declares.

It reads like any botocore provider: a ``METHOD`` and a stateless ``load()`` that botocore may call
any number of times. ``load()`` returns None for profiles rolecall does not manage, so botocore
carries on exactly as without rolecall; for managed ones it returns refreshable credentials that
fetch nothing until first used.

A new process's first ``load()`` usually finds its credentials through the cache's index
(:func:`rolecall.cache.recall`), which holds only while roles.toml and everything the cache
key depends on are unchanged: then no record of roles.toml is built and nothing but the index and
the entry is read. Anything else takes the full path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.credentials import (
    CredentialProvider,
    DeferredRefreshableCredentials,
    RefreshableCredentials,
)

from rolecall import _files, cache
from rolecall.temporary import utc_now

if TYPE_CHECKING:
    from rolecall.config import Config
    from rolecall.temporary import TemporaryCredentials

__all__ = ["RoleCredentials", "RolecallProvider"]

logger = logging.getLogger("rolecall")


class RoleCredentials(DeferredRefreshableCredentials):
    """Refreshable credentials for one rolecall profile.

    Unlike botocore's fixed 15/10-minute windows, the refresh windows follow the lifetime of the
    credentials, so a 900-second role is not refreshed on every request. ``config`` is the
    roles.toml (or the in-code record) the profile comes from; without it, roles.toml at
    ``config_path`` is read when the credentials are first refreshed. ``warm``: credentials
    already found (the index hit), handed out at first use without another lookup.
    """

    def __init__(self, profile: str, config: Config | None = None, *,
                 config_path: Path | None = None, warm: TemporaryCredentials | None = None) -> None:
        self._profile = profile
        self._config = config
        self._config_path = config_path
        if warm is None:
            super().__init__(refresh_using=self._metadata, method=RolecallProvider.METHOD,
                             time_fetcher=utc_now)
            return
        # Credentials in hand: start as botocore's RefreshableCredentials would with them, the
        # expiry as a datetime (a refresh's text expiry goes through dateutil, whose first use
        # costs ~0.2 ms). account_id: botocore >= 1.35 only.
        arguments = (warm.access_key, warm.secret_key, warm.token, warm.expiry, self._metadata,
                     RolecallProvider.METHOD)
        try:
            RefreshableCredentials.__init__(self, *arguments, time_fetcher=utc_now,
                                            account_id=warm.account_id)
        except TypeError:
            RefreshableCredentials.__init__(self, *arguments, time_fetcher=utc_now)
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = warm.windows()

    def _metadata(self) -> dict[str, Any]:
        entry = self._resolve()
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = entry.windows()
        return entry.metadata()

    def _resolve(self) -> TemporaryCredentials:
        # The cache and STS machinery: for managed profiles only, and past the index hit.
        from rolecall import config, resolve

        if self._config is None:
            loaded = config.managing(self._profile, self._config_path)
            if loaded is None:
                from botocore.exceptions import CredentialRetrievalError

                raise CredentialRetrievalError(
                    provider=RolecallProvider.METHOD,
                    error_msg=f"profile {self._profile!r} is no longer declared in "
                              f"{self._config_path or config.locate()}")
            self._config = loaded
        return resolve.credentials(self._config, self._profile)

    def __repr__(self) -> str:
        expiry_time = getattr(self, "_expiry_time", None)
        expiry = expiry_time.isoformat() if expiry_time else "not fetched yet"
        return f"<RoleCredentials profile={self._profile!r} expiry={expiry}>"


class RolecallProvider(CredentialProvider):
    """Assumes the role roles.toml declares for ``profile_name``; None for other profiles.

    ``config_path`` defaults to ``ROLECALL_CONFIG`` or the platform's config directory, looked up at
    each ``load()``. Raises :class:`rolecall.ConfigError` where the profile is declared but cannot
    be used (see :func:`rolecall.config.managing`).
    """

    METHOD = "rolecall"
    # botocore asks providers it does not ship to prefix their canonical names with "custom";
    # canonical names only matter to credential_source, which names botocore's own providers.
    CANONICAL_NAME = "custom-rolecall"

    def __init__(self, profile_name: str | None = None,
                 config_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self._profile_name = profile_name or "default"
        self._config_path = None if config_path is None else Path(config_path)

    @property
    def profile_name(self) -> str:
        return self._profile_name

    def load(self) -> RoleCredentials | None:
        path = _files.config_file() if self._config_path is None else str(self._config_path)
        warm = cache.recall(self._profile_name, path)
        if warm is not None:
            logger.debug("rolecall: %s: disk cache hit through the index (roles.toml %s "
                         "unchanged), expires %s", self._profile_name, path, warm.expiry)
            return RoleCredentials(self._profile_name, config_path=self._config_path, warm=warm)
        from rolecall import config

        loaded = config.managing(self._profile_name, self._config_path)
        if loaded is None:
            return None
        logger.debug("rolecall: profile %s is managed by %s", self._profile_name, loaded.path)
        return RoleCredentials(self._profile_name, loaded)

    def __repr__(self) -> str:
        return f"RolecallProvider(profile_name={self._profile_name!r})"
