"""The on-disk form of a cache entry, and the one decoder that trusts nothing in it.

Shared by the cache (:mod:`rolecall.cache`) and the credential-process hit path
(:mod:`rolecall.cli.fastpath`), so both hand out only what passes the same checks. Stdlib only
(``math``, ``datetime``): the hit path must stay free of botocore and of the cache's machinery.
"""

from __future__ import annotations

import math

from rolecall.temporary import utc_text

__all__ = ["Fields", "decode", "expiration_text"]

# access key, secret key, token, expires at (epoch seconds), lifetime (seconds), account id
Fields = tuple[str, str, str, float, float, "str | None"]


def expiration_text(expires_at: float) -> str:
    """ISO 8601 in UTC, to the second, as credential_process expects it."""
    return utc_text(expires_at)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def decode(doc: object) -> Fields | None:
    """The validated fields of an on-disk entry, or None when anything is off: a key not a
    non-empty string, ``ExpiresAt`` not a finite time that ``Expiration`` agrees with,
    ``Lifetime`` not a finite positive number, ``AccountId`` neither a string nor absent."""
    if not isinstance(doc, dict) or doc.get("version") != 1:
        return None
    keys = (doc.get("AccessKeyId"), doc.get("SecretAccessKey"), doc.get("SessionToken"))
    access, secret, token = keys
    if not (isinstance(access, str) and isinstance(secret, str) and isinstance(token, str)
            and access and secret and token):
        return None
    expires_at = _number(doc.get("ExpiresAt"))
    lifetime = _number(doc.get("Lifetime"))
    if expires_at is None or lifetime is None or lifetime <= 0:
        return None
    text = doc.get("Expiration")
    if not isinstance(text, str):
        return None
    try:
        if expiration_text(expires_at) != text:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    account = doc.get("AccountId")
    if account is not None and not isinstance(account, str):
        return None
    return access, secret, token, expires_at, lifetime, account
