"""Roles from code and from the environment, on the same path as roles.toml profiles.

``rolecall.credentials(role_arn, **options)`` and ``rolecall.assume(role_arn, **options)`` take the
keys of a roles.toml profile as keyword arguments (checked by the same rules, named as arguments in
messages), plus ``session=`` for source credentials held by an existing boto3 or botocore Session.
``ROLECALL_ROLE_ARN`` (and ``ROLECALL_ROLE_SESSION_NAME``, ``ROLECALL_EXTERNAL_ID``,
``ROLECALL_DURATION_SECONDS``) makes every Session whose profile roles.toml does not declare assume
that role on top of what botocore resolves for it. All of them build the same profile record as
roles.toml and share the cache key rules, the disk cache, the single flight and the refresh windows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from botocore.credentials import CredentialProvider

from rolecall import config
from rolecall.provider import RoleCredentials

__all__ = ["AioEnvironmentRoleProvider", "EnvironmentRoleProvider", "credentials", "for_role",
           "session"]

ROLE_ARN_VARIABLE = "ROLECALL_ROLE_ARN"
# Variable -> roles.toml key. Only these: the CI case (keys in the environment, one role).
ENVIRONMENT = {
    ROLE_ARN_VARIABLE: "role_arn",
    "ROLECALL_ROLE_SESSION_NAME": "role_session_name",
    "ROLECALL_EXTERNAL_ID": "external_id",
    "ROLECALL_DURATION_SECONDS": "duration_seconds",
}
_IN_CODE = "rolecall.assume()"


def credentials(role_arn: str, *, session: Any = None, **options: Any) -> RoleCredentials:
    """Refreshable botocore credentials for ``role_arn``; nothing is fetched until first use.

    ``options`` are roles.toml keys; without a source option (``source_profile``,
    ``credential_source`` or ``session``) the source is botocore's default chain, as it resolves
    without rolecall. Raises :class:`rolecall.ConfigError` for a bad option.
    """
    if session is not None and ("source_profile" in options or "credential_source" in options):
        raise config.ConfigError([config.Problem(
            _IN_CODE, None, "session", "session, source_profile and credential_source exclude "
            "each other; keep one")])
    loaded, name = for_role(role_arn, _IN_CODE, session=session, **options)
    return RoleCredentials(name, loaded)


def for_role(role_arn: str, where: str, *, session: Any = None,
             **options: Any) -> tuple[config.Config, str]:
    """The config and profile name that stand for ``role_arn`` with ``options`` (``where``
    names the caller in messages: ``rolecall.assume()``, ``--role-arn``)."""
    declared: config.Config | None = None
    if isinstance(options.get("source_profile"), str):
        declared = config.load()  # a source_profile roles.toml declares: chaining
    profile = _profile({"role_arn": role_arn, **options}, where, declared)
    sources = {}
    if session is not None:
        sources[profile.name] = _source_of(session.get_credentials, "the session passed in")
    return _config(profile, declared, sources), profile.name


def session(role_arn: str, *, session: Any = None, **options: Any) -> Any:
    """A boto3 Session that assumes ``role_arn`` (see :func:`credentials`)."""
    import boto3
    from botocore.credentials import CredentialResolver

    from rolecall import sessions

    refreshable = credentials(role_arn, session=session, **options)
    core = sessions.InternalSession()  # ours: the initializer leaves it alone
    core.register_component("credential_provider", CredentialResolver([_Fixed(refreshable)]))
    region = options.get("region") or (session.region_name if hasattr(session, "region_name")
                                       else None)
    return boto3.Session(botocore_session=core, region_name=region)


def from_environment(source: Callable[[], Any]) -> Any:
    """The credentials ``ROLECALL_ROLE_ARN`` asks for, signed by what ``source`` resolves (the
    session's own chain, without rolecall). Raises ConfigError naming the variable."""
    loaded, name = environment_config(source)
    return RoleCredentials(name, loaded)


def environment_config(source: Callable[[], Any]) -> tuple[config.Config, str]:
    """The config and profile name that stand for ``ROLECALL_ROLE_ARN`` and its companions,
    with ``source`` (botocore credentials, or None) signing the AssumeRole call."""
    options: dict[str, Any] = {key: os.environ[variable] for variable, key in ENVIRONMENT.items()
                               if os.environ.get(variable)}
    if "duration_seconds" in options:
        value = str(options["duration_seconds"]).strip()
        options["duration_seconds"] = int(value) if value.isdigit() else value
    try:
        profile = _profile(options, config.ENVIRONMENT, None)
    except config.ConfigError as exc:
        names = {key: variable for variable, key in ENVIRONMENT.items()}
        raise config.ConfigError([config.Problem(config.ENVIRONMENT, None,
                                                 names.get(str(p.key), p.key), p.message)
                                  for p in exc.problems]) from None
    described = _source_of(source, "the session's own credential chain")
    return _config(profile, None, {profile.name: described}), profile.name


def _profile(options: Mapping[str, Any], where: str,
             declared: config.Config | None) -> config.Profile:
    from rolecall import _validate

    return _validate.from_options(options, where, declared.profiles if declared else None)


def _source_of(load: Callable[[], Any], description: str) -> config.Source:
    def identity() -> str:
        loaded = load()
        return "none" if loaded is None else str(loaded.get_frozen_credentials().access_key)

    return config.Source(identity, load, description)


def _config(profile: config.Profile, declared: config.Config | None,
            sources: dict[str, config.Source]) -> config.Config:
    profiles = dict(declared.profiles) if declared else {}
    profiles[profile.name] = profile
    return config.Config(
        path=profile.name, profiles=MappingProxyType(profiles),
        errors=declared.errors if declared else MappingProxyType({}),
        sources=MappingProxyType(sources))


class _Fixed(CredentialProvider):
    """A botocore credential provider that hands out one credentials object."""

    METHOD = "rolecall"
    CANONICAL_NAME = "custom-rolecall"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


class EnvironmentRoleProvider(CredentialProvider):
    """``ROLECALL_ROLE_ARN``: assumes that role, signed by what the rest of the session's own
    resolver finds (environment keys first, then the profile, then container and instance roles:
    exactly what botocore resolves for that session without rolecall)."""

    METHOD = "rolecall-role-arn"
    CANONICAL_NAME = "custom-rolecall-role-arn"

    def __init__(self, source: Callable[[], Any]) -> None:
        super().__init__()
        self._source = source

    def load(self) -> Any:
        return from_environment(self._source)


class AioEnvironmentRoleProvider:
    """``ROLECALL_ROLE_ARN`` in an aiobotocore session: the same, signed by the rest of that
    session's (async) chain. The fetch runs in a worker thread like every aiobotocore fetch; the
    source is resolved on the event loop whenever the worker asks for it (first fetch, refresh)."""

    METHOD = EnvironmentRoleProvider.METHOD
    CANONICAL_NAME = EnvironmentRoleProvider.CANONICAL_NAME

    def __init__(self, chain: Any) -> None:
        self._chain = chain  # an aiobotocore credential resolver without this provider

    async def load(self) -> Any:
        import asyncio

        from botocore.credentials import Credentials

        from rolecall.aioprovider import AioRoleCredentials

        loop = asyncio.get_running_loop()

        async def frozen() -> Any:
            found = await self._chain.load_credentials()
            return None if found is None else await found.get_frozen_credentials()

        def source() -> Any:  # in the worker thread, while the event loop waits for it
            got = asyncio.run_coroutine_threadsafe(frozen(), loop).result(timeout=120)
            return None if got is None else Credentials(got.access_key, got.secret_key,
                                                        got.token)

        loaded, name = await asyncio.to_thread(environment_config, source)
        return AioRoleCredentials(name, loaded)
