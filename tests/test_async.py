"""The async stack: aiobotocore sessions, s3fs and pandas ``s3://`` in this very process, with
rolecall activated by its .pth, STS and S3 at the local emulator (moto) over real HTTP.

moto's S3 does not check who signs, so identity is proven where STS can tell it: the credentials a
session's clients sign with are shown to STS (``GetCallerIdentity``), and the emulator counts the
AssumeRole calls.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import aiobotocore.session  # type: ignore[import-untyped]
import boto3
import fsspec.asyn
import pandas as pd
import pytest
import s3fs
import time_machine
from botocore.exceptions import CredentialRetrievalError

import rolecall
from rolecall.aioprovider import AioRolecallProvider, AioRoleCredentials
from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Aws, run_python
from tests.fault_proxy import FaultProxy

T = TypeVar("T")
ROLE = "arn:aws:iam::111122223333:role/Data"
ASSUMED = "arn:aws:sts::111122223333:assumed-role/Data/"
DATA = f"""
[profiles.data]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"
"""
TABLE = b"city,people\nLisbon,545000\nPorto,232000\n"


@pytest.fixture(autouse=True)
def fresh_filesystems() -> Iterator[None]:
    """fsspec keeps one S3FileSystem per set of arguments: never share one between tests."""
    s3fs.S3FileSystem.clear_instance_cache()
    yield
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def bucket(aws: Aws) -> str:
    """A bucket with ``table.csv``, written with the static keys (explicit keys: no provider)."""
    name = f"data-{uuid.uuid4().hex[:12]}"
    s3 = boto3.Session(aws_access_key_id=STATIC_KEY_ID, aws_secret_access_key=STATIC_SECRET) \
        .client("s3", region_name="us-east-1", endpoint_url=aws.emulator.url)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="table.csv", Body=TABLE)
    return name


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def caller(session: Any) -> str:
    """The ARN STS sees for the credentials ``session``'s clients sign with."""
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


def identity_of(access_key: str, secret_key: str, token: str | None) -> str:
    """Who STS says these keys are (a new boto3 Session with explicit keys)."""
    sts = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        aws_session_token=token).client("sts", region_name="us-east-1")
    return str(sts.get_caller_identity()["Arn"])


def s3fs_identity(fs: s3fs.S3FileSystem) -> tuple[str, str]:
    """(method, ARN) of the credentials ``fs`` signs its S3 requests with."""
    credentials = fsspec.asyn.sync(fs.loop, fs.session.get_credentials)
    assert fs.s3._request_signer._credentials is credentials  # what the S3 client signs with
    frozen = fsspec.asyn.sync(fs.loop, credentials.get_frozen_credentials)
    return credentials.method, identity_of(frozen.access_key, frozen.secret_key, frozen.token)


# --- The user's path (needs the Session layer to place AioRolecallProvider) --------------------

def test_profile_in_roles_toml_and_aws_credentials_is_signed_by_the_assumed_role(
        aws: Aws, bucket: str) -> None:
    """The issue's case: s3fs used to sign silently with the [data] section's static keys."""
    aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {STATIC_SECRET}\n"
                    f"[data]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {STATIC_SECRET}\n")
    aws.roles(DATA.replace('source_profile = "default"', 'source_profile = "data"'))
    fs = s3fs.S3FileSystem(profile="data")
    assert fs.cat(f"{bucket}/table.csv") == TABLE
    method, arn = s3fs_identity(fs)
    assert method == "rolecall" and arn.startswith(ASSUMED)
    assert run(caller(aiobotocore.session.AioSession(profile="data"))).startswith(ASSUMED)
    assert aws.assume_role_calls() == 1  # shared with the second session through the cache


def test_roles_toml_only_profile_through_s3fs_and_pandas(aws: Aws, bucket: str) -> None:
    aws.roles(DATA)
    frame = pd.read_csv(f"s3://{bucket}/table.csv", storage_options={"profile": "data"})
    assert list(frame["city"]) == ["Lisbon", "Porto"]
    fs = s3fs.S3FileSystem(profile="data")
    assert fs.ls(bucket) == [f"{bucket}/table.csv"]
    method, arn = s3fs_identity(fs)
    assert method == "rolecall" and arn.startswith(ASSUMED)
    assert aws.assume_role_calls() == 1


def test_aws_profile_variable_with_get_session(aws: Aws, bucket: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    aws.roles(DATA)
    monkeypatch.setenv("AWS_PROFILE", "data")
    assert run(caller(aiobotocore.session.get_session())).startswith(ASSUMED)
    frame = pd.read_csv(f"s3://{bucket}/table.csv")  # pandas, s3fs: no argument at all
    assert frame.shape == (2, 2)
    assert s3fs_identity(s3fs.S3FileSystem())[1].startswith(ASSUMED)
    assert aws.assume_role_calls() == 1


def test_virtual_profile_gets_its_region(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.roles(DATA.replace('region = "us-east-1"', 'region = "eu-west-1"'))

    async def region() -> str:
        async with aiobotocore.session.AioSession(profile="data").create_client("sts") as sts:
            return str(sts.meta.region_name)

    assert run(region()) == "eu-west-1"


def test_unmanaged_profiles_resolve_as_without_rolecall(aws: Aws, bucket: str) -> None:
    aws.roles(DATA)

    async def default_credentials() -> Any:
        session = aiobotocore.session.AioSession()
        credentials = await session.get_credentials()
        return credentials.method, await credentials.get_frozen_credentials(), await caller(session)

    method, frozen, arn = run(default_credentials())
    assert method == "shared-credentials-file" and frozen.access_key == STATIC_KEY_ID
    assert ":assumed-role/" not in arn
    assert s3fs.S3FileSystem().cat(f"{bucket}/table.csv") == TABLE
    assert aws.assume_role_calls() == 0


@pytest.mark.slow
def test_twenty_concurrent_coroutines_on_a_cold_cache_make_one_assume_role(aws: Aws) -> None:
    aws.roles(DATA)

    async def main() -> list[str]:
        shared = aiobotocore.session.AioSession(profile="data")
        own = [aiobotocore.session.AioSession(profile="data") for _ in range(10)]
        return await asyncio.gather(*(caller(shared) for _ in range(10)),
                                    *(caller(session) for session in own))

    arns = run(main())
    assert len(arns) == 20 and all(arn.startswith(ASSUMED) for arn in arns)
    assert aws.assume_role_calls() == 1


def test_long_running_loop_refreshes_once_per_window(aws: Aws) -> None:
    aws.roles(DATA + "duration_seconds = 900\n")
    started = datetime.now(timezone.utc)

    async def main(traveller: Any) -> list[str]:
        session = aiobotocore.session.AioSession(profile="data")
        credentials = await session.get_credentials()
        keys = []
        async with session.create_client("sts") as sts:
            for minutes in (0, 5, 10, 12, 14, 14.5):  # windows of a 900 s role: 225 s / 150 s
                traveller.move_to(started + timedelta(minutes=minutes))
                for _ in range(3):
                    assert (await sts.get_caller_identity())["Arn"].startswith(ASSUMED)
                keys.append((await credentials.get_frozen_credentials()).access_key)
        return keys

    with time_machine.travel(started, tick=True) as traveller:
        keys = run(main(traveller))
    # Fresh until 11:15 (advisory window), refreshed once at 12:00. That set, issued on a clock
    # 12 minutes ahead of the emulator's, lives 3 minutes here, so its windows are 45 s / 30 s: kept
    # at 14:00 (60 s left), refreshed at 14:30.
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert keys[3] == keys[4] != keys[5]
    assert aws.assume_role_calls() == 3


def test_chained_profiles(aws: Aws) -> None:
    aws.roles(DATA + """
[profiles.child]
role_arn = "arn:aws:iam::444455556666:role/Child"
source_profile = "data"
""")
    arn = run(caller(aiobotocore.session.AioSession(profile="child")))
    assert arn.startswith("arn:aws:sts::444455556666:assumed-role/Child/")
    assert aws.assume_role_calls() == 2


def test_credential_source_environment(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.credentials("")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", STATIC_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    aws.roles(f'[profiles.ci]\nrole_arn = "{ROLE}"\ncredential_source = "Environment"\n')
    assert run(caller(aiobotocore.session.AioSession(profile="ci"))).startswith(ASSUMED)
    assert aws.assume_role_calls() == 1


def test_mfa_token_command(aws: Aws) -> None:
    aws.roles(DATA + 'mfa_serial = "arn:aws:iam::999999999999:mfa/alice"\n'
              f'mfa_token_command = ["{sys.executable}", "-c", "print(123456)"]\n')
    assert run(caller(aiobotocore.session.AioSession(profile="data"))).startswith(ASSUMED)
    assert aws.assume_role_calls() == 1


def test_broken_profile_raises_its_config_error(aws: Aws) -> None:
    path = aws.roles(DATA + "duration_seconds = 60\n")
    with pytest.raises(rolecall.ConfigError) as caught:
        run(caller(aiobotocore.session.AioSession(profile="data")))
    message = str(caught.value)
    assert str(path) in message and "'data'" in message and "'duration_seconds'" in message


@pytest.mark.slow
def test_sts_failure_is_an_error_never_the_source_keys(aws: Aws) -> None:
    with FaultProxy(aws.emulator.url, mode="503") as proxy:
        aws.roles(DATA + f'sts_endpoint_url = "{proxy.url}"\n')
        with pytest.raises(CredentialRetrievalError) as caught:
            run(caller(aiobotocore.session.AioSession(profile="data")))
    assert "'data'" in str(caught.value) and ROLE in str(caught.value)
    assert STATIC_SECRET not in str(caught.value)


# Timing: measured in the full (serial) tier, where no other test shares the CPU.
@pytest.mark.slow
def test_cold_fetch_does_not_block_the_event_loop(aws: Aws) -> None:
    """STS answers after 500 ms: a 1 ms ticker keeps ticking meanwhile."""
    with FaultProxy(aws.emulator.url, delay=0.5) as proxy:
        aws.roles(DATA + f'sts_endpoint_url = "{proxy.url}"\n')
        run(caller(aiobotocore.session.AioSession()))  # warm up imports and models, no AssumeRole

        async def main() -> tuple[float, float]:
            gaps = []
            done = asyncio.Event()

            async def ticker() -> None:
                last = time.perf_counter()
                while not done.is_set():
                    await asyncio.sleep(0.001)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            ticking = asyncio.create_task(ticker())
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            credentials = await aiobotocore.session.AioSession(profile="data").get_credentials()
            await credentials.get_frozen_credentials()
            took = time.perf_counter() - started
            done.set()
            await ticking
            return took, max(gaps)

        took, longest = run(main())
    assert took >= 0.5 and proxy.attempts == 1
    # Waiting for STS on the loop would stall it for the whole 500 ms. What remains is the worker
    # thread holding the GIL (botocore parsing its endpoint data, a garbage collection): tens of
    # ms, more on a loaded machine (the bench measures it).
    assert longest < 0.35, f"the event loop stalled for {longest * 1000:.0f} ms"


# --- The provider itself (no Session-layer wiring needed) --------------------------------------

def test_provider_is_lazy_and_keeps_secrets_out_of_reprs(aws: Aws) -> None:
    aws.roles(DATA)

    async def main() -> tuple[Any, str, Any]:
        credentials = await AioRolecallProvider(profile_name="data").load()
        assert credentials is not None
        before = repr(credentials)
        frozen = await credentials.get_frozen_credentials()
        return credentials, before, frozen

    credentials, before, frozen = run(main())
    assert isinstance(credentials, AioRoleCredentials) and credentials.method == "rolecall"
    assert before == "<AioRoleCredentials profile='data' expiry=not fetched yet>"
    assert identity_of(frozen.access_key, frozen.secret_key, frozen.token).startswith(ASSUMED)
    assert frozen.secret_key not in repr(credentials) and frozen.token not in repr(credentials)
    assert "expiry=20" in repr(credentials)
    assert repr(AioRolecallProvider("data")) == "AioRolecallProvider(profile_name='data')"
    assert aws.assume_role_calls() == 1


def test_provider_returns_none_for_profiles_it_does_not_manage(aws: Aws) -> None:
    async def load(name: str | None) -> Any:
        return await AioRolecallProvider(profile_name=name).load()

    assert run(load("data")) is None  # no roles.toml
    aws.roles(DATA)
    assert run(load(None)) is None and run(load("other")) is None
    assert isinstance(run(load("data")), AioRoleCredentials)
    aws.roles(DATA + "source_profile = \n")  # TOML syntax error
    with pytest.raises(rolecall.ConfigError, match="line"):
        run(load("data"))
    assert run(load("other")) is None  # not declared there: left to aiobotocore
    assert AioRolecallProvider.METHOD == "rolecall"
    assert AioRolecallProvider.CANONICAL_NAME == "custom-rolecall"


def test_provider_sits_before_assume_role_in_aiobotocore_resolver(aws: Aws) -> None:
    """Placed by hand where the Session layer places it: env keys still win, as in botocore."""
    aws.roles(DATA)
    aws.config("[profile data]\nrole_arn = arn:aws:iam::999900001111:role/Botocore\n"
               "source_profile = default\n")

    async def main() -> str:
        session = aiobotocore.session.AioSession(profile="data")
        resolver = session._components.get_component("credential_provider")
        if not any(isinstance(p, AioRolecallProvider) for p in resolver.providers):
            resolver.insert_before("assume-role", AioRolecallProvider(profile_name="data"))
        return await caller(session)

    assert run(main()).startswith(ASSUMED)  # rolecall's role, not the AWS config's role_arn
    assert aws.assume_role_calls() == 1


def test_refuses_managed_profiles_outside_asyncio(aws: Aws) -> None:
    aws.roles(DATA)

    def drive(name: str) -> Any:
        """Run load() with no asyncio loop running, as trio would."""
        coro = AioRolecallProvider(profile_name=name).load()
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        raise AssertionError("load() suspended")

    assert drive("other") is None
    with pytest.raises(RuntimeError, match=r"'data' is declared in roles\.toml.*asyncio only"):
        drive("data")


@pytest.mark.parametrize("version", ["2.3.4", "4.0.0", "1.4.2"])
def test_unsupported_aiobotocore_is_an_import_error_naming_versions(
        version: str, isolated: Path) -> None:
    code = (f"import aiobotocore; aiobotocore.__version__ = {version!r}\n"
            "import rolecall.aioprovider\n")
    done = run_python(code, env={**os.environ})
    assert done.returncode == 1
    assert f"ImportError: rolecall does not support aiobotocore {version} (supported: " \
           "aiobotocore>=2.4.0,<4)" in done.stderr


def test_supported_range_is_the_installed_one() -> None:
    module = importlib.import_module("rolecall.aioprovider")
    assert module.MINIMUM <= module._version(aiobotocore.__version__) < module.MAXIMUM
    assert module._version("2.4.0rc1") == (2, 4, 0) and module._version("3.10") == (3, 10, 0)
    assert module._version("unknown") == (0, 0, 0)


# --- The oldest supported aiobotocore, in a fresh environment ------------------------------------

# The oldest supported aiobotocore (its botocore pin: 1.27.59) with an aiohttp of its time; on
# Python 3.13, where botocore < 1.30 does not import, the oldest that runs there (botocore 1.31.17).
OLDEST = (("2.4.0", "1.27.59", "aiohttp<3.10") if sys.version_info < (3, 13)
          else ("2.5.3", "1.31.17", "aiohttp"))

OLDEST_SCRIPT = """
import asyncio, os, sys
import aiobotocore, aiobotocore.session, botocore

async def main():
    session = aiobotocore.session.get_session()
    url = os.environ["AWS_ENDPOINT_URL"]  # botocore 1.27 predates AWS_ENDPOINT_URL
    async with session.create_client("sts", endpoint_url=url) as sts:
        arn = (await sts.get_caller_identity())["Arn"]
    credentials = await session.get_credentials()
    async with session.create_client("s3", endpoint_url=url) as s3:
        body = await (await s3.get_object(Bucket=sys.argv[1], Key="table.csv"))["Body"].read()
    print(aiobotocore.__version__, botocore.__version__, credentials.method, arn, len(body))

asyncio.run(main())
"""


@pytest.mark.slow
def test_oldest_supported_aiobotocore(aws: Aws, bucket: str, wheel: Path,
                                      tmp_path_factory: pytest.TempPathFactory,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.venvs import Venv

    aiobotocore_version, botocore_version, aiohttp = OLDEST
    venv = Venv.create(tmp_path_factory.mktemp("venv") / "oldest-aiobotocore", wheel,
                       f"aiobotocore=={aiobotocore_version}", aiohttp)
    aws.roles(DATA)
    monkeypatch.setenv("AWS_PROFILE", "data")
    done = run_python(OLDEST_SCRIPT, dict(os.environ), venv.python, bucket)
    assert done.returncode == 0, done.stderr
    versions, (method, arn, size) = done.stdout.split()[:2], done.stdout.split()[2:]
    assert versions == [aiobotocore_version, botocore_version]
    assert method == "rolecall" and arn.startswith(ASSUMED) and int(size) == len(TABLE)
    assert aws.assume_role_calls() == 1



def test_the_cooperative_json_loader_reads_what_botocore_reads() -> None:
    """The loader that lets the GIL go (first fetch under an event loop) parses botocore's data
    files, plain and gzipped, exactly as botocore's own loader does."""
    import botocore.loaders

    from rolecall import sessions

    ours = botocore.loaders.create_loader()
    ours.file_loader = sessions._CooperativeFiles()  # type: ignore[assignment]  # duck-typed
    theirs = botocore.loaders.create_loader()
    assert ours.load_data("endpoints") == theirs.load_data("endpoints")
    assert ours.load_service_model("sts", "service-2") == \
        theirs.load_service_model("sts", "service-2")
    assert not sessions._CooperativeFiles().exists("/nonexistent/file")


def test_role_arn_variable_in_an_aiobotocore_session(aws: Aws,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLECALL_ROLE_ARN with keys in the environment (the CI case), read by aiobotocore: the
    role is assumed over the session's own chain, never the bare keys."""
    aws.credentials("")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", STATIC_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    monkeypatch.setenv("ROLECALL_ROLE_ARN", "arn:aws:iam::111122223333:role/Deploy")
    monkeypatch.setenv("ROLECALL_ROLE_SESSION_NAME", "ci-async")

    async def main() -> str:
        session = aiobotocore.session.get_session()
        async with session.create_client("sts", region_name="us-east-1") as sts:
            return str((await sts.get_caller_identity())["Arn"])

    assert asyncio.run(main()) == "arn:aws:sts::111122223333:assumed-role/Deploy/ci-async"
    assert aws.assume_role_calls() == 1
