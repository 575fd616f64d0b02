"""Tests of :mod:`rolecall._placement`: the ``ROLECALL_ROLE_ARN`` provider placed first in a
session's resolver (sync and aiobotocore), and the aiobotocore provider, or the stand-in that
refuses managed profiles where rolecall's async provider cannot run.

Resolvers are built with ``ROLECALL_DISABLE`` set, so that the Session layer places nothing
itself: what is in them is only what these functions placed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import botocore.session
import pytest
from botocore.credentials import create_credential_resolver
from botocore.exceptions import CredentialRetrievalError

from rolecall import _placement, sessions
from tests.conftest import PROD, STATIC_KEY_ID, Aws

READER = "arn:aws:iam::444455556666:role/Reader"


@pytest.fixture
def ci(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """ROLECALL_ROLE_ARN set; the Session layer off, so resolvers hold only botocore's own."""
    monkeypatch.setenv("ROLECALL_DISABLE", "1")
    monkeypatch.setenv("ROLECALL_ROLE_ARN", READER)
    return aws


def credentials_of(resolver: Any) -> Any:
    found = resolver.load_credentials()
    assert found is not None, "the resolver found no credentials"
    return found


def methods(resolver: Any) -> list[str]:
    return [provider.METHOD for provider in resolver.providers]


def aio_resolver() -> Any:
    from aiobotocore.credentials import (  # type: ignore[import-untyped]
        create_credential_resolver as create_aio_resolver,
    )
    from aiobotocore.session import AioSession  # type: ignore[import-untyped]

    return create_aio_resolver(AioSession())


def test_role_arn_comes_first_signed_by_the_rest_of_the_chain(ci: Aws) -> None:
    resolver = create_credential_resolver(botocore.session.Session())
    before = methods(resolver)
    _placement.role_arn(resolver, aio=False)
    assert methods(resolver) == ["rolecall-role-arn", *before]
    found = credentials_of(resolver)
    assert type(found).__name__ == "RoleCredentials"  # rolecall's, not the file's static keys
    access_key = str(found.get_frozen_credentials().access_key)
    assert access_key.startswith("ASIA") and access_key != STATIC_KEY_ID
    assert ci.assume_role_calls() == 1


def test_role_arn_in_an_aiobotocore_resolver(ci: Aws) -> None:
    resolver = aio_resolver()
    before = methods(resolver)
    _placement.role_arn(resolver, aio=True)
    assert methods(resolver) == ["rolecall-role-arn", *before]

    async def keys() -> str:
        found = await resolver.load_credentials()
        frozen = await found.get_frozen_credentials()
        return str(frozen.access_key)

    access_key = asyncio.run(keys())
    assert access_key.startswith("ASIA") and access_key != STATIC_KEY_ID
    assert ci.assume_role_calls() == 1


def test_role_arn_without_aiobotocore_support_refuses(ci: Aws,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = aio_resolver()
    # As if aiobotocore's credentials module could not be imported here.
    monkeypatch.setitem(sys.modules, "aiobotocore.credentials", None)
    _placement.role_arn(resolver, aio=True)
    first = resolver.providers[0]
    assert first.METHOD == "rolecall" and first.profile_name is None
    with pytest.raises(CredentialRetrievalError) as raised:
        asyncio.run(resolver.load_credentials())
    assert "ROLECALL_ROLE_ARN is set, but rolecall cannot serve this aiobotocore session: " \
        "import of aiobotocore.credentials halted" in str(raised.value)
    assert ci.assume_role_calls() == 0


def test_aio_provider_for_a_profile_and_the_adopted_loader(aws: Aws,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from rolecall.aioprovider import AioRolecallProvider

    monkeypatch.setattr(sessions, "_shared", {})
    program = botocore.session.Session()
    built = program.get_component("data_loader")
    provider = _placement.aio_provider(program, "prod")
    assert isinstance(provider, AioRolecallProvider)
    assert provider.profile_name == "prod"
    assert sessions.internal(None).get_component("data_loader") is built  # adopted


def test_the_stand_in_refuses_managed_profiles_only(aws: Aws,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(PROD)
    monkeypatch.setitem(sys.modules, "rolecall.aioprovider", None)
    managed = _placement.aio_provider(botocore.session.Session(), "prod")
    assert managed.METHOD == "rolecall" and managed.CANONICAL_NAME == "custom-rolecall"
    with pytest.raises(CredentialRetrievalError) as raised:
        asyncio.run(managed.load())
    message = str(raised.value)
    assert "profile 'prod' is declared in roles.toml, but rolecall cannot serve this " \
           "aiobotocore session: " in message
    assert "rolecall.aioprovider" in message  # the reason: why it cannot run
    other = _placement.aio_provider(botocore.session.Session(), "default")
    assert asyncio.run(other.load()) is None  # botocore's chain carries on for the rest
    assert aws.assume_role_calls() == 0
