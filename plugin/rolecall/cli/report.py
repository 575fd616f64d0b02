"""``whoami``, ``explain``, ``check`` and ``list``: what a profile resolves to, and why.

Reports only: nothing here prints a secret.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rolecall import _bootstrap, config, request
from rolecall.cache import store
from rolecall.cli._output import CliError, emit, reported, say
from rolecall.temporary import parse_utc_text, utc_text

__all__ = ["check", "explain", "list_profiles", "whoami"]


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    left = (moment - datetime.now(timezone.utc)).total_seconds()
    stamp = utc_text(moment)
    return f"{stamp} (in {int(left // 60)} min)" if left > 0 else f"{stamp} (expired)"


def _stamp(moment: datetime | None) -> str | None:
    """A moment as JSON shows it: ``2026-01-31T12:00:00Z``, or None."""
    return None if moment is None else utc_text(moment)


def whoami(profile: str | None, region: str | None = None, output: str = "text",
           role: tuple[str, str | None] | None = None) -> int:
    """The caller identity through the normal chain, as any boto3 program would get it (or as
    ``role``: --role-arn and --source-profile); ``region``: the region of the STS client."""
    import boto3

    if role is not None:
        from rolecall import api
        from rolecall.cli.process import role_config

        role_config(*role)  # checks the options, with messages naming the flags
        options = {"source_profile": role[1]} if role[1] else {}
        session = api.session(role[0], **options)
    else:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise CliError(f"no credentials for profile {session.profile_name!r}")
    client = session.client("sts", region_name=region)
    identity = client.get_caller_identity()
    expiry = getattr(credentials, "_expiry_time", None)
    if output == "json":
        emit({"profile": session.profile_name, "arn": identity["Arn"],
              "account": identity["Account"], "user_id": identity["UserId"],
              "provider": credentials.method, "region": client.meta.region_name,
              "expiration": _stamp(expiry)})
        return 0
    say(f"arn:      {identity['Arn']}")
    say(f"account:  {identity['Account']}")
    say(f"profile:  {session.profile_name}")
    say(f"region:   {client.meta.region_name}")
    say(f"provider: {credentials.method}")
    say(f"expires:  {_when(expiry)}")
    return 0


def _describe_source(profile: config.Profile) -> dict[str, str]:
    """Where a profile's source credentials come from: type and name (JSON shape)."""
    if profile.parent is not None:
        return {"type": "rolecall_profile", "name": profile.parent}
    if profile.source_profile is not None:
        return {"type": "aws_profile", "name": profile.source_profile}
    return {"type": "credential_source", "name": str(profile.credential_source)}


_SOURCE_KIND_TEXT = {"rolecall_profile": "rolecall profile", "aws_profile": "AWS profile",
                     "credential_source": "credential_source"}


def _cache_state(loaded: config.Config, name: str) -> dict[str, str | None]:
    """The disk cache of a profile: state off | empty | valid | expired, and the expiration."""
    if not loaded.profiles[name].cache:
        return {"state": "off", "expiration": None}
    return _entry_state(request.cache_key(loaded, name))


def _cache_text(state: dict[str, str | None]) -> str:
    """The cache column of ``list`` and line of ``explain``."""
    if state["state"] == "off":
        return "off (cache = false)"
    expiration = state["expiration"]
    if expiration is None:
        return "empty"
    return f"until {_when(parse_utc_text(expiration))}"


def read_config() -> tuple[Path, config.Config | None, tuple[config.Problem, ...]]:
    """The one place the reports read roles.toml: its path, the valid config (None: no file, or
    nothing usable) and every problem found in it."""
    path = config.locate()
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:  # the file cannot be read at all
        return path, None, exc.problems
    return path, loaded, loaded.problems if loaded is not None else ()


def _no_file(path: Path) -> str:
    return f"no roles.toml at {path} (run `rolecall init`)"


def list_profiles(output: str = "text") -> int:
    path, loaded, problems = read_config()
    if problems:
        raise CliError("\n".join(str(problem) for problem in problems))
    if loaded is None:
        raise CliError(_no_file(path))
    names = sorted(loaded.profiles)
    sessions = _mfa_sessions(loaded)
    if output == "json":
        emit({"config": str(path), "profiles": [
            {"name": name, "role_arn": loaded.profiles[name].role_arn,
             "source": _describe_source(loaded.profiles[name]),
             "region": loaded.profiles[name].region,
             "cache": _cache_state(loaded, name), "mfa_session": sessions.get(name)}
            for name in names]})
        return 0
    rows = [("PROFILE", "ROLE", "SOURCE", "REGION", "CACHE", "MFA SESSION")]
    for name in names:
        profile = loaded.profiles[name]
        source = _describe_source(profile)
        rows.append((name, profile.role_arn,
                     f"{_SOURCE_KIND_TEXT[source['type']]} {source['name']}",
                     profile.region or "-", _cache_text(_cache_state(loaded, name)),
                     _session_cell(sessions.get(name))))
    # The MFA SESSION column only where some profile has mfa_session_duration.
    shown = 6 if sessions else 5
    widths = [max(len(row[i]) for row in rows) for i in range(shown - 1)]
    for row in rows if loaded.profiles else ():
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) +
            "  " + row[shown - 1])
    if loaded.problems:
        raise CliError(str(config.ConfigError(loaded.problems)))
    return 0


def _session_cell(session: dict[str, Any] | None) -> str:
    """The MFA SESSION column of ``list``: which session (#n: the same number, the same session,
    one code for all of them) and how many profiles share it."""
    if session is None:
        return "-"
    if not session["used"]:
        return "none: a code per role"
    others = len(session["shared_with"])
    return f"#{session['id']}" + (f" ({others + 1} profiles)" if others else "")


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


def _why_source_is_temporary(loaded: config.Config, name: str,
                      aws: dict[str, dict[str, Any]]) -> str | None:
    """Why a profile's source, as the AWS files and the environment say now, gives temporary
    credentials (no MFA session possible), or None."""
    profile = loaded.profiles[name]
    if profile.credential_source == "Environment":
        return ("AWS_SESSION_TOKEN is set: the environment's keys are temporary"
                if os.environ.get("AWS_SESSION_TOKEN") else None)
    source = profile.source_profile
    if profile.parent is not None or source is None or source not in aws:
        return None
    settings = aws[source]
    if "aws_session_token" in settings:
        kind = "a session token"
    elif "role_arn" in settings or "sso_session" in settings or "sso_start_url" in settings \
            or "web_identity_token_file" in settings:
        kind = _aws_kind(settings)
    else:
        return None  # static keys, or a credential_process: known when they are loaded
    return (f"AWS profile {source!r} gives temporary credentials ({kind}): GetSessionToken "
            "needs an IAM user's long-term keys")


def _mfa_sessions(loaded: config.Config) -> dict[str, dict[str, Any]]:
    """For every profile with ``mfa_session_duration`` and ``mfa_serial``: the MFA session it
    uses (``id`` numbers the sessions of this file, ``shared_with`` the other profiles of one),
    or why it uses none (``reason``; it then asks for a code per role)."""
    aws: dict[str, dict[str, Any]] | None = None
    found: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    for name in sorted(loaded.profiles):
        profile = loaded.profiles[name]
        if profile.mfa_session_duration is None or profile.mfa_serial is None:
            continue
        reason = request.mfa_session_unavailable(loaded, name)
        if reason is None:
            if aws is None:
                aws = _aws_profiles()
            reason = _why_source_is_temporary(loaded, name, aws)
        key = request.mfa_session_key(loaded, name)
        found[name] = {"used": reason is None, "reason": reason, "id": None,
                       "duration_seconds": profile.mfa_session_duration,
                       "mfa_serial": profile.mfa_serial, "shared_with": [],
                       "cache": {"state": "off", "expiration": None}}
        if reason is None and key is not None:
            keys[name] = key
            found[name]["cache"] = _entry_state(key) if profile.cache else \
                {"state": "off", "expiration": None}
    numbers: dict[str, int] = {}
    for name, key in keys.items():
        numbers.setdefault(key, len(numbers) + 1)
        found[name]["id"] = numbers[key]
        found[name]["shared_with"] = [other for other, k in keys.items()
                                      if k == key and other != name]
    return found


def _entry_state(key: str) -> dict[str, str | None]:
    entry = store.peek(key)
    if entry is None:
        return {"state": "empty", "expiration": None}
    valid = entry.expiry > datetime.now(timezone.utc)
    return {"state": "valid" if valid else "expired", "expiration": _stamp(entry.expiry)}


def check() -> int:
    """Validate roles.toml and that every AWS-file source profile exists."""
    path, loaded, problems = read_config()
    if problems:
        for problem in problems:
            reported(str(problem))
            say(str(problem))
        return 1
    if loaded is None:
        raise CliError(_no_file(path))
    aws = _aws_profiles()
    found = 0
    for name, profile in sorted(loaded.profiles.items()):
        source = profile.source_profile
        if profile.parent is None and source is not None and source not in aws:
            say(str(config.Problem(str(path), name, "source_profile",
                                   f"{source!r} is neither a roles.toml profile nor a profile "
                                   "of the AWS config files")))
            found += 1
    if found:
        return 1
    say(f"{path}: OK, {len(loaded.profiles)} profile(s)")
    return 0


def explain(explicit: str | None, output: str = "text") -> int:
    """How the profile a boto3 program would use resolves, and why (``explicit``: --profile, or
    None for what the environment says), without fetching anything or printing a secret. Which
    profile, and which provider wins, are botocore's decisions: they are asked of botocore."""
    session = _program_session(explicit)
    name, how = _profile_of(session, explicit)
    path, loaded, problems = read_config()
    if loaded is not None:  # only what touches this profile: other mistakes leave it alone
        problems = loaded.errors.get(name, ())
    report: dict[str, Any] = {
        "profile": name, "profile_from": "default" if how == "the default" else how,
        "config": str(path), "config_found": loaded is not None or bool(problems),
        "problems": [str(problem) for problem in problems],
        "plugin_disabled": _bootstrap.disabled(), "winner": None, "reason": None, "chain": []}
    if not problems:
        report["winner"], report["reason"] = _winner(session, name, explicit is not None)
        if loaded is not None and name in loaded.profiles:
            report["chain"] = _chain(loaded, name)
    if output == "json":
        emit(report)
    else:
        _explain_text(report, how)
    return 1 if problems else 0


def _program_session(explicit: str | None) -> Any:
    """A botocore Session as a program of this environment makes it (``boto3.Session()`` or
    ``boto3.Session(profile_name=explicit)``), with rolecall's initializer as the program has it
    (installed here too, should this interpreter have skipped site-packages' start-up file)."""
    import botocore.session

    import rolecall

    rolecall.install()
    return botocore.session.Session(profile=explicit)


def _profile_of(session: Any, explicit: str | None) -> tuple[str, str]:
    """The profile ``session`` uses, as botocore decides (``--profile``, else the first of its
    variables that is set, else ``default``), and where the name came from, for messages."""
    value = session.get_config_variable("profile")
    name = "default" if value is None else str(value)  # an empty variable: botocore fails
    if explicit is not None:
        return name, "--profile"
    variables = session.session_var_map["profile"][1]  # botocore's own list, in its order
    for variable in [variables] if isinstance(variables, str) else variables or ():
        if value is not None and os.environ.get(variable) == value:
            return name, str(variable)
    return name, "the default"


def _winner(session: Any, name: str, explicit: bool) -> tuple[str, str]:
    """Which provider gives ``session`` its credentials, and why: botocore's resolver walked in
    its own order, asking only providers that read nothing but the environment. botocore leaves
    its environment provider out of the chain when the profile is passed explicitly."""
    from botocore.credentials import EnvProvider
    from botocore.exceptions import BotoCoreError

    from rolecall.api import EnvironmentRoleProvider
    from rolecall.provider import RolecallProvider

    def unchanged(kind: str) -> tuple[str, str]:
        declared = "declared in roles.toml, but ROLECALL_DISABLE is set: " \
            if _bootstrap.disabled() and _declared(name) else "not declared in roles.toml: "
        return "botocore", declared + kind

    try:
        providers = list(session.get_component("credential_provider").providers)
    except BotoCoreError:  # ProfileNotFound, a broken AWS config: botocore raises it there
        return unchanged("not in the AWS files")
    for provider in providers:
        method = getattr(provider, "METHOD", None)
        if method == EnvProvider.METHOD:
            try:
                found = provider.load()
            except BotoCoreError as exc:  # partial keys: botocore raises for every client
                return "environment", f"botocore's environment provider fails: {exc}"
            if found is not None:
                return "environment", ("AWS_ACCESS_KEY_ID is set and the profile was not "
                                       "passed explicitly; pass --profile / profile_name= to "
                                       "use the role")
        elif method == RolecallProvider.METHOD:
            keys = EnvProvider().load() is not None if explicit else False
            return "rolecall", "the profile is declared in roles.toml" + (
                "; environment keys are ignored because the profile was passed explicitly"
                if keys else "")
        elif method == EnvironmentRoleProvider.METHOD:
            return "rolecall", ("ROLECALL_ROLE_ARN is set: rolecall assumes that role, signed "
                                f"by what botocore resolves for profile {name!r}")
        else:
            break
    aws = _aws_profiles()
    return unchanged(_aws_kind(aws[name]) if name in aws else "not in the AWS files")


def _declared(name: str) -> bool:
    loaded = read_config()[1]
    return loaded is not None and name in loaded.profiles


def _chain(loaded: config.Config, name: str) -> list[dict[str, Any]]:
    """Each link from ``name`` down to the credentials that call STS first."""
    aws = _aws_profiles()
    sessions = _mfa_sessions(loaded)
    links: list[dict[str, Any]] = []
    current: str | None = name
    while current is not None:
        profile = loaded.profiles[current]
        session = sessions.get(current)
        signed_by_session = session is not None and session["used"]
        req = request.build_request(profile, source_is_temporary=profile.parent is not None or
                                    signed_by_session)
        source: dict[str, Any] = {**_describe_source(profile), "detail": None}
        over_cap = (profile.duration_seconds or 0) > request.CHAINED_MAX_DURATION
        if profile.parent is None and profile.source_profile is not None:
            src = profile.source_profile
            source["detail"] = _aws_kind(aws[src]) if src in aws else "NOT FOUND in the AWS files"
        links.append({
            "profile": current, "role_arn": profile.role_arn,
            "role_session_name": req["RoleSessionName"],
            "duration_seconds": req["DurationSeconds"],
            "duration_capped": bool((profile.parent or signed_by_session) and over_cap),
            "duration_capped_by": None if not over_cap else
            "chaining" if profile.parent else "mfa_session" if signed_by_session else None,
            "sts_region": request.region(profile),  # None: botocore decides (see the text)
            "sts_endpoint": request.sts_endpoint(profile) or None,
            "mfa_serial": profile.mfa_serial,
            "mfa_code_from": None if not profile.mfa_serial else
            ("command" if profile.mfa_token_command else "prompt"),
            "mfa_command": profile.mfa_token_command[0]
            if profile.mfa_serial and profile.mfa_token_command else None,
            "cache": _cache_state(loaded, current),
            "mfa_session": session,
            "source": source})
        current = profile.parent
    return links


def _session_text(session: dict[str, Any] | None, indent: str) -> None:
    if session is None:
        return
    if not session["used"]:
        say(f"{indent}  MFA session: none ({session['reason']}); a code per role")
        return
    shared = ", ".join(session["shared_with"]) or "no other profile"
    state = session["cache"]
    if state["state"] == "off":
        held = "kept in each process's memory only (cache = false)"
    elif state["state"] == "valid":
        held = f"started, until {_cache_text(state).removeprefix('until ')}"
    elif state["state"] == "expired":
        held = (f"expired {state['expiration']} (the next fetch, or `rolecall login`, asks for "
                "one code)")
    else:
        held = "not started (the next fetch, or `rolecall login`, asks for one code)"
    say(f"{indent}  MFA session: {session['duration_seconds']}s, shared with {shared}; {held}")


def _explain_text(report: dict[str, Any], how: str) -> None:
    origin = "the default profile" if how == "the default" else how
    say(f"profile {report['profile']!r} (from {origin})")
    path = report["config"]
    if report["problems"]:
        say(f"roles.toml: {path}: INVALID; credential resolution will raise:")
        for problem in report["problems"]:
            reported(problem)
            say(f"  {problem}")
        return
    say(f"roles.toml: {path}" + ("" if report["config_found"] else
                                 " (none: rolecall does nothing)"))
    if report["plugin_disabled"]:
        say("ROLECALL_DISABLE is set: the plugin is off; botocore resolves on its own")
    winner = {"environment": "botocore's environment provider", "rolecall": "rolecall",
              "botocore": "botocore, unchanged"}[report["winner"]]
    if report["winner"] == "botocore":
        reason = report["reason"].replace("not declared in roles.toml: ",
                                          "(not declared in roles.toml): ", 1)
        say(f"winner: {winner} {reason}")
    else:
        say(f"winner: {winner} ({report['reason']})")
    for depth, link in enumerate(report["chain"]):
        indent = "  " * depth
        say(f"{indent}{link['profile']}: assumes {link['role_arn']}")
        cap = request.CHAINED_MAX_DURATION
        capped = {"chaining": f" (capped at {cap}: chained)",
                  "mfa_session": f" (capped at {cap}: signed by the MFA session, which AWS "
                                 "treats as role chaining)"}.get(link["duration_capped_by"], "")
        say(f"{indent}  session name {link['role_session_name']}, duration "
            f"{link['duration_seconds']}s{capped}")
        region = link["sts_region"] or ("as botocore decides (the profile's region in the AWS "
                                        "config file, else us-east-1)")
        endpoint = link["sts_endpoint"] or "the regional STS endpoint"
        say(f"{indent}  STS: region {region}, endpoint {endpoint}")
        if link["mfa_serial"]:
            token = (f"command {link['mfa_command']!r}"
                     if link["mfa_code_from"] == "command" else "a prompt on the terminal")
            say(f"{indent}  MFA: {link['mfa_serial']}, code from {token}")
            _session_text(link["mfa_session"], indent)
        say(f"{indent}  cache: {_cache_text(link['cache'])}")
        source = link["source"]
        if source["type"] == "rolecall_profile":
            say(f"{indent}  source: rolecall profile {source['name']}, below")
        elif source["type"] == "aws_profile":
            say(f"{indent}  source: AWS profile {source['name']!r}: {source['detail']}")
        else:
            say(f"{indent}  source: credential_source {source['name']}")
