"""The credential record the whole stack passes around: one set of temporary credentials, as STS
issued them, and the one text form of their expiry.

Built from an STS response (AssumeRole, GetSessionToken), kept by the cache, handed to botocore's
refreshable credentials, printed by the command line. Stdlib only, and no NamedTuple factory (its
class creation costs a fraction of a millisecond in every process that imports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from rolecall import lifetime

__all__ = ["TemporaryCredentials", "utc_text"]

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_text(moment: datetime | float) -> str:
    """ISO 8601 in UTC to the second (``2026-01-31T12:00:00Z``), as credential_process, the
    ``AWS_CREDENTIAL_EXPIRATION`` variable and rolecall's reports write it; ``moment`` is an aware
    datetime or seconds since the epoch."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


class TemporaryCredentials:
    """One set of temporary credentials. Immutable; secrets are kept out of the repr."""

    __slots__ = ("access_key", "account_id", "expiry", "lifetime", "secret_key", "token")

    access_key: str
    secret_key: str
    token: str
    expiry: datetime  # timezone-aware
    lifetime: float  # seconds the credentials were valid for when issued
    account_id: str | None

    def __init__(self, access_key: str, secret_key: str, token: str, *, expiry: datetime,
                 lifetime: float, account_id: str | None = None) -> None:
        for name, value in (("access_key", access_key), ("secret_key", secret_key),
                            ("token", token), ("expiry", expiry), ("lifetime", lifetime),
                            ("account_id", account_id)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"TemporaryCredentials are immutable (cannot set {name})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TemporaryCredentials):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def _fields(self) -> tuple[object, ...]:
        return (self.access_key, self.secret_key, self.token, self.expiry, self.lifetime,
                self.account_id)

    def __repr__(self) -> str:
        return (f"TemporaryCredentials(access_key={self.access_key!r}, "
                f"expiry={self.expiry.isoformat()}, lifetime={self.lifetime:.0f}, "
                f"account_id={self.account_id!r})")

    def replace(self, *, expiry: datetime | None = None,
                lifetime: float | None = None) -> TemporaryCredentials:
        """A copy with another expiry or lifetime (tests move time this way)."""
        return TemporaryCredentials(
            self.access_key, self.secret_key, self.token,
            expiry=self.expiry if expiry is None else expiry,
            lifetime=self.lifetime if lifetime is None else lifetime, account_id=self.account_id)

    def remaining(self, now: datetime | None = None) -> float:
        """Seconds until they expire."""
        now = now or datetime.now(timezone.utc)
        return (self.expiry - now).total_seconds()

    def windows(self) -> tuple[float, float]:
        """The advisory and mandatory refresh windows (see :func:`rolecall.lifetime.windows`)."""
        return lifetime.windows(self.lifetime)

    def fresh(self, now: datetime | None = None, need: float = 0) -> bool:
        """Good to hand out (see :func:`rolecall.lifetime.fresh`)."""
        return lifetime.fresh(self.remaining(now), self.lifetime, need)

    def metadata(self) -> dict[str, object]:
        """What botocore's refreshable credentials (and aiobotocore's) take from a refresh."""
        return {"access_key": self.access_key, "secret_key": self.secret_key,
                "token": self.token, "expiry_time": self.expiry.isoformat(),
                "account_id": self.account_id}

    @classmethod
    def issued(cls, credentials: Mapping[str, Any], at: datetime,
               account_id: str | None = None) -> TemporaryCredentials:
        """From the ``Credentials`` of an STS response (AssumeRole, GetSessionToken) received
        for a request sent ``at``."""
        expiry = credentials["Expiration"]
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=timezone.utc)
        return cls(access_key=credentials["AccessKeyId"],
                   secret_key=credentials["SecretAccessKey"],
                   token=credentials["SessionToken"], expiry=expiry,
                   lifetime=max((expiry - at).total_seconds(), 1.0), account_id=account_id)
