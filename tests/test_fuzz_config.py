"""Property-based tests (hypothesis) of the roles.toml parser, ``rolecall.config.parse``.

Three properties, all through ``config.parse(data, path="roles.toml")``:

- round trip: a random *valid* document (an optional ``[defaults]`` table and 1-8 profiles with
  random valid values for every key, written out by the small TOML writer below) parses, and every
  ``Profile`` field equals what was generated, with ``[defaults]`` inherited and ``.parent`` set
  exactly when ``source_profile`` names another generated profile;
- mutations: a valid document with random byte-level and line-level damage, near-miss key names
  and values of the wrong type either parses into a consistent ``Config`` or raises ``ConfigError``;
- garbage: arbitrary bytes and text (and token soup, and TOML lines with wrong tables, keys and
  values) do the same.

A ``ConfigError`` must name the file in its text and in every ``Problem``, one problem a line, and
an "invalid TOML" message must give the line where tomllib gives one ("end of document" past the
last character; none for nesting too deep or integers too long, out of random reach anyway).

Runs are deterministic (``derandomize=True``, no example database; hypothesis's caches go to the
temporary folder, not ./.hypothesis). The example counts are in ``EXAMPLES``: 2 500 round trips
+ 3 500 mutations + 4 500 garbage inputs = 10 500 per run, about 45 s on a 2-core machine;
generating documents is what costs (about 8 ms each), garbage is cheap.
Inputs out of random reach, and a false problem the properties do not look for, are plain tests
at the end: all were bugs of config.py when this file was written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import string
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from rolecall import _validate, config
from rolecall.config import Config, ConfigError, Profile

FILE = "roles.toml"

# database=None keeps no examples, but hypothesis still caches Unicode tables and the constants
# of the source code in ./.hypothesis: keep that out of the repository too (an explicit
# HYPOTHESIS_STORAGE_DIRECTORY wins).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "rolecall-hypothesis")

# Examples per property: 10 500 in all; the Hardening issue asks for at least 10 000.
EXAMPLES = {"round_trip": 2500, "mutations": 3500, "garbage": 4500}


def fuzz_settings(name: str) -> settings:
    return settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------------
# Alphabets and value strategies (each draws only values config.py must accept)
# --------------------------------------------------------------------------------------------

def bounded_text(alphabet: str | st.SearchStrategy[str], min_size: int,
                 max_size: int) -> st.SearchStrategy[str]:
    """Strings of ``min_size`` to ``max_size`` characters, one time in 8 of exactly ``max_size``:
    left to itself, hypothesis hardly ever draws more than a few dozen characters."""
    usual = st.text(alphabet, min_size=min_size, max_size=max_size)
    longest = st.text(alphabet, min_size=max_size, max_size=max_size)
    gate = st.integers(0, 7)

    @st.composite
    def draw_text(draw: st.DrawFn) -> str:
        return draw(longest if draw(gate) == 0 else usual)

    return draw_text()


WORD = string.ascii_letters + string.digits + "_"
SESSION_CHARS = WORD + "+=,.@-"  # role names, path segments, session names, source_identity
EXTERNAL_ID_CHARS = SESSION_CHARS + ":/"
MFA_CHARS = SESSION_CHARS + "/:"
PROFILE_CHARS = WORD + ".@+:/-"
REGION_CHARS = string.ascii_lowercase + string.digits
HOST_CHARS = string.ascii_lowercase + string.digits + ".-"
URL_PATH_CHARS = "".join(c for c in string.printable if not c.isspace())
TAG_PUNCTUATION = " _.:/=+-@"
SOURCE_KEYS = ("source_profile", "credential_source")
CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")


# Tags may hold any Unicode letter or digit (every Lu, Ll, Lo and Nd character is \w to the tag
# pattern of config.py), not only ASCII ones; hypothesis favours low code points, so mostly ASCII.
tag_chars = st.characters(categories=("Lu", "Ll", "Lo", "Nd"), include_characters=TAG_PUNCTUATION)
tag_keys = bounded_text(tag_chars, 1, 128)
tag_values = bounded_text(tag_chars, 0, 256)

partitions = st.sampled_from(["aws", "aws-cn", "aws-us-gov"])
accounts = st.integers(0, 10**12 - 1).map("{:012d}".format)
segments = st.text(SESSION_CHARS, min_size=1, max_size=20)
# A role or policy path: "" or "a/b/", drawn as one string (every character drawn costs time).
iam_paths = st.text(SESSION_CHARS + "/", max_size=24).map(lambda path: path and path + "/")
iam_names = bounded_text(SESSION_CHARS, 1, 64)

role_arns = st.builds("arn:{}:iam::{}:role/{}{}".format, partitions, accounts, iam_paths,
                      iam_names)
policy_arns = st.builds("arn:{}:iam::{}:policy/{}{}".format, partitions,
                        st.one_of(st.just("aws"), accounts), iam_paths, iam_names)
mfa_serials = st.one_of(
    st.builds("arn:{}:iam::{}:mfa/{}".format, partitions, accounts, segments),
    bounded_text(MFA_CHARS, 9, 256),
)


class CommandLine(NamedTuple):
    """mfa_token_command written as one string: ``text`` in the file, ``args`` once split."""

    text: str
    args: list[str]


any_text = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogates
command_args = st.builds(lambda first, rest: [first, *rest],
                         any_text.filter(bool), st.lists(any_text, max_size=4))
mfa_commands = st.one_of(
    command_args,
    command_args.map(lambda args: CommandLine(shlex.join(args), args)),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                         st.text(max_size=10))
json_values = st.one_of(json_scalars, st.lists(json_scalars, max_size=3),
                        st.dictionaries(st.text(max_size=8), json_scalars, max_size=3))
policies = st.builds(
    lambda doc, indent, ascii_only: json.dumps(doc, indent=indent, ensure_ascii=ascii_only),
    st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    st.sampled_from([None, 2]),
    st.booleans(),
)

regions = st.builds(lambda first, rest: first + rest, st.sampled_from(REGION_CHARS),
                    st.text(REGION_CHARS + "-", min_size=1, max_size=62))
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    st.text(HOST_CHARS, min_size=1, max_size=30),
    st.sampled_from(["", ":443", ":8080"]),
    st.one_of(st.just(""), st.text(URL_PATH_CHARS, max_size=30).map(lambda p: "/" + p)),
)
session_names = bounded_text(SESSION_CHARS, 2, 64)

# Keys whose value does not depend on the rest of the document.
SIMPLE_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "role_session_name": session_names,
    "duration_seconds": st.integers(_validate.MIN_DURATION, _validate.MAX_DURATION),
    "external_id": bounded_text(EXTERNAL_ID_CHARS, 2, 1224),
    "mfa_serial": mfa_serials,
    "mfa_token_command": mfa_commands,
    "policy": policies,
    "policy_arns": st.lists(policy_arns, max_size=10),
    "source_identity": session_names,
    "region": regions,
    "sts_endpoint_url": urls,
    "cache": st.booleans(),
}

profile_names = bounded_text(PROFILE_CHARS, 1, 128)
AWS_FILE_NAMES = ["default", "dev", "ci", "base", "sso-admin", "corp.main"]


# --------------------------------------------------------------------------------------------
# A small TOML writer
# --------------------------------------------------------------------------------------------

TOML_CONTROL = {*map(chr, range(0x20)), "\x7f"}


def basic_string(value: str) -> str:
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped (and rejects surrogate
    # pair escapes, hence ensure_ascii=False: non-ASCII characters go in as they are).
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_string(value: str, literal: bool) -> str:
    if literal and "'" not in value and not TOML_CONTROL.intersection(value.replace("\t", "")):
        return f"'{value}'"
    return basic_string(value)


def toml_key(key: str, quote: bool = False) -> str:
    if not quote and re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return basic_string(key)


class Style(NamedTuple):
    """How one document is written: the choices TOML leaves open."""

    literal: bool  # 'literal' strings where a value allows them
    quote_keys: bool  # "quoted" keys even where a bare key would do
    underscores: bool  # 3_600 instead of 3600
    tags: str  # "inline" { a = "b" }, "table" [profiles.x.tags] or "dotted" tags.a = "b"


def toml_value(value: object, style: Style) -> str:
    if isinstance(value, CommandLine):
        return toml_string(value.text, style.literal)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if style.underscores else str(value)
    if isinstance(value, str):
        return toml_string(value, style.literal)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item, style) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k, style.quote_keys)} = {toml_value(v, style)}"
                                for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_table(header: str, table: Mapping[str, object], style: Style) -> str:
    lines = [f"[{header}]"]
    tags = table.get("tags")
    for key, value in table.items():
        if key == "tags" and style.tags != "inline" and isinstance(tags, dict) and tags:
            continue
        lines.append(f"{toml_key(key, style.quote_keys)} = {toml_value(value, style)}")
    if isinstance(tags, dict) and tags and style.tags == "dotted":
        lines.extend(f"tags.{toml_key(k, style.quote_keys)} = {toml_value(v, style)}"
                     for k, v in tags.items())
    elif isinstance(tags, dict) and tags and style.tags == "table":
        lines.append(f"[{header}.tags]")
        lines.extend(f"{toml_key(k, style.quote_keys)} = {toml_value(v, style)}"
                     for k, v in tags.items())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Valid documents
# --------------------------------------------------------------------------------------------


class Document(NamedTuple):
    """A generated roles.toml: what was written (TOML-level values) and the text."""

    defaults: dict[str, object] | None
    profiles: dict[str, dict[str, object]]
    text: str


# Strategies drawn from inside documents(), built once: building them per draw costs more than
# drawing from them. Generation time is what limits the example count, so choices are few.
BOOLEANS = st.booleans()
KEY_MASKS = st.integers(0, 2 ** len(SIMPLE_KEYS) - 1)  # one bit a key: which keys a table has
PICKS = st.lists(st.integers(0, 63), max_size=5)  # positions in a list, taken modulo its length
PICK = st.integers(0, 63)
SMALL_TAG_TABLES = st.dictionaries(tag_keys, tag_values, max_size=3)
# 40-50 distinct random keys would often collide and be retried, and long values overrun
# hypothesis's buffer: number the keys, keep the values short.
LARGE_TAG_TABLES = st.builds(
    lambda prefix, values: {f"{prefix}{i}": value for i, value in enumerate(values)},
    tag_keys.map(lambda key: key[:126]),
    st.lists(st.text(tag_chars, max_size=8), min_size=40, max_size=50),
)
ONE_IN_8 = st.integers(0, 7)
AWS_NAMES = st.one_of(st.sampled_from(AWS_FILE_NAMES), profile_names)
SOURCES = st.sampled_from(["aws", "self", "earlier", "credential_source"])
DEFAULT_SOURCES = st.sampled_from(["none", "aws", "first", "credential_source"])
CREDENTIAL_SOURCE_VALUES = st.sampled_from(CREDENTIAL_SOURCES)
STYLES = st.builds(Style, BOOLEANS, BOOLEANS, BOOLEANS,
                   st.sampled_from(["inline", "table", "dotted"]))
SEPARATORS = st.sampled_from(["\n", "\n# a comment\n", "\n\n"])


def pick_some(draw: st.DrawFn, items: list[str]) -> list[str]:
    """Up to 5 of ``items`` (repeats allowed, as config.py allows them)."""
    return [items[i % len(items)] for i in draw(PICKS)] if items else []


def tag_table(draw: st.DrawFn) -> dict[str, str]:
    """Up to 3 tags, or (one time in 8) 40 to 50."""
    return draw(LARGE_TAG_TABLES if draw(ONE_IN_8) == 0 else SMALL_TAG_TABLES)


def simple_values(draw: st.DrawFn, sometimes_all: bool) -> dict[str, object]:
    """Values for a random subset of SIMPLE_KEYS: about a quarter, or (one time in 8) all."""
    everything = sometimes_all and draw(ONE_IN_8) == 0
    mask = -1 if everything else draw(KEY_MASKS) & draw(KEY_MASKS)
    return {key: draw(strategy) for bit, (key, strategy) in enumerate(SIMPLE_KEYS.items())
            if mask >> bit & 1}


def aws_name(draw: st.DrawFn, ours: list[str]) -> str:
    """A profile of the AWS files: never the name of a generated profile."""
    name = draw(AWS_NAMES)
    assume(name not in ours)
    return name


@st.composite
def documents(draw: st.DrawFn, max_profiles: int = 8) -> Document:
    count = draw(st.one_of(st.integers(1, min(3, max_profiles)), st.integers(1, max_profiles)))
    names = draw(st.lists(profile_names, min_size=count, max_size=count, unique=True))

    defaults: dict[str, object] | None = None
    if draw(BOOLEANS):
        defaults = {}
        if draw(BOOLEANS):
            defaults["role_arn"] = draw(role_arns)
        source = draw(DEFAULT_SOURCES)
        if source == "aws":
            defaults["source_profile"] = aws_name(draw, names)
        elif source == "first":  # every profile without its own source chains from the first
            defaults["source_profile"] = names[0]
        elif source == "credential_source":
            defaults["credential_source"] = draw(CREDENTIAL_SOURCE_VALUES)
        defaults.update(simple_values(draw, sometimes_all=False))
        if draw(BOOLEANS):
            tags = tag_table(draw)
            defaults["tags"], defaults["transitive_tag_keys"] = tags, pick_some(draw, sorted(tags))
    base = defaults or {}

    profiles: dict[str, dict[str, object]] = {}
    for index, name in enumerate(names):
        own: dict[str, object] = {}
        if "role_arn" not in base or draw(BOOLEANS):
            own["role_arn"] = draw(role_arns)
        if not any(key in base for key in SOURCE_KEYS) or draw(BOOLEANS):
            # Chaining only to an earlier profile (or the first, or itself): never a cycle.
            kind = draw(SOURCES)
            if kind == "credential_source":
                own["credential_source"] = draw(CREDENTIAL_SOURCE_VALUES)
            elif kind == "earlier" and index > 0:
                own["source_profile"] = names[draw(PICK) % index]
            elif kind == "self":
                own["source_profile"] = name
            else:
                own["source_profile"] = aws_name(draw, names)
        own.update(simple_values(draw, sometimes_all=True))
        if draw(BOOLEANS):
            own["tags"] = tag_table(draw)
        # A profile's tags replace the default ones; its transitive keys must be among them.
        in_force = own.get("tags", base.get("tags", {}))
        assert isinstance(in_force, dict)
        inherited_keys = base.get("transitive_tag_keys", [])
        assert isinstance(inherited_keys, list)
        if not set(inherited_keys) <= set(in_force) or draw(BOOLEANS):
            own["transitive_tag_keys"] = pick_some(draw, sorted(in_force))
        # Key order within a table is free.
        order = draw(st.permutations(list(own)))
        profiles[name] = {key: own[key] for key in order}

    style = draw(STYLES)
    blocks = [toml_table(f"profiles.{toml_key(name, style.quote_keys)}", table, style)
              for name, table in profiles.items()]
    if defaults is not None:
        blocks.insert(draw(st.integers(0, len(blocks))), toml_table("defaults", defaults, style))
    return Document(defaults, profiles, draw(SEPARATORS).join(blocks))


def field_value(key: str, value: object) -> object:
    """The Profile field for a value as written."""
    if isinstance(value, CommandLine):
        return tuple(value.args)
    if key == "tags":
        assert isinstance(value, dict)
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(value)
    return value


def expected_profiles(doc: Document) -> dict[str, Profile]:
    base = doc.defaults or {}
    expected = {}
    for name, own in doc.profiles.items():
        values = dict(base)
        if any(key in own for key in SOURCE_KEYS):  # its own source replaces the default's pair
            for key in SOURCE_KEYS:
                values.pop(key, None)
        values.update(own)
        fields = {key: field_value(key, value) for key, value in values.items()}
        source = fields.get("source_profile")
        parent = source if source != name and source in doc.profiles else None
        expected[name] = Profile(name=name, parent=parent, **fields)  # type: ignore[arg-type]
    return expected


# --------------------------------------------------------------------------------------------
# What parse() may do with any input
# --------------------------------------------------------------------------------------------

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)


def check_error(exc: ConfigError, positionless: bool = False) -> None:
    """A ConfigError names the file in its text and in every problem, one problem a line, and
    gives the line of a TOML syntax error (``positionless``: tomllib gave no position)."""
    assert exc.problems
    assert exc.path == FILE
    text = str(exc)
    assert FILE in text
    assert text == "\n".join(str(problem) for problem in exc.problems)
    for problem in exc.problems:
        assert problem.path == FILE
        assert problem.message
        assert str(problem).startswith(f"{FILE}: ")
        assert "\n" not in str(problem)
    if "invalid TOML" in text and not positionless:
        # tomllib gives "line L, column C", or "end of document" past the last character.
        assert "line " in text or "end of document" in text, text


def check_config(result: Config) -> None:
    """A Config that parse() returns holds only profiles that can be used as they are."""
    assert result.path == FILE
    profiles = result.profiles
    for name, profile in profiles.items():
        assert isinstance(profile, Profile)
        assert profile.name == name
        assert ROLE_ARN.fullmatch(profile.role_arn)
        assert (profile.source_profile is None) != (profile.credential_source is None)
        assert profile.credential_source in (None, *CREDENTIAL_SOURCES)
        source = profile.source_profile
        assert profile.parent == (source if source != name and source in profiles else None)
        if profile.duration_seconds is not None:
            assert type(profile.duration_seconds) is int
            assert _validate.MIN_DURATION <= profile.duration_seconds <= _validate.MAX_DURATION
        if profile.mfa_token_command is not None:
            assert profile.mfa_token_command and profile.mfa_token_command[0]
        assert len(profile.policy_arns) <= 10
        assert len(profile.tags) <= 50
        assert list(profile.tags) == sorted(profile.tags)
        assert set(profile.transitive_tag_keys) <= dict(profile.tags).keys()
        assert type(profile.cache) is bool
        hash(profile)  # immutable all the way down
    for start in profiles:  # no chain loops back on itself
        seen, current = {start}, profiles[start].parent
        while current is not None:
            assert current not in seen, f"cycle through {current!r}"
            seen.add(current)
            current = profiles[current].parent


def check_parse(data: bytes | str) -> None:
    """parse() returns a consistent Config or raises ConfigError; any other exception fails."""
    try:
        result = config.parse(data, path=FILE)
    except ConfigError as exc:
        check_error(exc)
        # What kind of input this was, for --hypothesis-show-statistics.
        message = exc.problems[0].message
        event("not UTF-8" if message.startswith("not UTF-8") else
              "invalid TOML" if message.startswith("invalid TOML") else "invalid config")
    else:
        check_config(result)
        event("parsed")


# --------------------------------------------------------------------------------------------
# Mutations of valid documents
# --------------------------------------------------------------------------------------------

KEYS = [field for field in Profile._fields if field not in ("name", "parent")]
KEY_PATTERN = re.compile(("|".join(sorted([*KEYS, "defaults", "profiles"], key=len,
                                          reverse=True))).encode())
ASSIGNMENT = re.compile(rb"(?m)^([ \t]*[^\s=\[#][^=\n]*?[ \t]*=[ \t]*)(.*)$")
SOURCE_LINE = re.compile(rb'(?m)^[ \t]*"?(source_profile|credential_source)"?[ \t]*=.*$')
INTERESTING_BYTES = [*b"\"'[]{}=.,#\\\n\r\t \x00\x7f", 0xC3, 0xFF, 0xE2]
OTHER_VALUES = [
    "42", "-1", "0", "899", "900", "43200", "43201", "3.5", "-0.0", "inf", "nan", "1e400",
    "true", "false", '""', '"x"', "'literal'", '"""multi\nline"""', "'''raw\n'''", "[]", "[1, 2]",
    '["a", 3]', '[["nested"]]', "{}", "{ a = 1 }", '{ a = { b = "c" } }', '{ "a b" = "c" }',
    "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999", "0x1f", "0o17",
    "0b101", "+3600", "3_600", '"Environment"', '"environment"', '"default"', '"a b"',
    '"arn:aws:iam::111122223333:role/X"', '"arn:aws:iam::aws:policy/ReadOnlyAccess"',
    '["arn:aws:iam::aws:policy/ReadOnlyAccess"]', '"{}"', '"[]"', '"{"', '"\'unclosed"', '""""',
    '"https://"', '"http://host/"', '"x\\ty"', '"\\u00e9"', '"\\uD800"', "[1,]", "{ a = 1, }",
]
SNIPPETS = [
    "[defaults]", "[profiles]", "[profiles.x]", "[[profiles.x]]", "[profiles.x.y]", "[profile.x]",
    "[default]", "[zzz]", "profiles = 1", "defaults = []", "profiles.y = 1", 'x = "y"',
    'role_arn = "arn:aws:iam::111122223333:role/R"', 'source_profile = "default"',
    'credential_source = "Environment"', "tags = {}", 'transitive_tag_keys = ["nope"]',
    "policy_arns = []", 'mfa_token_command = ""', "mfa_token_command = []", '"" = 1',
    "role_arn =", "= 1", "[", "]", "#", "\ufeff", "\r", "\\", '"', "'",
]


def near_miss(draw: st.DrawFn, key: str) -> str:
    """A misspelling of ``key``: a letter dropped, doubled, swapped or changed, and so on."""
    i = draw(st.integers(0, len(key) - 1))
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return key[:i] + key[i + 1:]
    if kind == 1:
        return key[:i] + key[i] + key[i:]
    if kind == 2 and i < len(key) - 1:
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if kind == 3:
        return key[:i] + draw(st.sampled_from(string.ascii_lowercase + "_-")) + key[i + 1:]
    if kind == 4:
        return key + "s"
    if kind == 5:
        return key.upper()
    if kind == 6:
        return key.replace("_", "-")
    return key.title()


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


Mutation = Callable[[st.DrawFn, bytes, Document], bytes]


def flip_bit(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]


def replace_byte(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    byte = draw(st.one_of(st.sampled_from(INTERESTING_BYTES), st.integers(0, 255)))
    return data[:i] + bytes([byte]) + data[i + 1:]


def insert_bytes(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    i = draw(st.integers(0, len(data)))
    chunk = draw(st.one_of(
        st.lists(st.sampled_from(INTERESTING_BYTES), min_size=1, max_size=4).map(bytes),
        st.binary(min_size=1, max_size=8)))
    return data[:i] + chunk + data[i:]


def delete_bytes(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + data[i + draw(st.integers(1, 16)):]


def truncate(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    return data[:draw(st.integers(0, len(data)))]


def duplicate_line(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(draw(st.integers(0, len(lines))), lines[i])
    return b"\n".join(lines)


def drop_line(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    lines = _lines(data)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return b"\n".join(lines)


def move_line(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    lines = _lines(data)
    line = lines.pop(draw(st.integers(0, len(lines) - 1)))
    lines.insert(draw(st.integers(0, len(lines))), line)
    return b"\n".join(lines)


def insert_snippet(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    lines = _lines(data)
    lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(SNIPPETS)).encode())
    return b"\n".join(lines)


def misspell_key(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    matches = list(KEY_PATTERN.finditer(data))
    if not matches:
        return data
    match = draw(st.sampled_from(matches))
    wrong = near_miss(draw, match.group().decode())
    return data[:match.start()] + wrong.encode() + data[match.end():]


def change_value(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    """Give one ``key = value`` another value: another type, another profile, a bad string."""
    matches = list(ASSIGNMENT.finditer(data))
    if not matches:
        return data
    match = draw(st.sampled_from(matches))
    names = [basic_string(name) for name in doc.profiles]
    value = draw(st.one_of(st.sampled_from(OTHER_VALUES), st.sampled_from(names)))
    return data[:match.start(2)] + value.encode() + data[match.end(2):]


def chain_to_profiles(draw: st.DrawFn, data: bytes, doc: Document) -> bytes:
    """Make every source a generated profile: chains, self-references and cycles."""
    names = list(doc.profiles)
    return SOURCE_LINE.sub(lambda _: b"source_profile = " + basic_string(
        names[draw(PICK) % len(names)]).encode(), data)


MUTATIONS: list[Mutation] = [
    flip_bit, replace_byte, insert_bytes, delete_bytes, truncate, duplicate_line, drop_line,
    move_line, insert_snippet, misspell_key, change_value, chain_to_profiles,
]


MUTATION_COUNTS = st.one_of(st.just(1), st.integers(1, 4))  # one alone more often than not


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    doc = draw(documents(max_profiles=2))
    data = doc.text.encode()
    for _ in range(draw(MUTATION_COUNTS)):
        data = draw(st.sampled_from(MUTATIONS))(draw, data, doc)
    return data


# --------------------------------------------------------------------------------------------
# Garbage
# --------------------------------------------------------------------------------------------

TOKENS = [
    "[", "]", "[[", "]]", "{", "}", ".", ",", "=", " = ", " ", "\t", "\n", "\r\n", "#", '"', "'",
    '"""', "'''", "\\", "profiles", "defaults", "profiles.", "role_arn", "source_profile",
    "credential_source", "tags", "transitive_tag_keys", "duration_seconds", "policy", "x", '"x"',
    "'x'", "1", "3600", "-", "+", "_", "0x", "1.5", "e", "true", "false", "inf", "nan",
    "1979-05-27", "T", "Z", ":", '"arn:aws:iam::111122223333:role/R"', '"default"',
    '"Environment"', "\ufeff", "é", "\x00",
]
# Well-formed TOML more often than not, with the wrong tables, keys and values: reaches validation.
toml_lines = st.lists(st.one_of(
    st.lists(st.sampled_from(["profiles", "defaults", "p", "q", '"a.b"', "tags", "x"]),
             min_size=1, max_size=3).map(lambda parts: "[" + ".".join(parts) + "]"),
    st.builds("{} = {}".format, st.sampled_from([*KEYS, "profiles", "defaults", "x", "tags.a"]),
              st.sampled_from(OTHER_VALUES)),
), max_size=12).map("\n".join)
garbage = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=256),
    st.lists(st.sampled_from(TOKENS), max_size=80).map("".join),
    toml_lines,
)


# --------------------------------------------------------------------------------------------
# The properties
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@fuzz_settings("round_trip")
@given(documents(), st.booleans())
def test_valid_documents_round_trip(doc: Document, as_bytes: bool) -> None:
    result = config.parse(doc.text.encode() if as_bytes else doc.text, path=FILE)

    assert result.path == FILE
    expected = expected_profiles(doc)
    assert list(result.profiles) == list(expected)
    for name, profile in expected.items():
        assert result.profiles[name] == profile, name
    check_config(result)


@pytest.mark.slow
@fuzz_settings("mutations")
@given(mutated_documents())
def test_mutated_documents_parse_or_raise_config_error(data: bytes) -> None:
    check_parse(data)


@pytest.mark.slow
@fuzz_settings("garbage")
@given(garbage)
def test_garbage_parses_or_raises_config_error(data: bytes | str) -> None:
    check_parse(data)


def test_each_property_runs_its_share_of_the_examples() -> None:
    # For the Hardening issue: at least 10 000 examples per run. What counts is the settings each
    # property runs with (a property without its @fuzz_settings would run hypothesis's 100).
    ran = {name: _settings_of(test).max_examples for name, test in (
        ("round_trip", test_valid_documents_round_trip),
        ("mutations", test_mutated_documents_parse_or_raise_config_error),
        ("garbage", test_garbage_parses_or_raises_config_error))}
    assert ran == {"round_trip": 2500, "mutations": 3500, "garbage": 4500}
    assert sum(ran.values()) >= 10_000


def _settings_of(test: Callable[..., None]) -> settings:
    """The settings hypothesis runs ``test`` with (where @settings leaves them on the test)."""
    found = getattr(test, "_hypothesis_internal_use_settings", None)
    assert isinstance(found, settings), f"{test.__name__} has no settings of its own"
    return found


# --------------------------------------------------------------------------------------------
# Inputs out of reach of random mutation (thousands of digits, hundreds of nesting levels) and a
# problem the properties do not look for (a false second problem), written out. Each was a bug
# of config.py when this file was written: an exception other than ConfigError, or a wrong report.
# --------------------------------------------------------------------------------------------

VALID_HEAD = ('[profiles.p]\nrole_arn = "arn:aws:iam::111122223333:role/R"\n'
              'source_profile = "default"\n')


def expect_config_error(text: str, *, positionless: bool = False) -> ConfigError:
    """The ConfigError that parse() raises for ``text``. ``positionless``: an "invalid TOML" error
    that tomllib raised without a position (not as TOMLDecodeError), so there is no line to give."""
    with pytest.raises(ConfigError) as info:
        config.parse(text, path=FILE)
    check_error(info.value, positionless=positionless)
    return info.value


def test_integer_too_long_for_python_is_a_config_error() -> None:
    # Python 3.10.7+ refuses to turn more than 4300 decimal digits into an int: tomllib then
    # raises a plain ValueError, not TOMLDecodeError.
    err = expect_config_error(VALID_HEAD + "duration_seconds = " + "1" * 5000 + "\n",
                              positionless=True)
    assert err.problems[0].message.startswith("invalid TOML: ") or \
        err.problems[0].key == "duration_seconds"  # where Python has no such limit


def test_huge_hexadecimal_duration_is_a_config_error() -> None:
    # A hexadecimal integer parses whatever its size, but printing it in decimal past 4300 digits
    # raises ValueError: the message must not try.
    err = expect_config_error(VALID_HEAD + "duration_seconds = 0x" + "f" * 4000 + "\n")
    assert [problem.key for problem in err.problems] == ["duration_seconds"]


def test_huge_hexadecimal_integer_for_a_string_key_is_a_config_error() -> None:
    text = VALID_HEAD.replace('"arn:aws:iam::111122223333:role/R"', "0x" + "f" * 4000)
    err = expect_config_error(text)
    assert [problem.key for problem in err.problems] == ["role_arn"]


def test_deeply_nested_toml_is_a_config_error() -> None:
    # tomllib (and tomli) raise RecursionError here, not TOMLDecodeError.
    err = expect_config_error(VALID_HEAD + "tags = " + "[" * 3000 + "]" * 3000 + "\n",
                              positionless=True)
    assert str(err) == "roles.toml: invalid TOML: nested too deeply"


def test_deeply_nested_policy_json_is_a_config_error() -> None:
    # json.loads raises RecursionError here, not ValueError.
    err = expect_config_error(VALID_HEAD + 'policy = "' + "[" * 100_000 + "]" * 100_000 + '"\n')
    assert [problem.key for problem in err.problems] == ["policy"]
    assert "nested too deeply" in err.problems[0].message


def test_invalid_tags_do_not_add_a_false_transitive_tag_keys_problem() -> None:
    # The profile's own tags are invalid: its transitive_tag_keys are not to be checked against
    # the [defaults] tags it does not inherit.
    err = expect_config_error('[defaults]\ntags = { team = "infra" }\n' + VALID_HEAD +
                              'tags = { "bad!" = "x", own = "y" }\n'
                              'transitive_tag_keys = ["own"]\n')
    assert [problem.key for problem in err.problems] == ["tags"], str(err)


def test_invalid_toml_at_the_end_of_the_file_has_no_line() -> None:
    # tomllib gives no line for an error past the last character; the message says so instead.
    err = expect_config_error(VALID_HEAD + "region = ")
    assert str(err) == "roles.toml: invalid TOML: Invalid value (at end of document)"
