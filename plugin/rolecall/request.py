"""What rolecall asks STS for, decided without botocore: the AssumeRole parameters, the default
session name, the STS endpoint, and the cache key that identifies one result.

Kept free of botocore so that a cache hit (``rolecall credential-process``) never imports it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from typing import Any

from rolecall.config import Config, Profile

__all__ = ["CHAINED_MAX_DURATION", "KEY_ENVIRONMENT", "build_request", "cache_key",
           "mfa_session_key", "mfa_session_unavailable", "region", "sts_endpoint"]

logger = logging.getLogger("rolecall")

# Every environment variable that cache_key() depends on (directly, through os.path.expanduser,
# or through getpass.getuser for the default session name): the credential-process hit path
# reuses a key only while all of them are unchanged.
KEY_ENVIRONMENT = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
                   "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CONFIG_FILE",
                   "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
                   "AWS_DEFAULT_PROFILE", "HOME", "LOGNAME", "USER", "LNAME", "USERNAME")
DEFAULT_DURATION = 3600
CHAINED_MAX_DURATION = 3600  # AWS: role chaining limits a session to one hour


def default_session_name() -> str:
    """The local user name, made to fit STS's ``[\\w+=,.@-]{2,64}``. Found as
    ``getpass.getuser()`` finds it (the same variables, then the password database), without
    importing getpass and its terminal machinery on every cache hit."""
    user = next((os.environ[v] for v in ("LOGNAME", "USER", "LNAME", "USERNAME")
                 if os.environ.get(v)), "")
    if not user:
        try:
            import pwd

            user = pwd.getpwuid(os.getuid()).pw_name
        except Exception:  # noqa: BLE001 - no user name in this environment (or no pwd)
            user = ""
    name = re.sub(r"[^\w+=,.@-]", "-", user, flags=re.ASCII)[:64]
    return name if len(name) >= 2 else f"rolecall-{name}".rstrip("-")


def build_request(profile: Profile, source_is_temporary: bool) -> dict[str, Any]:
    """AssumeRole parameters for ``profile`` (without the MFA token)."""
    duration = profile.duration_seconds or DEFAULT_DURATION
    if source_is_temporary and duration > CHAINED_MAX_DURATION:
        logger.debug("rolecall: profile %s: duration_seconds %d capped at %d because the source "
                     "credentials are temporary (role chaining)", profile.name, duration,
                     CHAINED_MAX_DURATION)
        duration = CHAINED_MAX_DURATION
    request: dict[str, Any] = {
        "RoleArn": profile.role_arn,
        "RoleSessionName": profile.role_session_name or default_session_name(),
        "DurationSeconds": duration,
    }
    if profile.external_id is not None:
        request["ExternalId"] = profile.external_id
    if profile.mfa_serial is not None:
        request["SerialNumber"] = profile.mfa_serial
    if profile.policy is not None:
        request["Policy"] = profile.policy
    if profile.policy_arns:
        request["PolicyArns"] = [{"arn": arn} for arn in profile.policy_arns]
    if profile.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in profile.tags]
    if profile.transitive_tag_keys:
        request["TransitiveTagKeys"] = list(profile.transitive_tag_keys)
    if profile.source_identity is not None:
        request["SourceIdentity"] = profile.source_identity
    return request


def sts_endpoint(profile: Profile) -> str | None:
    """``sts_endpoint_url``, else ``AWS_ENDPOINT_URL_STS`` / ``AWS_ENDPOINT_URL`` (also honoured on
    botocore releases that predate them), else None: the regional endpoint."""
    if profile.sts_endpoint_url:
        return profile.sts_endpoint_url
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL") or None


def cache_key(config: Config, name: str) -> str:
    """Everything that makes two AssumeRole results interchangeable, chained parents included.

    The request is the one the profile describes, ``SerialNumber`` included, even when an MFA
    session signs the call and the request sent carries no MFA fields: a role fetched with MFA
    must never answer a profile that asks for the same role without it (or the other way round),
    and turning ``mfa_session_duration`` on or off keeps the credentials already cached."""
    profile = config.profiles[name]
    parts: dict[str, object] = {
        "request": build_request(profile, source_is_temporary=False),
        "region": region(profile),
        "endpoint": sts_endpoint(profile),
    }
    if profile.parent is not None:
        parts["parent"] = cache_key(config, profile.parent)
    else:
        parts.update(_source_parts(config, name))
    return _digest(parts)


def _digest(parts: dict[str, object]) -> str:
    """A stable key for everything that makes two results interchangeable."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def region(profile: Profile) -> str | None:
    """The region of the profile's STS call as far as roles.toml and the environment tell: its
    ``region``, else ``AWS_REGION`` (which newer AWS SDKs prefer), else ``AWS_DEFAULT_REGION``;
    None leaves it to the profile's AWS config file, then us-east-1 (see
    :func:`rolecall.sts.sts_region`). Part of the cache key."""
    return profile.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _source_parts(config: Config, name: str) -> dict[str, object]:
    """What identifies the source credentials of a profile that does not chain, never a secret."""
    profile = config.profiles[name]
    aws_files = [os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"),
                 os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
                 os.path.expanduser("~")]
    parts: dict[str, object] = {}
    given = config.sources.get(name)
    if given is not None:
        parts["source"] = given.identity()  # an access key ID, never a secret
    elif profile.source_profile is not None:
        parts["source_profile"] = profile.source_profile
        parts["aws_files"] = aws_files
    elif profile.credential_source is not None:
        parts["credential_source"] = profile.credential_source
        if profile.credential_source == "Environment":
            parts["env_key_id"] = os.environ.get("AWS_ACCESS_KEY_ID")  # an id, not a secret
    else:  # botocore's default chain: what decides where it ends
        parts["default_chain"] = [os.environ.get(variable) for variable in
                                  ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")]
        parts["aws_files"] = aws_files
    return parts


def mfa_session_unavailable(config: Config, name: str) -> str | None:
    """Why profile ``name`` cannot use an MFA session, as far as roles.toml alone tells, or None.

    GetSessionToken takes an IAM user's long-term keys only: a profile that chains from another
    rolecall profile (a role), or whose ``credential_source`` is an instance or task role, asks
    for a code per role as before. Sources whose credentials turn out to carry a session token
    (SSO, a role, ``AWS_SESSION_TOKEN``) are found when they are loaded."""
    profile = config.profiles[name]
    if profile.mfa_session_duration is None:
        return "mfa_session_duration is not set"
    if profile.mfa_serial is None:
        return "no mfa_serial"
    if profile.parent is not None:
        return (f"its source is rolecall profile {profile.parent!r}, a role: GetSessionToken "
                "needs an IAM user's long-term keys")
    if profile.credential_source in ("Ec2InstanceMetadata", "EcsContainer"):
        return (f"credential_source {profile.credential_source} gives temporary credentials: "
                "GetSessionToken needs an IAM user's long-term keys")
    return None


def mfa_session_key(config: Config, name: str) -> str | None:
    """The cache key of the MFA session that signs profile ``name``'s AssumeRole, or None when it
    has none (see :func:`mfa_session_unavailable`). Every profile with the same source, MFA device,
    session duration, STS region and endpoint shares it, whatever role it assumes."""
    if mfa_session_unavailable(config, name) is not None:
        return None
    profile = config.profiles[name]
    return _digest({"mfa_session": {
        "serial": profile.mfa_serial,
        "duration": profile.mfa_session_duration,
        "region": region(profile),
        "endpoint": sts_endpoint(profile),
        **_source_parts(config, name),
    }})
