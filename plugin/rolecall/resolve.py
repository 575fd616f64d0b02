"""Fresh credentials for one rolecall profile: the one entry point of the provider, the async
provider, ``rolecall.assume``, the command line and a chained profile's parent.

The cache answers first (memory, then disk). Only a miss imports the STS machinery (botocore's
session and client) through :func:`_fetch`, so a cache hit costs no botocore import; the STS
module is handed this function for a chained profile's parent rather than importing it (no cycle).
A profile of a roles.toml on disk also leaves its index for the next process's hit path
(:func:`rolecall.cache.recall`).
"""

from __future__ import annotations

import os

from rolecall import cache, loops, request
from rolecall.cache import store
from rolecall.config import Config, Profile
from rolecall.temporary import TemporaryCredentials

__all__ = ["credentials"]


def credentials(config: Config, name: str, need: float = 0) -> TemporaryCredentials:
    """Fresh credentials for profile ``name`` with more than ``need`` seconds left where the
    role's lifetime allows. Raises :class:`rolecall.ConfigError` for a profile that cannot be used
    and :class:`rolecall.AssumeRoleError` (a botocore CredentialRetrievalError) on failure."""
    profile = config.profile(name)
    key = request.cache_key(config, name)
    looping = loops.in_chain(name)
    if looping and not profile.cache:
        raise _error(profile, loops.message(name))  # nothing to wait for: each would start another
    try:
        # An ancestor fetching this profile holds its lock: the wait is bounded, and a lock still
        # held after it means the ancestor is waiting for us. A stale entry (a process started
        # while its parent was fetching) finds the lock free and goes on.
        entry = store.get(key, lambda: _fetch(config, profile), label=name,
                          persist=profile.cache, need=need,
                          lock_timeout=loops.WAIT if looping else None)
    except store.LockTimeout:
        raise _error(profile, loops.message(name)) from None
    except store.SharedFailure as exc:
        raise _error(profile, str(exc)) from None
    if (profile.cache and config.identity is not None and name not in config.sources
            and os.path.isabs(config.path)):
        cache.remember(name, key, config.path, config.identity, request.KEY_ENVIRONMENT)
    return entry


def _fetch(config: Config, profile: Profile) -> TemporaryCredentials:
    from rolecall import sts  # botocore's session and client: on a miss only

    return sts.assume(config, profile, parent=credentials)


def _error(profile: Profile, message: str) -> Exception:
    from rolecall.sts import AssumeRoleError

    return AssumeRoleError(profile.name, profile.role_arn, message)
