"""roles.toml as immutable records, loaded for the cost of a stat.

A mistake breaks only what it touches: :func:`load` never raises for what is written in the file.
It returns a :class:`Config` whose ``profiles`` are the usable profiles and whose ``errors`` hold,
for every declared profile that cannot be used (its own mistake, one in ``[defaults]`` or the file
as a whole, or one anywhere up its chain), the :class:`ConfigError` its use raises. Only a file that
cannot be read at all (not a regular file, too large, unreadable) raises at once: then nobody can
tell which profiles it declares.

The validated result is kept in memory and, for the next process, as a snapshot in the cache folder
(:func:`rolecall._files.read_snapshot`), keyed by the file's identity; TOML parsing and validation
(:mod:`rolecall._validate`, which imports tomllib) run only after an edit.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles every string
# annotation, which made importing this module (on every botocore Session's path) ~1 ms slower.
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from rolecall import _files

__all__ = ["ENVIRONMENT", "MAX_BYTES", "Config", "ConfigError", "Problem", "Profile", "Source",
           "catalog", "default_path", "load", "locate", "managing", "parse"]

ENVIRONMENT = "the environment"  # where ROLECALL_ROLE_ARN and its companions are read
MAX_BYTES = 4 << 20  # a larger roles.toml is refused unread (ROLECALL_CONFIG=/dev/zero and co.)


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
            # Options given in code or in the environment are arguments or variables, not keys.
            noun = ("argument" if self.path.endswith(")") else
                    "variable" if self.path == ENVIRONMENT else "key")
            where.append(f"{noun} {self.key!r}")
        return f"{': '.join(where)}: {self.message}"


class ConfigError(ValueError):
    """roles.toml cannot be used (for one profile, or at all). ``problems`` lists every one found,
    each with file, profile and key; the first one also gives ``path``, ``profile`` and ``key``."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
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
    mfa_session_duration: int | None = None  # seconds of a GetSessionToken session; None: off
    parent: str | None = None


class Source(NamedTuple):
    """Source credentials given as an object rather than named (``rolecall.assume(session=...)``,
    ``ROLECALL_ROLE_ARN``): what identifies them in cache keys (an access key ID, never a secret,
    asked for only when a key is needed), and how to load them (botocore credentials, or None)."""

    identity: Callable[[], str]
    load: Callable[[], Any]
    description: str


class Config(NamedTuple):
    """A roles.toml: the usable ``profiles``, and for each declared profile that is not usable the
    problems that its use raises (``errors``). ``problems`` is every problem in the file.
    ``sources`` holds source credentials given as objects, by profile (never from a file).
    ``identity``: the file's identity when it was read (:func:`rolecall._files.identity`), so that
    what is derived from these records is never vouched for a later version of the file; None for
    records that come from no file."""

    path: str
    profiles: Mapping[str, Profile]
    errors: Mapping[str, tuple[Problem, ...]] = {}
    problems: tuple[Problem, ...] = ()
    sources: Mapping[str, Source] = {}
    identity: "tuple[int, ...] | None" = None

    def declares(self, name: str) -> bool:
        """Whether ``name`` is a profile of this file (usable or not)."""
        return name in self.profiles or name in self.errors

    def profile(self, name: str) -> Profile:
        """The usable profile ``name``; raises its :class:`ConfigError` (KeyError: undeclared)."""
        problems = self.errors.get(name)
        if problems is not None:
            raise ConfigError(problems)
        return self.profiles[name]


def locate() -> Path:
    """The roles.toml in force: ``ROLECALL_CONFIG`` if set, else :func:`default_path` (computed
    without importing platformdirs on Linux, see :mod:`rolecall._files`)."""
    return Path(_files.config_file())


def default_path() -> Path:
    """``platformdirs.user_config_dir("rolecall")/roles.toml`` (``~/.config/rolecall`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("rolecall", appauthor=False)) / "roles.toml"


# path -> (the file's identity, what it holds)
_loaded: dict[str, tuple[list[int], "Config | ConfigError"]] = {}
_loaded_lock = threading.Lock()


def load(path: "str | os.PathLike[str] | None" = None) -> "Config | None":
    """The config at ``path`` (default :func:`locate`), or None when there is no file.

    Costs a stat while the file is unchanged. Raises :class:`ConfigError` only when the file
    cannot be read at all; mistakes in it are kept per profile (see :class:`Config`).
    """
    from rolecall import _files

    path = str(locate() if path is None else path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError([Problem(path, None, None, f"cannot read: {exc.strerror}")]) from None
    key = _files.identity(st)
    cached = _loaded.get(path)
    if cached is not None and cached[0] == key:
        result = cached[1]
    else:
        result = _read(path, key)
        if isinstance(result, Config):
            result = result._replace(identity=tuple(key))
        with _loaded_lock:
            _loaded[path] = (key, result)
    if isinstance(result, ConfigError):
        # A new exception each time: re-raising the cached one would grow its traceback.
        raise ConfigError(result.problems) from None
    return result


def _read(path: str, key: list[int]) -> "Config | ConfigError":
    from rolecall import _files

    doc = _files.read_snapshot(path, key)
    if doc is not None:
        try:
            return _from_snapshot(doc, path)
        except (TypeError, ValueError, KeyError, AttributeError):
            pass  # not what this version writes: parse the file
    try:
        data = _files.read_capped(path, MAX_BYTES)
    except FileNotFoundError:
        data = b""  # removed between the stat and the open: as good as empty for this moment
    except _files.Unreadable as exc:
        return ConfigError([Problem(path, None, None, f"cannot read: {exc}")])
    from rolecall import _validate

    loaded = _validate.tolerant(data, path)
    from rolecall import _private

    _private.save_snapshot(path, key,
                   {name: profile._asdict() for name, profile in loaded.profiles.items()},
                   {name: [list(p) for p in found] for name, found in loaded.errors.items()},
                   [list(p) for p in loaded.problems])
    return loaded


_TUPLES = ("mfa_token_command", "policy_arns", "transitive_tag_keys")


def _from_snapshot(doc: Mapping[str, Any], path: str) -> "Config":
    profiles = {}
    for name, fields in doc["profiles"].items():
        values = dict(fields)
        for key in _TUPLES:
            if values.get(key) is not None:
                values[key] = tuple(str(item) for item in values[key])
        values["tags"] = tuple((str(k), str(v)) for k, v in values.get("tags", ()))
        profile = Profile(**values)
        if profile.name != name or not isinstance(profile.role_arn, str):
            raise ValueError(name)
        profiles[name] = profile
    errors = {name: tuple(Problem(*problem) for problem in problems)
              for name, problems in doc["errors"].items()}
    problems = tuple(Problem(*problem) for problem in doc["problems"])
    return Config(path, MappingProxyType(profiles), MappingProxyType(errors), problems)


_warned: set[str] = set()


def catalog(path: str) -> "dict[str, str | None] | None":
    """The profiles the roles.toml at ``path`` declares, with their regions (broken ones
    included, without a region): the Session layer's answer when the snapshot has none, after an
    edit or where the file has problems. None when the file cannot be read at all. Never raises:
    each problem is logged once per process instead (it raises where a profile it touches is
    used)."""
    try:
        loaded = load(path)
    except ConfigError as exc:
        _warn(exc.problems, "every credential resolution through rolecall will fail")
        return None
    if loaded is None:
        return {}
    _warn(loaded.problems, "the profiles it touches will fail")
    declared: dict[str, str | None] = dict.fromkeys(loaded.errors)
    declared.update((name, profile.region) for name, profile in loaded.profiles.items())
    return declared


def _warn(problems: "tuple[Problem, ...]", consequence: str) -> None:
    import logging

    for problem in problems:
        text = str(problem)
        if text not in _warned:
            _warned.add(text)
            logging.getLogger("rolecall").warning(
                "rolecall: %s (%s; ROLECALL_DISABLE=1 switches rolecall off)", text, consequence,
                extra={"rolecall_problem": text})


def managing(profile_name: str, path: "str | os.PathLike[str] | None" = None) -> "Config | None":
    """The roles.toml that manages ``profile_name``, or None when no roles.toml declares it.

    Raises :class:`ConfigError` for a declared profile that cannot be used (its own mistake, or one
    up its chain or in the file as a whole), and when roles.toml cannot be read at all: then nobody
    can tell which profiles it declares, and a declared one must never fall back silently to other
    credentials.
    """
    loaded = load(path)
    if loaded is None or not loaded.declares(profile_name):
        return None
    loaded.profile(profile_name)  # raises its ConfigError
    return loaded


def parse(data: bytes | str, path: str = "<roles.toml>") -> Config:
    """Validate roles.toml text strictly: every problem raises (``rolecall check``, tests, and
    options given in code). ``path`` is only used in messages."""
    from rolecall import _validate

    loaded = _validate.tolerant(data, path)
    if loaded.problems:
        raise ConfigError(loaded.problems)
    return loaded
