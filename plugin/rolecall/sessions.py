"""rolecall's own botocore sessions: for source credentials and for its STS calls.

They are botocore exactly as without rolecall (the initializer leaves instances of
:class:`InternalSession` alone), except that they know the profiles of the :class:`Config` they are
made for, so that a profile declared only in roles.toml has its settings (region, retries) and
exists. Nothing here looks up a roles.toml of its own: the caller passes the one it uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import MutableMapping
from typing import Any

import botocore.session

from rolecall.config import Config

__all__ = ["InternalSession", "adopt_loader", "internal"]


_loader: Any = None


class InternalSession(botocore.session.Session):
    """A botocore Session that the rolecall initializer does not touch."""

    rolecall_internal = True


def internal(config: Config | None, profile: str | None = None) -> InternalSession:
    """A session resolving ``profile`` as botocore does without rolecall, calling STS on regional
    endpoints, and knowing ``config``'s profiles."""
    global _loader
    session = InternalSession(profile=profile)
    if config is not None:
        # A broken AWS config: botocore reports it itself, where it is used.
        with contextlib.suppress(Exception):
            _declare(session.full_config["profiles"], config)
    session.set_config_variable("sts_regional_endpoints", "regional")
    # One data loader for all of them: each new loader parses botocore's 1 MB endpoints.json
    # again, holding the GIL for 10-20 ms (an event loop waiting on a fetch stalls for as long).
    if _loader is not None:
        session.register_component("data_loader", _loader)
    else:
        with contextlib.suppress(Exception):  # a profile botocore cannot find: it says so later
            _loader = session.get_component("data_loader")
    return session


def adopt_loader(session: Any) -> None:
    """Share the data loader a program's session has already built (it has parsed botocore's
    data files), so that rolecall's first fetch in the process parses nothing again."""
    global _loader
    if _loader is None:
        built = getattr(getattr(session, "_components", None), "_components", None)
        if isinstance(built, dict) and built.get("data_loader") is not None:
            _loader = built["data_loader"]


def _declare(profiles: MutableMapping[str, Any], config: Config) -> None:
    """Make ``config``'s profiles known in a botocore profile map, as the initializer does."""
    for name, profile in config.profiles.items():
        entry = profiles.setdefault(name, {})
        if profile.region and "region" not in entry:
            entry["region"] = profile.region
    for name in config.errors:
        profiles.setdefault(name, {})
