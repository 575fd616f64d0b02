"""Validate roles.toml text into a :class:`rolecall.config.Config`, problem by problem.

Everything a user can get wrong is found here, before any network call: unknown keys (with a
close match), wrong types, malformed ARNs, out-of-range durations, invalid session names, source
rules and chaining cycles. Each problem names the file, the profile and the key, and is charged to
what it touches: its profile (and every profile chaining from it), ``[defaults]`` or the file as a
whole (every declared profile). Imported only when a roles.toml must actually be parsed: it
imports tomllib.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any, cast

from rolecall.config import Config, Problem, Profile

__all__ = ["MAX_DURATION", "MIN_DURATION", "from_options", "tolerant"]

CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
MIN_DURATION, MAX_DURATION = 900, 43200
MAX_MFA_SESSION = 129600  # GetSessionToken DurationSeconds: 900 to 129600 (36 hours)

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


class _Invalid(Exception):
    """A value check failed; the text says what was expected."""


def _describe(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too large to print (Python limits int-to-str digits)
        return "a very large integer"
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    """What a value is, without showing it: for keys whose values may be confidential (an
    external ID is a shared secret of sorts; policies and tags say what a role may do)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return {int: "an integer", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), "a value of another type")


def _string(pattern: str | None, expected: str,
            confidential: bool = False) -> Callable[[object], str]:
    show = _kind if confidential else _describe

    def check(value: object) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected {expected} (a string), got {show(value)}")
        if pattern is not None and not _matches(pattern, value):
            raise _Invalid(f"expected {expected}, got {show(value)}")
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


def _mfa_session(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not MIN_DURATION <= value <= MAX_MFA_SESSION:
        raise _Invalid(f"expected an integer from {MIN_DURATION} to {MAX_MFA_SESSION} (seconds "
                       f"of one MFA session), got {_describe(value)}")
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
        raise _Invalid(f"expected a JSON policy document (a string), got {_kind(value)}")
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
        raise _Invalid(f"expected a table of tag names to string values, got {_kind(value)}")
    if len(value) > 50:
        raise _Invalid(f"expected at most 50 session tags, got {len(value)}")
    for number, (key, item) in enumerate(value.items(), 1):
        if not _matches(_TAG_KEY, key):
            raise _Invalid(f"expected tag names of 1-128 letters, digits, spaces or _.:/=+-@; "
                           f"tag {number} has {_kind(key)}")
        if not isinstance(item, str) or not _matches(_TAG_VALUE, item):
            raise _Invalid(f"expected tag values of at most 256 letters, digits, spaces or "
                           f"_.:/=+-@; tag {number} has {_kind(item)}")
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
CHECKS: dict[str, Callable[[object], object]] = {
    "role_arn": _string(_ROLE_ARN, "an IAM role ARN like arn:aws:iam::111122223333:role/Deploy"),
    "source_profile": _string(_PROFILE_NAME, "a profile name"),
    "credential_source": _credential_source,
    "role_session_name": _string(_SESSION_NAME, "2-64 characters from [A-Za-z0-9_+=,.@-]"),
    "duration_seconds": _duration,
    "external_id": _string(_EXTERNAL_ID, "2-1224 characters from [A-Za-z0-9_+=,.@:/-]",
                           confidential=True),
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
    "mfa_session_duration": _mfa_session,
}
_SOURCE_KEYS = ("source_profile", "credential_source")


_SOURCE_KEYS = ("source_profile", "credential_source")
_TOP_LEVEL = ("defaults", "profiles")
# A [profiles.NAME] header as written, found even in a file that does not parse.
_DECLARED = r"(?m)^[ \t]*\[[ \t]*profiles[ \t]*\.[ \t]*([\"']?)([^\]\"'\s]+)\1[ \t]*\]"


def tolerant(data: bytes | str, path: str) -> Config:
    """Everything in ``data``, problems charged to what they touch (see the module docstring)."""
    problem = None
    document: Mapping[str, Any] = {}
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        problem = Problem(path, None, None, f"not UTF-8 text: {exc}")
    else:
        text = text.removeprefix("\ufeff")  # a byte order mark, as some Windows editors write
        document, problem = _toml(text, path)
    if problem is not None:
        # Nothing can be trusted, but the profiles the file declares must not fall back to
        # other credentials: each of them raises this problem.
        declared = dict.fromkeys(m.group(2) for m in re.finditer(_DECLARED, text))
        return Config(path, MappingProxyType({}),
                      MappingProxyType(dict.fromkeys(declared, (problem,))), (problem,))
    return _validate(document, path)


def _toml(text: str, path: str) -> tuple[Mapping[str, Any], Problem | None]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10
        import tomli as tomllib

    try:
        return tomllib.loads(text), None
    except ValueError as exc:  # TOMLDecodeError, and the int-to-str limit for huge integers
        return {}, Problem(path, None, None, f"invalid TOML: {exc}")
    except RecursionError:
        return {}, Problem(path, None, None, "invalid TOML: nested too deeply")


def _close(key: str, known: Mapping[str, Any] | tuple[str, ...]) -> str | None:
    import difflib  # only when something is wrong

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(key: str, known: Mapping[str, Any] | tuple[str, ...]) -> str:
    close = _close(key, known)
    if close:
        return f"unknown key; did you mean {close!r}?"
    return f"unknown key (known keys: {', '.join(sorted(known))})"


def _check_table(table: Mapping[str, Any], path: str, where: str | None,
                 problems: list[Problem]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, raw in table.items():
        check = CHECKS.get(key)
        if check is None:
            problems.append(Problem(path, where, key, _unknown(key, CHECKS)))
            continue
        try:
            values[key] = check(raw)
        except _Invalid as exc:
            problems.append(Problem(path, where, key, str(exc)))
    return values


def _validate(document: Mapping[str, Any], path: str) -> Config:
    shared: list[Problem] = []  # the file as a whole and [defaults]: they touch every profile
    own: dict[str, list[Problem]] = {}
    misplaced: list[str] = []  # [profile.NAME] and the like: names meant as profiles
    for key, value in document.items():
        if key not in _TOP_LEVEL:
            shared.append(Problem(path, None, key, _unknown(key, _TOP_LEVEL)))
            if _close(key, _TOP_LEVEL) == "profiles" and isinstance(value, dict):
                misplaced += [name for name, table in value.items() if isinstance(table, dict)]
    defaults_raw = document.get("defaults", {})
    profiles_raw = document.get("profiles", {})
    if not isinstance(defaults_raw, dict):
        shared.append(Problem(path, None, "defaults", "expected a table: [defaults]"))
        defaults_raw = {}
    if not isinstance(profiles_raw, dict):
        shared.append(Problem(path, None, "profiles", "expected tables: [profiles.NAME]"))
        profiles_raw = {}
    defaults = _check_table(defaults_raw, path, "[defaults]", shared)

    merged: dict[str, dict[str, object]] = {}
    for name, table in profiles_raw.items():
        problems = own.setdefault(name, [])
        if not _matches(_PROFILE_NAME, name):
            problems.append(Problem(path, name, None,
                                    "profile names are 1-128 characters from [A-Za-z0-9_.@+:/-]"))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, name, None, "expected a table: [profiles.NAME]"))
            continue
        values = _check_table(table, path, name, problems)
        inherited, written = dict(defaults), dict(defaults_raw)
        if any(key in table for key in _SOURCE_KEYS):
            # A profile that names its own source replaces the default source as a whole.
            for key in _SOURCE_KEYS:
                inherited.pop(key, None)
                written.pop(key, None)
        inherited.update(values)
        written.update(table)
        for key in set(table) - set(values):  # written in the profile, but invalid there:
            inherited.pop(key, None)         # never fall back to the default's value
        merged[name] = inherited
        _check_profile(name, written, inherited, path, problems)
        _check_mfa_session(name, table, inherited, path, problems)
    for name in misplaced:
        own.setdefault(name, [])

    parents = {name: _parent(name, values, own) for name, values in merged.items()}
    _check_cycles(parents, path, own)
    errors = _charge(own, parents, shared)
    profiles = {name: Profile(name=name, parent=parents[name], **values)  # type: ignore[arg-type]
                for name, values in merged.items() if name not in errors}
    everything = tuple(dict.fromkeys([*shared, *(p for found in own.values() for p in found)]))
    return Config(path, MappingProxyType(profiles), MappingProxyType(errors), everything)


def _parent(name: str, values: Mapping[str, object], declared: Mapping[str, object]) -> str | None:
    source = values.get("source_profile")
    return source if isinstance(source, str) and source != name and source in declared else None


def _charge(own: Mapping[str, list[Problem]], parents: Mapping[str, str | None],
            shared: list[Problem]) -> dict[str, tuple[Problem, ...]]:
    """The problems each declared profile's use raises: the file's and [defaults]' problems, its
    own, and those of the first broken link up its chain."""
    errors: dict[str, tuple[Problem, ...]] = {}
    for name, problems in own.items():
        found = [*shared, *problems]
        link, seen = parents.get(name), {name}
        while not found and link is not None and link not in seen:
            seen.add(link)
            if own.get(link):
                first = own[link][0]
                found = [Problem(first.path, name, "source_profile",
                                 f"chains from profile {link!r}, which cannot be used:"),
                         *own[link]]
            link = parents.get(link)
        if found:
            errors[name] = tuple(found)
    return errors


def from_options(options: Mapping[str, object], where: str,
                 declared: Mapping[str, Profile] | None = None) -> Profile:
    """One profile from keyword options (``rolecall.assume()``, ``ROLECALL_ROLE_ARN``), checked
    by the same rules as a roles.toml table; ``where`` names the caller in messages. Without a
    source option the source is botocore's default chain. A ``source_profile`` that ``declared``
    holds chains from that roles.toml profile. Raises ConfigError."""
    problems: list[Problem] = []
    values = _check_table(options, where, None, problems)
    written = dict(options)
    if not any(key in written for key in _SOURCE_KEYS):
        written["source_profile"] = None  # the default chain: no source key is required
    _check_profile(None, written, values, where, problems)
    _check_mfa_session(None, options, values, where, problems)
    if problems:
        from rolecall.config import ConfigError

        raise ConfigError(problems)
    source = values.get("source_profile")
    parent = source if isinstance(source, str) and declared and source in declared else None
    return Profile(name=where, parent=parent, **values)  # type: ignore[arg-type]


def _check_profile(name: str | None, table: Mapping[str, Any], values: Mapping[str, object],
                   path: str, problems: list[Problem]) -> None:
    """Rules across keys. ``table`` holds the raw keys written (profile and defaults), so a value
    that failed its own check, or a misspelt key, is not reported a second time as missing."""
    meant = {_close(key, CHECKS) for key in table if key not in CHECKS}
    if "role_arn" not in values and "role_arn" not in table and "role_arn" not in meant:
        problems.append(Problem(path, name, "role_arn",
                                "required: the ARN of the role to assume, like "
                                "arn:aws:iam::111122223333:role/Deploy"))
    sources = [key for key in _SOURCE_KEYS if key in values or key in table]
    if len(sources) == 0 and not meant.intersection(_SOURCE_KEYS):
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


def _check_mfa_session(name: str | None, own: Mapping[str, Any], values: Mapping[str, object],
                       path: str, problems: list[Problem]) -> None:
    """``mfa_session_duration`` written in a profile itself needs an ``mfa_serial`` (its own or
    inherited): the session is started with that device's code. Inherited from ``[defaults]`` by
    a profile without MFA, it simply does not apply."""
    if "mfa_session_duration" in values and "mfa_session_duration" in own and \
            "mfa_serial" not in values and "mfa_serial" not in own:
        problems.append(Problem(path, name, "mfa_session_duration",
                                "needs mfa_serial: an MFA session starts with that device's "
                                "code (set mfa_serial, or remove this key)"))


def _check_cycles(parents: Mapping[str, str | None], path: str,
                  own: dict[str, list[Problem]]) -> None:
    """A cycle is charged to every profile in it (those chaining into it inherit it)."""
    reported: set[str] = set()
    for start in parents:
        chain = [start]
        current = parents[start]
        while current is not None and current in parents:
            if current in chain:
                loop = [*chain[chain.index(current):], current]
                if not reported.intersection(loop):
                    problem = Problem(path, current, "source_profile",
                                      "role chaining cycle: " + " -> ".join(loop))
                    for member in set(loop):
                        own[member].append(problem)
                    reported.update(loop)
                break
            chain.append(current)
            current = parents[current]
