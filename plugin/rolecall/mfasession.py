"""MFA sessions: one MFA code for a working day, not one per role lifetime.

With ``mfa_session_duration``, the source's long-term keys and one MFA code go to STS
``GetSessionToken``; the session credentials it returns then sign ``AssumeRole`` for every
profile that shares the same source and ``mfa_serial`` (the key is
:func:`rolecall.request.mfa_session_key`), with no further code while they live. The session is
kept like role credentials: in memory and, unless the profile says ``cache = false``, on disk
under its own key and file lock, so N processes started together ask for one code.

Why it works with trust policies that require ``aws:MultiFactorAuthPresent``: credentials from a
GetSessionToken call made with a code carry the MFA context into every request they sign,
AssumeRole included. AWS caps a role session signed by them at one hour, as for role chaining:
the caller (:mod:`rolecall.sts`) builds the request as for temporary source credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rolecall.cache import store
from rolecall.config import Profile
from rolecall.temporary import TemporaryCredentials

__all__ = ["SessionError", "label", "obtain"]

logger = logging.getLogger("rolecall")


class SessionError(Exception):
    """GetSessionToken failed, or no code could be had; the text names no secret."""


def label(profile: Profile) -> str:
    """How logs and reports name an MFA session."""
    return f"MFA session of {profile.mfa_serial}"


def obtain(key: str, profile: Profile, code: Callable[[], str],
           client: Callable[[], Any]) -> TemporaryCredentials:
    """The MFA session under ``key``: from the cache, else one code (``code()``) and one
    GetSessionToken call signed by the source's long-term keys (``client()``)."""
    return store.get(key, lambda: _start(profile, code, client), label=label(profile),
                     persist=profile.cache)


def _start(profile: Profile, code: Callable[[], str],
           client: Callable[[], Any]) -> TemporaryCredentials:
    duration = int(profile.mfa_session_duration or 0)
    request = {"DurationSeconds": duration, "SerialNumber": profile.mfa_serial,
               "TokenCode": code()}
    logger.debug("rolecall: profile %s: GetSessionToken for %s, %ss", profile.name,
                 profile.mfa_serial, duration)
    issued = datetime.now(timezone.utc)
    try:
        response = client().get_session_token(**request)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SessionError(f"GetSessionToken failed: {error.get('Code', 'Error')}: "
                           f"{error.get('Message', '')}") from exc
    except BotoCoreError as exc:
        raise SessionError(f"GetSessionToken failed: {exc}") from exc
    entry = TemporaryCredentials.issued(response["Credentials"], issued)
    expiry = entry.expiry
    logger.debug("rolecall: profile %s: started the %s, expires %s", profile.name,
                 label(profile), expiry.isoformat())
    return entry
