"""``whoami``, ``explain``, ``check`` and ``list``: what a profile resolves to, and why.

Reports only: nothing here prints a secret.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rolecall import _bootstrap, cache, config, request
from rolecall.cli._output import fail, say

__all__ = ["check", "explain", "list_profiles", "whoami"]

_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    left = (moment - datetime.now(timezone.utc)).total_seconds()
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp} (in {int(left // 60)} min)" if left > 0 else f"{stamp} (expired)"


def whoami(profile: str | None) -> int:
    """The caller identity through the normal chain, as any boto3 program would get it."""
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        return fail(f"no credentials for profile {session.profile_name!r}")
    identity = session.client("sts").get_caller_identity()
    say(f"arn:      {identity['Arn']}")
    say(f"account:  {identity['Account']}")
    say(f"profile:  {session.profile_name}")
    say(f"provider: {credentials.method}")
    say(f"expires:  {_when(getattr(credentials, '_expiry_time', None))}")
    return 0


def _source(profile: config.Profile) -> str:
    if profile.parent is not None:
        return f"rolecall profile {profile.parent}"
    if profile.source_profile is not None:
        return f"AWS profile {profile.source_profile}"
    return f"credential_source {profile.credential_source}"


def _cache_state(loaded: config.Config, name: str) -> str:
    if not loaded.profiles[name].cache:
        return "off (cache = false)"
    entry = cache.peek(request.cache_key(loaded, name))
    return f"until {_when(entry.expiry)}" if entry is not None else "empty"


def _loaded() -> tuple[Path, config.Config | None]:
    path = config.locate()
    return path, config.load(path)


def list_profiles() -> int:
    path, loaded = _loaded()
    if loaded is None:
        return fail(f"no roles.toml at {path} (run `rolecall init`)")
    rows = [("PROFILE", "ROLE", "SOURCE", "REGION", "CACHE")]
    for name in sorted(loaded.profiles):
        profile = loaded.profiles[name]
        rows.append((name, profile.role_arn, _source(profile), profile.region or "-",
                     _cache_state(loaded, name)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows if loaded.profiles else ():
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) +
            "  " + row[4])
    if loaded.problems:
        return fail(str(config.ConfigError(loaded.problems)))
    return 0


def _aws_profiles() -> dict[str, dict[str, Any]]:
    from rolecall import sessions

    try:
        profiles: dict[str, dict[str, Any]] = sessions.internal(None).full_config["profiles"]
    except Exception:  # noqa: BLE001 - a broken AWS config: say so where it matters
        return {}
    return profiles


def _aws_kind(settings: dict[str, Any]) -> str:
    if "role_arn" in settings:
        return "botocore assumes its role_arn"
    if "sso_session" in settings or "sso_start_url" in settings:
        return "IAM Identity Center (SSO)"
    if "credential_process" in settings:
        return "its credential_process"
    if "web_identity_token_file" in settings:
        return "web identity"
    if "aws_access_key_id" in settings:
        return "static keys"
    return "no credentials in the AWS files (botocore would try container/instance metadata)"


def check() -> int:
    """Validate roles.toml and that every AWS-file source profile exists."""
    path = config.locate()
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            say(str(problem))
        return 1
    if loaded is None:
        return fail(f"no roles.toml at {path}")
    if loaded.problems:
        for problem in loaded.problems:
            say(str(problem))
        return 1
    aws = _aws_profiles()
    problems = 0
    for name, profile in sorted(loaded.profiles.items()):
        source = profile.source_profile
        if profile.parent is None and source is not None and source not in aws:
            say(str(config.Problem(str(path), name, "source_profile",
                                   f"{source!r} is neither a roles.toml profile nor a profile "
                                   "of the AWS config files")))
            problems += 1
    if problems:
        return 1
    say(f"{path}: OK, {len(loaded.profiles)} profile(s)")
    return 0


def explain(profile: str | None) -> int:
    """How ``profile`` resolves and why, without fetching anything or printing a secret."""
    explicit = profile is not None
    # botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE.
    variable = next((v for v in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if os.environ.get(v)), None)
    name = profile or (os.environ[variable] if variable else "default")
    how = "--profile" if explicit else (variable or "the default profile")
    say(f"profile {name!r} (from {how})")
    path = config.locate()
    try:
        loaded = config.load(path)
        if loaded is not None and name in loaded.errors:
            loaded.profile(name)
    except config.ConfigError as exc:
        say(f"roles.toml: {path}: INVALID for this profile; credential resolution will raise:")
        for problem in exc.problems:
            say(f"  {problem}")
        return 1
    disabled = _bootstrap.disabled()
    say(f"roles.toml: {path}" + ("" if loaded is not None else " (none: rolecall does nothing)"))
    if disabled:
        say("ROLECALL_DISABLE is set: the plugin is off; botocore resolves on its own")
    env_keys = all(os.environ.get(k) for k in _ENV_KEYS)
    managed = loaded is not None and name in loaded.profiles and not disabled
    if env_keys and not explicit:
        say("winner: botocore's environment provider (AWS_ACCESS_KEY_ID is set and the profile "
            "was not passed explicitly; pass --profile / profile_name= to use the role)")
    elif managed:
        say("winner: rolecall (the profile is declared in roles.toml"
            + ("; environment keys are ignored because the profile was passed explicitly)"
               if env_keys else ")"))
    else:
        aws = _aws_profiles()
        where = _aws_kind(aws[name]) if name in aws else "not in the AWS files"
        say(f"winner: botocore, unchanged (not declared in roles.toml): {where}")
    if loaded is not None and name in loaded.profiles:
        _explain_chain(loaded, name)
    return 0


def _explain_chain(loaded: config.Config, name: str) -> None:
    aws = _aws_profiles()
    current: str | None = name
    depth = 0
    while current is not None:
        profile = loaded.profiles[current]
        indent = "  " * depth
        req = request.build_request(profile, source_is_temporary=profile.parent is not None)
        say(f"{indent}{current}: assumes {profile.role_arn}")
        say(f"{indent}  session name {req['RoleSessionName']}, duration {req['DurationSeconds']}s"
            + (" (capped at 3600: chained)" if profile.parent and (profile.duration_seconds or 0)
               > 3600 else ""))
        region = profile.region or os.environ.get("AWS_REGION") or \
            os.environ.get("AWS_DEFAULT_REGION") or "the source's region, else us-east-1"
        endpoint = request.sts_endpoint(profile) or "the regional STS endpoint"
        say(f"{indent}  STS: region {region}, endpoint {endpoint}")
        if profile.mfa_serial:
            token = (f"command {profile.mfa_token_command[0]!r}" if profile.mfa_token_command
                     else "a prompt on the terminal")
            say(f"{indent}  MFA: {profile.mfa_serial}, code from {token}")
        say(f"{indent}  cache: {_cache_state(loaded, current)}")
        if profile.parent is not None:
            say(f"{indent}  source: rolecall profile {profile.parent}, below")
        elif profile.source_profile is not None:
            src = profile.source_profile
            kind = _aws_kind(aws[src]) if src in aws else "NOT FOUND in the AWS files"
            say(f"{indent}  source: AWS profile {src!r}: {kind}")
        else:
            say(f"{indent}  source: credential_source {profile.credential_source}")
        current = profile.parent
        depth += 1
