"""rolecall's own botocore sessions: for source credentials and for its STS calls.

They are botocore exactly as without rolecall (the initializer leaves instances of
:class:`InternalSession` alone), except that they know the profiles of the :class:`Config` they are
made for, so that a profile declared only in roles.toml has its settings (region, retries) and
exists. Nothing here looks up a roles.toml of its own: the caller passes the one it uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import json.decoder
import json.scanner
import os
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

import botocore.session

from rolecall.config import Config

__all__ = ["COOPERATIVE", "InternalSession", "adopt_loader", "internal"]


# The one botocore data loader every internal session shares ("loader"), once there is one.
_shared: dict[str, Any] = {}
# Set by the aiobotocore provider around its worker-thread fetch: an event loop is waiting.
COOPERATIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("rolecall_cooperative",
                                                                  default=False)


class InternalSession(botocore.session.Session):
    """A botocore Session that the rolecall initializer does not touch."""

    rolecall_internal = True


def internal(config: Config | None, profile: str | None = None) -> InternalSession:
    """A session resolving ``profile`` as botocore does without rolecall, calling STS on regional
    endpoints, and knowing ``config``'s profiles."""
    session = InternalSession(profile=profile)
    if config is not None:
        # A broken AWS config: botocore reports it itself, where it is used.
        with contextlib.suppress(Exception):
            _declare(session.full_config["profiles"], config)
    session.set_config_variable("sts_regional_endpoints", "regional")
    # One data loader for all of them: each new loader parses botocore's 1 MB endpoints.json
    # again, holding the GIL for 10-20 ms (an event loop waiting on a fetch stalls for as long).
    loader = _shared.get("loader")
    if loader is not None:
        session.register_component("data_loader", loader)
    else:
        with contextlib.suppress(Exception):  # a profile botocore cannot find: it says so later
            loader = _shared["loader"] = session.get_component("data_loader")
            if COOPERATIVE.get():
                loader.file_loader = _CooperativeFiles()
    return session


class _CooperativeFiles:
    """botocore's JSON file loader, parsing with the pure-Python decoder: about 5 times slower,
    but it lets the GIL go every few milliseconds, where the C decoder holds it through all of
    endpoints.json (15-20 ms here): an event loop waiting on rolecall's first fetch keeps ticking.
    Only for the first fetch of a process that has no loader of its own yet: the data stays cached
    in the shared loader."""

    _EXTENSIONS = (".json", ".json.gz")

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in self._EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for ext in self._EXTENSIONS:
            if os.path.isfile(file_path + ext):
                import gzip  # only here: not on the path of every Session

                opener = gzip.open if ext.endswith(".gz") else open
                with opener(file_path + ext, "rb") as handle:
                    payload = handle.read().decode("utf-8")
                return json.loads(payload, cls=_PythonDecoder, object_pairs_hook=OrderedDict)
        return None


class _PythonDecoder(json.JSONDecoder):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.parse_string = json.decoder.py_scanstring  # type: ignore[attr-defined]
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]


def adopt_loader(session: Any) -> None:
    """Share the data loader a program's session has already built (it has parsed botocore's
    data files), so that rolecall's first fetch in the process parses nothing again."""
    if "loader" not in _shared:
        built = getattr(getattr(session, "_components", None), "_components", None)
        if isinstance(built, dict) and built.get("data_loader") is not None:
            _shared["loader"] = built["data_loader"]


def _declare(profiles: MutableMapping[str, Any], config: Config) -> None:
    """Make ``config``'s profiles known in a botocore profile map, as the initializer does."""
    for name, profile in config.profiles.items():
        entry = profiles.setdefault(name, {})
        if profile.region and "region" not in entry:
            entry["region"] = profile.region
    for name in config.errors:
        profiles.setdefault(name, {})
