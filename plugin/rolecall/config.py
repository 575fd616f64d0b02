"""Read and validate roles.toml into immutable records.

Everything a user can get wrong is found here, before any network call: unknown keys (with a
close match), wrong types, malformed ARNs, out-of-range durations, invalid session names, source
rules and chaining cycles. Each problem names the file, the profile and the key. The parsed result
is cached by path, mtime and size, so a long-running process picks up edits for the cost of a stat.
tomllib and platformdirs are imported only when needed.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from rolecall import locations

__all__ = ["Config", "ConfigError", "Problem", "Profile", "default_path", "load", "locate"]

CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
MIN_DURATION, MAX_DURATION = 900, 43200

# Patterns are compiled on first use: this module is imported in every botocore process that
# has a roles.toml, and compiling all of them up front costs more than the parse itself.
_ROLE_ARN = r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}"
_POLICY_ARN = r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}"
_MFA_SERIAL = r"[\w+=/:,.@-]{9,256}"
_SESSION_NAME = r"[\w+=,.@-]{2,64}"
_EXTERNAL_ID = r"[\w+=,.@:/-]{2,1224}"
_REGION = r"[a-z0-9][a-z0-9-]{1,62}"
_PROFILE_NAME = r"[\w.@+:/-]{1,128}"
_TAG_KEY = r"(?u)[\w .:/=+@-]{1,128}"  # STS: letters, numbers, spaces (not tabs)
_TAG_VALUE = r"(?u)[\w .:/=+@-]{0,256}"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, 0 if pattern.startswith("(?u)") else re.ASCII)


def _matches(pattern: str, value: str) -> bool:
    return _compiled(pattern).fullmatch(value) is not None


class Problem(NamedTuple):
    """One thing wrong with a roles.toml: where it is and what was expected."""

    path: str
    profile: str | None  # None: the file as a whole; "[defaults]": the defaults table
    key: str | None
    message: str

    def __str__(self) -> str:
        where = [self.path]
        if self.profile == "[defaults]":
            where.append("[defaults]")
        elif self.profile is not None:
            where.append(f"profile {self.profile!r}")
        if self.key is not None:
            where.append(f"key {self.key!r}")
        return f"{': '.join(where)}: {self.message}"


class ConfigError(ValueError):
    """roles.toml cannot be used. ``problems`` lists every one found, each with file/profile/key."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...],
                 declared: tuple[str, ...] = ()) -> None:
        self.problems = tuple(problems)
        # The profile names the file declares, found even when it does not parse (best effort),
        # so that a broken file's profiles raise this error rather than botocore's
        # ProfileNotFound.
        self.declared = declared
        first = self.problems[0] if self.problems else None
        self.path = first.path if first else None
        self.profile = first.profile if first else None
        self.key = first.key if first else None
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid rolecall config")


class Profile(NamedTuple):
    """One ``[profiles.NAME]`` table with ``[defaults]`` applied. Holds no secrets.

    ``parent`` is the rolecall profile this one chains from (its ``source_profile`` when that names
    another ``[profiles.*]`` table), else None.
    """

    name: str
    role_arn: str
    source_profile: str | None = None
    credential_source: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    external_id: str | None = None
    mfa_serial: str | None = None
    mfa_token_command: tuple[str, ...] | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    region: str | None = None
    sts_endpoint_url: str | None = None
    cache: bool = True
    parent: str | None = None


class Config(NamedTuple):
    """A validated roles.toml."""

    path: str
    profiles: Mapping[str, Profile]


class _Invalid(Exception):
    """A value check failed; the text says what was expected."""


def _describe(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too large to print (Python limits int-to-str digits)
        return "a very large integer"
    return text if len(text) <= 60 else text[:57] + "..."


def _string(pattern: str | None, expected: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected {expected} (a string), got {_describe(value)}")
        if pattern is not None and not _matches(pattern, value):
            raise _Invalid(f"expected {expected}, got {_describe(value)}")
        return value

    return check


def _duration(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected an integer from {MIN_DURATION} to {MAX_DURATION} (seconds), "
                       f"got {_describe(value)}")
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise _Invalid(f"expected an integer from {MIN_DURATION} to {MAX_DURATION} (seconds), "
                       f"got {_describe(value)}")
    return value


def _credential_source(value: object) -> str:
    if value not in CREDENTIAL_SOURCES:
        raise _Invalid(f"expected one of {', '.join(CREDENTIAL_SOURCES)}, got {_describe(value)}")
    return str(value)


def _command(value: object) -> tuple[str, ...]:
    import shlex

    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise _Invalid(f"expected a command line, but it does not split: {exc}") from None
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = list(value)
    else:
        raise _Invalid(f"expected a list of strings or a command string, got {_describe(value)}")
    if not parts or not parts[0]:
        raise _Invalid("expected a non-empty command")
    return tuple(parts)


def _policy(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a JSON policy document (a string), got {_describe(value)}")
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise _Invalid(f"expected a JSON policy document, but it does not parse: {exc}") from None
    except RecursionError:
        raise _Invalid("expected a JSON policy document, but it is nested too deeply") from None
    if not isinstance(document, dict):
        raise _Invalid("expected a JSON policy document (a JSON object)")
    if len(value) > 2048:
        raise _Invalid(f"expected a policy of at most 2048 characters, got {len(value)}")
    return value


def _policy_arns(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected a list of IAM policy ARNs, got {_describe(value)}")
    if len(value) > 10:
        raise _Invalid(f"expected at most 10 policy ARNs, got {len(value)}")
    for item in value:
        if not isinstance(item, str) or not _matches(_POLICY_ARN, item):
            raise _Invalid(f"expected IAM policy ARNs like arn:aws:iam::aws:policy/ReadOnlyAccess, "
                           f"got {_describe(item)}")
    return tuple(value)


def _tags(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise _Invalid(f"expected a table of tag names to string values, got {_describe(value)}")
    if len(value) > 50:
        raise _Invalid(f"expected at most 50 session tags, got {len(value)}")
    for key, item in value.items():
        if not _matches(_TAG_KEY, key):
            raise _Invalid(f"expected tag names of 1-128 letters, digits, spaces or _.:/=+-@, "
                           f"got {_describe(key)}")
        if not isinstance(item, str) or not _matches(_TAG_VALUE, item):
            raise _Invalid(f"expected tag {key!r} to be a string of at most 256 characters, "
                           f"got {_describe(item)}")
    return tuple(sorted(value.items()))


def _string_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"expected a list of strings, got {_describe(value)}")
    return tuple(value)


def _url(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise _Invalid(f"expected an http(s) URL, got {_describe(value)}")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


# Every key of a profile: its checker. Key names follow ~/.aws/config wherever AWS has one.
_CHECKS: dict[str, Callable[[object], object]] = {
    "role_arn": _string(_ROLE_ARN, "an IAM role ARN like arn:aws:iam::111122223333:role/Deploy"),
    "source_profile": _string(_PROFILE_NAME, "a profile name"),
    "credential_source": _credential_source,
    "role_session_name": _string(_SESSION_NAME, "2-64 characters from [A-Za-z0-9_+=,.@-]"),
    "duration_seconds": _duration,
    "external_id": _string(_EXTERNAL_ID, "2-1224 characters from [A-Za-z0-9_+=,.@:/-]"),
    "mfa_serial": _string(_MFA_SERIAL, "an MFA device ARN or serial number (9-256 characters)"),
    "mfa_token_command": _command,
    "policy": _policy,
    "policy_arns": _policy_arns,
    "tags": _tags,
    "transitive_tag_keys": _string_list,
    "source_identity": _string(_SESSION_NAME, "2-64 characters from [A-Za-z0-9_+=,.@-]"),
    "region": _string(_REGION, "an AWS region name like eu-west-1"),
    "sts_endpoint_url": _url,
    "cache": _boolean,
}
_SOURCE_KEYS = ("source_profile", "credential_source")


def locate() -> Path:
    """The roles.toml in force: ``ROLECALL_CONFIG`` if set, else :func:`default_path`."""
    return Path(locations.config_file())


def default_path() -> Path:
    """``platformdirs.user_config_dir("rolecall")/roles.toml`` (``~/.config/rolecall`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("rolecall", appauthor=False)) / "roles.toml"


_cache: dict[str, tuple[tuple[int, int, int], Config | ConfigError]] = {}
_cache_lock = threading.Lock()


_DECLARED = r"(?m)^[ \t]*\[[ \t]*profiles\.([\"']?)([^\]\"'\s]+)\1[ \t]*\]"


def load(path: str | os.PathLike[str] | None = None) -> Config | None:
    """The validated config at ``path`` (default :func:`locate`), or None when there is no file.

    Raises :class:`ConfigError`. Results (and errors) are cached until the file changes.
    """
    path = locate() if path is None else Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem = Problem(str(path), None, None, f"cannot read: {exc.strerror}")
        raise ConfigError([problem]) from None
    signature = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(str(path))
    if cached is not None and cached[0] == signature:
        result = cached[1]
    else:
        result = _read(path)
        with _cache_lock:
            _cache[str(path)] = (signature, result)
    if isinstance(result, ConfigError):
        # A new exception each time: re-raising the cached one would grow its traceback.
        raise ConfigError(result.problems, result.declared) from None
    return result


def _read(path: Path) -> Config | ConfigError:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ConfigError([Problem(str(path), None, None, f"cannot read: {exc.strerror}")])
    try:
        return parse(data, str(path))
    except ConfigError as exc:
        text = data.decode("utf-8", errors="replace")
        return ConfigError(exc.problems, tuple(m.group(2) for m in re.finditer(_DECLARED, text)))


def parse(data: bytes | str, path: str = "<roles.toml>") -> Config:
    """Validate roles.toml text; ``path`` is only used in messages. Raises :class:`ConfigError`."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10
        import tomli as tomllib

    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(path, None, None, f"not UTF-8 text: {exc}")]) from None
    try:
        document = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, and the int-to-str limit for huge integers
        raise ConfigError([Problem(path, None, None, f"invalid TOML: {exc}")]) from None
    except RecursionError:
        raise ConfigError([Problem(path, None, None, "invalid TOML: nested too deeply")]) from None
    return _validate(document, path)


def _unknown(key: str, known: list[str] | tuple[str, ...] | Mapping[str, Any]) -> str:
    import difflib  # only when something is wrong

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key (known keys: {', '.join(sorted(known))})"


def _check_table(table: Mapping[str, Any], path: str, where: str,
                 problems: list[Problem]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, raw in table.items():
        check = _CHECKS.get(key)
        if check is None:
            problems.append(Problem(path, where, key, _unknown(key, _CHECKS)))
            continue
        try:
            values[key] = check(raw)
        except _Invalid as exc:
            problems.append(Problem(path, where, key, str(exc)))
    return values


def _validate(document: Mapping[str, Any], path: str) -> Config:
    problems: list[Problem] = []
    for key in document:
        if key not in ("defaults", "profiles"):
            problems.append(Problem(path, None, key, _unknown(key, ("defaults", "profiles"))))
    defaults_raw = document.get("defaults", {})
    profiles_raw = document.get("profiles", {})
    if not isinstance(defaults_raw, dict):
        problems.append(Problem(path, None, "defaults", "expected a table: [defaults]"))
        defaults_raw = {}
    if not isinstance(profiles_raw, dict):
        problems.append(Problem(path, None, "profiles", "expected tables: [profiles.NAME]"))
        profiles_raw = {}
    defaults = _check_table(defaults_raw, path, "[defaults]", problems)

    merged: dict[str, dict[str, object]] = {}
    for name, table in profiles_raw.items():
        if not _matches(_PROFILE_NAME, name):
            problems.append(Problem(path, name, None,
                                    "profile names are 1-128 characters from [A-Za-z0-9_.@+:/-]"))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, name, None, "expected a table: [profiles.NAME]"))
            continue
        own = _check_table(table, path, name, problems)
        inherited, written = dict(defaults), dict(defaults_raw)
        if any(key in table for key in _SOURCE_KEYS):
            # A profile that names its own source replaces the default source as a whole.
            for key in _SOURCE_KEYS:
                inherited.pop(key, None)
                written.pop(key, None)
        inherited.update(own)
        written.update(table)
        for key in set(table) - set(own):  # written in the profile, but invalid there:
            inherited.pop(key, None)      # never fall back to the default's value
        merged[name] = inherited
        _check_profile(name, written, inherited, path, problems)

    profiles: dict[str, Profile] = {}
    for name, values in merged.items():
        if "role_arn" not in values:
            continue
        source = values.get("source_profile")
        parent = source if isinstance(source, str) and source != name and source in merged else None
        profiles[name] = Profile(name=name, parent=parent, **values)  # type: ignore[arg-type]
    _check_cycles(profiles, path, problems)
    if problems:
        raise ConfigError(problems)
    return Config(path=path, profiles=MappingProxyType(profiles))


def _check_profile(name: str, table: Mapping[str, Any], values: Mapping[str, object], path: str,
                   problems: list[Problem]) -> None:
    """Rules across keys. ``table`` holds the raw keys written (profile and defaults), so a value
    that failed its own check is not reported a second time as missing."""
    if "role_arn" not in values and "role_arn" not in table:
        problems.append(Problem(path, name, "role_arn",
                                "required: the ARN of the role to assume, like "
                                "arn:aws:iam::111122223333:role/Deploy"))
    sources = [key for key in _SOURCE_KEYS if key in values or key in table]
    if len(sources) == 0:
        problems.append(Problem(path, name, "source_profile",
                                "one of source_profile or credential_source is required"))
    elif len(sources) == 2:
        problems.append(Problem(path, name, "credential_source",
                                "source_profile and credential_source exclude each other; "
                                "keep one"))
    if "tags" in table and "tags" not in values:
        return  # the tags themselves are invalid; that problem is reported already
    tags = dict(cast("tuple[tuple[str, str], ...]", values.get("tags", ())))
    for key in cast("tuple[str, ...]", values.get("transitive_tag_keys", ())):
        if key not in tags:
            problems.append(Problem(path, name, "transitive_tag_keys",
                                    f"{key!r} is not one of this profile's tags"))


def _check_cycles(profiles: Mapping[str, Profile], path: str, problems: list[Problem]) -> None:
    reported: set[str] = set()
    for start in profiles:
        chain = [start]
        current = profiles[start].parent
        while current is not None and current in profiles:
            if current in chain:
                loop = [*chain[chain.index(current):], current]
                if not reported.intersection(loop):
                    problems.append(Problem(path, current, "source_profile",
                                            "role chaining cycle: " + " -> ".join(loop)))
                    reported.update(loop)
                break
            chain.append(current)
            current = profiles[current].parent
