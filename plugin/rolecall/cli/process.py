"""``credential-process`` and ``setup-process``: rolecall profiles for every non-Python AWS tool.

The AWS CLI v2, Terraform and the Go, Java and JavaScript SDKs read ``credential_process`` from the
AWS config file; ``setup-process`` writes those stanzas, ``credential-process`` answers them.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from rolecall import config, resolve
from rolecall.cli import fastpath
from rolecall.cli._output import CliError

__all__ = ["config_declaring", "credential_process", "role_config", "setup_process"]


def credential_process(profile: str, how: str | None = None,
                       role: tuple[str, str | None] | None = None) -> int:
    """Print the credentials of rolecall profile ``profile`` (or of ``role``: --role-arn and
    --source-profile) as credential_process JSON; ``how`` says where the profile name came from
    (``--profile``, ``AWS_PROFILE``...), for messages. Loops (a source that runs rolecall for a
    profile being fetched) are caught by the library."""
    try:
        loaded, profile = role_config(*role) if role else (config_declaring(profile, how), profile)
        credentials = resolve.credentials(loaded, profile, fastpath.NEED_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure is one line for the calling SDK
        raise CliError(str(exc)) from None
    sys.stdout.write(fastpath.document(credentials) + "\n")
    return 0


def role_config(role_arn: str, source_profile: str | None) -> tuple[config.Config, str]:
    """``--role-arn ARN [--source-profile P]``: the record ``rolecall.assume()`` builds (no
    roles.toml needed; without --source-profile, botocore's default chain signs the call)."""
    from rolecall import api

    options = {"source_profile": source_profile} if source_profile else {}
    try:
        return api.for_role(role_arn, "--role-arn", **options)
    except config.ConfigError as exc:
        flags = {"role_arn": "--role-arn", "source_profile": "--source-profile"}
        raise CliError("; ".join(f"{flags.get(str(p.key), p.key)}: {p.message}"
                                 for p in exc.problems)) from None


def config_declaring(profile: str, how: str | None = None) -> config.Config:
    """roles.toml, which must declare ``profile``; ``how`` names where the name came from when
    it was not ``--profile`` (an unset AWS_PROFILE surprises nobody twice)."""
    path = config.locate()
    loaded = config.load(path)
    if loaded is None:
        raise CliError(f"no roles.toml at {path} (set ROLECALL_CONFIG, or run `rolecall init`)")
    if not loaded.declares(profile):
        if loaded.problems:  # it may be declared in a part of the file that does not parse
            raise config.ConfigError(loaded.problems)
        known = ", ".join(sorted(loaded.profiles)) or "none"
        origin = "" if how in (None, "--profile") else (
            " (no --profile given, AWS_PROFILE unset)" if how == "the default"
            else f" (from {how})")
        raise CliError(f"profile {profile!r}{origin} is not declared in {path} "
                       f"(declared: {known})")
    loaded.profile(profile)  # a declared profile that cannot be used raises its ConfigError
    return loaded


def rolecall_command() -> str:
    """How other tools should run this rolecall: the absolute path of its console script."""
    script = Path(sys.executable).parent / ("rolecall.exe" if os.name == "nt" else "rolecall")
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m rolecall"


def stanza(profile: config.Profile) -> str:
    header = "[default]" if profile.name == "default" else f"[profile {profile.name}]"
    # --profile=NAME keeps a name that starts with "-" from reading as an option.
    option = f"--profile={profile.name}" if profile.name.startswith("-") else \
        f"--profile {profile.name}"
    lines = [header, f"credential_process = {rolecall_command()} credential-process "
                     f"{shlex.quote(option) if option.startswith('--profile=') else option}"]
    if profile.region:
        lines.append(f"region = {profile.region}")
    return "\n".join(lines) + "\n"


def aws_config_path() -> Path:
    return Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()


def setup_process(names: list[str], write: bool, force: bool) -> int:
    """Print (or, with ``write``, add) the credential_process stanzas of rolecall profiles."""
    path = config.locate()
    loaded = config.load(path)
    if loaded is None:
        raise CliError(f"no roles.toml at {path}")
    unknown = [name for name in names if not loaded.declares(name)]
    if unknown:
        raise CliError(f"not declared in {path}: {', '.join(unknown)}")
    profiles = [loaded.profile(name) for name in (names or sorted(loaded.profiles))]
    if not write:
        print("\n".join(stanza(p) for p in profiles), end="")
        return 0
    from rolecall.cli import awsconfig

    target = aws_config_path()
    try:
        result = awsconfig.add_sections(target, {_section(p): stanza(p) for p in profiles}, force)
    except OSError as exc:  # a read-only ~/.aws, a lock file that is not ours: one clear line
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    for section in result.added:
        print(f"added {section} to {target}")
    for section in result.replaced:
        print(f"replaced {section} in {target}")
    for section in result.kept:
        print(f"kept the existing {section} in {target} (use --force to replace it)",
              file=sys.stderr)
    if result.backup is not None:
        print(f"backup: {result.backup}")
    return 0


def _section(profile: config.Profile) -> str:
    return "default" if profile.name == "default" else f"profile {profile.name}"
