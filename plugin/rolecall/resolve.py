"""Credentials for one rolecall profile, for the command line: the cache first, and botocore only
on a miss, so that ``rolecall credential-process`` answers a cache hit without importing it."""

from __future__ import annotations

from rolecall import cache, request
from rolecall.config import Config

__all__ = ["credentials"]


def credentials(config: Config, name: str, need: float = 0) -> cache.Entry:
    """Fresh credentials for ``name`` with more than ``need`` seconds left where the role's
    lifetime allows. Raises botocore's CredentialRetrievalError (rolecall's subclass) on failure."""
    if config.profiles[name].cache:
        entry = cache.lookup(request.cache_key(config, name), need)
        if entry is not None:
            return entry
    from rolecall import assume

    return assume.obtain(config, name, need)
