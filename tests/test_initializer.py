"""Tests of rolecall.initializer, the Session layer, in-process: boto3 in this very process,
rolecall activated by its .pth (the test environment has rolecall installed), STS at the local
emulator over real HTTP."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError, ProfileNotFound

import rolecall
from rolecall import provider as rolecall_provider
from tests.conftest import PROD, STATIC_KEY_ID, STATIC_SECRET, Aws, credentials_of


def identity(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


@pytest.fixture(autouse=True)
def fresh_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_profile_name_assumes_the_declared_role(aws: Aws) -> None:
    aws.roles(PROD)
    session = boto3.Session(profile_name="prod")
    assert identity(session).startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    credentials = credentials_of(session)
    assert credentials.method == "rolecall"
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != STATIC_KEY_ID and frozen.token
    assert aws.assume_role_calls() == 1


def test_aws_profile_variable_and_module_level_client(aws: Aws,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    monkeypatch.setenv("AWS_PROFILE", "prod")
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")


def test_virtual_profile_gets_its_region(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # as in botocore, the variable would win
    aws.roles(PROD)
    assert boto3.Session(profile_name="prod").region_name == "eu-west-1"


def test_aws_file_region_is_not_overridden(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.config("[default]\nregion = ap-south-1\n")
    aws.roles(PROD.replace("[profiles.prod]", "[profiles.default]")
              .replace('source_profile = "default"', 'source_profile = "default"'))
    session = boto3.Session(profile_name="default")
    assert session.region_name == "ap-south-1"
    assert identity(session).startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")


def test_temporary_credentials_expire_after_the_configured_duration(aws: Aws) -> None:
    aws.roles(PROD + "duration_seconds = 1800\n")
    credentials = credentials_of(boto3.Session(profile_name="prod"))
    credentials.get_frozen_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    remaining = (vars(credentials)["_expiry_time"] - datetime.now(timezone.utc)).total_seconds()
    assert 1700 < remaining <= 1800


def test_cross_account_role(aws: Aws) -> None:
    aws.roles(PROD.replace("111122223333", "444455556666"))
    sts = boto3.Session(profile_name="prod").client("sts")
    me = sts.get_caller_identity()
    assert me["Account"] == "444455556666"
    assert me["Arn"].startswith("arn:aws:sts::444455556666:assumed-role/Deploy/")


def test_assumed_role_session_lists_s3_buckets(aws: Aws) -> None:
    aws.roles(PROD)
    s3 = boto3.Session(profile_name="prod").client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="rolecall-listing")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "rolecall-listing" in names


@pytest.mark.slow
def test_switching_between_two_roles_in_one_process(aws: Aws) -> None:
    aws.roles(PROD + """
[profiles.audit]
role_arn = "arn:aws:iam::222233334444:role/Audit"
source_profile = "default"
""")
    for _ in range(3):
        assert "assumed-role/Deploy/" in identity(boto3.Session(profile_name="prod"))
        assert "assumed-role/Audit/" in identity(boto3.Session(profile_name="audit"))
    assert aws.assume_role_calls() == 2


def test_role_session_name_defaults_to_the_user_and_can_be_set(aws: Aws) -> None:
    aws.roles(PROD + '\n[profiles.named]\nrole_arn = "arn:aws:iam::111122223333:role/Deploy"\n'
              'source_profile = "default"\nrole_session_name = "alice@example.com"\n')
    from rolecall.request import default_session_name

    assert identity(boto3.Session(profile_name="prod")).endswith("/" + default_session_name())
    assert identity(boto3.Session(profile_name="named")).endswith("/alice@example.com")


def test_unmanaged_profile_resolves_exactly_as_without_rolecall(
        aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    with_rolecall = boto3.Session(profile_name="default")
    monkeypatch.setenv("ROLECALL_DISABLE", "1")
    without = boto3.Session(profile_name="default")
    for session in (with_rolecall, without):
        assert credentials_of(session).method == "shared-credentials-file"
        assert credentials_of(session).access_key == STATIC_KEY_ID
    assert identity(with_rolecall) == identity(without)
    assert aws.assume_role_calls() == 0


def test_unknown_profile_gives_botocores_own_error(aws: Aws) -> None:
    aws.roles(PROD)
    with pytest.raises(ProfileNotFound, match="nosuch"):
        boto3.Session(profile_name="nosuch")


def test_environment_keys_win_unless_a_profile_is_passed_explicitly(
        aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENV1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    monkeypatch.setenv("AWS_PROFILE", "prod")
    # As in botocore: AWS_PROFILE does not beat environment keys ...
    assert credentials_of(botocore.session.Session()).method == "env"
    # ... an explicitly passed profile does.
    assert credentials_of(boto3.Session(profile_name="prod")).method == "rolecall"


def test_provider_sits_right_before_assume_role(aws: Aws,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    resolver = botocore.session.Session(profile="prod").get_component("credential_provider")
    names = [p.METHOD for p in resolver.providers]
    assert names[names.index("rolecall") + 1] == "assume-role"
    assert "env" not in names  # explicit profile: botocore drops the env provider itself
    monkeypatch.setenv("AWS_PROFILE", "prod")
    implicit = botocore.session.Session().get_component("credential_provider")
    assert [p.METHOD for p in implicit.providers][:3] == ["env", "rolecall", "assume-role"]
    # A profile roles.toml does not declare gets botocore's resolver exactly as it is.
    plain = botocore.session.Session(profile="default").get_component("credential_provider")
    assert "rolecall" not in [p.METHOD for p in plain.providers]


def test_nothing_changes_without_a_roles_file(aws: Aws) -> None:
    """The provider is placed only when the resolver is built with a roles.toml in place."""
    resolver = botocore.session.Session().get_component("credential_provider")
    assert "rolecall" not in [p.METHOD for p in resolver.providers]


@pytest.mark.slow
def test_hundred_threads_one_assume_role(aws: Aws) -> None:
    aws.roles(PROD)
    barrier = threading.Barrier(100)
    keys: list[str | None] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            session = boto3.Session(profile_name="prod")
            barrier.wait()
            keys.append(credentials_of(session).get_frozen_credentials().access_key)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(keys) == 100 and len(set(keys)) == 1
    assert aws.assume_role_calls() == 1


def test_chained_roles_refresh_from_their_parent(aws: Aws,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    aws.roles(PROD + """
[profiles.child]
role_arn = "arn:aws:iam::444455556666:role/Child"
source_profile = "prod"
duration_seconds = 7200

[profiles.grandchild]
role_arn = "arn:aws:iam::777788889999:role/Grandchild"
source_profile = "child"
""")
    with caplog.at_level(logging.DEBUG, logger="rolecall"):
        arn = identity(boto3.Session(profile_name="grandchild"))
    assert arn.startswith("arn:aws:sts::777788889999:assumed-role/Grandchild/")
    assert aws.assume_role_calls() == 3
    assert "capped at 3600" in caplog.text
    assert "assumed-role/Child/" in identity(boto3.Session(profile_name="child"))
    assert aws.assume_role_calls() == 3  # the child was already cached as the grandchild's parent


def test_profile_naming_itself_uses_its_aws_file_credentials(aws: Aws) -> None:
    aws.roles("""
[profiles.default]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
""")
    assert "assumed-role/Deploy/" in identity(boto3.Session())


def test_source_profile_with_its_own_role_arn_is_resolved_by_botocore(aws: Aws) -> None:
    aws.config("[profile base]\nrole_arn = arn:aws:iam::999900001111:role/Base\n"
               "source_profile = default\n")
    aws.roles(PROD.replace('source_profile = "default"', 'source_profile = "base"'))
    assert "assumed-role/Deploy/" in identity(boto3.Session(profile_name="prod"))
    assert aws.assume_role_calls() == 2  # botocore's AssumeRole for base, then rolecall's


def test_credential_source_environment(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.credentials("")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", STATIC_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    aws.roles('[profiles.ci]\nrole_arn = "arn:aws:iam::111122223333:role/Ci"\n'
              'credential_source = "Environment"\n')
    assert "assumed-role/Ci/" in identity(boto3.Session(profile_name="ci"))


def test_every_key_is_accepted_by_sts(aws: Aws) -> None:
    aws.roles(PROD + """
role_session_name = "build-42"
duration_seconds = 900
external_id = "build-7f3a"
policy = '{"Version": "2012-10-17", "Statement": []}'
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
tags = { team = "infra", cost = "ci" }
transitive_tag_keys = ["team"]
source_identity = "alice"
cache = false
""")
    assert identity(boto3.Session(profile_name="prod")).endswith("assumed-role/Deploy/build-42")


def test_short_roles_are_not_refreshed_on_every_request(aws: Aws) -> None:
    aws.roles(PROD + "duration_seconds = 900\n")
    sts = boto3.Session(profile_name="prod").client("sts")
    for _ in range(13):
        sts.get_caller_identity()
    assert aws.assume_role_calls() == 1


@pytest.mark.slow
def test_config_edits_are_picked_up_by_a_running_process(aws: Aws) -> None:
    path = aws.roles(PROD)
    assert "assumed-role/Deploy/" in identity(boto3.Session(profile_name="prod"))
    path.write_text(PROD.replace("role/Deploy", "role/Renamed"))
    assert "assumed-role/Renamed/" in identity(boto3.Session(profile_name="prod"))


def test_broken_profile_raises_and_others_resolve_as_botocore(
        aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    path = aws.roles(PROD + "duration_seconds = 60\n")
    session = boto3.Session(profile_name="prod")  # creating a Session never raises
    with pytest.raises(rolecall.ConfigError) as caught:
        session.get_credentials()
    message = str(caught.value)
    assert str(path) in message and "'prod'" in message and "'duration_seconds'" in message
    assert "900 to 43200" in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    # A profile roles.toml does not declare resolves exactly as botocore resolves it.
    assert credentials_of(boto3.Session()).method == "shared-credentials-file"
    warnings = [r.getMessage() for r in caplog.records if r.name == "rolecall"]
    assert len(warnings) == 1 and "'duration_seconds'" in warnings[0]  # once per process
    monkeypatch.setenv("ROLECALL_DISABLE", "1")
    assert credentials_of(boto3.Session()).method == "shared-credentials-file"


def test_broken_config_virtual_profile_raises_the_config_error(
        aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    path = aws.roles(PROD + "source_profile = \n")  # a TOML syntax error
    session = boto3.Session(profile_name="prod")  # the profile still exists ...
    with pytest.raises(rolecall.ConfigError, match="line 6") as caught:
        session.get_credentials()  # ... and using it says what is wrong with the file
    assert str(path) in str(caught.value)


def test_sts_errors_name_profile_and_role_without_secrets(aws: Aws, tmp_path: Path) -> None:
    from tests.fake_sts import FakeSts

    with FakeSts(status=403, code="AccessDenied",
                 message="User is not authorized to perform: sts:AssumeRole") as fake:
        aws.roles(PROD + f'sts_endpoint_url = "{fake.url}"\n')
        with pytest.raises(CredentialRetrievalError) as caught:
            credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    message = str(caught.value)
    assert "'prod'" in message and "arn:aws:iam::111122223333:role/Deploy" in message
    assert "AccessDenied" in message and "not authorized" in message
    assert STATIC_SECRET not in message and STATIC_SECRET not in repr(caught.value)
    assert caught.value.__cause__ is not None  # chained from botocore's ClientError


@pytest.mark.slow
def test_unreachable_sts_fails_within_the_timeouts(aws: Aws) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    aws.roles(PROD + f'sts_endpoint_url = "http://127.0.0.1:{port}"\n')
    with pytest.raises(CredentialRetrievalError, match="'prod'"):
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()


def test_reprs_carry_no_secrets(aws: Aws) -> None:
    aws.roles(PROD)
    credentials = credentials_of(boto3.Session(profile_name="prod"))
    frozen = credentials.get_frozen_credentials()
    assert frozen.secret_key and frozen.token
    from rolecall.cache import store

    texts = [repr(credentials), repr(rolecall_provider.RolecallProvider("prod"))]
    texts += [repr(entry) for entry in store._entries.values()]
    for text in texts:
        assert frozen.secret_key not in text and frozen.token not in text
        assert STATIC_SECRET not in text


def test_install_and_uninstall(aws: Aws) -> None:
    aws.roles(PROD)
    rolecall.uninstall()
    try:
        resolver = botocore.session.Session().get_component("credential_provider")
        assert "rolecall" not in [p.METHOD for p in resolver.providers]
        with pytest.raises(ProfileNotFound):  # the virtual profile is gone too
            boto3.Session(profile_name="prod")
    finally:
        rolecall.install()
        rolecall.install()  # idempotent
    import botocore as botocore_module

    assert vars(botocore_module)["_INITIALIZERS"].count(
        __import__("rolecall._bootstrap")._bootstrap._initialize) == 1
    assert "assumed-role/Deploy/" in identity(boto3.Session(profile_name="prod"))
