"""Transparency: rolecall is invisible for everything it does not manage.

The initializer reads nothing while a Session is built (the program may still set config_file,
credentials_file or profile), a mistake in roles.toml breaks only the profiles it touches, and
rolecall's own pieces (the provider on its own, the snapshot) work from the configuration they are
given. In this process (rolecall is installed in the test environment) and, where a fresh process
or a real client is the point, in subprocesses; STS is the local emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ProfileNotFound

import rolecall
from rolecall import provider as rolecall_provider
from tests.conftest import PROD, ROLE, STATIC_KEY_ID, STATIC_SECRET, Aws, credentials_of, run_python

OTHER = f"""
[profiles.other]
role_arn = "{ROLE}"
source_profile = "default"
"""
LATE_KEY = "AKIALATELATELATE0000"


@pytest.fixture(autouse=True)
def fresh_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture
def late(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Path:
    """roles.toml declares other profiles (rolecall is active); a second AWS file, set late."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # regions come from the files here
    aws.roles(OTHER)
    path = aws.root / "late.ini"
    path.write_text(f"[profile late]\naws_access_key_id = {LATE_KEY}\n"
                    f"aws_secret_access_key = {STATIC_SECRET}\nregion = ap-south-1\n"
                    f"[late]\naws_access_key_id = {LATE_KEY}\n"
                    f"aws_secret_access_key = {STATIC_SECRET}\n")
    return path


# --- Lazy, as botocore is lazy -------------------------------------------------------------


def test_config_file_set_after_the_session_is_built(late: Path) -> None:
    session = botocore.session.Session(profile="late")
    session.set_config_variable("config_file", str(late))
    credentials = credentials_of(session)
    assert (credentials.access_key, credentials.method) == (LATE_KEY, "config-file")
    assert session.get_config_variable("region") == "ap-south-1"


def test_credentials_file_set_after_the_session_is_built(late: Path) -> None:
    session = botocore.session.Session(profile="late")
    session.set_config_variable("credentials_file", str(late))
    credentials = credentials_of(session)
    assert (credentials.access_key, credentials.method) == (LATE_KEY, "shared-credentials-file")


def test_profile_set_after_the_session_is_built_under_boto3(late: Path) -> None:
    core = botocore.session.Session()
    core.set_config_variable("config_file", str(late))
    core.set_config_variable("profile", "late")
    session = boto3.Session(botocore_session=core)
    assert session.profile_name == "late"
    assert credentials_of(session).access_key == LATE_KEY
    assert session.region_name == "ap-south-1"


def test_a_virtual_profile_set_late_is_still_managed(aws: Aws,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.roles(PROD)
    core = botocore.session.Session()
    core.set_config_variable("profile", "prod")
    session = boto3.Session(botocore_session=core)
    assert session.region_name == "eu-west-1"
    assert credentials_of(session).method == "rolecall"
    assert "assumed-role/Deploy/" in session.client("sts").get_caller_identity()["Arn"]


def test_building_a_session_opens_no_file(aws: Aws) -> None:
    """Plain botocore opens nothing while a Session is built; with rolecall neither (an audit hook
    in a fresh process records every open)."""
    aws.roles(PROD)
    code = (
        "import sys, json, botocore.session\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(str(args[0])) "
        "if event == 'open' else None)\n"
        "botocore.session.Session(); botocore.session.Session(profile='prod')\n"
        "built = list(opened)\n"
        "botocore.session.Session(profile='prod').get_credentials()\n"
        "print(json.dumps([built, opened]))\n")
    done = run_python(code, aws.env)
    assert done.returncode == 0, done.stderr
    built, later = json.loads(done.stdout)
    watched = (str(aws.root / "aws_config"), str(aws.root / "aws_credentials"),
               str(aws.root / "roles.toml"))
    assert not [path for path in built if path in watched]
    assert str(aws.root / "aws_config") in later  # the audit hook does see opens


# --- botocore's protocol ---------------------------------------------------------------------


def test_provider_is_a_well_behaved_botocore_provider(aws: Aws) -> None:
    aws.roles(PROD)
    resolver = botocore.session.Session(profile="prod").get_component("credential_provider")
    provider = resolver.get_provider("rolecall")
    assert isinstance(provider, rolecall.RolecallProvider)
    assert provider.CANONICAL_NAME == "custom-rolecall"  # botocore's rule for third parties


def test_readme_provider_example_with_a_config_path(aws: Aws, tmp_path: Path) -> None:
    """A roles.toml outside the default location, used through the provider on its own."""
    elsewhere = tmp_path / "team" / "roles.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(PROD.replace("[profiles.prod]", "[profiles.team]"))
    provider = rolecall.RolecallProvider(profile_name="team", config_path=elsewhere)
    credentials = provider.load()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    sts = boto3.Session().client(
        "sts", aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token)
    assert "assumed-role/Deploy/" in sts.get_caller_identity()["Arn"]
    assert rolecall.RolecallProvider(profile_name="prod", config_path=elsewhere).load() is None


# --- A mistake breaks only what it touches --------------------------------------------------


def resolves_as_botocore(profile: str | None = None) -> None:
    credentials = credentials_of(boto3.Session(profile_name=profile))
    assert (credentials.access_key, credentials.method) == (STATIC_KEY_ID,
                                                            "shared-credentials-file")


def raises_config_error(profile: str, *fragments: str) -> str:
    with pytest.raises(rolecall.ConfigError) as caught:
        boto3.Session(profile_name=profile).get_credentials()
    text = str(caught.value)
    for fragment in fragments:
        assert fragment in text, text
    assert caught.value.__context__ is None  # no chain through rolecall's internals
    return text


def test_unknown_key_in_one_profile_breaks_only_that_profile(aws: Aws) -> None:
    aws.roles(PROD + OTHER.replace("[profiles.other]", "[profiles.broken]") +
              'source_profle = "x"\n')
    text = raises_config_error("broken", "'broken'", "'source_profle'", "did you mean")
    assert "required" not in text  # said once, without follow-on noise
    assert len(text.splitlines()) == 1
    assert credentials_of(boto3.Session(profile_name="prod")).method == "rolecall"
    resolves_as_botocore()
    resolves_as_botocore("default")


def test_a_chain_reaching_a_broken_profile_names_both(aws: Aws) -> None:
    aws.roles(PROD + 'duration_seconds = 1\n[profiles.partner]\n'
              f'role_arn = "{ROLE}"\nsource_profile = "prod"\n' + OTHER)
    text = raises_config_error("partner", "profile 'partner'", "chains from profile 'prod'",
                               "'duration_seconds'")
    assert text.index("'partner'") < text.index("'duration_seconds'")
    assert credentials_of(boto3.Session(profile_name="other")).method == "rolecall"
    resolves_as_botocore()


def test_a_cycle_breaks_its_members_only(aws: Aws) -> None:
    aws.roles(f'[profiles.a]\nrole_arn = "{ROLE}"\nsource_profile = "b"\n'
              f'[profiles.b]\nrole_arn = "{ROLE}"\nsource_profile = "a"\n' + OTHER)
    for name in ("a", "b"):
        raises_config_error(name, "role chaining cycle")
    assert credentials_of(boto3.Session(profile_name="other")).method == "rolecall"
    resolves_as_botocore()


def test_a_defaults_mistake_breaks_every_declared_profile_only(aws: Aws) -> None:
    aws.roles("[defaults]\nduration_seconds = 5\n" + PROD + OTHER)
    for name in ("prod", "other"):
        raises_config_error(name, "[defaults]", "'duration_seconds'")
    resolves_as_botocore()


def test_toml_syntax_error_breaks_the_profiles_it_declares_only(aws: Aws) -> None:
    aws.roles(PROD + "oops = = 1\n" + OTHER)
    for name in ("prod", "other"):
        raises_config_error(name, "invalid TOML", "line 6")
    resolves_as_botocore()
    with pytest.raises(ProfileNotFound):
        boto3.Session(profile_name="nowhere").get_credentials()


def test_a_misspelt_profiles_table_never_falls_back_to_the_aws_files(aws: Aws) -> None:
    """[profile.default] meant [profiles.default]: default must not silently use its keys."""
    aws.roles(f'[profile.default]\nrole_arn = "{ROLE}"\nsource_profile = "default"\n')
    raises_config_error("default", "'profile'", "did you mean 'profiles'")


def test_one_warning_line_per_problem_per_process(aws: Aws) -> None:
    aws.roles(PROD + "colour = 1\n" + OTHER)
    code = ("import boto3\n"
            "for _ in range(3):\n"
            "    boto3.Session().get_credentials()\n"
            "    boto3.Session(profile_name='other').get_credentials()\n")
    done = run_python(code, aws.env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "'prod'" in lines[0] and "'colour'" in lines[0] and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_aws_cli_with_a_broken_roles_toml(aws: Aws) -> None:
    aws.roles(PROD + "colour = 1\n")
    aws_cli = str(Path(sys.executable).parent / "aws")
    env = {**aws.env, "AWS_DEFAULT_REGION": "us-east-1"}
    fine = subprocess.run([aws_cli, "--profile", "default", "sts", "get-caller-identity"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert fine.returncode == 0, fine.stderr
    arn = json.loads(fine.stdout)["Arn"]  # the static keys of default, never a role
    assert arn.endswith(":user/moto") and ":assumed-role/" not in arn, arn
    broken = subprocess.run([aws_cli, "--profile", "prod", "sts", "get-caller-identity"],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert broken.returncode == 255
    assert "Traceback" not in broken.stderr
    assert broken.stderr.count("'colour'") <= 2  # the warning, and the error it explains


# --- Cost: read roles.toml once per edit -----------------------------------------------------


PROBE = ("import sys, boto3\n"
         "boto3.Session(profile_name=sys.argv[1]).get_credentials()\n"
         "print(sorted(m for m in sys.modules if m in ('tomllib', 'tomli', 'rolecall._validate',"
         " 'rolecall.sts', 'platformdirs')))\n")


def imported(aws: Aws, profile: str) -> list[str]:
    done = run_python(PROBE, aws.env, sys.executable, profile)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.replace("'", '"')))


@pytest.mark.slow
def test_roles_toml_is_parsed_once_per_edit_not_once_per_process(aws: Aws) -> None:
    path = aws.roles(PROD)
    first = imported(aws, "default")
    assert "tomllib" in first or "tomli" in first  # the first process parses the file ...
    assert imported(aws, "default") == []  # the snapshot answers: no parser, no validation
    path.write_text(PROD.replace("eu-west-1", "eu-west-2"))
    first = imported(aws, "default")
    assert "rolecall._validate" in first  # an edit is parsed again ...
    assert imported(aws, "default") == []  # ... once
    credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    assert imported(aws, "prod") == []  # a managed profile from the warm disk cache too
    core = botocore.session.Session(profile="prod")
    core.set_config_variable("region", None)
    assert core.get_scoped_config()["region"] == "eu-west-2"


@pytest.mark.slow
def test_a_corrupt_or_foreign_snapshot_is_not_used(aws: Aws) -> None:
    aws.roles(PROD)
    imported(aws, "default")
    (snapshot,) = (aws.root / "cache").glob("config-*.snapshot")
    snapshot.write_text('{"format": 1, "profiles": {"prod": {"name": "x"}}}')
    assert "rolecall._validate" in imported(aws, "default")
    snapshot.chmod(0o644)  # not private: never trusted (as root too: mode is checked, not access)
    assert "rolecall._validate" in imported(aws, "default")


# --- roles.toml that cannot be read ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "huge"])
def test_an_unreadable_roles_toml_is_a_clear_error_never_a_hang(aws: Aws, kind: str) -> None:
    path = aws.root / "odd-roles"
    if kind == "fifo":
        import os

        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(5 << 20)  # 5 MiB of zeros, sparse
    else:
        path = Path("/dev/zero")
    code = ("import boto3\n"
            "try:\n"
            "    boto3.Session().get_credentials()\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n")
    start = time.monotonic()
    done = run_python(code, {**aws.env, "ROLECALL_CONFIG": str(path)}, timeout=30)
    assert time.monotonic() - start < 20
    assert done.returncode == 0, done.stderr
    reason = "larger than 4194304 bytes" if kind == "huge" else "not a regular file"
    assert done.stdout.startswith(f"ConfigError {path}: cannot read: {reason}"), done.stdout


def test_a_byte_order_mark_is_accepted(aws: Aws) -> None:
    (aws.root / "roles.toml").write_bytes(b"\xef\xbb\xbf" + PROD.encode())
    assert credentials_of(boto3.Session(profile_name="prod")).method == "rolecall"


def test_readme_provider_example_resolves_a_missing_file_as_unmanaged(aws: Aws,
                                                                     tmp_path: Path) -> None:
    provider = rolecall_provider.RolecallProvider(profile_name="prod",
                                                  config_path=tmp_path / "none.toml")
    assert provider.load() is None
