"""Tests of :mod:`rolecall.sessions`: rolecall's internal botocore sessions (what they resolve,
which profiles they know, their STS endpoint setting) and the one data loader they share."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from rolecall import config, sessions
from tests.conftest import PROD, STATIC_KEY_ID, Aws, credentials_of


@pytest.fixture
def no_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: no data loader shared yet."""
    monkeypatch.setattr(sessions, "_shared", {})


def roles(aws: Aws, text: str = PROD) -> config.Config:
    found = config.load(aws.roles(text))
    assert found is not None
    return found


def loader_of(session: Any) -> Any:
    return session.get_component("data_loader")


def test_an_internal_session_is_botocore_as_without_rolecall(aws: Aws) -> None:
    aws.roles(PROD.replace("[profiles.prod]", "[profiles.default]"))  # default assumes a role
    program = credentials_of(botocore.session.Session(profile="default"))
    assert program.method == "rolecall"  # a program's session goes through rolecall...
    internal = sessions.internal(roles(aws, PROD.replace("[profiles.prod]", "[profiles.default]")),
                                 "default")
    assert isinstance(internal, sessions.InternalSession) and internal.rolecall_internal
    found = credentials_of(internal)  # ...rolecall's own resolves the keys in the AWS files
    assert found.access_key == STATIC_KEY_ID and found.method == "shared-credentials-file"
    assert aws.assume_role_calls() == 0


def test_sts_is_called_on_regional_endpoints(aws: Aws) -> None:
    assert sessions.internal(None).get_config_variable("sts_regional_endpoints") == "regional"
    assert sessions.internal(roles(aws), "prod").get_config_variable(
        "sts_regional_endpoints") == "regional"


def test_it_knows_the_profiles_and_regions_of_its_config(aws: Aws,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    broken = PROD + '\n[profiles.broken]\nrole_arn = "nope"\nsource_profile = "default"\n'
    session = sessions.internal(roles(aws, broken), "prod")
    assert session.get_config_variable("region") == "eu-west-1"
    profiles = session.full_config["profiles"]
    assert profiles["prod"] == {"region": "eu-west-1"}  # a region only, never a role_arn
    assert "broken" in profiles  # declared, though unusable: it exists
    assert "prod" not in sessions.internal(None).full_config["profiles"]


def test_the_aws_config_region_wins_over_roles_toml(aws: Aws,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.config("[profile prod]\nregion = ap-south-1\n")
    session = sessions.internal(roles(aws), "prod")
    assert session.get_config_variable("region") == "ap-south-1"


def test_a_broken_aws_config_does_not_raise_here(aws: Aws) -> None:
    aws.config("[profile prod\nregion = ap-south-1\n")
    session = sessions.internal(roles(aws), "prod")  # botocore says so where it is used
    assert isinstance(session, sessions.InternalSession)


def test_internal_sessions_share_one_data_loader(aws: Aws, no_loader: None) -> None:
    first = loader_of(sessions.internal(None))
    assert loader_of(sessions.internal(roles(aws), "prod")) is first
    assert loader_of(botocore.session.Session()) is not first  # a program's own is its own


def test_adopt_loader_takes_a_programs_built_loader(no_loader: None) -> None:
    sessions.adopt_loader(object())  # anything without a loader: nothing happens, no error
    sessions.adopt_loader(botocore.session.Session())  # no loader built yet: nothing to adopt
    program = botocore.session.Session()
    built = loader_of(program)
    sessions.adopt_loader(program)
    assert loader_of(sessions.internal(None)) is built
    sessions.adopt_loader(botocore.session.Session())  # the first adopted stays
    other = botocore.session.Session()
    loader_of(other)
    sessions.adopt_loader(other)
    assert loader_of(sessions.internal(None)) is built


def test_a_cooperative_first_loader_reads_the_same_data(no_loader: None) -> None:
    token = sessions.COOPERATIVE.set(True)
    try:
        loader = loader_of(sessions.internal(None))
    finally:
        sessions.COOPERATIVE.reset(token)
    assert type(loader.file_loader).__name__ == "_CooperativeFiles"
    plain = loader_of(botocore.session.Session())
    assert loader.load_service_model("sts", "service-2") == \
        plain.load_service_model("sts", "service-2")
    assert loader_of(sessions.internal(None)) is loader  # and it is the one shared afterwards
