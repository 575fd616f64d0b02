"""From a rolecall profile to temporary credentials: source credentials, the AssumeRole request,
the chaining rules and the STS call.

Source credentials come from another rolecall profile (chaining: each link refreshes from its
parent), from any profile botocore can resolve from the AWS files (static keys, SSO,
credential_process, web identity, its own role_arn), or from a ``credential_source``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple

import botocore.credentials
import botocore.session
from botocore.config import Config as ClientConfig
from botocore.exceptions import BotoCoreError, ClientError, CredentialRetrievalError

from rolecall import __version__, loops, mfasession, sessions
from rolecall import request as _request
from rolecall.cache import store
from rolecall.config import Config, Profile
from rolecall.request import build_request, sts_endpoint
from rolecall.temporary import TemporaryCredentials

__all__ = ["AssumeRoleError", "assume", "mfa_session", "sts_region"]

logger = logging.getLogger("rolecall")

METHOD = "rolecall"
# Every STS call is bounded: an endpoint that accepts and never answers costs at most
# MAX_ATTEMPTS x READ_TIMEOUT plus botocore's backoff. The user's own retry settings
# (AWS_MAX_ATTEMPTS / AWS_RETRY_MODE or max_attempts / retry_mode in the AWS config) win.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 10
MAX_ATTEMPTS = 3
_PROVIDER_FOR_SOURCE = {
    "Environment": "env",
    "Ec2InstanceMetadata": "iam-role",
    "EcsContainer": "container-role",
}

class AssumeRoleError(CredentialRetrievalError):
    """rolecall could not get credentials for a profile; says which profile (and, for a chain,
    through which links) and which role, never a secret. Subclasses botocore's
    CredentialRetrievalError, so existing handlers catch it."""

    fmt = "could not get credentials for profile {profile!r} ({where}): {error_msg}"

    def __init__(self, profile: str, role_arn: str, error_msg: str,
                 via: tuple[str, ...] = ()) -> None:
        where = ", ".join([*(f"via {name!r}" for name in via), f"role {role_arn}"])
        super().__init__(provider=METHOD, profile=profile, role_arn=role_arn, error_msg=error_msg,
                         where=where)
        self.role_arn = role_arn
        self.error_msg = error_msg
        self.via = via


def sts_region(profile: Profile, session: botocore.session.Session | None = None) -> str:
    """The region of the profile's STS call: :func:`rolecall.request.region` (roles.toml, then
    ``AWS_REGION``, then ``AWS_DEFAULT_REGION``: what the cache key records), else the region
    botocore configures for the profile in the AWS config file, else us-east-1."""
    known = _request.region(profile)
    if known:
        return known
    if session is not None:
        try:
            region = session.get_config_variable("region")
        except BotoCoreError:
            region = None
        if region:
            return str(region)
    return "us-east-1"


class _Source(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None
    description: str

    def __repr__(self) -> str:
        return f"_Source({self.description})"


# Fresh credentials for another rolecall profile (:func:`rolecall.resolve.credentials`, passed in).
Parent = Callable[[Config, str], TemporaryCredentials]


def _source(config: Config, profile: Profile, parent: Parent) -> _Source:
    """The credentials that sign the AssumeRole call."""
    if profile.parent is not None:
        try:
            entry = parent(config, profile.parent)
        except AssumeRoleError as exc:
            # Name the profile the user asked for, and the path to the link that failed.
            raise AssumeRoleError(profile.name, exc.role_arn, exc.error_msg,
                                  via=(profile.parent, *exc.via)) from None
        return _Source(entry.access_key, entry.secret_key, entry.token,
                       f"rolecall profile {profile.parent!r}")
    load: Callable[[], Any]
    given = config.sources.get(profile.name)
    if given is not None:
        description, load, missing = given.description, given.load, "provided no credentials"
    elif profile.source_profile is not None:
        description = f"source_profile {profile.source_profile!r}"
        load = sessions.internal(config, profile.source_profile).get_credentials
        missing = "has no credentials that botocore can resolve"
    elif profile.credential_source is not None:
        description = f"credential_source {profile.credential_source}"
        # A session with no explicit profile: botocore drops its env provider otherwise.
        resolver = botocore.credentials.create_credential_resolver(sessions.internal(config))
        load = resolver.get_provider(_PROVIDER_FOR_SOURCE[str(profile.credential_source)]).load
        missing = "provided no credentials"
    else:
        description = "botocore's default credential chain"
        load = sessions.internal(config).get_credentials
        missing = "found no credentials"
    try:
        credentials = load()
    except BotoCoreError as exc:
        raise AssumeRoleError(profile.name, profile.role_arn, f"{description}: {exc}") from None
    if credentials is None:
        raise AssumeRoleError(profile.name, profile.role_arn, f"{description} {missing}")
    frozen = credentials.get_frozen_credentials()
    return _Source(str(frozen.access_key), str(frozen.secret_key), frozen.token, description)


def _client_config(session: botocore.session.Session) -> ClientConfig:
    settings: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
                                "user_agent_extra": f"rolecall/{__version__}"}
    try:
        configured = session.get_config_variable("max_attempts")
    except BotoCoreError:
        configured = None
    if configured is None:
        settings["retries"] = {"total_max_attempts": MAX_ATTEMPTS}
    return ClientConfig(**settings)


def assume(config: Config, profile: Profile, parent: Parent) -> TemporaryCredentials:
    """One AssumeRole for ``profile`` (no cache: see :func:`rolecall.resolve.credentials`, which
    calls this on a miss and is passed back as ``parent`` for a chained profile's source)."""
    token = _quiet.set(True)
    try:
        with loops.announced(profile.name):
            return _call_sts(config, profile, parent)
    finally:
        _quiet.reset(token)


# botocore's DEBUG loggers print request and response bodies, headers and canonical requests:
# for rolecall's STS calls those hold the MFA code, the source's session token and the role's
# keys. While rolecall fetches credentials, their records say so instead of carrying them.
_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("rolecall_quiet", default=False)
_TALKATIVE = ("botocore.endpoint", "botocore.parsers", "botocore.auth", "botocore.hooks")
REDACTED = "<redacted by rolecall: part of its STS call>"


class _Redact(logging.Filter):
    """Keeps what botocore says it does (the message), drops what it shows (the arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _quiet.get() and record.args:
            if isinstance(record.args, tuple):
                record.args = (REDACTED,) * len(record.args)
            else:
                record.msg, record.args = f"{record.msg} ({REDACTED})", ()
        return True


def _install_redaction() -> None:
    for name in _TALKATIVE:
        target = logging.getLogger(name)
        if not any(isinstance(f, _Redact) for f in target.filters):
            target.addFilter(_Redact())


_install_redaction()


def _call_sts(config: Config, profile: Profile, parent: Parent) -> TemporaryCredentials:
    # The STS client follows the profile's own settings (retries, region, endpoints), as
    # botocore's assume-role provider follows the user's session; only its keys come from the
    # source (or from the MFA session the source's keys started).
    session = sessions.internal(config, profile.name)
    region = sts_region(profile, session)
    endpoint = sts_endpoint(profile)
    signer, by_session = _signer(config, profile, session, parent)
    # Signed by an MFA session, the request carries no MFA fields (the session holds the MFA
    # context) and is capped at one hour: AWS treats it like role chaining.
    request = build_request(profile, source_is_temporary=signer.token is not None)
    if by_session:
        request.pop("SerialNumber", None)
    elif profile.mfa_serial is not None:
        request["TokenCode"] = _code(profile)
    logger.debug("rolecall: profile %s: AssumeRole %s as %s for %ss via %s (region %s%s)",
                 profile.name, profile.role_arn, request["RoleSessionName"],
                 request["DurationSeconds"], signer.description, region,
                 f", endpoint {endpoint}" if endpoint else "")
    sts: Any = _client(session, profile, signer)
    issued = datetime.now(timezone.utc)
    try:
        response = sts.assume_role(**request)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = f"AssumeRole failed: {error.get('Code', 'Error')}: {error.get('Message', '')}"
        key = _request.mfa_session_key(config, profile.name)
        if by_session and key is not None and error.get("Code") in _SESSION_REJECTED:
            store.clear([key])  # revoked or from rotated keys: the next attempt starts anew
            message += f" (the {signer.description} was rejected and forgotten; the next " \
                       "attempt asks for a new MFA code)"
        raise AssumeRoleError(profile.name, profile.role_arn, message) from exc
    except BotoCoreError as exc:
        raise AssumeRoleError(profile.name, profile.role_arn, f"AssumeRole failed: {exc}") from exc
    arn = response.get("AssumedRoleUser", {}).get("Arn", "")
    account = arn.split(":")[4] if arn.count(":") >= 5 else None
    entry = TemporaryCredentials.issued(response["Credentials"], issued, account or None)
    expiry = entry.expiry
    logger.debug("rolecall: profile %s: assumed %s, expires %s", profile.name, arn or
                 profile.role_arn, expiry.isoformat())
    return entry


# What STS says when the credentials that signed a call are no longer any good.
_SESSION_REJECTED = ("ExpiredToken", "InvalidClientTokenId", "InvalidToken")


def _code(profile: Profile) -> str:
    from rolecall import mfa

    try:
        return mfa.token_for(profile)
    except mfa.MfaError as exc:
        raise AssumeRoleError(profile.name, profile.role_arn, str(exc)) from None


def _client(session: botocore.session.Session, profile: Profile, signer: _Source) -> Any:
    """An STS client for ``profile``'s calls, signed by ``signer``."""
    return session.create_client(
        "sts", region_name=sts_region(profile, session), endpoint_url=sts_endpoint(profile),
        aws_access_key_id=signer.access_key, aws_secret_access_key=signer.secret_key,
        aws_session_token=signer.token, config=_client_config(session))


def _temporary(source: _Source) -> str:
    return (f"{source.description} has temporary credentials: GetSessionToken needs an IAM "
            "user's long-term keys")


def _signer(config: Config, profile: Profile, session: botocore.session.Session,
            parent: Parent) -> tuple[_Source, bool]:
    """The credentials that sign the AssumeRole call, and whether they are an MFA session: the
    profile's MFA session when it can have one (started with the source's long-term keys and one
    code), else the source's own credentials (and a code per role, as without a session)."""
    key = _request.mfa_session_key(config, profile.name)
    if key is None:
        if profile.mfa_session_duration is not None and profile.mfa_serial is not None:
            logger.debug("rolecall: profile %s: no MFA session (%s); a code per role instead",
                         profile.name, _request.mfa_session_unavailable(config, profile.name))
        return _source(config, profile, parent), False
    name = mfasession.label(profile)
    # A live session needs no source credentials at all (cache = false: memory only, below).
    entry = store.lookup(key, label=name) if profile.cache else None
    if entry is None:
        source = _source(config, profile, parent)
        if source.token is not None:
            logger.debug("rolecall: profile %s: no MFA session (%s); a code per role instead",
                         profile.name, _temporary(source))
            return source, False
        try:
            entry = mfasession.obtain(key, profile, lambda: _code(profile),
                                      lambda: _client(session, profile, source))
        except (mfasession.SessionError, store.SharedFailure) as exc:
            raise AssumeRoleError(profile.name, profile.role_arn, str(exc)) from None
    return _Source(entry.access_key, entry.secret_key, entry.token,
                   f"{name} (expires {entry.expiry.isoformat()})"), True


class MfaSessionState(NamedTuple):
    """What ``rolecall login`` reports: the MFA session a profile uses (None: it uses none, and
    ``reason`` says why), and whether a code was asked for just now."""

    entry: TemporaryCredentials | None
    reason: str | None
    started: bool


def mfa_session(config: Config, name: str, renew: bool = False) -> MfaSessionState:
    """Start (or find) the MFA session of profile ``name`` now, asking for its code where
    needed; ``renew``: forget a live session first. Raises AssumeRoleError."""
    profile = config.profile(name)
    key = _request.mfa_session_key(config, name)
    if key is None:
        return MfaSessionState(None, _request.mfa_session_unavailable(config, name), False)
    if renew:
        store.clear([key])
    found = store.lookup(key, label=mfasession.label(profile)) if profile.cache else None
    if found is not None:
        return MfaSessionState(found, None, False)
    session = sessions.internal(config, name)
    token = _quiet.set(True)
    try:
        source = _source(config, profile, _no_parent)
        if source.token is not None:
            return MfaSessionState(None, _temporary(source), False)
        entry = mfasession.obtain(key, profile, lambda: _code(profile),
                                  lambda: _client(session, profile, source))
    except (mfasession.SessionError, store.SharedFailure) as exc:
        raise AssumeRoleError(profile.name, profile.role_arn, str(exc)) from None
    finally:
        _quiet.reset(token)
    return MfaSessionState(entry, None, True)


def _no_parent(config: Config, name: str) -> TemporaryCredentials:
    """A profile with an MFA session never chains (see request.mfa_session_unavailable)."""
    raise AssertionError(f"an MFA session's profile has no rolecall parent ({name!r})")
