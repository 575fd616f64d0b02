"""The validated roles.toml, kept for the next process: so that tomllib and validation run once
per edit, not once per process.

One JSON file per roles.toml path in the cache folder, written like every cache file (0600, atomic,
only into a private folder of this user's) and trusted only under the same checks. It is used only
while the file's identity (size, mtime, ctime, inode, device) and rolecall's version are exactly
those it was made from; anything else, or anything odd in it, is a miss and the file is parsed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rolecall import __version__, _files, locations
from rolecall.config import Config, Problem, Profile

__all__ = ["load", "save"]

logger = logging.getLogger("rolecall")
_FORMAT = 1
_TUPLES = ("mfa_token_command", "policy_arns", "transitive_tag_keys")


def _path(config_path: str) -> str:
    digest = hashlib.sha256(os.path.abspath(config_path).encode()).hexdigest()[:24]
    return os.path.join(locations.cache_dir(), f"config-{digest}.snapshot")


def load(config_path: str, identity: tuple[int, ...]) -> Config | None:
    """The snapshot of ``config_path`` as it is now, or None."""
    doc, problem = _files.read_json(_path(config_path))
    if problem is not None or not isinstance(doc, dict):
        return None
    if (doc.get("format"), doc.get("rolecall"), doc.get("path"), doc.get("identity")) != \
            (_FORMAT, __version__, config_path, list(identity)):
        return None
    try:
        return _decode(doc, config_path)
    except (TypeError, ValueError, KeyError, AttributeError):
        logger.debug("rolecall: config snapshot for %s is corrupt: parsing the file", config_path)
        return None


def _decode(doc: Mapping[str, Any], config_path: str) -> Config:
    profiles = {}
    for name, fields in doc["profiles"].items():
        values = dict(fields)
        for key in _TUPLES:
            if values.get(key) is not None:
                values[key] = tuple(str(item) for item in values[key])
        values["tags"] = tuple((str(k), str(v)) for k, v in values.get("tags", ()))
        profile = Profile(**values)
        if profile.name != name or not isinstance(profile.role_arn, str):
            raise ValueError(name)
        profiles[name] = profile
    errors = {name: tuple(Problem(*problem) for problem in problems)
              for name, problems in doc["errors"].items()}
    problems = tuple(Problem(*problem) for problem in doc["problems"])
    return Config(config_path, MappingProxyType(profiles), MappingProxyType(errors), problems)


def save(config_path: str, identity: tuple[int, ...], config: Config) -> None:
    """Keep ``config`` for the next process, where the cache folder is private and ours."""
    folder = locations.cache_dir()
    try:
        if not os.path.isabs(folder):
            return
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if _files.distrust(os.stat(folder, follow_symlinks=False)) is not None:
            return  # a symbolic link, or not private: cache.py decides about it, not this
        _files.write_json(folder, os.path.basename(_path(config_path)), {
            "format": _FORMAT,
            "rolecall": __version__,
            "path": config_path,
            "identity": list(identity),
            "profiles": {name: profile._asdict() for name, profile in config.profiles.items()},
            "errors": {name: [list(p) for p in problems]
                       for name, problems in config.errors.items()},
            "problems": [list(p) for p in config.problems],
        })
    except OSError as exc:
        logger.debug("rolecall: config snapshot not written (%s)", exc.strerror)
