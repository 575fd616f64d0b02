"""Shared test fixtures.

Every test runs with HOME, the AWS config files, ROLECALL_CONFIG and the cache directory in a
temporary folder, with no AWS_* variable inherited from the machine and instance metadata off, so no
test reads or writes the real ~/.aws or reaches any address but loopback.

The STS emulator is moto in server mode on 127.0.0.1 over real HTTP (examples/sts_emulator.py),
shared by the whole session; it counts the AWS API actions it receives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pytest

if TYPE_CHECKING:
    from tests.venvs import Venv

_Credentials_co = TypeVar("_Credentials_co", covariant=True)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Resolved before any test replaces HOME: where uv keeps downloaded packages between runs.
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")

STATIC_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
STATIC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# The role most tests assume, and the roles.toml most tests start from (one place: issue 15).
ROLE = "arn:aws:iam::111122223333:role/Deploy"
PROD = f"""
[profiles.prod]
role_arn = "{ROLE}"
source_profile = "default"
region = "eu-west-1"
"""


def first_fast(values: Iterable[Any]) -> list[Any]:
    """Parameters of one behaviour: the first case runs in the quick tier, the others are marked
    slow (``make test`` runs them all). A tuple is the values of several argument names."""
    cases = list(values)
    return cases[:1] + [pytest.param(*case if isinstance(case, tuple) else (case,),
                                     marks=pytest.mark.slow) for case in cases[1:]]


class _HasCredentials(Protocol[_Credentials_co]):
    def get_credentials(self) -> _Credentials_co | None: ...


def credentials_of(session: _HasCredentials[_Credentials_co]) -> _Credentials_co:
    """``session.get_credentials()`` where a test expects credentials: fails here when there are
    none, rather than with an AttributeError on None a line later (and mypy knows)."""
    found = session.get_credentials()
    assert found is not None, f"{session!r} found no credentials"
    return found


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/_rolecall/counts", timeout=10) as response:
            data: dict[str, int] = json.load(response)
        return data

    def assume_role_calls(self) -> int:
        return self.counts().get("AssumeRole", 0)

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.url}/_rolecall/reset", data=b"", timeout=10).close()


def start_emulator(workdir: Path) -> Emulator:
    port_file = workdir / "emulator.port"
    log = (workdir / "emulator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "sts_emulator.py"), "--port", "0",
         "--port-file", str(port_file)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ROLECALL_DISABLE": "1"},
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"STS emulator did not start; see {workdir / 'emulator.log'}")
        time.sleep(0.05)
    return Emulator(f"http://127.0.0.1:{port_file.read_text().strip()}", process)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = start_emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield emu
    finally:
        emu.process.terminate()
        try:
            emu.process.wait(10)
        except subprocess.TimeoutExpired:
            emu.process.kill()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test: a private HOME, AWS files, roles.toml and cache; nothing inherited."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(("AWS_", "ROLECALL_", "BOTO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws_config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws_credentials"))
    monkeypatch.setenv("ROLECALL_CONFIG", str(tmp_path / "roles.toml"))
    monkeypatch.setenv("ROLECALL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from rolecall.cache import store

    store.forget_memory()
    return tmp_path


@dataclass
class Aws:
    """One test's AWS world: files in a temporary folder, STS at the emulator."""

    root: Path
    emulator: Emulator
    env: dict[str, str] = field(default_factory=dict)

    def roles(self, text: str) -> Path:
        path = self.root / "roles.toml"
        path.write_text(text)
        return path

    def config(self, text: str) -> Path:
        path = self.root / "aws_config"
        path.write_text(text)
        return path

    def credentials(self, text: str) -> Path:
        path = self.root / "aws_credentials"
        path.write_text(text)
        return path

    def assume_role_calls(self) -> int:
        return self.emulator.assume_role_calls()


@pytest.fixture
def aws(isolated: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """Static keys for the ``default`` profile, STS at the emulator, counts reset."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    world = Aws(isolated, emulator)
    world.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                      f"aws_secret_access_key = {STATIC_SECRET}\n")
    world.config("")
    emulator.reset()
    world.env = dict(os.environ)
    return world


@pytest.fixture
def prod(aws: Aws) -> Aws:
    """The test's AWS world with roles.toml declaring ``PROD``."""
    aws.roles(PROD)
    return aws


def run_python(code_or_script: str | Path, env: dict[str, str], python: str = sys.executable,
               *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run an unmodified script (a path) or ``-c`` code in a subprocess, as a user would."""
    argv = [python, str(code_or_script)] if isinstance(code_or_script, Path) else \
        [python, "-c", code_or_script]
    return subprocess.run([*argv, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


# Fresh virtual environments, shared by every test module that needs one.
@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.venvs import build_wheel

    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh environment: rolecall's wheel, boto3 and the AWS CLI v1."""
    from tests.venvs import Venv

    return Venv.create(tmp_path_factory.mktemp("venv") / "with", wheel, "boto3", "awscli")


@pytest.fixture(scope="session")
def plain_venv(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The same packages at the same versions, without rolecall."""
    from tests.venvs import Venv

    pins = [line for line in venv.freeze() if not line.startswith("rolecall")]
    return Venv.create(tmp_path_factory.mktemp("venv") / "without", *pins)
