"""Tests of :mod:`rolecall.provider`: ``RolecallProvider.load()`` and the ``RoleCredentials`` it
returns, as botocore's credential resolver (the caller) sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from botocore.exceptions import CredentialRetrievalError

from rolecall.cache import store
from rolecall.config import ConfigError
from rolecall.provider import RolecallProvider, RoleCredentials
from tests.conftest import PROD, STATIC_KEY_ID, Aws


def test_no_roles_toml_and_undeclared_profiles_load_nothing(aws: Aws) -> None:
    assert RolecallProvider("prod").load() is None  # no roles.toml at all
    aws.roles(PROD)
    assert RolecallProvider("default").load() is None
    assert RolecallProvider("staging").load() is None
    assert aws.assume_role_calls() == 0


def test_a_declared_profile_fetches_nothing_until_first_use(aws: Aws) -> None:
    aws.roles(PROD)
    credentials = RolecallProvider("prod").load()
    assert isinstance(credentials, RoleCredentials)
    assert credentials.method == "rolecall"
    assert aws.assume_role_calls() == 0
    access_key, _, token = keys(credentials)
    assert access_key.startswith("ASIA") and access_key != STATIC_KEY_ID
    assert token
    assert aws.assume_role_calls() == 1
    assert keys(credentials) == (access_key, _, token)  # fresh: no second AssumeRole
    assert aws.assume_role_calls() == 1


def test_repr_names_the_profile_and_never_a_secret(aws: Aws) -> None:
    aws.roles(PROD)
    credentials = RolecallProvider("prod").load()
    assert credentials is not None
    assert repr(credentials) == "<RoleCredentials profile='prod' expiry=not fetched yet>"
    access_key, secret_key, token = keys(credentials)
    text = repr(credentials)
    assert text.startswith("<RoleCredentials profile='prod' expiry=20")
    assert secret_key not in text and token not in text and access_key not in text
    assert repr(RolecallProvider("prod")) == "RolecallProvider(profile_name='prod')"


def test_profile_name_defaults_to_default(aws: Aws) -> None:
    aws.roles(PROD.replace("[profiles.prod]", "[profiles.default]"))  # names itself
    provider = RolecallProvider()
    assert provider.profile_name == "default"
    assert provider.METHOD == "rolecall" and provider.CANONICAL_NAME == "custom-rolecall"
    credentials = provider.load()
    assert credentials is not None
    assert credentials_key(credentials) != STATIC_KEY_ID  # assumed its own role
    assert aws.assume_role_calls() == 1


def test_a_declared_but_broken_profile_raises_a_config_error(aws: Aws) -> None:
    path = aws.roles(PROD + "duration_seconds = 10\n")
    with pytest.raises(ConfigError) as raised:
        RolecallProvider("prod").load()
    assert raised.value.profile == "prod"
    assert raised.value.key == "duration_seconds"
    assert str(path) in str(raised.value)
    assert RolecallProvider("other").load() is None  # an undeclared profile is unaffected
    assert aws.assume_role_calls() == 0


def test_an_explicit_config_path_wins_over_rolecall_config(aws: Aws) -> None:
    elsewhere = aws.root / "elsewhere.toml"
    elsewhere.write_text(PROD)
    assert RolecallProvider("prod").load() is None  # ROLECALL_CONFIG names no file
    credentials = RolecallProvider("prod", config_path=elsewhere).load()
    assert credentials is not None
    assert credentials_key(credentials).startswith("ASIA")
    assert aws.assume_role_calls() == 1


def test_a_new_load_reuses_the_disk_cache_through_the_index(aws: Aws) -> None:
    aws.roles(PROD)
    first = credentials_key(RolecallProvider("prod").load())
    store.forget_memory()  # as a new process would start
    again = RolecallProvider("prod").load()
    assert isinstance(again, RoleCredentials)
    assert credentials_key(again) == first
    assert aws.assume_role_calls() == 1


def test_a_profile_removed_from_roles_toml_fails_its_refresh_clearly(aws: Aws) -> None:
    path = aws.roles(PROD)
    credentials_key(RolecallProvider("prod").load())
    store.forget_memory()
    warm = RolecallProvider("prod").load()  # the index hit: roles.toml is read only on refresh
    assert warm is not None
    path.write_text(PROD.replace("[profiles.prod]", "[profiles.staging]"))
    with time_machine.travel(timedelta(hours=2), tick=False), \
            pytest.raises(CredentialRetrievalError) as raised:
        warm.get_frozen_credentials()
    assert "profile 'prod' is no longer declared in" in str(raised.value)
    assert str(path) in str(raised.value)
    assert aws.assume_role_calls() == 1


def keys(credentials: RoleCredentials | None) -> tuple[str, str, str]:
    """Access key, secret and token of loaded credentials (fetched now if need be)."""
    assert credentials is not None, "the provider loaded nothing for a declared profile"
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key and frozen.secret_key and frozen.token, frozen
    return frozen.access_key, frozen.secret_key, frozen.token


def credentials_key(credentials: RoleCredentials | None) -> str:
    return keys(credentials)[0]
