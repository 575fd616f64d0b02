"""Fresh virtual environments built the way users build them: the project's wheel, installed by
an ordinary installer (uv, for speed) next to boto3 and the AWS CLI v1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT, UV_CACHE_DIR


def _uv() -> str:
    local = Path(sys.executable).parent / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is a test dependency: run `make test`")
    return found


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROLECALL_"))}
    env["UV_CACHE_DIR"] = UV_CACHE_DIR
    env["ROLECALL_DISABLE"] = "1"  # the installer's own Python must not matter
    return env


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=_env(),
                          timeout=900, check=False, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build_wheel(out: Path) -> Path:
    run(Path(sys.executable).parent / "hatchling", "build", "-t", "wheel", "-d", out, cwd=ROOT)
    wheels = sorted(out.glob("rolecall-*.whl"))
    assert wheels, "no wheel built"
    return wheels[-1]


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = str(path / "bin" / "python")

    @classmethod
    def create(cls, path: Path, *requirements: str | Path, python: str = sys.executable) -> Venv:
        run(_uv(), "venv", "--quiet", "--python", python, path)
        venv = cls(path)
        if requirements:
            venv.install(*requirements)
        return venv

    def install(self, *requirements: str | Path) -> None:
        run(_uv(), "pip", "install", "--quiet", "--python", self.python, *requirements)

    def freeze(self) -> list[str]:
        return run(_uv(), "pip", "freeze", "--python", self.python).splitlines()

    def site_packages(self) -> Path:
        out = subprocess.run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True,
                             env={"PATH": os.environ.get("PATH", "")})
        return Path(out.stdout.strip())


def python_version() -> str:
    return sysconfig.get_python_version()


__all__ = ["ROOT", "Venv", "build_wheel", "python_version", "run"]
