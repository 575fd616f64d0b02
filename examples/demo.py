"""``make demo``: an unmodified boto3 script assumes an IAM role, with no code change.

Everything happens in a temporary folder and on 127.0.0.1; no real AWS account, file or variable
is used:

1. start the local STS emulator (``examples/sts_emulator.py``, moto in server mode);
2. write a throwaway AWS credentials file (fake static keys for ``[default]``) and a roles.toml
   that declares ``[profiles.prod]``: assume ``arn:aws:iam::111122223333:role/Deploy`` with the
   ``default`` profile's keys;
3. run ``examples/whoami.py`` (plain boto3, no rolecall import) in a subprocess with
   ``AWS_PROFILE=prod``, then with ``AWS_PROFILE=default`` for contrast;
4. show how many AssumeRole calls the emulator received.

Exits non-zero unless the ``prod`` run reports an ``assumed-role/Deploy`` identity.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "whoami.py"
EMULATOR = HERE / "sts_emulator.py"

ROLE_ARN = "arn:aws:iam::111122223333:role/Deploy"
ASSUMED = re.compile(r"arn:aws:sts::111122223333:assumed-role/Deploy/[\w+=,.@-]+")
KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example keys: fake, never valid anywhere
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
START_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0

ROLES_TOML = f"""\
# roles.toml: which role each profile assumes (see examples/roles.example.toml)
[profiles.prod]
role_arn = "{ROLE_ARN}"
source_profile = "default"     # sign the AssumeRole call with the default profile's keys
region = "us-east-1"
"""


def clean_environ() -> dict[str, str]:
    """This process's environment without anything AWS, boto or rolecall related."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("AWS_", "BOTO_", "ROLECALL_"))}


def start_emulator(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the STS emulator on a free port of 127.0.0.1; return the process and its URL."""
    port_file = workdir / "emulator.port"
    log_path = workdir / "emulator.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--port", "0", "--port-file", str(port_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**clean_environ(), "ROLECALL_DISABLE": "1"},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            output = log_path.read_text(errors="replace")
            raise RuntimeError(f"the STS emulator did not start:\n{output}")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the emulator, and kill it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_files(root: Path) -> dict[str, Path]:
    """A private HOME, AWS config and credentials files, and roles.toml."""
    files = {
        "home": root / "home",
        "config": root / "aws" / "config",
        "credentials": root / "aws" / "credentials",
        "roles": root / "rolecall" / "roles.toml",
        "cache": root / "rolecall" / "cache",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["home"].mkdir()
    files["config"].write_text("[default]\nregion = us-east-1\n")
    files["credentials"].write_text(
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    files["credentials"].chmod(0o600)
    files["roles"].write_text(ROLES_TOML)
    return files


def script_environ(files: dict[str, Path], endpoint: str, profile: str) -> dict[str, str]:
    """The isolated environment the unmodified script runs in."""
    return {
        **clean_environ(),
        "HOME": str(files["home"]),
        "XDG_CONFIG_HOME": str(files["home"] / ".config"),
        "XDG_CACHE_HOME": str(files["home"] / ".cache"),
        "AWS_CONFIG_FILE": str(files["config"]),
        "AWS_SHARED_CREDENTIALS_FILE": str(files["credentials"]),
        "ROLECALL_CONFIG": str(files["roles"]),
        "ROLECALL_CACHE_DIR": str(files["cache"]),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PROFILE": profile,
    }


def run_script(env: dict[str, str]) -> str:
    """Run examples/whoami.py as a user would; return the ARN it prints."""
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed (exit status {done.returncode}):\n"
                           f"{done.stderr.strip()}")
    return done.stdout.strip()


def assume_role_calls(endpoint: str) -> int:
    """How many AssumeRole requests the emulator has received."""
    url = f"{endpoint}/_rolecall/counts"
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing to contact {url}: the demo only talks to 127.0.0.1")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - checked above
        counts: dict[str, int] = json.load(response)
    return counts.get("AssumeRole", 0)


def show(title: str, text: str) -> None:
    print(title)
    print(textwrap.indent(text.rstrip("\n"), "      "))
    print()


def demo(root: Path) -> bool:
    """The demo proper; True when the prod run came back as the Deploy role."""
    print(f"Working in {root} (removed at the end)\n")
    process, endpoint = start_emulator(root)
    try:
        print(f"1. Started the local STS emulator (moto) at {endpoint}\n")
        files = write_files(root)
        show(f"2. Wrote fake static keys for [default] to {files['credentials']},\n"
             f"   and this roles.toml to {files['roles']}:", ROLES_TOML)
        prod = run_script(script_environ(files, endpoint, "prod"))
        show(f"3. Ran the unmodified script (plain boto3, no rolecall import):\n"
             f"     AWS_PROFILE=prod python examples/{SCRIPT.name}\n   It printed:", prod)
        show("   For contrast, the same script with AWS_PROFILE=default (not in roles.toml, so "
             "rolecall\n   leaves it alone) runs as the plain user:",
             run_script(script_environ(files, endpoint, "default")))
        calls = assume_role_calls(endpoint)
        print(f"4. The emulator received {calls} AssumeRole call{'s' * (calls != 1)} in all "
              "(AWS_PROFILE=default makes none).\n")
    finally:
        stop(process)
    return bool(ASSUMED.fullmatch(prod))


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="rolecall-demo-"))
    try:
        ok = demo(root)
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        print("FAILED: AWS_PROFILE=prod did not run as arn:aws:sts::111122223333:assumed-role/"
              "Deploy/...; is rolecall installed in this Python (pip install -e .)?",
              file=sys.stderr)
        return 1
    print("OK: AWS_PROFILE=prod ran the unmodified script as the Deploy role.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
