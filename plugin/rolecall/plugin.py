"""The botocore initializer: what rolecall does to every new botocore Session.

1. Add the rolecall profiles to the session's profile map (region only, never role_arn), so that
   ``AWS_PROFILE=prod`` and ``profile_name="prod"`` work for profiles that exist only in roles.toml.
2. Wrap the lazy ``credential_provider`` component: botocore's own resolver, with
   :class:`RolecallProvider` inserted right before ``assume-role``. Environment keys therefore still
   win unless a profile was passed explicitly, exactly as botocore decides.

It runs inside ``Session.__init__``: it must never raise. A broken roles.toml surfaces later, from
the provider, when credentials are resolved.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rolecall import config
from rolecall._bootstrap import disabled

__all__ = ["add_profiles", "initialize", "left_alone"]

logger = logging.getLogger("rolecall")
_warned: set[str] = set()
_internal: contextvars.ContextVar[bool] = contextvars.ContextVar("rolecall_internal", default=False)


@contextmanager
def left_alone() -> Iterator[None]:
    """Sessions created in this block (rolecall's own, for source credentials and STS) are not
    touched by the initializer; their creator calls :func:`add_profiles` itself."""
    token = _internal.set(True)
    try:
        yield
    finally:
        _internal.reset(token)


def initialize(session: Any) -> None:
    """botocore initializer (see the module docstring). Never raises."""
    try:
        _initialize(session)
    except Exception:
        logger.debug("rolecall: initializer failed", exc_info=True)


def _initialize(session: Any) -> None:
    if _internal.get() or disabled():
        return
    if type(session).__module__.partition(".")[0] == "aiobotocore":
        # aiobotocore awaits every provider: a sync provider in its chain would break all of its
        # programs, managed profile or not. Left alone until rolecall has an async provider.
        return
    if add_profiles(session):
        _wrap_resolver(session)


def add_profiles(session: Any) -> bool:
    """Make the roles.toml profiles known to ``session``; False when there is no roles.toml.
    Costs a stat while the file is unchanged. Never raises."""
    path = config.locate()
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            logger.warning("rolecall: %s is invalid; credentials resolved through it will fail "
                           "(ROLECALL_DISABLE=1 switches rolecall off):\n%s", path, exc)
        _add_names(session, exc.declared)
        return True
    if loaded is None:
        return False  # no roles.toml: rolecall does nothing
    _add_profiles(session, loaded)
    return True


def _profile_map(session: Any) -> dict[str, dict[str, Any]] | None:
    try:
        profiles: dict[str, dict[str, Any]] = session.full_config["profiles"]
    except Exception:  # noqa: BLE001 - a broken ~/.aws/config: botocore reports it itself, later
        return None
    return profiles


def _add_profiles(session: Any, loaded: config.Config) -> None:
    """Make roles.toml profiles known to botocore, never overriding what the AWS files say."""
    profiles = _profile_map(session)
    if profiles is None:
        return
    for name, profile in loaded.profiles.items():
        entry = profiles.setdefault(name, {})
        if profile.region and "region" not in entry:
            entry["region"] = profile.region


def _add_names(session: Any, names: tuple[str, ...]) -> None:
    """A broken roles.toml: its profiles still exist, so using one raises its ConfigError."""
    profiles = _profile_map(session)
    if profiles is None:
        return
    for name in names:
        profiles.setdefault(name, {})


def _wrap_resolver(session: Any) -> None:
    original = _deferred_factory(session)
    if original is None:
        return

    def create_resolver() -> Any:
        resolver = original()
        _insert_provider(session, resolver)
        return resolver

    session.lazy_register_component("credential_provider", create_resolver)


def _deferred_factory(session: Any) -> Callable[[], Any] | None:
    """botocore's factory for the lazy credential resolver (read from the component locator)."""
    locator = getattr(session, "_components", None)
    deferred = getattr(locator, "_deferred", None)
    if isinstance(deferred, dict) and "credential_provider" in deferred:
        factory: Callable[[], Any] = deferred["credential_provider"]
        return factory
    built = getattr(locator, "_components", None)
    if isinstance(built, dict) and "credential_provider" in built:
        resolver = built["credential_provider"]
        return lambda: resolver
    return None


def _insert_provider(session: Any, resolver: Any) -> None:
    from rolecall.provider import RolecallProvider

    providers = getattr(resolver, "providers", None)
    if not isinstance(providers, list) or any(isinstance(p, RolecallProvider) for p in providers):
        return
    profile = session.get_config_variable("profile") or "default"
    provider = RolecallProvider(profile_name=profile)
    names = [getattr(p, "METHOD", None) for p in providers]
    if "assume-role" in names:
        providers.insert(names.index("assume-role"), provider)
    elif "env" in names:
        providers.insert(names.index("env") + 1, provider)
    else:
        providers.insert(0, provider)
