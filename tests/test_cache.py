"""The cache's files (rolecall.cache): the entry format, the per-profile index and the hit reader
that answers a new process's first Session, and ``credential-process``, without building any
record of roles.toml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from rolecall import __version__, _files, cache, config, request, resolve
from rolecall.temporary import TemporaryCredentials
from tests.conftest import PROD as SHARED_PROD
from tests.conftest import Aws

# The shared profile without its region: the environment's region is then part of the key.
PROD = SHARED_PROD.replace('region = "eu-west-1"\n', "")

# A new process's first Session for a profile: who it is, and which of rolecall's modules it
# needed (printed as JSON on the last line).
FIRST_SESSION = """
import json, sys
import boto3
session = boto3.Session(profile_name=sys.argv[1])
frozen = session.get_credentials().get_frozen_credentials()
arn = session.client("sts").get_caller_identity()["Arn"]
print(json.dumps({"key": frozen.access_key, "arn": arn,
                  "account": getattr(frozen, "account_id", None),
                  "refresh": type(session.get_credentials()).__name__,
                  "modules": sorted(m for m in sys.modules if m.startswith("rolecall")
                                    or m in ("tomllib", "tomli"))}))
"""


def first_session(aws: Aws, profile: str = "prod",
                  env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", FIRST_SESSION, profile], env=env or aws.env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def credentials(hours: float = 1, lifetime: float = 3600) -> TemporaryCredentials:
    return TemporaryCredentials(
        "ASIAEXAMPLE", "secret", "token", lifetime=lifetime, account_id="111122223333",
        expiry=(datetime.now(timezone.utc) + timedelta(hours=hours)).replace(microsecond=0))


# --- the entry format ------------------------------------------------------------------------

def test_an_entry_round_trips() -> None:
    entry = credentials()
    assert cache.decode(json.loads(json.dumps(cache.encode(entry)))) == entry


@pytest.mark.parametrize(("field", "value"), [
    ("AccessKeyId", ""), ("SecretAccessKey", 7), ("SessionToken", None), ("version", 2),
    ("Lifetime", 0), ("Lifetime", float("nan")), ("ExpiresAt", "soon"), ("ExpiresAt", True),
    ("Expiration", "2000-01-01T00:00:00Z"), ("AccountId", ["111122223333"]),
])
def test_an_entry_with_any_field_off_is_no_entry(field: str, value: object) -> None:
    document = cache.encode(credentials())
    document[field] = value
    assert cache.decode(document) is None


# --- the hit path of a new process's first Session ------------------------------------------

def test_a_new_process_answers_a_managed_profile_from_the_index(aws: Aws) -> None:
    aws.roles(PROD)
    first = first_session(aws)
    again = first_session(aws)
    assert again["key"] == first["key"]
    assert ":assumed-role/Deploy/" in str(again["arn"])
    # The same credentials object as the full path gives: refreshable, with the account id.
    assert again["refresh"] == first["refresh"] == "RoleCredentials"
    assert again["account"] == first["account"] == "111122223333"
    assert aws.assume_role_calls() == 1
    # No record of roles.toml, no TOML parser, no cache store, no STS machinery: the Session
    # layer's snapshot of the names, the index and the entry answer.
    modules = set(again["modules"])  # type: ignore[call-overload]
    assert not modules & {"rolecall.config", "rolecall._validate", "rolecall.cache.store",
                          "rolecall.sts", "rolecall.resolve", "tomllib", "tomli"}, modules
    assert {"rolecall.config", "rolecall.sts"} <= set(first["modules"])  # type: ignore[call-overload]


def test_an_edited_roles_toml_is_never_answered_from_the_index(aws: Aws) -> None:
    aws.roles(PROD)
    first_session(aws)
    aws.roles(PROD.replace("role/Deploy", "role/Audit"))
    assert ":assumed-role/Audit/" in str(first_session(aws)["arn"])
    assert aws.assume_role_calls() == 2


def test_a_variable_of_the_key_changes_the_answer(aws: Aws) -> None:
    aws.roles(PROD)
    first = first_session(aws)
    moved = first_session(aws, env={**aws.env, "AWS_STS_REGIONAL_ENDPOINTS": "regional",
                                    "AWS_REGION": "eu-west-1"})
    assert moved["key"] != first["key"]  # another STS region: another cache key, a new call
    assert aws.assume_role_calls() == 2


def test_a_relative_roles_toml_path_keeps_no_index(aws: Aws) -> None:
    aws.roles(PROD)
    env = {**aws.env, "ROLECALL_CONFIG": os.path.relpath(aws.env["ROLECALL_CONFIG"], aws.root)}
    subprocess.run([sys.executable, "-c", FIRST_SESSION, "prod"], env=env, cwd=aws.root,
                   check=True, capture_output=True, timeout=120)
    assert not list((aws.root / "cache").glob("*.index"))


# --- the index, directly ---------------------------------------------------------------------

def identity(path: str) -> tuple[int, ...]:
    return tuple(_files.identity(os.stat(path)))


def test_an_edit_while_credentials_are_fetched_is_never_vouched_for(aws: Aws) -> None:
    """roles.toml edited between reading it and remembering its profile's entry (during a slow
    STS call, say): the index stays bound to the file as it was read, so the next process,
    reading the edited file, never gets the old role's credentials from it."""
    path = str(aws.roles(PROD))
    loaded = config.load()
    assert loaded is not None
    aws.roles(PROD.replace("role/Deploy", "role/Audit"))  # the edit, after the read
    resolve.credentials(loaded, "prod")  # Deploy's credentials, fetched for the old file
    assert cache.recall("prod", path) is None
    assert ":assumed-role/Audit/" in str(first_session(aws)["arn"])


@pytest.fixture
def remembered(aws: Aws) -> tuple[str, str]:
    """An entry and its index for profile prod, as a full resolution leaves them."""
    path = str(aws.roles(PROD))
    folder = _files.cache_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    cache.write(folder, "k" * 40, credentials())
    cache.remember("prod", "k" * 40, path, identity(path), request.KEY_ENVIRONMENT)
    assert cache.recall("prod", path) == credentials()
    return path, cache.index_path(folder, "prod")


def edit_index(path: str, **changes: object) -> None:
    with open(path) as handle:
        index = json.load(handle)
    index.update(changes)
    with open(path, "w") as handle:
        json.dump(index, handle)


@pytest.mark.parametrize("changes", [
    {"rolecall": "0.0.0"}, {"uid": os.getuid() + 1}, {"format": 1}, {"key": "../escape"},
    {"env": {"AWS_REGION": "mars-north-1"}}, {"config": ["/elsewhere/roles.toml", 1, 2, 3, 4, 5]},
])
def test_an_index_that_no_longer_holds_is_a_miss(remembered: tuple[str, str],
                                                changes: dict[str, object]) -> None:
    config_path, index = remembered
    edit_index(index, **changes)
    assert cache.recall("prod", config_path) is None


def test_a_touched_roles_toml_is_a_miss(remembered: tuple[str, str]) -> None:
    config_path, _ = remembered
    stat = os.stat(config_path)
    os.utime(config_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert cache.recall("prod", config_path) is None


def test_an_index_names_only_its_own_profile(remembered: tuple[str, str]) -> None:
    config_path, _ = remembered
    assert cache.recall("staging", config_path) is None


def test_a_stale_entry_is_a_miss(remembered: tuple[str, str]) -> None:
    config_path, _ = remembered
    cache.write(_files.cache_dir(), "k" * 40, credentials(hours=0.1))  # inside the window
    assert cache.recall("prod", config_path) is None


def test_remember_writes_only_what_changes(remembered: tuple[str, str]) -> None:
    config_path, index = remembered
    before = os.stat(index).st_ino
    cache.remember("prod", "k" * 40, config_path, identity(config_path), request.KEY_ENVIRONMENT)
    assert os.stat(index).st_ino == before  # unchanged: not rewritten
    with open(index) as handle:
        assert json.load(handle)["rolecall"] == __version__
