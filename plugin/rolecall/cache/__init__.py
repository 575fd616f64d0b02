"""The credential cache: temporary credentials kept between uses, threads and processes.

This module is the cache's files, and how they are read without trusting them;
:mod:`rolecall.cache.store` is the machinery that puts credentials in and takes them out (memory,
then disk, then one fetch at a time per key across threads and processes). The cache folder holds:

- ``<key>.json``: one set of credentials (:func:`encode`), mode 0600, written atomically;
- ``<key>.failed``: a fetch that failed moments ago, for the processes queued behind it;
- ``<key>.lock``: the key's lock between processes (:mod:`rolecall.filelock`);
- ``profile-<hex name>.index``: which entry answers a roles.toml profile, valid while roles.toml
  (its absolute path and file identity), the user, rolecall's version and every environment
  variable the cache key depends on are unchanged (:func:`remember`, :func:`recall`);
- ``config-<crc>.snapshot``: the validated roles.toml (:func:`rolecall._files.read_snapshot`).

:func:`recall` is the hit path of ``credential-process`` and of a new process's first Session: it
answers a profile from the index and the entry alone, importing nothing but ``os`` and ``json``
(through :mod:`rolecall._files`): never botocore, the TOML parser or the store's locks. Every file
is checked like all of rolecall's private files (ours, 0600, no symbolic link, a regular file of at
most :data:`rolecall._files.CACHE_FILE_MAX` bytes, read without blocking) and every field of an
entry is checked before use: anything off is a miss.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone

from rolecall import __version__, _files
from rolecall.temporary import TemporaryCredentials, utc_text

__all__ = ["decode", "encode", "folder", "index_path", "read", "recall", "remember", "write"]

_INDEX_FORMAT = 2  # 1: rolecall <= 0.x kept indexes without the version and file identity


def folder() -> str:
    """The cache folder: ``ROLECALL_CACHE_DIR``, else the platform's user cache folder."""
    return _files.cache_dir()


def _entry_path(directory: str, key: str) -> str:
    return os.path.join(directory, f"{key}.json")


def encode(credentials: TemporaryCredentials) -> dict[str, object]:
    """The on-disk form of an entry: only what rebuilds the credentials."""
    return {
        "version": 1,
        "AccessKeyId": credentials.access_key,
        "SecretAccessKey": credentials.secret_key,
        "SessionToken": credentials.token,
        "Expiration": utc_text(credentials.expiry),
        "ExpiresAt": credentials.expiry.timestamp(),
        "Lifetime": credentials.lifetime,
        "AccountId": credentials.account_id,
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def decode(doc: object) -> TemporaryCredentials | None:
    """The credentials an on-disk document holds, or None when anything is off: a key not a
    non-empty string, ``ExpiresAt`` not a finite time that ``Expiration`` agrees with,
    ``Lifetime`` not a finite positive number, ``AccountId`` neither a string nor absent."""
    if not isinstance(doc, dict) or doc.get("version") != 1:
        return None
    access, secret, token = (doc.get("AccessKeyId"), doc.get("SecretAccessKey"),
                             doc.get("SessionToken"))
    if not (isinstance(access, str) and isinstance(secret, str) and isinstance(token, str)
            and access and secret and token):
        return None
    expires_at, seconds = _number(doc.get("ExpiresAt")), _number(doc.get("Lifetime"))
    if expires_at is None or seconds is None or seconds <= 0:
        return None
    account = doc.get("AccountId")
    if account is not None and not isinstance(account, str):
        return None
    try:
        expiry = datetime.fromtimestamp(expires_at, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if utc_text(expiry) != doc.get("Expiration"):
        return None
    return TemporaryCredentials(access, secret, token, expiry=expiry, lifetime=seconds,
                                account_id=account)


def read(directory: str, key: str) -> tuple[TemporaryCredentials | None, str | None]:
    """(credentials, None), or (None, why not: missing, refused, unreadable, corrupt)."""
    doc, problem = _files.read_json(_entry_path(directory, key), _files.CACHE_FILE_MAX)
    if problem is not None:
        return None, problem
    credentials = decode(doc)
    return (credentials, None) if credentials is not None else (None, "corrupt")


def write(directory: str, key: str, credentials: TemporaryCredentials) -> None:
    """Write an entry atomically, mode 0600 (OSError when the folder cannot take it)."""
    from rolecall import _private  # writing: never on the hit path

    _private.write_json(directory, os.path.basename(_entry_path(directory, key)),
                      encode(credentials))


# -- the per-profile index and the hit reader ----------------------------------------------------

def index_path(directory: str, profile: str) -> str:
    return os.path.join(directory, f"profile-{profile.encode().hex()}.index")


def _conditions(config_path: str, identity: list[int]) -> dict[str, object]:
    """What must be unchanged for an index to hold, besides the environment."""
    return {"format": _INDEX_FORMAT, "rolecall": __version__, "config": [config_path, *identity],
            "uid": getattr(os, "getuid", int)()}


def remember(profile: str, key: str, config_path: str, identity: tuple[int, ...],
             environment: tuple[str, ...]) -> None:
    """After credentials for roles.toml profile ``profile`` were resolved the full way (cache
    key ``key``, which depends on the variables named in ``environment``) from the roles.toml at
    ``config_path`` as it was when read (``identity``: never stat it again here, or an edit made
    meanwhile would be vouched for with the old file's key): let the next process take
    :func:`recall`. Written only where it changes something, and only into a folder the cache
    itself would use (ours and private); a failure only costs the next process time."""
    index = _conditions(config_path, list(identity))
    index["env"] = {name: os.environ.get(name) for name in environment}
    index["key"] = key
    directory = folder()
    path = index_path(directory, profile)
    known, _ = _files.read_json(path, _files.CACHE_FILE_MAX)
    if known == index:
        return
    from rolecall import _private  # writing: never on the hit path

    usable, _ = _private.private_folder(directory, create=False)  # the store warned already
    if not usable:
        return
    try:
        _private.write_json(directory, os.path.basename(path), index)
    except OSError:
        return


def recall(profile: str, config_path: str, need: float = 0) -> TemporaryCredentials | None:
    """Fresh credentials (see :meth:`TemporaryCredentials.fresh` for ``need``) for roles.toml
    profile ``profile`` from its index and entry alone, or None: take the full path."""
    directory = folder()
    if not os.path.isabs(directory):
        return None
    index, problem = _files.read_json(index_path(directory, profile), _files.CACHE_FILE_MAX)
    if problem is not None or not isinstance(index, dict):
        return None
    key, environment = index.pop("key", None), index.pop("env", None)
    if not isinstance(key, str) or not key.isalnum() or not isinstance(environment, dict):
        return None
    try:
        current = _files.identity(os.stat(config_path))
    except OSError:
        return None
    if index != _conditions(config_path, current):
        return None
    if any(os.environ.get(name) != value for name, value in environment.items()):
        return None
    credentials, _ = read(directory, key)
    if credentials is None or not credentials.fresh(need=need):
        return None
    return credentials
