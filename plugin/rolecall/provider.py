"""``RolecallProvider``: a botocore credential provider for the profiles roles.toml declares.

It reads like any botocore provider: a ``METHOD`` and a stateless ``load()`` that botocore may call
any number of times. ``load()`` returns None for profiles rolecall does not manage, so botocore
carries on exactly as without rolecall; for managed ones it returns refreshable credentials that
fetch nothing until first used.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials

from rolecall import config

__all__ = ["RoleCredentials", "RolecallProvider"]

logger = logging.getLogger("rolecall")


class RoleCredentials(DeferredRefreshableCredentials):
    """Refreshable credentials for one rolecall profile.

    Unlike botocore's fixed 15/10-minute windows, the refresh windows follow the lifetime of the
    credentials, so a 900-second role is not refreshed on every request.
    """

    def __init__(self, profile: str, config_: config.Config) -> None:
        super().__init__(refresh_using=self._metadata, method=RolecallProvider.METHOD)
        self._profile = profile
        self._config = config_

    def _metadata(self) -> dict[str, Any]:
        from rolecall import resolve  # the cache and STS machinery: for managed profiles only

        entry = resolve.credentials(self._config, self._profile)
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = entry.windows()
        return entry.metadata()

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
        loaded = config.managing(self._profile_name, self._config_path)
        if loaded is None:
            return None
        logger.debug("rolecall: profile %s is managed by %s", self._profile_name, loaded.path)
        return RoleCredentials(self._profile_name, loaded)

    def __repr__(self) -> str:
        return f"RolecallProvider(profile_name={self._profile_name!r})"
