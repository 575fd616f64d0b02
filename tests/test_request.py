"""Unit tests for rolecall.request: the AssumeRole parameters, the default session name, the STS
endpoint and region as far as roles.toml and the environment tell, and the cache keys.

Pure Python, no network, no botocore: what a caller of build_request / cache_key sees. The autouse
``isolated`` fixture has removed every AWS_* and ROLECALL_* variable; tests set what they need.
"""

from __future__ import annotations

import os
import re
import sys

import pytest

from rolecall import config, request
from rolecall.config import Config, Profile, Source
from tests.conftest import PROD, ROLE

SERIAL = "arn:aws:iam::999999999999:mfa/alice"


def parse(text: str) -> Config:
    return config.parse(text, path="roles.toml")


def prod(extra: str = "") -> Profile:
    return parse(PROD + extra).profiles["prod"]


def key(text: str, name: str = "prod") -> str:
    return request.cache_key(parse(text), name)


# --- build_request ----------------------------------------------------------------------------


def test_a_minimal_profile_asks_for_the_role_for_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    assert request.build_request(prod(), source_is_temporary=False) == {
        "RoleArn": ROLE, "RoleSessionName": "alice", "DurationSeconds": 3600}


def test_every_key_of_the_profile_becomes_its_parameter() -> None:
    built = request.build_request(prod(
        'role_session_name = "ci-job"\nduration_seconds = 7200\nexternal_id = "build-7f3a"\n'
        f'mfa_serial = "{SERIAL}"\npolicy = \'{{"Version": "2012-10-17"}}\'\n'
        'policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]\n'
        'tags = { team = "infra", app = "web" }\ntransitive_tag_keys = ["team"]\n'
        'source_identity = "alice"\n'), source_is_temporary=False)
    assert built == {
        "RoleArn": ROLE,
        "RoleSessionName": "ci-job",
        "DurationSeconds": 7200,
        "ExternalId": "build-7f3a",
        "SerialNumber": SERIAL,
        "Policy": '{"Version": "2012-10-17"}',
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "Tags": [{"Key": "app", "Value": "web"}, {"Key": "team", "Value": "infra"}],
        "TransitiveTagKeys": ["team"],
        "SourceIdentity": "alice",
    }


def test_the_request_never_carries_rolecall_only_keys() -> None:
    built = request.build_request(prod('cache = false\nsts_endpoint_url = "http://127.0.0.1:1"\n'
                                       'mfa_token_command = "get-code"\n'),
                                  source_is_temporary=False)
    assert set(built) == {"RoleArn", "RoleSessionName", "DurationSeconds"}


@pytest.mark.parametrize(("duration", "temporary", "sent"), [
    (7200, False, 7200),
    (7200, True, 3600),  # role chaining: AWS refuses more than an hour
    (43200, True, 3600),
    (900, True, 900),  # shorter than the cap: kept
    (None, True, 3600),
])
def test_temporary_sources_cap_the_duration_at_the_chaining_limit(
        duration: int | None, temporary: bool, sent: int) -> None:
    extra = f"duration_seconds = {duration}\n" if duration else ""
    built = request.build_request(prod(extra), source_is_temporary=temporary)
    assert built["DurationSeconds"] == sent
    assert request.CHAINED_MAX_DURATION == 3600


# --- default_session_name ---------------------------------------------------------------------


@pytest.mark.parametrize(("variables", "expected"), [
    ({"LOGNAME": "alice", "USER": "bob"}, "alice"),  # getpass.getuser's order
    ({"USER": "bob", "USERNAME": "carol"}, "bob"),
    ({"USERNAME": "carol"}, "carol"),
    ({"LOGNAME": "", "USER": "dave"}, "dave"),  # empty counts as unset
    ({"LOGNAME": "Alice Smith (ops)"}, "Alice-Smith--ops-"),  # spaces, parentheses replaced
    ({"LOGNAME": "élise"}, "-lise"),  # ASCII only: STS refuses the rest
    ({"LOGNAME": "x"}, "rolecall-x"),  # too short for STS
    ({"LOGNAME": "u" * 80}, "u" * 64),  # too long for STS
])
def test_the_default_session_name_is_the_user_made_to_fit_sts(
        monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str) -> None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert request.default_session_name() == expected


@pytest.mark.skipif(sys.platform == "win32", reason="the password database is POSIX")
def test_without_variables_the_session_name_comes_from_the_password_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    name = request.default_session_name()
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name, flags=re.ASCII)
    user = pwd.getpwuid(os.getuid()).pw_name
    assert user in name or name == f"rolecall-{user}"


# --- region and sts_endpoint ------------------------------------------------------------------


def test_region_prefers_roles_toml_then_aws_region_then_aws_default_region(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bare = prod()._replace(region=None)
    assert request.region(bare) is None  # left to botocore's configuration of the source
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert request.region(bare) == "ap-south-1"
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert request.region(bare) == "ca-central-1"
    assert request.region(prod()) == "eu-west-1"


def test_sts_endpoint_prefers_roles_toml_then_the_sts_variable_then_the_general_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert request.sts_endpoint(prod()) is None  # the regional endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert request.sts_endpoint(prod()) == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2")
    assert request.sts_endpoint(prod()) == "http://127.0.0.1:2"
    own = prod('sts_endpoint_url = "http://127.0.0.1:3"\n')
    assert request.sts_endpoint(own) == "http://127.0.0.1:3"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "True")
    assert request.sts_endpoint(prod()) is None  # the variables are ignored ...
    assert request.sts_endpoint(own) == "http://127.0.0.1:3"  # ... roles.toml is not


# --- cache_key --------------------------------------------------------------------------------


def test_the_key_is_stable_and_looks_like_a_file_name() -> None:
    first = key(PROD)
    assert first == key(PROD) == key("# a comment\n" + PROD)
    assert len(first) == 40 and all(c in "0123456789abcdef" for c in first)


@pytest.mark.parametrize("change", [
    ("role_arn", '"arn:aws:iam::444455556666:role/Deploy"'),
    ("role_session_name", '"other"'),
    ("duration_seconds", "900"),
    ("external_id", '"ext-2"'),
    ("mfa_serial", f'"{SERIAL}"'),
    ("policy", """'{"Version": "2012-10-17"}'"""),
    ("policy_arns", '["arn:aws:iam::aws:policy/ReadOnlyAccess"]'),
    ("tags", '{ team = "infra" }'),
    ("source_identity", '"alice"'),
    ("region", '"us-west-2"'),
    ("sts_endpoint_url", '"http://127.0.0.1:9"'),
    ("source_profile", '"other"'),
])
def test_every_part_of_the_request_changes_the_key(change: tuple[str, str]) -> None:
    name, value = change
    lines = [line for line in PROD.splitlines(keepends=True)
             if not line.startswith(f"{name} =")]
    assert key("".join(lines) + f"{name} = {value}\n") != key(PROD)


@pytest.mark.parametrize("extra", [
    "cache = false\n",
    'mfa_token_command = "get-code --now"\n',
    f'mfa_serial = "{SERIAL}"\nmfa_session_duration = 3600\n',
])
def test_what_does_not_change_the_result_keeps_the_key(extra: str) -> None:
    if "mfa_session_duration" in extra:  # turning an MFA session on keeps the role's entry
        assert key(PROD + extra) == key(PROD + f'mfa_serial = "{SERIAL}"\n')
    else:
        assert key(PROD + extra) == key(PROD)


def test_the_profile_name_is_not_part_of_the_key() -> None:
    assert key(PROD) == key(PROD.replace("[profiles.prod]", "[profiles.same]"), "same")


@pytest.mark.parametrize(("variable", "value"), [
    ("AWS_CONFIG_FILE", "/elsewhere/config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/elsewhere/credentials"),
    ("HOME", "/elsewhere"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4"),
])
def test_where_the_source_profile_comes_from_changes_the_key(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    before = key(PROD)
    monkeypatch.setenv(variable, value)
    assert key(PROD) != before


def test_the_region_from_the_environment_changes_only_keys_without_their_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bare = PROD.replace('region = "eu-west-1"\n', "")
    before, own = key(bare), key(PROD)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert key(bare) != before
    assert key(PROD) == own


def test_a_chained_profile_carries_its_parents_key() -> None:
    text = PROD + '[profiles.child]\nrole_arn = "arn:aws:iam::444455556666:role/Child"\n' \
        'source_profile = "prod"\n'
    child = key(text, "child")
    assert child != key(text)
    changed = text.replace('region = "eu-west-1"', 'region = "us-west-2"', 1)
    assert key(changed, "child") != child  # the parent changed: so does every child


def test_environment_sources_key_on_the_access_key_id_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = PROD.replace('source_profile = "default"', 'credential_source = "Environment"')
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAONE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-one")
    first = key(text)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-two")
    assert key(text) == first
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATWO")
    assert key(text) != first


def test_a_source_given_as_an_object_keys_on_its_identity() -> None:
    base = parse(PROD.replace('source_profile = "default"\n', "")
                 .replace("[profiles.prod]", "[profiles.prod]\ncredential_source = 'Environment'"))

    def with_source(identity: str) -> Config:
        source = Source(identity=lambda: identity, load=lambda: None, description="code")
        return base._replace(sources={"prod": source})

    one, other = with_source("AKIAONE"), with_source("AKIATWO")
    assert request.cache_key(one, "prod") == request.cache_key(with_source("AKIAONE"), "prod")
    assert request.cache_key(one, "prod") != request.cache_key(other, "prod")
    assert request.cache_key(one, "prod") != request.cache_key(base, "prod")


# --- MFA sessions -----------------------------------------------------------------------------

MFA = f'[defaults]\nmfa_serial = "{SERIAL}"\nmfa_session_duration = 3600\n'


def test_profiles_with_the_same_source_device_and_duration_share_one_mfa_session() -> None:
    text = MFA + PROD + '[profiles.audit]\nrole_arn = "arn:aws:iam::444455556666:role/Audit"\n' \
        'source_profile = "default"\nregion = "eu-west-1"\n'
    loaded = parse(text)
    session = request.mfa_session_key(loaded, "prod")
    assert session is not None
    assert request.mfa_session_key(loaded, "audit") == session
    assert session not in (request.cache_key(loaded, "prod"), request.cache_key(loaded, "audit"))


@pytest.mark.parametrize("extra", [
    "mfa_session_duration = 7200\n",
    'region = "us-west-2"\n',
    'source_profile = "other"\n',
])
def test_the_mfa_session_key_changes_with_duration_region_and_source(extra: str) -> None:
    base = request.mfa_session_key(parse(MFA + PROD), "prod")
    name = extra.split(" =", maxsplit=1)[0]
    lines = [line for line in PROD.splitlines(keepends=True) if not line.startswith(f"{name} =")]
    changed = request.mfa_session_key(parse(MFA + "".join(lines) + extra), "prod")
    assert changed is not None and changed != base


@pytest.mark.parametrize(("text", "why"), [
    (PROD, "mfa_session_duration is not set"),
    ("[defaults]\nmfa_session_duration = 3600\n" + PROD, "no mfa_serial"),
    (MFA + PROD.replace('source_profile = "default"', 'credential_source = "EcsContainer"'),
     "credential_source EcsContainer gives temporary credentials"),
    (MFA + PROD + '[profiles.child]\nrole_arn = "arn:aws:iam::1:role/C"\nsource_profile = "prod"\n'
     .replace("arn:aws:iam::1:", "arn:aws:iam::444455556666:"),
     "its source is rolecall profile 'prod', a role"),
])
def test_without_an_mfa_session_there_is_no_session_key_and_a_reason(text: str, why: str) -> None:
    loaded = parse(text)
    name = "child" if "profiles.child" in text else "prod"
    reason = request.mfa_session_unavailable(loaded, name)
    assert reason is not None and reason.startswith(why), reason
    assert request.mfa_session_key(loaded, name) is None
