"""Tests of :mod:`rolecall.resolve`: ``credentials(config, name)``, the one entry point to fresh
credentials for a profile, as its callers (provider, async provider, API, command line) see it:
what it returns, how many AssumeRole calls reach STS, what it leaves on disk, and its errors."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from rolecall import cache, config, resolve
from rolecall.cache import store
from rolecall.config import ConfigError
from rolecall.sts import AssumeRoleError
from tests.conftest import PROD, ROLE, STATIC_KEY_ID, Aws


def loaded(aws: Aws, text: str = PROD) -> config.Config:
    found = config.load(aws.roles(text))
    assert found is not None
    return found


def cache_files(aws: Aws) -> list[Path]:
    folder = aws.root / "cache"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_returns_assumed_credentials_and_caches_them_in_memory(aws: Aws) -> None:
    roles = loaded(aws)
    first = resolve.credentials(roles, "prod")
    assert first.access_key.startswith("ASIA") and first.access_key != STATIC_KEY_ID
    assert first.secret_key and first.token
    assert first.fresh()
    assert resolve.credentials(roles, "prod") == first
    assert aws.assume_role_calls() == 1


def test_a_new_process_finds_them_on_disk_in_a_private_file(aws: Aws) -> None:
    roles = loaded(aws)
    first = resolve.credentials(roles, "prod")
    store.forget_memory()  # as a new process would start
    assert resolve.credentials(roles, "prod") == first
    assert aws.assume_role_calls() == 1
    files = cache_files(aws)
    assert files, "nothing was written to the cache folder"
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert first.secret_key not in path.name
    assert stat.S_IMODE((aws.root / "cache").stat().st_mode) == 0o700


def test_cache_false_keeps_nothing_on_disk(aws: Aws) -> None:
    roles = loaded(aws, PROD + "cache = false\n")
    first = resolve.credentials(roles, "prod")
    assert resolve.credentials(roles, "prod") == first  # still shared within the process
    assert aws.assume_role_calls() == 1
    assert not any(first.secret_key in path.read_text() for path in cache_files(aws))
    store.forget_memory()
    assert resolve.credentials(roles, "prod") != first
    assert aws.assume_role_calls() == 2


def test_leaves_an_index_for_the_next_process_of_a_file_on_disk_only(aws: Aws) -> None:
    roles = loaded(aws)
    first = resolve.credentials(roles, "prod")
    assert cache.recall("prod", roles.path) == first
    in_code = config.parse(PROD.replace("prod]", "code]"))  # a record from code: no file
    assert not os.path.isabs(in_code.path)
    resolve.credentials(in_code, "code")
    assert cache.recall("code", in_code.path) is None
    assert aws.assume_role_calls() == 1  # same role, same source: the same entry


def test_undeclared_and_broken_profiles(aws: Aws) -> None:
    roles = loaded(aws, PROD + """
[profiles.broken]
role_arn = "not-an-arn"
source_profile = "default"
""")
    with pytest.raises(KeyError):
        resolve.credentials(roles, "staging")
    with pytest.raises(ConfigError) as raised:
        resolve.credentials(roles, "broken")
    assert raised.value.profile == "broken" and raised.value.key == "role_arn"
    assert aws.assume_role_calls() == 0
    resolve.credentials(roles, "prod")  # a mistake breaks only what it touches
    assert aws.assume_role_calls() == 1


def test_a_source_without_credentials_is_an_assume_role_error(aws: Aws) -> None:
    aws.credentials("")
    roles = loaded(aws)
    with pytest.raises(AssumeRoleError) as raised:
        resolve.credentials(roles, "prod")
    message = str(raised.value)
    assert "could not get credentials for profile 'prod'" in message
    assert ROLE in message
    assert aws.assume_role_calls() == 0
    assert not (aws.root / "cache").exists() or all(
        "ASIA" not in path.read_text() for path in cache_files(aws))


def test_a_chained_profile_fetches_its_parent_once(aws: Aws) -> None:
    roles = loaded(aws, PROD + """
[profiles.child]
role_arn = "arn:aws:iam::444455556666:role/Reader"
source_profile = "prod"
""")
    child = resolve.credentials(roles, "child")
    assert aws.assume_role_calls() == 2  # the parent's role, then the child's
    parent = resolve.credentials(roles, "prod")
    assert aws.assume_role_calls() == 2  # the parent came from the cache
    assert child.access_key != parent.access_key
    assert child.account_id == "444455556666"


def test_need_is_honoured_where_the_role_lifetime_allows(aws: Aws) -> None:
    roles = loaded(aws)
    first = resolve.credentials(roles, "prod")
    assert resolve.credentials(roles, "prod", need=600) == first
    # More than a 3600-second role can ever have left: its own refresh window rules instead.
    assert resolve.credentials(roles, "prod", need=first.remaining() + 30) == first
    assert aws.assume_role_calls() == 1
    with time_machine.travel(timedelta(minutes=10), tick=False):
        assert first.remaining() < 3300
        again = resolve.credentials(roles, "prod", need=3300)
    assert aws.assume_role_calls() == 2
    assert again != first
