"""What rolecall places in a resolver besides its plain provider: the aiobotocore provider (or,
where it cannot run, a stand-in that raises for managed profiles) and the ``ROLECALL_ROLE_ARN``
provider. Imported by the Session layer only for those sessions, so that every other Session
pays nothing for them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["aio_provider", "role_arn"]


def role_arn(resolver: Any, aio: bool) -> None:
    """``ROLECALL_ROLE_ARN``: first in the chain, signed by the rest of the chain."""
    first = resolver.providers[0].METHOD
    if aio:
        try:
            from aiobotocore.credentials import (  # type: ignore[import-untyped]
                AioCredentialResolver,
            )

            from rolecall import aioprovider  # noqa: F401 - the supported-range check
            from rolecall.api import AioEnvironmentRoleProvider
        except ImportError as exc:
            resolver.insert_before(first, _Unsupported(None, str(exc)))
            return
        chain = AioCredentialResolver(list(resolver.providers))
        resolver.insert_before(first, AioEnvironmentRoleProvider(chain))
        return
    from botocore.credentials import CredentialResolver

    from rolecall.api import EnvironmentRoleProvider

    chain = CredentialResolver(list(resolver.providers))
    resolver.insert_before(first, EnvironmentRoleProvider(chain.load_credentials))


def aio_provider(session: Any, profile: str) -> Any:
    """rolecall's async provider for an aiobotocore session, or the stand-in that raises."""
    from rolecall import sessions

    # The program's client has parsed botocore's data files: rolecall's fetch, in a worker
    # thread beside the event loop, need not parse them again.
    sessions.adopt_loader(session)
    try:
        from rolecall.aioprovider import AioRolecallProvider
    except ImportError as exc:
        return _Unsupported(profile, str(exc))
    return AioRolecallProvider(profile_name=profile)


class _Unsupported:
    """In an aiobotocore resolver where rolecall's async provider cannot run: a managed profile
    raises (never a silent fall-through to its source's keys); others resolve as without it."""

    METHOD = "rolecall"
    CANONICAL_NAME = "custom-rolecall"

    def __init__(self, profile_name: str | None, reason: str) -> None:
        self.profile_name = profile_name  # None: every profile (ROLECALL_ROLE_ARN)
        self.reason = reason

    async def load(self) -> None:
        from rolecall import config

        if self.profile_name is None or config.managing(self.profile_name) is not None:
            from botocore.exceptions import CredentialRetrievalError

            what = (f"profile {self.profile_name!r} is declared in roles.toml"
                    if self.profile_name else "ROLECALL_ROLE_ARN is set")
            raise CredentialRetrievalError(
                provider=self.METHOD,
                error_msg=f"{what}, but rolecall cannot serve this aiobotocore session: "
                          f"{self.reason}")
