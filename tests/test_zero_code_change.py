"""Zero code change, proven as users meet it: build the wheel, install it into a fresh virtual
environment, run unmodified programs (a boto3 script, the AWS CLI v1) in subprocesses, and check
the identity STS reports."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Aws, run_python
from tests.venvs import ROOT, Venv

pytestmark = pytest.mark.slow


# The oldest botocore rolecall supports (the first with register_initializer); on Python 3.13,
# which removed the `cgi` module that botocore imported until 1.30, the oldest that imports there.
OLDEST = (("botocore==1.27.12", "boto3==1.24.12") if sys.version_info < (3, 13)
          else ("botocore==1.30.0", "boto3==1.27.0"))

# An unmodified user script: plain boto3, no rolecall, no credentials.
WHOAMI = """\
import sys
import boto3

session = boto3.Session(profile_name=sys.argv[1]) if len(sys.argv) > 1 else boto3.Session()
print(session.client("sts").get_caller_identity()["Arn"])
print(session.get_credentials().method)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "whoami.py"
    path.write_text(WHOAMI)
    return path


def test_wheel_installs_the_startup_files_at_site_packages_root(wheel: Path, venv: Venv) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("rolecall.pth").decode() == "import rolecall._bootstrap\n"
        assert archive.read("rolecall.start").decode() == "rolecall._bootstrap:activate\n"
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        assert "rolecall.pth," in archive.read(record).decode()  # uninstall removes it
    assert (venv.site_packages() / "rolecall.pth").is_file()
    assert (venv.site_packages() / "rolecall.start").is_file()


def test_unmodified_script_with_aws_profile(prod: Aws, venv: Venv, script: Path) -> None:
    done = run_python(script, {**prod.env, "AWS_PROFILE": "prod"}, venv.python)
    assert done.returncode == 0, done.stderr
    arn, method = done.stdout.split()
    assert arn.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    assert method == "rolecall"
    assert prod.assume_role_calls() == 1


def test_unmodified_script_with_profile_name(prod: Aws, venv: Venv, script: Path) -> None:
    done = run_python(script, prod.env, venv.python, "prod")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")


@pytest.mark.parametrize("how", ["--profile", "AWS_PROFILE"])
def test_aws_cli_v1_runs_as_the_role(prod: Aws, venv: Venv, how: str) -> None:
    env = dict(prod.env)
    args = ["-m", "awscli", "sts", "get-caller-identity", "--output", "json"]
    if how == "--profile":
        args += ["--profile", "prod"]
    else:
        env["AWS_PROFILE"] = "prod"
    done = _run(venv.python, args, env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"].startswith(
        "arn:aws:sts::111122223333:assumed-role/Deploy/")


def _run(python: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_interpreter_start_imports_no_botocore(prod: Aws, venv: Venv) -> None:
    code = ("import sys; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('botocore', 'boto3', 'rolecall', 'tomllib', 'platformdirs')))")
    done = run_python(code, prod.env, venv.python)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == "['rolecall', 'rolecall._bootstrap']"


def test_unmanaged_profile_same_identity_and_provider_as_without_rolecall(
        prod: Aws, venv: Venv, plain_venv: Venv, script: Path) -> None:
    with_rolecall = run_python(script, prod.env, venv.python, "default")
    without = run_python(script, prod.env, plain_venv.python, "default")
    assert with_rolecall.returncode == 0 == without.returncode, with_rolecall.stderr
    assert with_rolecall.stdout == without.stdout
    assert with_rolecall.stdout.split()[1] == "shared-credentials-file"
    assert prod.assume_role_calls() == 0


def test_environment_keys_win_as_in_botocore(prod: Aws, venv: Venv, plain_venv: Venv,
                                             script: Path) -> None:
    env = {**prod.env, "AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
           "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
    done = run_python(script, env, venv.python)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "env"
    assert "assumed-role" not in done.stdout
    # Passing the profile explicitly beats environment keys, exactly as in botocore.
    explicit = run_python(script, env, venv.python, "prod")
    assert explicit.stdout.split()[1] == "rolecall"


def test_broken_config_never_breaks_start_and_names_the_line(aws: Aws, venv: Venv,
                                                             script: Path) -> None:
    path = aws.roles("[profiles.prod]\nrole_arn = 'arn:aws:iam::111122223333:role/Deploy'\n"
                     "source_profile = \n")
    start = run_python("import boto3; print('imported')", aws.env, venv.python)
    assert start.returncode == 0 and start.stdout == "imported\n" and start.stderr == ""
    fine = run_python(script, aws.env, venv.python)  # the default profile: not declared
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.split()[1] == "shared-credentials-file"
    assert len(fine.stderr.splitlines()) == 1 and "line 3" in fine.stderr  # one warning line
    failed = run_python(script, aws.env, venv.python, "prod")  # the profile it declares
    assert failed.returncode != 0
    assert "ConfigError" in failed.stderr and str(path) in failed.stderr
    assert "line 3" in failed.stderr
    disabled = run_python(script, {**aws.env, "ROLECALL_DISABLE": "1"}, venv.python)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.split()[1] == "shared-credentials-file"


def test_python_dash_s_works_with_explicit_install(prod: Aws, venv: Venv) -> None:
    code = (f"import sys; sys.path.append({str(venv.site_packages())!r}); "
            "import rolecall; rolecall.install(); import boto3; "
            "print(boto3.Session(profile_name='prod').client('sts')"
            ".get_caller_identity()['Arn'])")
    plain = _run(venv.python, ["-S", "-c", code.replace("rolecall.install(); ", "")], prod.env)
    assert plain.returncode != 0  # without site processing there is no hook ...
    done = _run(venv.python, ["-S", "-c", code], prod.env)  # ... until install() is called
    assert done.returncode == 0, done.stderr
    assert "assumed-role/Deploy/" in done.stdout


def test_editable_install_activates(prod: Aws, tmp_path: Path, script: Path) -> None:
    editable = Venv.create(tmp_path / "editable")
    editable.install("-e", ROOT)
    assert (editable.site_packages() / "rolecall.pth").is_file()
    done = run_python(script, {**prod.env, "AWS_PROFILE": "prod"}, editable.python)
    assert done.returncode == 0, done.stderr
    assert "assumed-role/Deploy/" in done.stdout


def test_oldest_supported_botocore(prod: Aws, wheel: Path, tmp_path: Path) -> None:
    old = Venv.create(tmp_path / "old", wheel, *OLDEST)
    # botocore 1.27 predates AWS_ENDPOINT_URL: the script names the endpoint itself, while
    # rolecall honours the variable for its own STS call.
    code = ("import os, boto3; s = boto3.Session(profile_name='prod'); "
            "print(s.client('sts', endpoint_url=os.environ['AWS_ENDPOINT_URL'])"
            ".get_caller_identity()['Arn'])")
    done = run_python(code, prod.env, old.python)
    assert done.returncode == 0, done.stderr
    assert "assumed-role/Deploy/" in done.stdout


def test_aiobotocore_programs_assume_the_role_and_leave_others_alone(
        prod: Aws, wheel: Path, tmp_path: Path) -> None:
    aio = Venv.create(tmp_path / "aio", wheel, "aiobotocore")
    code = """
import asyncio
from aiobotocore.session import get_session

async def main():
    session = get_session()
    async with session.create_client("sts", region_name="us-east-1") as sts:
        print((await sts.get_caller_identity())["Arn"])
    resolver = session.get_component("credential_provider")
    print(sorted(p.METHOD for p in resolver.providers if p.METHOD == "rolecall"))

asyncio.run(main())
"""
    done = run_python(code, prod.env, aio.python)  # the default profile: not declared
    assert done.returncode == 0, done.stderr
    arn, providers = done.stdout.splitlines()
    assert "assumed-role" not in arn and providers == "[]"
    done = run_python(code, {**prod.env, "AWS_PROFILE": "prod"}, aio.python)
    assert done.returncode == 0, done.stderr
    arn, providers = done.stdout.splitlines()
    assert arn.startswith("arn:aws:sts::111122223333:assumed-role/Deploy/")
    assert providers == "['rolecall']"
