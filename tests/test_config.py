"""Unit tests for rolecall.config: parsing, validation, inheritance, chaining, load() and locate().

Pure Python, no network. Most tests go through ``config.parse(text, path="roles.toml")``; the file
tests through ``config.load(path)`` in the temporary folder the autouse ``isolated`` fixture gives.
Some tests here first demonstrated bugs (cached errors re-raised with a growing traceback, false
"required" problems after an invalid default, tabs in tags); they now guard the fixes.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import pytest

import rolecall
from rolecall import _validate, config
from rolecall.config import Config, ConfigError, Problem, Profile

ROLE = "arn:aws:iam::111122223333:role/Deploy"
OTHER_ROLE = "arn:aws:iam::444455556666:role/Audit"
FILE = "roles.toml"


def parse(text: str) -> Config:
    return config.parse(text, path=FILE)


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config.parse(text, path=FILE)
    return info.value


def profile_toml(body: str = "", name: str = "prod", *, source: str | None = "default",
                 role: str | None = ROLE) -> str:
    """One [profiles.NAME] table with a valid role_arn and source_profile, plus ``body``."""
    lines = [f"[profiles.{name}]"]
    if role is not None:
        lines.append(f'role_arn = "{role}"')
    if source is not None:
        lines.append(f'source_profile = "{source}"')
    if body:
        lines.append(body)
    return "\n".join(lines) + "\n"


def shown(value: object) -> str:
    """How a message shows a value: its repr, shortened to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def only_problem(text: str) -> Problem:
    err = error(text)
    assert len(err.problems) == 1, str(err)
    return err.problems[0]


def write(path: Path, text: str | bytes, bump: int = 0) -> Path:
    """Write ``path`` and (with ``bump``) move its mtime forward so no timestamp granularity hides
    the change from load()'s cache."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    if bump:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))
    return path


# --------------------------------------------------------------------------------------------
# Parsing valid files
# --------------------------------------------------------------------------------------------


def test_minimal_profile_parses() -> None:
    cfg = parse(profile_toml())

    assert isinstance(cfg, Config)
    assert cfg.path == FILE
    assert list(cfg.profiles) == ["prod"]
    prod = cfg.profiles["prod"]
    assert isinstance(prod, Profile)
    assert prod.name == "prod"
    assert prod.role_arn == ROLE
    assert prod.source_profile == "default"
    assert prod.parent is None


def test_minimal_profile_has_documented_defaults() -> None:
    prod = parse(profile_toml()).profiles["prod"]

    assert prod.credential_source is None
    assert prod.role_session_name is None
    assert prod.duration_seconds is None
    assert prod.external_id is None
    assert prod.mfa_serial is None
    assert prod.mfa_token_command is None
    assert prod.policy is None
    assert prod.policy_arns == ()
    assert prod.tags == ()
    assert prod.transitive_tag_keys == ()
    assert prod.source_identity is None
    assert prod.region is None
    assert prod.sts_endpoint_url is None
    assert prod.cache is True


def test_empty_file_has_no_profiles() -> None:
    cfg = parse("")
    assert dict(cfg.profiles) == {}


FULL_PROFILE = """\
[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
role_session_name = "alice"
duration_seconds = 3600
external_id = "build-7f3a"
mfa_serial = "arn:aws:iam::999999999999:mfa/alice"
mfa_token_command = ["ykman", "oath", "accounts", "code", "--single", "aws"]
policy = '{"Version": "2012-10-17", "Statement": []}'
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/Extra"]
tags = { team = "infra", cost-center = "42", app = "web" }
transitive_tag_keys = ["team"]
source_identity = "alice"
region = "us-east-1"
sts_endpoint_url = "https://sts.us-east-1.amazonaws.com"
cache = false
"""


def test_every_key_of_the_reference_parses_into_its_field() -> None:
    prod = parse(FULL_PROFILE).profiles["prod"]

    assert prod == Profile(
        name="prod",
        role_arn="arn:aws:iam::111122223333:role/Deploy",
        source_profile="default",
        credential_source=None,
        role_session_name="alice",
        duration_seconds=3600,
        external_id="build-7f3a",
        mfa_serial="arn:aws:iam::999999999999:mfa/alice",
        mfa_token_command=("ykman", "oath", "accounts", "code", "--single", "aws"),
        policy='{"Version": "2012-10-17", "Statement": []}',
        policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",
                     "arn:aws:iam::111122223333:policy/Extra"),
        tags=(("app", "web"), ("cost-center", "42"), ("team", "infra")),
        transitive_tag_keys=("team",),
        source_identity="alice",
        region="us-east-1",
        sts_endpoint_url="https://sts.us-east-1.amazonaws.com",
        cache=False,
    )


def test_every_key_has_the_right_python_type() -> None:
    prod = parse(FULL_PROFILE).profiles["prod"]

    assert type(prod.duration_seconds) is int
    assert type(prod.cache) is bool
    assert isinstance(prod.mfa_token_command, tuple)
    assert isinstance(prod.policy_arns, tuple)
    assert isinstance(prod.transitive_tag_keys, tuple)
    assert isinstance(prod.tags, tuple)
    assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in prod.tags)
    # Lists from TOML never leak through: the record is hashable all the way down.
    assert hash(prod) == hash(prod._replace())


def test_every_profile_field_is_a_config_key() -> None:
    # The reference lists exactly the fields of Profile (besides its name and parent link).
    fields = set(Profile._fields) - {"name", "parent"}
    for key in fields:
        # Each is a known key: none of them is reported as unknown.
        assert "unknown key" not in "\n".join(
            str(p) for p in _problems_or_none(profile_toml(f"{key} = 1")))


def _problems_or_none(text: str) -> tuple[Problem, ...]:
    try:
        config.parse(text, path=FILE)
    except ConfigError as exc:
        return exc.problems
    return ()


def test_credential_source_parses_instead_of_source_profile() -> None:
    prod = parse(profile_toml('credential_source = "Environment"', source=None)).profiles["prod"]
    assert prod.credential_source == "Environment"
    assert prod.source_profile is None
    assert prod.parent is None


@pytest.mark.parametrize("value", ["Environment", "Ec2InstanceMetadata", "EcsContainer"])
def test_every_documented_credential_source_is_accepted(value: str) -> None:
    text = profile_toml(f'credential_source = "{value}"', source=None)
    assert parse(text).profiles["prod"].credential_source == value


def test_mfa_token_command_string_is_split_like_a_shell() -> None:
    text = profile_toml(
        """mfa_token_command = "op item get 'AWS prod' --otp --vault=\\"My Vault\\"" """)
    prod = parse(text).profiles["prod"]
    assert prod.mfa_token_command == ("op", "item", "get", "AWS prod", "--otp", "--vault=My Vault")


def test_mfa_token_command_list_is_kept_verbatim() -> None:
    # A list is never re-split: an argument with spaces or quotes stays one argument.
    text = profile_toml("""mfa_token_command = ["my tool", "a b", "'q'"]""")
    assert parse(text).profiles["prod"].mfa_token_command == ("my tool", "a b", "'q'")


def test_tags_become_a_sorted_tuple_of_pairs() -> None:
    text = profile_toml('tags = { zeta = "1", alpha = "2", "with space" = "", Mid = "x y" }')
    assert parse(text).profiles["prod"].tags == (
        ("Mid", "x y"), ("alpha", "2"), ("with space", ""), ("zeta", "1"))


def test_tags_as_a_subtable_parse() -> None:
    text = profile_toml() + '[profiles.prod.tags]\nteam = "infra"\n'
    assert parse(text).profiles["prod"].tags == (("team", "infra"),)


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::111122223333:role/Deploy",
    "arn:aws:iam::111122223333:role/path/to/Deploy",
    "arn:aws-cn:iam::111122223333:role/Deploy",
    "arn:aws-us-gov:iam::111122223333:role/name+=,.@-_",
])
def test_valid_role_arns_are_accepted(arn: str) -> None:
    assert parse(profile_toml(role=arn)).profiles["prod"].role_arn == arn


@pytest.mark.parametrize("name", ["prod", "my.profile", "team@corp", "a+b", "x:y", "a/b", "p_1-2",
                                  "p" * 128, "1"])
def test_valid_profile_names_are_accepted(name: str) -> None:
    cfg = parse(profile_toml(name=f'"{name}"'))
    assert list(cfg.profiles) == [name]
    assert cfg.profiles[name].name == name


def test_config_and_profile_are_frozen_and_read_only() -> None:
    cfg = parse(profile_toml())
    with pytest.raises(AttributeError):
        cfg.profiles["prod"].role_arn = OTHER_ROLE  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.path = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.profiles["other"] = cfg.profiles["prod"]  # type: ignore[index]


def test_reprs_show_the_config_and_nothing_internal() -> None:
    cfg = parse(FULL_PROFILE)
    text = repr(cfg.profiles["prod"])
    # Nothing in roles.toml is a secret; the repr shows the configuration a user wrote, and the
    # parent link rolecall derived from it.
    assert text.startswith("Profile(name='prod', role_arn='arn:aws:iam::111122223333:role/Deploy'")
    assert "mfa_token_command=('ykman', 'oath'" in text
    assert text.endswith("parent=None)")
    assert repr(cfg).startswith("Config(path='roles.toml', profiles=")


# --------------------------------------------------------------------------------------------
# [defaults]
# --------------------------------------------------------------------------------------------


def test_defaults_every_key_is_inherited() -> None:
    # Every key may sit in [defaults]; a profile table may then be empty.
    defaults = FULL_PROFILE.replace("[profiles.prod]", "[defaults]")
    cfg = parse(defaults + "[profiles.prod]\n[profiles.other]\n")

    expected = parse(FULL_PROFILE).profiles["prod"]
    assert cfg.profiles["prod"] == expected
    assert cfg.profiles["other"] == expected._replace(name="other")


@pytest.mark.parametrize(("key", "toml", "attribute", "value"), [
    ("role_arn", f'"{ROLE}"', "role_arn", ROLE),
    ("source_profile", '"base"', "source_profile", "base"),
    ("credential_source", '"EcsContainer"', "credential_source", "EcsContainer"),
    ("role_session_name", '"alice"', "role_session_name", "alice"),
    ("duration_seconds", "7200", "duration_seconds", 7200),
    ("external_id", '"ext-1"', "external_id", "ext-1"),
    ("mfa_serial", '"arn:aws:iam::999999999999:mfa/alice"', "mfa_serial",
     "arn:aws:iam::999999999999:mfa/alice"),
    ("mfa_token_command", '"get-code --now"', "mfa_token_command", ("get-code", "--now")),
    ("policy", """'{"Version": "2012-10-17"}'""", "policy", '{"Version": "2012-10-17"}'),
    ("policy_arns", '["arn:aws:iam::aws:policy/ReadOnlyAccess"]', "policy_arns",
     ("arn:aws:iam::aws:policy/ReadOnlyAccess",)),
    ("tags", '{ b = "2", a = "1" }', "tags", (("a", "1"), ("b", "2"))),
    ("source_identity", '"alice"', "source_identity", "alice"),
    ("region", '"eu-west-1"', "region", "eu-west-1"),
    ("sts_endpoint_url", '"https://sts.eu-west-1.amazonaws.com"', "sts_endpoint_url",
     "https://sts.eu-west-1.amazonaws.com"),
    ("cache", "false", "cache", False),
])
def test_defaults_key_is_inherited(key: str, toml: str, attribute: str, value: object) -> None:
    body = [f"{key} = {toml}"]
    if key not in ("role_arn",):
        body.append(f'role_arn = "{ROLE}"')
    if key not in ("source_profile", "credential_source"):
        body.append('source_profile = "default"')
    prod = parse("[defaults]\n" + "\n".join(body) + "\n[profiles.prod]\n").profiles["prod"]
    assert getattr(prod, attribute) == value


def test_defaults_transitive_tag_keys_are_inherited() -> None:
    text = ('[defaults]\ntags = { team = "infra" }\ntransitive_tag_keys = ["team"]\n'
            + profile_toml())
    prod = parse(text).profiles["prod"]
    assert prod.transitive_tag_keys == ("team",)
    assert prod.tags == (("team", "infra"),)


def test_profile_value_overrides_default() -> None:
    text = ('[defaults]\nduration_seconds = 3600\nregion = "eu-west-1"\ncache = false\n'
            'tags = { team = "infra", env = "all" }\n'
            + profile_toml('duration_seconds = 900\nregion = "us-east-1"\ntags = { team = "web" }')
            + profile_toml(name="other"))
    cfg = parse(text)
    prod, other = cfg.profiles["prod"], cfg.profiles["other"]
    assert (prod.duration_seconds, prod.region, prod.cache) == (900, "us-east-1", False)
    assert prod.tags == (("team", "web"),)  # a table replaces the default table as a whole
    assert (other.duration_seconds, other.region) == (3600, "eu-west-1")
    assert other.tags == (("env", "all"), ("team", "infra"))


def test_profile_source_profile_replaces_default_credential_source() -> None:
    text = '[defaults]\ncredential_source = "Ec2InstanceMetadata"\n' + profile_toml()
    prod = parse(text).profiles["prod"]
    assert prod.source_profile == "default"
    assert prod.credential_source is None


def test_profile_credential_source_replaces_default_source_profile() -> None:
    text = ('[defaults]\nsource_profile = "default"\n'
            + profile_toml('credential_source = "Environment"', source=None))
    prod = parse(text).profiles["prod"]
    assert prod.credential_source == "Environment"
    assert prod.source_profile is None


def test_default_source_is_kept_by_profiles_that_name_none() -> None:
    text = ('[defaults]\ncredential_source = "Ec2InstanceMetadata"\n'
            + profile_toml(source=None)
            + profile_toml(name="chained", source="prod"))
    cfg = parse(text)
    assert cfg.profiles["prod"].credential_source == "Ec2InstanceMetadata"
    assert cfg.profiles["chained"].credential_source is None
    assert cfg.profiles["chained"].source_profile == "prod"
    assert cfg.profiles["chained"].parent == "prod"


def test_defaults_problem_is_reported_once_against_defaults() -> None:
    text = "[defaults]\nregoin = 'eu-west-1'\n" + profile_toml() + profile_toml(name="b")
    problem = only_problem(text)
    assert problem == Problem(FILE, "[defaults]", "regoin", "unknown key; did you mean 'region'?")
    assert str(problem) == ("roles.toml: [defaults]: key 'regoin': "
                            "unknown key; did you mean 'region'?")


# --------------------------------------------------------------------------------------------
# Validation errors
# --------------------------------------------------------------------------------------------


def test_unknown_key_suggests_close_match() -> None:
    problem = only_problem(profile_toml("duraton_seconds = 3600"))
    assert (problem.path, problem.profile, problem.key) == (FILE, "prod", "duraton_seconds")
    assert str(problem) == ("roles.toml: profile 'prod': key 'duraton_seconds': "
                            "unknown key; did you mean 'duration_seconds'?")


@pytest.mark.parametrize(("typo", "meant"), [
    ("role", "role_arn"),
    ("rolearn", "role_arn"),
    ("source-profile", "source_profile"),
    ("mfa_token_cmd", "mfa_token_command"),
    ("policy_arn", "policy_arns"),
    ("tag", "tags"),
    ("caching", "cache"),
])
def test_unknown_key_suggestions(typo: str, meant: str) -> None:
    problem = only_problem(profile_toml(f"{typo} = 1"))
    assert problem.key == typo
    assert problem.message == f"unknown key; did you mean {meant!r}?"


def test_unknown_key_without_close_match_lists_known_keys() -> None:
    problem = only_problem(profile_toml("colour = 'blue'"))
    assert problem.key == "colour"
    assert problem.message == (
        "unknown key (known keys: cache, credential_source, duration_seconds, external_id, "
        "mfa_serial, mfa_session_duration, mfa_token_command, policy, policy_arns, region, "
        "role_arn, role_session_name, source_identity, source_profile, sts_endpoint_url, tags, "
        "transitive_tag_keys)")
    assert str(problem).startswith("roles.toml: profile 'prod': key 'colour': unknown key (known")


def test_unknown_top_level_table_suggests_profiles() -> None:
    problem = only_problem(f'[profile.prod]\nrole_arn = "{ROLE}"\nsource_profile = "default"\n')
    assert (problem.profile, problem.key) == (None, "profile")
    assert str(problem) == "roles.toml: key 'profile': unknown key; did you mean 'profiles'?"


def test_unknown_top_level_table_without_match_lists_known_tables() -> None:
    problem = only_problem("[settings]\nverbose = true\n")
    assert str(problem) == ("roles.toml: key 'settings': "
                            "unknown key (known keys: defaults, profiles)")


def test_unknown_top_level_key_does_not_hide_valid_profiles_problems() -> None:
    err = error("region = 'eu-west-1'\n" + profile_toml("duration_seconds = 1"))
    assert [(p.profile, p.key) for p in err.problems] == [(None, "region"),
                                                          ("prod", "duration_seconds")]


def test_defaults_not_a_table() -> None:
    problem = only_problem("defaults = 1\n" + profile_toml())
    assert str(problem) == "roles.toml: key 'defaults': expected a table: [defaults]"


def test_profiles_not_a_table() -> None:
    problem = only_problem("profiles = 'prod'\n")
    assert str(problem) == "roles.toml: key 'profiles': expected tables: [profiles.NAME]"


def test_profile_not_a_table() -> None:
    problem = only_problem("[profiles]\nprod = 'arn'\n")
    assert str(problem) == "roles.toml: profile 'prod': expected a table: [profiles.NAME]"


@pytest.mark.parametrize(("body", "key", "message"), [
    ('duration_seconds = "3600"', "duration_seconds",
     "expected an integer from 900 to 43200 (seconds), got '3600'"),
    ("duration_seconds = true", "duration_seconds",
     "expected an integer from 900 to 43200 (seconds), got True"),
    ("duration_seconds = 3600.0", "duration_seconds",
     "expected an integer from 900 to 43200 (seconds), got 3600.0"),
    ("region = 1", "region", "expected an AWS region name like eu-west-1 (a string), got 1"),
    ("role_session_name = 12", "role_session_name",
     "expected 2-64 characters from [A-Za-z0-9_+=,.@-] (a string), got 12"),
    ("external_id = 1234", "external_id",
     "expected 2-1224 characters from [A-Za-z0-9_+=,.@:/-] (a string), got an integer"),
    ('policy_arns = "arn:aws:iam::aws:policy/ReadOnlyAccess"', "policy_arns",
     "expected a list of IAM policy ARNs, got 'arn:aws:iam::aws:policy/ReadOnlyAccess'"),
    ("policy_arns = [1]", "policy_arns",
     "expected IAM policy ARNs like arn:aws:iam::aws:policy/ReadOnlyAccess, got 1"),
    ("transitive_tag_keys = [1, 2]", "transitive_tag_keys",
     "expected a list of strings, got [1, 2]"),
    ('transitive_tag_keys = "team"', "transitive_tag_keys",
     "expected a list of strings, got 'team'"),
    ("mfa_token_command = ['ykman', 3]", "mfa_token_command",
     "expected a list of strings or a command string, got ['ykman', 3]"),
    ("mfa_token_command = 7", "mfa_token_command",
     "expected a list of strings or a command string, got 7"),
    ('tags = ["team"]', "tags", "expected a table of tag names to string values, got a list"),
    ("tags = { team = 5 }", "tags",
     "expected tag values of at most 256 letters, digits, spaces or _.:/=+-@; tag 1 has an "
     "integer"),
    ("policy = { Version = '2012-10-17' }", "policy",
     "expected a JSON policy document (a string), got a table"),
    ("sts_endpoint_url = 443", "sts_endpoint_url", "expected an http(s) URL, got 443"),
    ('cache = "yes"', "cache", "expected true or false, got 'yes'"),
    ("cache = 0", "cache", "expected true or false, got 0"),
])
def test_wrong_types_are_reported(body: str, key: str, message: str) -> None:
    problem = only_problem(profile_toml(body))
    assert (problem.path, problem.profile, problem.key, problem.message) == (
        FILE, "prod", key, message)


def test_wrong_type_for_role_arn_names_file_profile_and_key() -> None:
    problem = only_problem(profile_toml(role=None) + "role_arn = 111122223333\n")
    assert str(problem) == (
        "roles.toml: profile 'prod': key 'role_arn': expected an IAM role ARN like "
        "arn:aws:iam::111122223333:role/Deploy (a string), got 111122223333")


def test_wrong_type_for_source_profile() -> None:
    problem = only_problem(profile_toml("source_profile = ['default']", source=None))
    assert str(problem) == ("roles.toml: profile 'prod': key 'source_profile': "
                            "expected a profile name (a string), got ['default']")


def test_long_values_are_shortened_in_messages() -> None:
    problem = only_problem(profile_toml(f'region = "{"X" * 200}"'))
    assert problem.message == f"expected an AWS region name like eu-west-1, got '{'X' * 56}..."


@pytest.mark.parametrize("arn", [
    "Deploy",
    "",
    "arn:aws:iam::11112222333:role/Deploy",       # 11-digit account
    "arn:aws:iam::1111222233334:role/Deploy",     # 13-digit account
    "arn:aws:iam::111122223333:user/alice",       # not a role
    "arn:aws:iam::111122223333:role/",            # no name
    "arn:aws:sts::111122223333:role/Deploy",      # wrong service
    "arn:aws:iam::111122223333:role/De ploy",     # space
    "arn:aws:iam::111122223333:role/Deploy\n",    # trailing newline
    "arn:azure:iam::111122223333:role/Deploy",    # wrong partition
    " arn:aws:iam::111122223333:role/Deploy",     # leading space
])
def test_malformed_role_arn_is_rejected(arn: str) -> None:
    problem = only_problem(profile_toml(role=None) + f"role_arn = {arn!r}\n".replace("'", '"'))
    assert (problem.profile, problem.key) == ("prod", "role_arn")
    assert problem.message.startswith(
        "expected an IAM role ARN like arn:aws:iam::111122223333:role/Deploy, got ")
    assert str(problem).startswith("roles.toml: profile 'prod': key 'role_arn': expected an IAM")


@pytest.mark.parametrize("arn", [
    "ReadOnlyAccess",
    "arn:aws:iam::aws:role/ReadOnlyAccess",
    "arn:aws:iam::azs:policy/ReadOnlyAccess",
    "arn:aws:iam::12345:policy/Mine",
    "arn:aws:iam::aws:policy/",
])
def test_malformed_policy_arn_is_rejected(arn: str) -> None:
    problem = only_problem(profile_toml(
        f'policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "{arn}"]'))
    assert problem.key == "policy_arns"
    assert problem.message == ("expected IAM policy ARNs like "
                               f"arn:aws:iam::aws:policy/ReadOnlyAccess, got {arn!r}")


def test_more_than_ten_policy_arns_are_rejected() -> None:
    arns = ", ".join(f'"arn:aws:iam::aws:policy/P{i}"' for i in range(11))
    problem = only_problem(profile_toml(f"policy_arns = [{arns}]"))
    assert problem.message == "expected at most 10 policy ARNs, got 11"


def test_ten_policy_arns_are_accepted() -> None:
    arns = ", ".join(f'"arn:aws:iam::aws:policy/P{i}"' for i in range(10))
    assert len(parse(profile_toml(f"policy_arns = [{arns}]")).profiles["prod"].policy_arns) == 10


@pytest.mark.parametrize("seconds", [899, 43201, 0, -3600, 3600 * 24])
def test_out_of_range_duration_is_rejected(seconds: int) -> None:
    problem = only_problem(profile_toml(f"duration_seconds = {seconds}"))
    assert str(problem) == ("roles.toml: profile 'prod': key 'duration_seconds': expected an "
                            f"integer from 900 to 43200 (seconds), got {seconds}")


@pytest.mark.parametrize("seconds", [900, 3600, 43200])
def test_in_range_duration_is_accepted(seconds: int) -> None:
    assert parse(profile_toml(f"duration_seconds = {seconds}")).profiles["prod"] \
        .duration_seconds == seconds


@pytest.mark.parametrize("name", ["a", "x" * 65, "alice smith", "alice/ops", "alice:1", "élise",
                                  ""])
def test_invalid_session_name_is_rejected(name: str) -> None:
    problem = only_problem(profile_toml(f'role_session_name = "{name}"'))
    assert str(problem) == (
        "roles.toml: profile 'prod': key 'role_session_name': expected 2-64 characters from "
        f"[A-Za-z0-9_+=,.@-], got {shown(name)}")


@pytest.mark.parametrize("name", ["ab", "x" * 64, "alice@example.com", "a_b+c=d,e.f@g-h"])
def test_valid_session_name_is_accepted(name: str) -> None:
    assert parse(profile_toml(f'role_session_name = "{name}"')).profiles["prod"] \
        .role_session_name == name


@pytest.mark.parametrize("identity", ["a", "x" * 65, "alice smith", "aws:alice", "alice/x"])
def test_invalid_source_identity_is_rejected(identity: str) -> None:
    problem = only_problem(profile_toml(f'source_identity = "{identity}"'))
    assert (problem.profile, problem.key) == ("prod", "source_identity")
    assert problem.message == ("expected 2-64 characters from [A-Za-z0-9_+=,.@-], "
                               f"got {shown(identity)}")


@pytest.mark.parametrize("identity", ["al", "x" * 64, "alice@example.com"])
def test_valid_source_identity_is_accepted(identity: str) -> None:
    assert parse(profile_toml(f'source_identity = "{identity}"')).profiles["prod"] \
        .source_identity == identity


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("external_id", "x", "2-1224 characters from [A-Za-z0-9_+=,.@:/-]"),
    ("external_id", "has space", "2-1224 characters from [A-Za-z0-9_+=,.@:/-]"),
    ("mfa_serial", "short", "an MFA device ARN or serial number (9-256 characters)"),
    ("mfa_serial", "arn:aws:iam::999999999999:mfa/al ice",
     "an MFA device ARN or serial number (9-256 characters)"),
])
def test_invalid_external_id_and_mfa_serial(key: str, value: str, expected: str) -> None:
    problem = only_problem(profile_toml(f'{key} = "{value}"'))
    # An external ID is never shown back (it is a shared secret of sorts): only its length.
    got = f"a string of {len(value)} characters" if key == "external_id" else repr(value)
    assert (problem.key, problem.message) == (key, f"expected {expected}, got {got}")
    if key == "external_id":
        assert repr(value) not in problem.message


def test_both_source_profile_and_credential_source_is_an_error() -> None:
    problem = only_problem(profile_toml('credential_source = "Environment"'))
    assert str(problem) == ("roles.toml: profile 'prod': key 'credential_source': "
                            "source_profile and credential_source exclude each other; keep one")


def test_both_sources_in_defaults_is_an_error_for_the_profile() -> None:
    text = ('[defaults]\nsource_profile = "default"\ncredential_source = "Environment"\n'
            + profile_toml(source=None))
    problem = only_problem(text)
    assert (problem.profile, problem.key) == ("prod", "credential_source")
    assert "exclude each other" in problem.message


def test_neither_source_profile_nor_credential_source_is_an_error() -> None:
    problem = only_problem(profile_toml(source=None))
    assert str(problem) == ("roles.toml: profile 'prod': key 'source_profile': "
                            "one of source_profile or credential_source is required")


@pytest.mark.parametrize("value", ["environment", "Ec2", "default", ""])
def test_bad_credential_source_value(value: str) -> None:
    problem = only_problem(profile_toml(f'credential_source = "{value}"', source=None))
    assert str(problem) == (
        "roles.toml: profile 'prod': key 'credential_source': expected one of Environment, "
        f"Ec2InstanceMetadata, EcsContainer, got {value!r}")


def test_bad_credential_source_type() -> None:
    problem = only_problem(profile_toml("credential_source = ['Environment']", source=None))
    assert problem.key == "credential_source"
    assert problem.message.endswith("got ['Environment']")


def test_invalid_source_is_not_also_reported_as_missing() -> None:
    # The user did name a source; only what is wrong with it is reported.
    problem = only_problem(profile_toml('source_profile = "not a name"', source=None))
    assert (problem.key, problem.message) == ("source_profile",
                                              "expected a profile name, got 'not a name'")


def test_missing_role_arn() -> None:
    problem = only_problem(profile_toml(role=None))
    assert str(problem) == ("roles.toml: profile 'prod': key 'role_arn': required: the ARN of the "
                            "role to assume, like arn:aws:iam::111122223333:role/Deploy")


def test_invalid_role_arn_is_not_also_reported_as_missing() -> None:
    problem = only_problem(profile_toml(role="nope"))
    assert problem.key == "role_arn"
    assert "required" not in problem.message


def test_policy_that_is_not_json() -> None:
    problem = only_problem(profile_toml("policy = '{Version: 2012-10-17}'"))
    assert problem.key == "policy"
    assert problem.message.startswith("expected a JSON policy document, but it does not parse: ")
    assert "line 1 column 2" in problem.message  # json's own pointer to the mistake


@pytest.mark.parametrize("document", ["[]", '"text"', "42", "null"])
def test_policy_that_is_not_an_object(document: str) -> None:
    problem = only_problem(profile_toml(f"policy = '{document}'"))
    assert str(problem) == ("roles.toml: profile 'prod': key 'policy': "
                            "expected a JSON policy document (a JSON object)")


def test_policy_longer_than_2048_characters() -> None:
    document = '{"Sid": "' + "x" * 2040 + '"}'
    problem = only_problem(profile_toml(f"policy = '{document}'"))
    assert problem.message == f"expected a policy of at most 2048 characters, got {len(document)}"


def test_transitive_tag_key_not_in_tags() -> None:
    problem = only_problem(profile_toml('tags = { team = "infra" }\n'
                                        'transitive_tag_keys = ["team", "project"]'))
    assert str(problem) == ("roles.toml: profile 'prod': key 'transitive_tag_keys': "
                            "'project' is not one of this profile's tags")


def test_transitive_tag_keys_without_tags() -> None:
    problem = only_problem(profile_toml('transitive_tag_keys = ["team"]'))
    assert (problem.key, problem.message) == ("transitive_tag_keys",
                                              "'team' is not one of this profile's tags")


@pytest.mark.parametrize("key", ["", "a" * 129, "bad!key", "sect\u00a7"])
def test_invalid_tag_key(key: str) -> None:
    problem = only_problem(profile_toml(f'tags = {{ "{key}" = "v" }}'))
    assert problem.key == "tags"
    assert problem.message == ("expected tag names of 1-128 letters, digits, spaces or _.:/=+-@; "
                               f"tag 1 has a string of {len(key)} characters")


def test_tag_value_longer_than_256_characters() -> None:
    problem = only_problem(profile_toml(f'tags = {{ team = "{"v" * 257}" }}'))
    assert problem.key == "tags"
    assert problem.message == ("expected tag values of at most 256 letters, digits, spaces or "
                               "_.:/=+-@; tag 1 has a string of 257 characters")


def test_more_than_fifty_tags() -> None:
    tags = ", ".join(f't{i} = "v"' for i in range(51))
    problem = only_problem(profile_toml(f"tags = {{ {tags} }}"))
    assert problem.message == "expected at most 50 session tags, got 51"


@pytest.mark.parametrize("tags", ['{ "a\\nb" = "v" }', '{ team = "in\\tfra" }'])
def test_tag_with_control_whitespace_is_rejected(tags: str) -> None:
    problem = only_problem(profile_toml(f"tags = {tags}"))
    assert problem.key == "tags"


@pytest.mark.parametrize("url", [
    "sts.amazonaws.com",
    "ftp://sts.amazonaws.com",
    "https://",
    "https:///path",
    "https://sts amazonaws.com",
    "",
])
def test_bad_sts_endpoint_url(url: str) -> None:
    problem = only_problem(profile_toml(f'sts_endpoint_url = "{url}"'))
    assert str(problem) == ("roles.toml: profile 'prod': key 'sts_endpoint_url': "
                            f"expected an http(s) URL, got {url!r}")


@pytest.mark.parametrize("url", ["https://sts.us-east-1.amazonaws.com", "http://127.0.0.1:5000",
                                 "http://localhost:4566/", "https://proxy.example/sts/"])
def test_good_sts_endpoint_url(url: str) -> None:
    assert parse(profile_toml(f'sts_endpoint_url = "{url}"')).profiles["prod"] \
        .sts_endpoint_url == url


@pytest.mark.parametrize(("value", "got"), [('"true"', "'true'"), ("1", "1"), ('"no"', "'no'"),
                                           ("[true]", "[True]")])
def test_cache_not_a_bool(value: str, got: str) -> None:
    problem = only_problem(profile_toml(f"cache = {value}"))
    assert str(problem) == ("roles.toml: profile 'prod': key 'cache': "
                            f"expected true or false, got {got}")


@pytest.mark.parametrize("region", ["EU-WEST-1", "eu_west_1", "-eu-west-1", "e", "eu west 1",
                                    "x" * 64])
def test_bad_region(region: str) -> None:
    problem = only_problem(profile_toml(f'region = "{region}"'))
    assert str(problem).startswith("roles.toml: profile 'prod': key 'region': "
                                   "expected an AWS region name like eu-west-1, got ")


@pytest.mark.parametrize("name", ["my profile", "", "a" * 129, "prod!", "é"])
def test_bad_profile_name(name: str) -> None:
    problem = only_problem(profile_toml(name=f'"{name}"'))
    assert (problem.path, problem.profile, problem.key) == (FILE, name, None)
    assert str(problem) == (f"roles.toml: profile {name!r}: profile names are 1-128 characters "
                            "from [A-Za-z0-9_.@+:/-]")


def test_bad_source_profile_name() -> None:
    problem = only_problem(profile_toml(source="my profile"))
    assert str(problem) == ("roles.toml: profile 'prod': key 'source_profile': "
                            "expected a profile name, got 'my profile'")


@pytest.mark.parametrize(("command", "message"), [
    ('""', "expected a non-empty command"),
    ("[]", "expected a non-empty command"),
    ('["", "x"]', "expected a non-empty command"),
    ('"ykman \'oath"', "expected a command line, but it does not split: No closing quotation"),
])
def test_bad_mfa_token_command(command: str, message: str) -> None:
    problem = only_problem(profile_toml(f"mfa_token_command = {command}"))
    assert (problem.key, problem.message) == ("mfa_token_command", message)


# --------------------------------------------------------------------------------------------
# Several problems, the error type
# --------------------------------------------------------------------------------------------

MANY_PROBLEMS = f"""\
[defaults]
duration_seconds = 60

[profiles.prod]
role_arn = "{ROLE}"
source_profile = "default"
regoin = "eu-west-1"
role_session_name = "x"

[profiles.audit]
credential_source = "Environment"
cache = "no"
"""


def test_every_problem_in_a_file_is_reported() -> None:
    err = error(MANY_PROBLEMS)
    assert [(p.profile, p.key) for p in err.problems] == [
        ("[defaults]", "duration_seconds"),
        ("prod", "regoin"),
        ("prod", "role_session_name"),
        ("audit", "cache"),
        ("audit", "role_arn"),
    ]
    assert all(p.path == FILE for p in err.problems)
    assert isinstance(err.problems, tuple)


def test_error_text_has_one_line_per_problem() -> None:
    err = error(MANY_PROBLEMS)
    lines = str(err).splitlines()
    assert lines == [str(p) for p in err.problems]
    assert lines == [
        "roles.toml: [defaults]: key 'duration_seconds': expected an integer from 900 to 43200 "
        "(seconds), got 60",
        "roles.toml: profile 'prod': key 'regoin': unknown key; did you mean 'region'?",
        "roles.toml: profile 'prod': key 'role_session_name': expected 2-64 characters from "
        "[A-Za-z0-9_+=,.@-], got 'x'",
        "roles.toml: profile 'audit': key 'cache': expected true or false, got 'no'",
        "roles.toml: profile 'audit': key 'role_arn': required: the ARN of the role to assume, "
        "like arn:aws:iam::111122223333:role/Deploy",
    ]


def test_error_attributes_come_from_the_first_problem() -> None:
    err = error(MANY_PROBLEMS)
    assert (err.path, err.profile, err.key) == (FILE, "[defaults]", "duration_seconds")


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    with pytest.raises(ValueError, match="unknown key"):
        parse(profile_toml("colour = 1"))


def test_public_config_error_is_the_config_module_class() -> None:
    assert rolecall.ConfigError is config.ConfigError
    assert "ConfigError" in rolecall.__all__


def test_config_error_with_no_problems_still_has_text() -> None:
    err = ConfigError([])
    assert err.problems == ()
    assert (err.path, err.profile, err.key) == (None, None, None)
    assert str(err) == "invalid rolecall config"


def test_problem_text_for_file_defaults_profile_and_key() -> None:
    assert str(Problem("f.toml", None, None, "bad")) == "f.toml: bad"
    assert str(Problem("f.toml", None, "x", "bad")) == "f.toml: key 'x': bad"
    assert str(Problem("f.toml", "[defaults]", "x", "bad")) == "f.toml: [defaults]: key 'x': bad"
    assert str(Problem("f.toml", "p", None, "bad")) == "f.toml: profile 'p': bad"
    assert str(Problem("f.toml", "p", "x", "bad")) == "f.toml: profile 'p': key 'x': bad"


def test_path_argument_only_names_the_file_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        config.parse(profile_toml("colour = 1"), path="/etc/team/roles.toml")
    assert str(info.value).startswith("/etc/team/roles.toml: profile 'prod': key 'colour'")
    assert config.parse(profile_toml(), path="/x/y.toml").path == "/x/y.toml"


def test_toml_syntax_error_names_file_and_line() -> None:
    text = f'[profiles.prod]\nrole_arn = "{ROLE}"\nsource_profile "default"\n'
    problem = only_problem(text)
    assert (problem.path, problem.profile, problem.key) == (FILE, None, None)
    assert str(problem).startswith("roles.toml: invalid TOML: ")
    assert "line 3" in str(problem)


def test_toml_duplicate_table_is_a_syntax_error() -> None:
    text = profile_toml() + profile_toml()
    problem = only_problem(text)
    assert str(problem).startswith("roles.toml: invalid TOML: ")
    assert "line 4" in str(problem)


def test_non_utf8_bytes_are_a_config_error_naming_the_file() -> None:
    data = profile_toml("# caf\xe9").encode("latin-1")
    with pytest.raises(ConfigError) as info:
        config.parse(data, path=FILE)
    problem = info.value.problems[0]
    assert (problem.path, problem.profile, problem.key) == (FILE, None, None)
    assert str(info.value).startswith("roles.toml: not UTF-8 text: ")


def test_utf8_bytes_parse() -> None:
    data = profile_toml("# café: ünïcode comments are fine").encode("utf-8")
    assert list(config.parse(data, path=FILE).profiles) == ["prod"]


# --------------------------------------------------------------------------------------------
# Role chaining
# --------------------------------------------------------------------------------------------


def test_source_profile_naming_a_rolecall_profile_sets_parent() -> None:
    cfg = parse(profile_toml(name="base") + profile_toml(name="prod", source="base"))
    assert cfg.profiles["prod"].parent == "base"
    assert cfg.profiles["prod"].source_profile == "base"
    assert cfg.profiles["base"].parent is None


def test_chain_order_in_file_does_not_matter() -> None:
    cfg = parse(profile_toml(name="prod", source="base") + profile_toml(name="base"))
    assert cfg.profiles["prod"].parent == "base"


def test_deep_chain() -> None:
    text = (profile_toml(name="a") + profile_toml(name="b", source="a")
            + profile_toml(name="c", source="b") + profile_toml(name="d", source="c"))
    cfg = parse(text)
    assert [cfg.profiles[n].parent for n in "abcd"] == [None, "a", "b", "c"]


def test_source_profile_naming_itself_means_aws_file_credentials() -> None:
    cfg = parse(profile_toml(name="default", source="default"))
    assert cfg.profiles["default"].source_profile == "default"
    assert cfg.profiles["default"].parent is None


def test_default_source_profile_naming_a_profile_itself_is_not_a_cycle() -> None:
    text = '[defaults]\nsource_profile = "base"\n' + profile_toml(name="base", source=None) \
        + profile_toml(name="prod", source=None)
    cfg = parse(text)
    assert cfg.profiles["base"].parent is None
    assert cfg.profiles["prod"].parent == "base"


def test_source_profile_naming_an_unknown_name_is_an_aws_file_profile() -> None:
    cfg = parse(profile_toml(source="sso-admin"))
    assert cfg.profiles["prod"].source_profile == "sso-admin"
    assert cfg.profiles["prod"].parent is None


def test_two_cycle_is_reported_with_the_chain() -> None:
    text = profile_toml(name="a", source="b") + profile_toml(name="b", source="a")
    problem = only_problem(text)
    assert str(problem) == ("roles.toml: profile 'a': key 'source_profile': "
                            "role chaining cycle: a -> b -> a")


def test_three_cycle_is_reported_with_the_chain() -> None:
    text = (profile_toml(name="a", source="b") + profile_toml(name="b", source="c")
            + profile_toml(name="c", source="a"))
    problem = only_problem(text)
    assert (problem.profile, problem.key) == ("a", "source_profile")
    assert problem.message == "role chaining cycle: a -> b -> c -> a"


def test_cycle_reached_through_a_tail_is_reported_once_without_the_tail() -> None:
    text = (profile_toml(name="entry", source="a") + profile_toml(name="a", source="b")
            + profile_toml(name="b", source="a"))
    problem = only_problem(text)
    assert problem.message == "role chaining cycle: a -> b -> a"


def test_two_separate_cycles_are_both_reported() -> None:
    text = (profile_toml(name="a", source="b") + profile_toml(name="b", source="a")
            + profile_toml(name="x", source="y") + profile_toml(name="y", source="x"))
    err = error(text)
    assert [p.message for p in err.problems] == ["role chaining cycle: a -> b -> a",
                                                 "role chaining cycle: x -> y -> x"]


# --------------------------------------------------------------------------------------------
# load() and locate()
# --------------------------------------------------------------------------------------------


def test_load_returns_none_when_the_file_does_not_exist(isolated: Path) -> None:
    assert config.load(isolated / "missing.toml") is None


def test_load_without_argument_uses_rolecall_config(isolated: Path) -> None:
    assert config.load() is None  # the fixture points ROLECALL_CONFIG at a file not yet written
    write(isolated / "roles.toml", profile_toml())
    cfg = config.load()
    assert cfg is not None
    assert cfg.path == str(isolated / "roles.toml")
    assert list(cfg.profiles) == ["prod"]


def test_load_parses_the_file_and_names_it(isolated: Path) -> None:
    path = write(isolated / "team.toml", FULL_PROFILE)
    cfg = config.load(path)
    assert cfg is not None
    assert cfg.path == str(path)
    assert cfg.profiles["prod"] == parse(FULL_PROFILE).profiles["prod"]


def test_load_caches_an_unchanged_file(isolated: Path) -> None:
    path = write(isolated / "roles.toml", profile_toml())
    first = config.load(path)
    assert first is not None
    assert config.load(path) is first


def test_load_does_not_read_an_unchanged_file_again(isolated: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(isolated / "roles.toml", profile_toml())
    first = config.load(path)

    def fail(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(_validate, "tolerant", fail)
    assert config.load(path) is first


def test_load_rereads_after_the_file_changes(isolated: Path) -> None:
    path = write(isolated / "roles.toml", profile_toml(name="one"))
    first = config.load(path)
    assert first is not None
    assert list(first.profiles) == ["one"]

    write(path, profile_toml(name="two"), bump=5)
    second = config.load(path)
    assert second is not None
    assert second is not first
    assert list(second.profiles) == ["two"]


def test_load_rereads_a_same_size_change_with_a_new_mtime(isolated: Path) -> None:
    path = write(isolated / "roles.toml", profile_toml("region = 'eu-west-1'"))
    assert config.load(path).profiles["prod"].region == "eu-west-1"  # type: ignore[union-attr]
    write(path, profile_toml("region = 'eu-west-2'"), bump=5)
    assert config.load(path).profiles["prod"].region == "eu-west-2"  # type: ignore[union-attr]


def test_load_returns_none_after_the_file_is_removed(isolated: Path) -> None:
    path = write(isolated / "roles.toml", profile_toml())
    assert config.load(path) is not None
    path.unlink()
    assert config.load(path) is None


def test_load_keeps_a_profiles_problem_for_its_use(isolated: Path) -> None:
    path = write(isolated / "roles.toml", profile_toml("duration_seconds = 60") +
                 profile_toml(name="other"))
    cfg = config.load(path)  # a mistake in the file is not an error of the file as a whole
    assert cfg is not None
    assert list(cfg.profiles) == ["other"] and cfg.declares("prod") and cfg.declares("other")
    with pytest.raises(ConfigError) as info:
        cfg.profile("prod")
    assert str(info.value) == (f"{path}: profile 'prod': key 'duration_seconds': expected an "
                               "integer from 900 to 43200 (seconds), got 60")
    assert info.value.path == str(path)
    assert cfg.profile("other").role_arn == ROLE
    assert [str(p) for p in cfg.problems] == [str(info.value)]


def test_load_caches_a_broken_file_and_does_not_parse_it_again(
        isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(isolated / "roles.toml", profile_toml("colour = 1"))
    first = config.load(path)

    def fail(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(_validate, "tolerant", fail)
    second = config.load(path)
    assert second is first
    assert second is not None and second.errors["prod"][0].key == "colour"


def test_load_recovers_once_a_broken_file_is_fixed(isolated: Path) -> None:
    path = write(isolated / "roles.toml", "[profiles.prod\n")
    cfg = config.load(path)
    assert cfg is not None and "invalid TOML" in str(cfg.problems[0])
    write(path, profile_toml(), bump=5)
    cfg = config.load(path)
    assert cfg is not None
    assert list(cfg.profiles) == ["prod"] and not cfg.problems


def test_load_toml_syntax_error_names_the_file_and_line_for_each_declared_profile(
        isolated: Path) -> None:
    path = write(isolated / "roles.toml",
                 f'[profiles.prod]\nrole_arn = "{ROLE}"\nsource = = 1\n[profiles."other"]\n')
    cfg = config.load(path)
    assert cfg is not None and not cfg.profiles
    for name in ("prod", "other"):  # every header found in the raw text raises
        with pytest.raises(ConfigError) as info:
            cfg.profile(name)
        assert str(info.value).startswith(f"{path}: invalid TOML: ")
        assert "line 3" in str(info.value)
    assert not cfg.declares("default")


def test_load_non_utf8_file_names_the_file(isolated: Path) -> None:
    path = write(isolated / "roles.toml", b"[profiles.prod]\n# \xff\xfe\n")
    cfg = config.load(path)
    assert cfg is not None
    with pytest.raises(ConfigError) as info:
        cfg.profile("prod")
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: not UTF-8 text: ")


def test_load_of_a_directory_is_a_config_error(isolated: Path) -> None:
    path = isolated / "roles.toml"
    path.mkdir()
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value) == f"{path}: cannot read: not a regular file"


def test_reraised_cached_error_traceback_does_not_grow(isolated: Path) -> None:
    path = isolated / "roles.toml"
    path.mkdir()
    lengths = []
    for _ in range(3):
        try:
            config.load(path)
        except ConfigError as exc:
            lengths.append(len(traceback.extract_tb(exc.__traceback__)))
    assert len(lengths) == 3 and lengths[0] == lengths[1] == lengths[2]


def test_reraised_cached_error_carries_no_stale_context(isolated: Path) -> None:
    path = isolated / "roles.toml"
    path.mkdir()
    try:
        raise KeyError("unrelated")
    except KeyError:
        with pytest.raises(ConfigError):
            config.load(path)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert info.value.__context__ is None


def test_locate_honours_rolecall_config(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.locate() == isolated / "roles.toml"
    monkeypatch.setenv("ROLECALL_CONFIG", str(isolated / "elsewhere" / "team.toml"))
    assert config.locate() == isolated / "elsewhere" / "team.toml"


def test_locate_expands_tilde(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_CONFIG", "~/conf/roles.toml")
    assert config.locate() == isolated / "home" / "conf" / "roles.toml"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CONFIG_HOME applies on Linux")
@pytest.mark.parametrize("value", [None, ""])
def test_locate_defaults_to_the_platform_config_dir(isolated: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("ROLECALL_CONFIG")
    else:
        monkeypatch.setenv("ROLECALL_CONFIG", value)
    expected = isolated / "home" / ".config" / "rolecall" / "roles.toml"
    assert config.locate() == expected
    assert config.default_path() == expected


def test_default_path_uses_platformdirs(isolated: Path) -> None:
    import platformdirs

    assert config.default_path() == \
        Path(platformdirs.user_config_dir("rolecall", appauthor=False)) / "roles.toml"


def test_load_without_argument_and_without_override_reads_the_default_path(
        isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLECALL_CONFIG")
    assert config.load() is None
    path = config.default_path()
    path.parent.mkdir(parents=True)
    write(path, profile_toml(name="from-default-dir"))
    cfg = config.load()
    assert cfg is not None
    assert list(cfg.profiles) == ["from-default-dir"]


# --------------------------------------------------------------------------------------------
# Cascading errors (bug demonstrations)
# --------------------------------------------------------------------------------------------


def test_invalid_default_role_arn_is_not_also_reported_as_missing() -> None:
    text = '[defaults]\nrole_arn = "bad"\nsource_profile = "default"\n[profiles.prod]\n'
    problem = only_problem(text)
    assert (problem.profile, problem.key) == ("[defaults]", "role_arn")


def test_invalid_default_source_is_not_also_reported_as_missing() -> None:
    text = f'[defaults]\nsource_profile = "not a name"\n[profiles.prod]\nrole_arn = "{ROLE}"\n'
    problem = only_problem(text)
    assert (problem.profile, problem.key) == ("[defaults]", "source_profile")


def test_invalid_tags_do_not_cascade_into_transitive_tag_keys() -> None:
    problem = only_problem(profile_toml('tags = { team = 5 }\ntransitive_tag_keys = ["team"]'))
    assert problem.key == "tags"
