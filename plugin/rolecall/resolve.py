"""Credentials for one rolecall profile: the cache first (memory, then disk), and the STS path
(which imports botocore's session and client machinery) only on a miss. Used by the provider and
by the command line, whose cache hits never import botocore."""

from __future__ import annotations

from rolecall import cache, request
from rolecall.config import Config
from rolecall.temporary import TemporaryCredentials

__all__ = ["credentials"]


def credentials(config: Config, name: str, need: float = 0) -> TemporaryCredentials:
    """Fresh credentials for ``name`` with more than ``need`` seconds left where the role's
    lifetime allows. Raises botocore's CredentialRetrievalError (rolecall's subclass) on failure."""
    if config.profile(name).cache:
        entry = cache.lookup(request.cache_key(config, name), need, label=name)
        if entry is not None:
            return entry
    from rolecall import sts

    return sts.obtain(config, name, need)
