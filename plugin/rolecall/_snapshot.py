"""The validated roles.toml, kept for the next process: so that tomllib and validation run once
per edit, not once per process.

One JSON file per roles.toml path in the cache folder, written like every cache file (0600, atomic,
only into a private folder of this user's) and trusted only under the same checks. It is used only
while the file's identity (size, mtime, ctime, inode, device) and rolecall's version are exactly
those it was made from; anything else is a miss and the file is parsed. This module knows the
container, not the records: :mod:`rolecall.config` fills and reads it, and the Session layer reads
the profile names and regions straight from it without building any record.
"""

from __future__ import annotations

import logging
import os
import zlib
from typing import Any

from rolecall import __version__, _files

__all__ = ["read", "save"]

logger = logging.getLogger("rolecall")
_FORMAT = 1
_MAX_CONFIG = 4 << 20  # config.MAX_BYTES (not imported: the Session path builds no record)


def _path(config_path: str) -> str:
    """One snapshot per roles.toml path. The name only spreads paths over files (a CRC: its first
    use costs nothing, where hashlib's first SHA-256 costs ~50 us on every process's first
    Session); the path inside the snapshot decides whether it is the right one."""
    absolute = os.path.abspath(config_path)
    digest = f"{zlib.crc32(absolute.encode()):08x}{len(absolute):04x}"
    return os.path.join(_files.cache_dir(), f"config-{digest}.snapshot")


# The last snapshot read per roles.toml path: the Session layer reads it for the profile names and
# the provider again for the records; once per process is enough.
_read: dict[str, tuple[list[int], dict[str, Any]]] = {}


def read(config_path: str, key: list[int]) -> dict[str, Any] | None:
    """The snapshot of ``config_path`` with identity ``key``, or None. Its ``profiles`` map names
    to their fields, ``errors`` names to problem lists, ``problems`` lists every problem."""
    seen = _read.get(config_path)
    if seen is not None and seen[0] == key:
        return seen[1]
    # A snapshot holds every profile: more than a cache entry, at most what roles.toml may hold.
    doc, problem = _files.read_json(_path(config_path), limit=4 * _MAX_CONFIG)
    if problem is not None or not isinstance(doc, dict):
        return None
    if (doc.get("format"), doc.get("rolecall"), doc.get("path"), doc.get("identity")) != \
            (_FORMAT, __version__, config_path, key):
        return None
    if not all(isinstance(doc.get(part), kind) for part, kind in
               (("profiles", dict), ("errors", dict), ("problems", list))):
        return None
    _read[config_path] = (key, doc)
    return doc


def save(config_path: str, key: list[int], profiles: dict[str, dict[str, Any]],
         errors: dict[str, list[list[Any]]], problems: list[list[Any]]) -> None:
    """Keep a validated roles.toml for the next process, where the cache folder is ours."""
    from rolecall import _private  # writing: after a roles.toml edit only

    folder = _files.cache_dir()
    try:
        usable, note = _private.private_folder(folder)
        if note is not None:  # the first to use the folder says what was wrong with it
            _private.warn_once(note)
        if not usable:
            return
        _private.write_json(folder, os.path.basename(_path(config_path)), {
            "format": _FORMAT, "rolecall": __version__, "path": config_path, "identity": key,
            "profiles": profiles, "errors": errors, "problems": problems})
    except OSError as exc:
        logger.debug("rolecall: config snapshot not written (%s)", exc.strerror)
