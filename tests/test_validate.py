"""Unit tests for rolecall._validate: what roles.toml may hold, [defaults], role chaining, and
how each mistake is reported (file, profile, key, what is expected; every problem once).

Pure Python, no network: everything goes through ``config.parse(text, path="roles.toml")``. Some
tests here first demonstrated bugs (false "required" problems after an invalid default, tabs in
tags); they now guard the fixes.
"""

from __future__ import annotations

import pytest

from rolecall import _validate, config
from rolecall.config import ConfigError, Problem, Profile
from tests.roles_text import (
    FILE,
    FULL_PROFILE,
    ROLE,
    error,
    only_problem,
    parse,
    profile_toml,
    shown,
)

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


def test_every_profile_field_is_a_config_key() -> None:
    # The reference lists exactly the fields of Profile (besides its name and parent link). Each
    # is a known key: a wrong type for it is reported against that key, never as unknown.
    for key in set(Profile._fields) - {"name", "parent"}:
        text = profile_toml(f"{key} = 1", role=None if key == "role_arn" else ROLE,
                            source=None if key in ("source_profile", "credential_source")
                            else "default")
        problems = error(text).problems
        assert [(p.profile, p.key) for p in problems] == [("prod", key)], problems
        assert "unknown key" not in problems[0].message, problems[0]


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
    # The strict parse raises exactly what a tolerant load keeps for the file.
    assert err.problems == _validate.tolerant(MANY_PROBLEMS, FILE).problems


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
