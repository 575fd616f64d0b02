"""The credential record the whole stack passes around: one set of temporary credentials, as STS
issued them, how long they are good for, and the one text form of their expiry.

Built from an STS response (AssumeRole, GetSessionToken), kept by the cache, handed to botocore's
refreshable credentials, printed by the command line. Stdlib only, and no NamedTuple factory (its
class creation costs a fraction of a millisecond in every process that imports it).

botocore refreshes 15 (advisory) and 10 (mandatory) minutes before expiry whatever the lifetime,
so a 900-second role would be refreshed on every request. Here the windows shrink with short
lifetimes (:func:`windows`, :func:`fresh`).
"""

from __future__ import annotations

from datetime import datetime, timezone

# Not `typing.TYPE_CHECKING`: the credential-process hit path imports this module, and importing
# typing alone costs it ~2 ms. Type checkers understand this spelling.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["TemporaryCredentials", "fresh", "parse_utc_text", "utc_now", "utc_text", "windows"]

ADVISORY_MAX = 15 * 60  # botocore's advisory window, for credentials that live an hour or more
MANDATORY_MAX = 10 * 60  # botocore's mandatory window


def windows(lifetime: float) -> tuple[float, float]:
    """Advisory and mandatory refresh windows (seconds before expiry) for a given lifetime."""
    return min(ADVISORY_MAX, lifetime / 4), min(MANDATORY_MAX, lifetime / 6)


def fresh(remaining: float, lifetime: float, need: float = 0) -> bool:
    """Good to hand out: more time left than the advisory window, and than ``need`` seconds where
    the lifetime allows it (a 900-second role can never have 15 minutes left after its first
    second, so there ``need`` gives way to the role's own window)."""
    wanted = windows(lifetime)[0]
    if need < lifetime - 60:
        wanted = max(wanted, need)
    return remaining > wanted

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    """Now, in UTC. Also the clock rolecall hands botocore's refreshable credentials: botocore's
    default asks dateutil for the local zone on every check (~15 us a request, ~70 us the first
    time); any aware clock compares the same with an expiry."""
    return datetime.now(timezone.utc)


def utc_text(moment: datetime | float) -> str:
    """ISO 8601 in UTC to the second (``2026-01-31T12:00:00Z``), as credential_process, the
    ``AWS_CREDENTIAL_EXPIRATION`` variable and rolecall's reports write it; ``moment`` is an aware
    datetime or seconds since the epoch."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    # isoformat, not strftime(_FORMAT): the same text for every year from 1000, without libc's
    # strftime (whose first call in a process is most of a cache hit's decoding).
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_utc_text(text: str) -> datetime:
    """The moment :func:`utc_text` wrote (ValueError for anything else)."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


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
        return (self.expiry - (now or utc_now())).total_seconds()

    def windows(self) -> tuple[float, float]:
        """The advisory and mandatory refresh windows (see :func:`windows`)."""
        return windows(self.lifetime)

    def fresh(self, now: datetime | None = None, need: float = 0) -> bool:
        """Good to hand out (see :func:`fresh`)."""
        return fresh(self.remaining(now), self.lifetime, need)

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
