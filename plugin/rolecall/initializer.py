"""The botocore initializer: what rolecall arranges on every new botocore (and aiobotocore) Session.

It runs inside ``Session.__init__``, where the program has not yet finished configuring the session
(``config_file``, ``credentials_file`` and ``profile`` may still be set), so it reads nothing and
never raises. It only arranges two things, and botocore triggers them lazily, as it does its own
work, from the session's configuration at that moment:

1. when botocore first builds the session's profile map: the roles.toml profiles are added to it
   (region only, never role_arn), so that ``AWS_PROFILE=prod`` and ``profile_name="prod"`` work for
   profiles that exist only in roles.toml;
2. when botocore first builds the session's credential resolver: the rolecall provider is placed in
   it with the resolver's own API, right before ``assume-role`` (environment keys still win unless a
   profile was passed explicitly, exactly as botocore decides).

A roles.toml problem is a warning here (one line per problem per process); it raises only where a
profile it touches resolves its credentials.
"""

from __future__ import annotations

import os

from rolecall import _files

# Imported with botocore in every process that imports it (rolecall._bootstrap): no more than it
# runs (typing and logging only where needed; each name bound here is work in every such process).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["initialize"]

# roles.toml path -> (its identity, {declared profile: its region}); None: no usable catalog
# because the file cannot be read (then every resolution through rolecall raises).
_catalogs: dict[str, tuple[list[int], dict[str, str | None] | None]] = {}


def initialize(session: Any) -> None:
    """botocore initializer (see the module docstring). Never raises."""
    try:
        if not getattr(session, "rolecall_internal", False):
            _arrange(session)
    except Exception:
        import logging

        logging.getLogger("rolecall").debug("rolecall: initializer failed", exc_info=True)


def _arrange(session: Any) -> None:
    build_profile_map: Callable[[], Any] = session._build_profile_map
    declared = False
    # One look at roles.toml per session: its profile map and its resolver see the same file.
    seen: list[dict[str, str | None] | None] = []

    def catalog() -> dict[str, str | None] | None:
        if not seen:
            seen.append(_catalog())
        return seen[0]

    def build_profile_map_with_roles() -> Any:
        nonlocal declared
        profiles = build_profile_map()
        if not declared:
            declared = True
            _declare(profiles, catalog())
        return profiles

    # An instance attribute, so only this session is affected; botocore calls it through self.
    session._build_profile_map = build_profile_map_with_roles
    locator = session._components
    create_resolver: Callable[[], Any] | None = locator._deferred.get("credential_provider")
    if create_resolver is None:
        return  # already built, or replaced by the program: not ours to change

    def create_resolver_with_rolecall() -> Any:
        resolver = create_resolver()
        profile = str(session.get_config_variable("profile") or "default")
        declared = catalog()
        if declared is not _NONE and (declared is None or profile in declared):
            _place(session, resolver, profile)
        elif os.environ.get("ROLECALL_ROLE_ARN"):  # first in the chain, signed by the rest
            from rolecall import _placement

            _placement.role_arn(resolver, aio=_is_aio(session))
        return resolver

    locator.lazy_register_component("credential_provider", create_resolver_with_rolecall)


_NONE: dict[str, str | None] = {}  # no roles.toml: rolecall has nothing to do


def _catalog() -> dict[str, str | None] | None:
    """The profiles roles.toml declares, with their regions; :data:`_NONE` without a roles.toml;
    None when it cannot be read. From memory or the snapshot: no record is built here."""
    path = _files.config_file()
    try:
        key = _files.identity(os.stat(path))
    except FileNotFoundError:
        return _NONE
    except OSError:
        return None
    cached = _catalogs.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    doc = _files.read_snapshot(path, key)
    catalog: dict[str, str | None] | None = None
    if doc is not None and not doc["problems"]:
        try:
            catalog = {str(name): fields.get("region") for name, fields in doc["profiles"].items()}
        except AttributeError:  # not what this version writes: parse the file instead
            catalog = None
    if catalog is None:  # after an edit: parse the file (which writes the snapshot)
        from rolecall import config

        catalog = config.catalog(path)
    _catalogs[path] = (key, catalog)
    return catalog


def _declare(profiles: Any, catalog: dict[str, str | None] | None) -> None:
    """Add the roles.toml profiles to a botocore profile map, never overriding the AWS files: a
    usable profile adds at most its region; a broken one is declared empty, so that using it
    raises its ConfigError rather than botocore's ProfileNotFound."""
    if not catalog or not isinstance(profiles, dict):
        return
    for name, region in catalog.items():
        entry = profiles.setdefault(name, {})
        if region and "region" not in entry:
            entry["region"] = region


def _place(session: Any, resolver: Any, profile: str) -> None:
    """Put the provider for the session's profile into its resolver, botocore's way."""
    if _is_aio(session):
        from rolecall import _placement

        provider = _placement.aio_provider(session, profile)
    else:
        from rolecall.provider import RolecallProvider

        provider = RolecallProvider(profile_name=profile)
    for method, insert in (("assume-role", "insert_before"), ("env", "insert_after")):
        try:
            getattr(resolver, insert)(method, provider)
        except Exception:  # noqa: BLE001, S112 - botocore's UnknownCredentialError: try the next
            continue
        return
    resolver.providers.insert(0, provider)


def _is_aio(session: Any) -> bool:
    return any(cls.__module__.partition(".")[0] == "aiobotocore" for cls in type(session).__mro__)
