"""Differential: every profile rolecall does not manage resolves exactly as without rolecall.

A matrix of botocore configurations runs in subprocesses (tests/differential_probe.py, one process
per set of environment variables, each case in its own fresh Session) with the Python of a virtual
environment that has rolecall's wheel installed and a roles.toml declaring *other* profiles, and
again with the Python of one that has the same packages without rolecall. The two outputs are
compared field by field: credential method, access key id (secret key and token by a hash only;
the random keys of an assumed role by their shape), the region and retry configuration the session
and its client see, the ARN STS reports, the exception class, message and where it was raised, the
User-Agent of every request (botocore >= 1.36 writes the credential feature ids into its ``m/``
part) and the files opened while the Session was built.

On the newest and on the oldest supported botocore, with a healthy roles.toml and with three broken
ones (an unknown key in another profile, a TOML syntax error, a chaining cycle): a mistake in
roles.toml may cost a warning line on stderr, never a difference in an undeclared profile.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Emulator
from tests.test_zero_code_change import OLDEST
from tests.venvs import Venv

pytestmark = pytest.mark.slow

PROBE = Path(__file__).with_name("differential_probe.py")
ACCOUNT = "111122223333"
STATIC_KEY = "AKIASTATICSTATIC0001"
CONFIG_KEY = "AKIACONFIGKEYS000001"
ENV_KEY = "AKIAENVIRONMENT00001"
PROCESS_KEY = "AKIAPROCESSKEYS00001"
LATE_KEY = "AKIALATECONFIGKEY001"
LATE_CREDS_KEY = "AKIALATECREDSKEY0001"
RETRY_KEY = "AKIARETRIESKEYS00001"
SECRET = "not-a-real-secret-differential-0000000000"


def _role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# roles.toml: it declares only profiles the cases never use (``managed-*``), healthy or broken.
MANAGED = f"""
[profiles.managed-x]
role_arn = "{_role('Managed')}"
source_profile = "default"
region = "eu-west-1"
sts_endpoint_url = "{{emulator}}"
"""
VARIANTS: dict[str, str] = {
    "declares-others": MANAGED,
    "unknown-key": MANAGED + f"""
[profiles.managed-typo]
role_arn = "{_role('Typo')}"
source_profile = "default"
role_sesion_name = "typo"
""",
    "syntax-error": MANAGED + "\n[profiles.managed-broken]\nrole_arn = \n",
    "cycle": MANAGED + f"""
[profiles.managed-a]
role_arn = "{_role('A')}"
source_profile = "managed-b"

[profiles.managed-b]
role_arn = "{_role('B')}"
source_profile = "managed-a"
""",
}


def _case(name: str, kind: str = "botocore", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, **extra}


def _groups(files: dict[str, Path]) -> dict[str, tuple[dict[str, str], list[dict[str, Any]]]]:
    """Each group: the environment variables of one probe process, and its cases."""
    late_config, late_credentials = str(files["late_config"]), str(files["late_credentials"])
    return {
        "files": ({}, [
            _case("default"),
            _case("default-credentials-first", credentials_first=True),
            _case("default-boto3", "boto3"),
            _case("static", profile="static"),
            _case("static-boto3-region", "boto3", profile="static", region="ca-central-1"),
            _case("config-file-keys", profile="cfgkeys"),
            _case("botocore-role-arn-source-profile", profile="botorole", random_keys=True),
            _case("botocore-role-chain", profile="chained", random_keys=True),
            _case("botocore-role-credentials-first", profile="botorole", random_keys=True,
                  credentials_first=True),
            _case("credential-source-environment-no-keys", profile="envrole"),
            _case("credential-process", profile="proc"),
            _case("credential-process-credentials-first", profile="proc", credentials_first=True),
            _case("web-identity-token-file", profile="webid", random_keys=True),
            _case("sso-legacy-no-token", profile="sso"),
            _case("sso-session-no-token", profile="ssosession"),
            _case("source-profile-missing", profile="badsource"),
            _case("missing-profile", profile="nowhere"),
            _case("missing-profile-boto3", "boto3", profile="nowhere"),
            _case("profile-without-credentials", profile="nocreds"),
            _case("retries-config", profile="retries"),
            _case("retries-config-boto3", "boto3", profile="retries"),
            _case("retries-legacy", profile="legacyretry"),
            _case("late-config-file", profile="late", late=[["config_file", late_config]]),
            _case("late-credentials-file", profile="latecreds",
                  late=[["credentials_file", late_credentials]]),
            _case("late-profile", late=[["profile", "static"]]),
            _case("late-region", profile="static", late=[["region", "me-south-1"]]),
            _case("boto3-over-late-config-and-profile", "boto3_over",
                  late=[["config_file", late_config], ["profile", "late"]]),
            _case("boto3-over-configured-session", "boto3_over",
                  late=[["profile", "cfgkeys"], ["region", "eu-west-3"]]),
            _case("managed", profile="managed-x", expected_difference=True),
        ]),
        "env-keys": ({"AWS_ACCESS_KEY_ID": ENV_KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                      "AWS_SESSION_TOKEN": "env-token"}, [
            _case("env-keys"),
            _case("env-keys-credentials-first", credentials_first=True),
            _case("env-keys-boto3", "boto3"),
            _case("env-keys-explicit-static-profile", profile="static"),
            _case("env-keys-late-profile", late=[["profile", "static"]]),
            _case("credential-source-environment", profile="envrole", random_keys=True),
            _case("env-keys-missing-profile", profile="nowhere"),
        ]),
        "env-profile-region-retries": ({"AWS_PROFILE": "retries", "AWS_DEFAULT_REGION":
                                        "eu-central-1", "AWS_RETRY_MODE": "standard",
                                        "AWS_MAX_ATTEMPTS": "4"}, [
            _case("aws-profile"),
            _case("aws-profile-boto3", "boto3"),
            _case("aws-profile-boto3-region", "boto3", region="ap-northeast-1"),
            _case("aws-profile-explicit-static", profile="static"),
            _case("aws-profile-late-config-file", late=[["config_file", late_config]]),
        ]),
        "env-profile-missing": ({"AWS_PROFILE": "nowhere"}, [
            _case("aws-profile-missing"),
            _case("aws-profile-missing-boto3", "boto3"),
            _case("aws-profile-missing-explicit-static", profile="static"),
        ]),
        "env-web-identity": ({"AWS_ROLE_ARN": _role("EnvWebRole"),
                              "AWS_WEB_IDENTITY_TOKEN_FILE": str(files["token"]),
                              "AWS_ROLE_SESSION_NAME": "differential"}, [
            _case("env-web-identity", random_keys=True),
            _case("env-web-identity-boto3", "boto3", random_keys=True),
        ]),
    }


@dataclass
class World:
    """The AWS files every probe reads, and the probe runs, each made once per module."""

    root: Path
    emulator: Emulator
    groups: dict[str, tuple[dict[str, str], list[dict[str, Any]]]]
    results: dict[tuple[str, str | None, str], tuple[dict[str, dict[str, Any]], str]] = \
        field(default_factory=dict)

    def env(self, group: str, variant: str | None) -> dict[str, str]:
        tag = variant or "plain"
        home = self.root / f"home-{tag}"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "AWS_CONFIG_FILE": str(self.root / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.root / "credentials"),
            "ROLECALL_CONFIG": str(self.root / f"roles-{tag}.toml"),
            "ROLECALL_CACHE_DIR": str(self.root / f"cache-{tag}"),
            "AWS_EC2_METADATA_DISABLED": "true", "PROBE_EMULATOR": self.emulator.url,
        }
        env.update(self.groups[group][0])
        return env

    def run(self, venv: Venv, label: str, variant: str | None,
            group: str) -> tuple[dict[str, dict[str, Any]], str]:
        """One probe process (memoized): its results by case name, and its stderr."""
        key = (label, variant, group)
        if key not in self.results:
            cases = self.root / f"cases-{group}.json"
            cases.write_text(json.dumps(self.groups[group][1]))
            done = subprocess.run([venv.python, str(PROBE), str(cases)],
                                  env=self.env(group, variant), capture_output=True, text=True,
                                  timeout=300, check=False)
            assert done.returncode == 0, f"probe failed ({key}):\n{done.stderr[-3000:]}"
            lines = [json.loads(line) for line in done.stdout.splitlines()]
            self.results[key] = ({line["case"]: line for line in lines}, done.stderr)
        return self.results[key]


def _write_files(root: Path, emulator: Emulator) -> dict[str, Path]:
    token = root / "web-identity-token"
    token.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJkaWZmZXJlbnRpYWwifQ.")
    process = root / "credential-process.sh"
    process.write_text("#!/bin/sh\necho '" + json.dumps({
        "Version": 1, "AccessKeyId": PROCESS_KEY, "SecretAccessKey": SECRET,
        "SessionToken": "process-token"}) + "'\n")
    process.chmod(process.stat().st_mode | stat.S_IXUSR)
    (root / "credentials").write_text(
        f"[default]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n"
        f"[static]\naws_access_key_id = {STATIC_KEY}\naws_secret_access_key = {SECRET}\n"
        f"[retries]\naws_access_key_id = {RETRY_KEY}\naws_secret_access_key = {SECRET}\n"
        f"[legacyretry]\naws_access_key_id = {RETRY_KEY}\naws_secret_access_key = {SECRET}\n")
    (root / "config").write_text(f"""
[default]
region = us-east-1

[profile static]
region = eu-west-2

[profile cfgkeys]
aws_access_key_id = {CONFIG_KEY}
aws_secret_access_key = {SECRET}
aws_session_token = config-token
region = ap-southeast-2

[profile botorole]
role_arn = {_role('BotoRole')}
source_profile = default
region = us-east-1

[profile chained]
role_arn = {_role('Second')}
source_profile = botorole
region = us-west-2

[profile envrole]
role_arn = {_role('EnvRole')}
credential_source = Environment
region = us-east-1

[profile proc]
credential_process = {process}
region = us-east-1

[profile webid]
role_arn = {_role('WebRole')}
web_identity_token_file = {token}
role_session_name = web
region = us-east-1

[profile sso]
sso_start_url = https://differential.awsapps.com/start
sso_region = us-east-1
sso_account_id = {ACCOUNT}
sso_role_name = Admin
region = us-east-1

[profile ssosession]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = Admin
region = us-east-1

[sso-session corp]
sso_start_url = https://differential.awsapps.com/start
sso_region = us-east-1

[profile badsource]
role_arn = {_role('Nowhere')}
source_profile = nowhere
region = us-east-1

[profile nocreds]
region = eu-north-1

[profile retries]
region = sa-east-1
retry_mode = adaptive
max_attempts = 7

[profile legacyretry]
region = af-south-1
retry_mode = legacy
max_attempts = 2
""")
    late_config = root / "late-config.ini"
    late_config.write_text(f"[profile late]\naws_access_key_id = {LATE_KEY}\n"
                           f"aws_secret_access_key = {SECRET}\nregion = ap-south-1\n")
    late_credentials = root / "late-credentials.ini"
    late_credentials.write_text(f"[latecreds]\naws_access_key_id = {LATE_CREDS_KEY}\n"
                                f"aws_secret_access_key = {SECRET}\n")
    for name, text in VARIANTS.items():
        (root / f"roles-{name}.toml").write_text(text.format(emulator=emulator.url))
    return {"token": token, "late_config": late_config, "late_credentials": late_credentials}


@pytest.fixture(scope="module")
def world(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("differential")
    return World(root, emulator, _groups(_write_files(root, emulator)))


@pytest.fixture(scope="session")
def oldest_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The oldest supported botocore and boto3, with rolecall's wheel."""
    return Venv.create(tmp_path_factory.mktemp("venv") / "oldest-with", wheel, *OLDEST)


@pytest.fixture(scope="session")
def oldest_plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The same oldest botocore and boto3, without rolecall."""
    return Venv.create(tmp_path_factory.mktemp("venv") / "oldest-without", *OLDEST)


# botocore version label -> (fixture with rolecall, fixture without)
VERSIONS = {"newest": ("venv", "plain_venv"), "oldest": ("oldest_venv", "oldest_plain_venv")}
CASES = [(group, case["name"]) for group, (_, cases) in _groups(
    {"token": Path("t"), "late_config": Path("c"), "late_credentials": Path("k")}).items()
    for case in cases if not case.get("expected_difference")]
Pair = Callable[[str | None, str, str], tuple[dict[str, Any], dict[str, Any]]]


@pytest.fixture(params=list(VERSIONS))
def pair(request: pytest.FixtureRequest, world: World) -> Pair:
    """(version) -> a function giving one case's results with rolecall and without."""
    label = str(request.param)
    with_name, without_name = VERSIONS[label]
    ours: Venv = request.getfixturevalue(with_name)
    theirs: Venv = request.getfixturevalue(without_name)

    def results(variant: str | None, group: str, case: str) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
        with_results, _ = world.run(ours, label, variant, group)
        without_results, _ = world.run(theirs, label, None, group)
        return with_results[case], without_results[case]
    return results


def _differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Field by field; values shown are key ids, hashes, regions, classes and messages only."""
    return [f"  {name}: with rolecall {ours.get(name)!r}\n  {' ' * len(name)}  without "
            f"{theirs.get(name)!r}" for name in sorted(set(ours) | set(theirs))
            if ours.get(name) != theirs.get(name)]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("group", "case"), CASES, ids=[name for _, name in CASES])
def test_undeclared_profile_resolves_as_without_rolecall(pair: Pair, variant: str, group: str,
                                                         case: str) -> None:
    ours, theirs = pair(variant, group, case)
    differences = _differences(ours, theirs)
    assert not differences, f"{case} ({group}, roles.toml {variant}):\n" + "\n".join(differences)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rolecall_is_active_in_the_matrix(pair: Pair, variant: str) -> None:
    """The comparison is not vacuous: in the same processes, the declared profile is rolecall's
    (or, where roles.toml breaks it, rolecall's ConfigError), while botocore does not know it."""
    ours, theirs = pair(variant, "files", "managed")
    assert theirs["error"]["type"] == "botocore.exceptions.ProfileNotFound"
    if variant == "syntax-error":
        assert ours["error"]["type"] == "rolecall.config.ConfigError", ours["error"]
    else:
        assert ours["error"] is None, ours["error"]
        assert ours["credentials"]["method"] == "rolecall"
        assert "assumed-role/Managed/" in ours["arn"]


def test_a_healthy_roles_toml_prints_nothing(world: World, venv: Venv, plain_venv: Venv) -> None:
    for group in world.groups:
        _, ours = world.run(venv, "newest", "declares-others", group)
        _, theirs = world.run(plain_venv, "newest", None, group)
        assert ours == theirs == "", (group, ours, theirs)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "declares-others"])
def test_a_broken_roles_toml_costs_one_warning_line_per_problem(world: World, venv: Venv,
                                                                 variant: str) -> None:
    _, stderr = world.run(venv, "newest", variant, "files")
    lines = stderr.splitlines()
    assert lines and all("rolecall" in line for line in lines), stderr
    assert len(lines) == len(set(lines)), stderr
