"""Unit tests for rolecall.config: the records (Config, Profile, Problem, ConfigError), load()
and locate().

Pure Python, no network. Most tests go through ``config.parse(text, path="roles.toml")``; the file
tests through ``config.load(path)`` in the temporary folder the autouse ``isolated`` fixture gives.
What roles.toml may hold and how mistakes are reported is tested in test_validate.py.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pytest

import rolecall
from rolecall import _validate, config
from rolecall.config import ConfigError, Problem, Profile
from tests.roles_text import (
    FILE,
    FULL_PROFILE,
    OTHER_ROLE,
    ROLE,
    parse,
    profile_toml,
    write,
)

# --------------------------------------------------------------------------------------------
# Parsing valid files
# --------------------------------------------------------------------------------------------


def test_minimal_profile_parses() -> None:
    cfg = parse(profile_toml())

    assert cfg.path == FILE
    assert list(cfg.profiles) == ["prod"]
    assert cfg.declares("prod") and not cfg.declares("default")
    prod = cfg.profiles["prod"]
    assert cfg.profile("prod") is prod
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
    # Lists (or dicts) from TOML never leak through: the record is hashable all the way down,
    # and two parses of the same text are equal records with equal hashes.
    assert not _mutable_parts(tuple(prod)), _mutable_parts(tuple(prod))
    again = parse(FULL_PROFILE).profiles["prod"]
    assert again is not prod and hash(again) == hash(prod) and {again, prod} == {prod}


def _mutable_parts(value: object) -> list[object]:
    if isinstance(value, tuple):
        return [part for item in value for part in _mutable_parts(item)]
    return [value] if isinstance(value, (list, dict, set)) else []


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
# The error type
# --------------------------------------------------------------------------------------------


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

