"""``credential-process`` answered from the disk cache with nothing but ``os`` and ``json``.

SDKs run credential_process at start-up and on every refresh, so a cache hit must cost little more
than starting Python: no botocore, no TOML parser, no platformdirs. The cache's own hit reader
(:func:`rolecall.cache.recall`) finds the profile's entry through the index the full path
left; anything it cannot vouch for falls through to the full path.
"""

from __future__ import annotations

import json

from rolecall import _files, cache
from rolecall.temporary import TemporaryCredentials, utc_text

__all__ = ["NEED_SECONDS", "answer", "document"]

# SDKs refresh process credentials 15 minutes before they expire: hand out more than that.
NEED_SECONDS = 15 * 60 + 30


def document(credentials: TemporaryCredentials) -> str:
    """The credential_process Version 1 document, as one line of JSON."""
    doc: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": credentials.access_key,
        "SecretAccessKey": credentials.secret_key,
        "SessionToken": credentials.token,
        "Expiration": utc_text(credentials.expiry),
    }
    if credentials.account_id:
        doc["AccountId"] = credentials.account_id
    return json.dumps(doc)


def answer(profile: str, need: float = NEED_SECONDS) -> str | None:
    """The JSON answer for ``profile`` from the cache, or None: take the full path."""
    credentials = cache.recall(profile, _files.config_file(), need)
    return None if credentials is None else document(credentials)
