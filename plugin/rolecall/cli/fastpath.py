"""``credential-process`` answered from the disk cache with nothing but ``os`` and ``json``.

SDKs run credential_process at start-up and on every refresh, so a cache hit must cost little more
than starting Python: no botocore, no TOML parser, no platformdirs. After each full answer, the
slow path leaves an index file per profile that says which cache entry answers it, valid while
roles.toml (path, mtime, size, inode) and every environment variable the cache key depends on are
unchanged. A hit reads the index and the entry (both checked like every cache file: ours, 0600, no
symlink, a regular file of a few KiB, read without blocking), decodes the entry with the cache's
own decoder (:func:`rolecall._stored.decode`: every field checked) and checks freshness; anything
else falls through to the full path. Indexes are written only into a folder the cache itself
would use (ours and private; never a foreign or relative one).
"""

from __future__ import annotations

import json
import os
import time

from rolecall import _files, _stored, lifetime, locations

__all__ = ["NEED_SECONDS", "answer", "document", "remember"]

# SDKs refresh process credentials 15 minutes before they expire: hand out more than that.
NEED_SECONDS = 15 * 60 + 30


def document(stored: dict[str, object]) -> dict[str, object]:
    """The credential_process Version 1 document from a cache entry's on-disk form (as
    :func:`rolecall.cache.encode` writes it; the hit path passes only decoded fields)."""
    doc: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": stored["AccessKeyId"],
        "SecretAccessKey": stored["SecretAccessKey"],
        "SessionToken": stored["SessionToken"],
        "Expiration": stored["Expiration"],
    }
    if stored.get("AccountId"):
        doc["AccountId"] = stored["AccountId"]
    return doc


def _index_path(folder: str, profile: str) -> str:
    return os.path.join(folder, f"profile-{profile.encode().hex()}.index")


def _signature(config_file: str) -> list[object] | None:
    try:
        st = os.stat(config_file)
    except OSError:
        return None
    return [config_file, st.st_mtime_ns, st.st_size, st.st_ino]


def answer(profile: str, need: float = NEED_SECONDS) -> str | None:
    """The JSON answer for ``profile`` from the cache, or None: take the full path."""
    folder = locations.cache_dir()
    if not os.path.isabs(folder):
        return None
    index, problem = _files.read_json(_index_path(folder, profile), _files.CACHE_FILE_MAX)
    if problem is not None or not isinstance(index, dict) or index.get("version") != 1:
        return None
    if index.get("config") != _signature(locations.config_file()):
        return None
    environment = index.get("env")
    if not isinstance(environment, dict) or index.get("uid") != getattr(os, "getuid", int)():
        return None
    if any(os.environ.get(name) != value for name, value in environment.items()):
        return None
    key = index.get("key")
    if not isinstance(key, str) or not key.isalnum():
        return None
    stored, problem = _files.read_json(os.path.join(folder, f"{key}.json"),
                                       _files.CACHE_FILE_MAX)
    fields = None if problem is not None else _stored.decode(stored)
    if fields is None:
        return None
    access, secret, token, expires_at, seconds, account = fields
    if not lifetime.fresh(expires_at - time.time(), seconds, need):
        return None
    return json.dumps(document({
        "AccessKeyId": access, "SecretAccessKey": secret, "SessionToken": token,
        "Expiration": _stored.expiration_text(expires_at), "AccountId": account}))


def remember(profile: str, key: str, environment: tuple[str, ...]) -> None:
    """After a full answer: let the next call for ``profile`` take the hit path."""
    signature = _signature(locations.config_file())
    if signature is None:
        return
    index = {
        "version": 1,
        "config": signature,
        "uid": getattr(os, "getuid", int)(),
        "env": {name: os.environ.get(name) for name in environment},
        "key": key,
    }
    folder = locations.cache_dir()
    usable, _ = _files.private_folder(folder, create=False)  # the cache has warned already
    if not usable:
        return  # never into a foreign, symbolically linked-to-someone-else or relative folder
    import contextlib

    with contextlib.suppress(OSError):  # the index only saves time
        _files.write_json(folder, os.path.basename(_index_path("", profile)), index)
