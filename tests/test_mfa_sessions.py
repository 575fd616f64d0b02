"""MFA sessions (``mfa_session_duration``): one MFA code and one GetSessionToken serve every role
that shares the source and the MFA device, across processes, until the session expires.

Counted for real: MFA codes (the ``mfa_token_command`` appends a line to a file each time it
runs), and the GetSessionToken and AssumeRole requests the STS emulator (moto) receives. moto's
GetSessionToken ignores SerialNumber and TokenCode (it validates no MFA code) and returns the
same example credentials every time, with the expiry DurationSeconds asks for.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from rolecall import cache, config, request, sts
from rolecall.cache import store
from tests.conftest import STATIC_KEY_ID, Aws, credentials_of, run_python

ROLECALL = str(Path(sys.executable).parent / "rolecall")
SERIAL = "arn:aws:iam::111122223333:mfa/alice"
DEV = "arn:aws:iam::111122223333:role/Dev"
PROD_ROLE = "arn:aws:iam::444455556666:role/Prod"
OPS = "arn:aws:iam::777788889999:role/Ops"
CODE = "314159"


class World:
    """An AWS world with MFA-protected roles behind one IAM user, and a counting token command."""

    def __init__(self, aws: Aws, delay: float = 0) -> None:
        self.aws = aws
        self.codes = aws.root / "codes.log"
        self.token = aws.root / "token.py"
        self.token.write_text(
            "import time\n"
            f"with open({str(self.codes)!r}, 'a') as f:\n    f.write('code\\n')\n"
            f"time.sleep({delay})\n"
            f"print('your code: {CODE}')\n")

    def roles(self, defaults: str = "", extra: str = "") -> None:
        self.aws.roles(f"""
[defaults]
source_profile = "default"
mfa_serial = "{SERIAL}"
mfa_token_command = ["{sys.executable}", "{self.token}"]
mfa_session_duration = 43200
{defaults}

[profiles.dev]
role_arn = "{DEV}"

[profiles.prod]
role_arn = "{PROD_ROLE}"

[profiles.ops]
role_arn = "{OPS}"
{extra}
""")

    def code_count(self) -> int:
        return len(self.codes.read_text().splitlines()) if self.codes.exists() else 0

    def calls(self) -> tuple[int, int, int]:
        """(MFA codes, GetSessionToken, AssumeRole) so far."""
        counts = self.aws.emulator.counts()
        return self.code_count(), counts.get("GetSessionToken", 0), counts.get("AssumeRole", 0)

    def identity(self, profile: str) -> str:
        """The caller ARN an unmodified boto3 program sees for ``profile``, in a new process."""
        done = run_python("import boto3; print(boto3.Session().client('sts')"
                          ".get_caller_identity()['Arn'])",
                          {**self.aws.env, "AWS_PROFILE": profile})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def rolecall(self, *argv: str, env: dict[str, str] | None = None) -> \
            subprocess.CompletedProcess[str]:
        return subprocess.run([ROLECALL, *argv], env=env or self.aws.env, capture_output=True,
                              text=True, timeout=120, check=False)

    def session_key(self, profile: str = "dev") -> str:
        loaded = config.load()
        assert loaded is not None
        key = request.mfa_session_key(loaded, profile)
        assert key is not None
        return key


@pytest.fixture
def world(aws: Aws) -> World:
    return World(aws)


# --------------------------------------------------------------------------------------------
# The counts
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_roles_in_two_processes_then_again_take_one_code(world: World) -> None:
    world.roles()
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Prod/" in world.identity("prod")
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Prod/" in world.identity("prod")
    assert world.calls() == (1, 1, 2)


@pytest.mark.slow
def test_a_role_whose_credentials_expired_needs_no_new_code(world: World) -> None:
    world.roles()
    world.identity("dev")
    loaded = config.load()
    assert loaded is not None
    # dev's role credentials are gone (as when they expire); its MFA session is not.
    store.clear([request.cache_key(loaded, "dev")])
    assert "assumed-role/Dev/" in world.identity("dev")
    assert "assumed-role/Ops/" in world.identity("ops")
    assert world.calls() == (1, 1, 3)


@pytest.mark.slow
def test_processes_started_together_ask_for_one_code(aws: Aws) -> None:
    world = World(aws, delay=1.0)  # a slow code: the others arrive while it is being typed
    world.roles()
    code = ("import boto3; print(boto3.Session().client('sts')"
            ".get_caller_identity()['Arn'])")
    procs = [subprocess.Popen([sys.executable, "-c", code], text=True,
                              env={**aws.env, "AWS_PROFILE": name}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
             for name in ("dev", "prod", "ops", "dev", "prod", "ops")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    assert {out.split("assumed-role/")[1].split("/")[0] for out, _ in outputs} == \
        {"Dev", "Prod", "Ops"}
    codes, get_session_token, assume_role = world.calls()
    assert (codes, get_session_token) == (1, 1)
    assert assume_role == 3  # one per role: the role entries are shared too


@pytest.mark.slow
def test_an_expired_session_takes_one_new_code(world: World) -> None:
    world.roles()
    world.identity("dev")
    path = Path(cache.folder()) / f"{world.session_key()}.json"
    doc = json.loads(path.read_text())
    doc["ExpiresAt"] = time.time() - 1  # the session has just expired (0600 kept: same file)
    path.write_text(json.dumps(doc))
    world.identity("prod")
    world.identity("ops")
    assert world.calls() == (2, 2, 3)


@pytest.mark.slow
def test_a_session_near_its_end_is_renewed_before_it_is_used(world: World) -> None:
    world.roles()
    world.identity("dev")
    path = Path(cache.folder()) / f"{world.session_key()}.json"
    doc = json.loads(path.read_text())
    doc["ExpiresAt"] = time.time() + 60  # inside its refresh window: not handed out
    path.write_text(json.dumps(doc))
    world.identity("prod")
    assert world.calls() == (2, 2, 2)


# --------------------------------------------------------------------------------------------
# What signs the AssumeRole call, and for how long
# --------------------------------------------------------------------------------------------


def _signers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """Records (access key id, session token) of every STS client rolecall builds."""
    seen: list[tuple[str, str | None]] = []
    original = sts._client

    def recording(session: Any, profile: Any, signer: Any) -> Any:
        seen.append((signer.access_key, signer.token))
        return original(session, profile, signer)

    monkeypatch.setattr(sts, "_client", recording)
    return seen


def _frozen(profile: str) -> Any:
    return credentials_of(boto3.Session(profile_name=profile)).get_frozen_credentials()


def test_the_session_signs_assume_role_without_mfa_fields(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.roles()
    signers = _signers(monkeypatch)
    sent: list[dict[str, Any]] = []
    original = request.build_request

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        built = original(*args, **kwargs)
        sent.append(built)
        return built

    monkeypatch.setattr(sts, "build_request", recording)
    _frozen("dev")
    _frozen("prod")
    session = store.peek(world.session_key())
    assert session is not None
    # GetSessionToken signed by the IAM user's keys; both AssumeRole calls by the session.
    assert signers == [(STATIC_KEY_ID, None), (session.access_key, session.token),
                       (session.access_key, session.token)]
    assert all("SerialNumber" not in req and "TokenCode" not in req for req in sent)
    assert world.calls() == (1, 1, 2)


def test_a_role_signed_by_the_session_lasts_at_most_an_hour(world: World) -> None:
    # AWS rejects DurationSeconds > 3600 for AssumeRole signed by GetSessionToken credentials
    # ("exceeds the 1 hour session limit for roles assumed by role chaining"): capped, as for
    # any temporary source. moto does not enforce it; the request is what is checked.
    world.roles(defaults="duration_seconds = 7200")
    _frozen("dev")
    loaded = config.load()
    assert loaded is not None
    entry = store.peek(request.cache_key(loaded, "dev"))
    assert entry is not None and 3500 < entry.lifetime < 3700
    session = store.peek(world.session_key())
    assert session is not None and 43000 < session.lifetime < 43300


def test_without_a_session_the_role_keeps_its_duration_and_asks_per_role(world: World) -> None:
    world.roles(defaults="duration_seconds = 7200",
                extra="[profiles.plain]\n"
                      f'role_arn = "{DEV}"\nsource_profile = "default"\nmfa_serial = "{SERIAL}"\n'
                      f'mfa_token_command = ["{sys.executable}", "{world.token}"]\n')
    config_text = (world.aws.root / "roles.toml").read_text()
    world.aws.roles(config_text.replace("mfa_session_duration = 43200\n", ""))
    _frozen("dev")
    _frozen("prod")
    loaded = config.load()
    assert loaded is not None
    entry = store.peek(request.cache_key(loaded, "dev"))
    assert entry is not None and 7100 < entry.lifetime < 7300
    assert world.calls() == (2, 0, 2)


@pytest.mark.slow
def test_cache_false_keeps_the_session_in_memory_only(world: World) -> None:
    world.roles(defaults="cache = false")
    _frozen("dev")
    _frozen("prod")
    assert world.calls() == (1, 1, 2)
    files = list(Path(cache.folder()).glob("*.json")) if Path(cache.folder()).exists() else []
    assert not [p for p in files if not p.name.startswith("config-")], files
    assert not (Path(cache.folder()) / f"{world.session_key()}.json").exists()
    world.identity("dev")  # a new process: nothing shared on disk, so a new code
    assert world.calls() == (2, 2, 3)


@pytest.mark.parametrize("where", ["credentials file", "environment"])
def test_a_source_with_a_session_token_falls_back_to_a_code_per_role(
        world: World, where: str, caplog: pytest.LogCaptureFixture) -> None:
    if where == "credentials file":
        world.aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                              "aws_secret_access_key = secret\naws_session_token = token\n")
        world.roles()
    else:
        os.environ.update(AWS_ACCESS_KEY_ID=STATIC_KEY_ID, AWS_SECRET_ACCESS_KEY="secret",
                          AWS_SESSION_TOKEN="token")
        world.roles(defaults='credential_source = "Environment"')
        text = (world.aws.root / "roles.toml").read_text()
        world.aws.roles(text.replace('source_profile = "default"\n', "", 1))
    try:
        with caplog.at_level(logging.DEBUG, logger="rolecall"):
            _frozen("dev")
            _frozen("prod")
    finally:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
    assert world.calls() == (2, 0, 2)  # today's behaviour: a code per role, never an error
    said = caplog.text
    assert "no MFA session" in said and "has temporary credentials" in said


def test_a_profile_chained_from_a_role_falls_back_to_a_code_per_role(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.roles(extra=f'[profiles.child]\nrole_arn = "{OPS}"\nsource_profile = "dev"\n')
    with caplog.at_level(logging.DEBUG, logger="rolecall"):
        _frozen("child")
    # dev: one code for its session; child (signed by dev's role): one code of its own.
    assert world.calls() == (2, 1, 2)
    assert "its source is rolecall profile 'dev', a role" in caplog.text


# --------------------------------------------------------------------------------------------
# The key in roles.toml
# --------------------------------------------------------------------------------------------

HEAD = '[profiles.p]\nrole_arn = "arn:aws:iam::111122223333:role/R"\nsource_profile = "default"\n'


@pytest.mark.parametrize("value", ["899", "129601", '"43200"', "true", "3600.0"])
def test_out_of_range_or_mistyped_durations_name_file_profile_and_key(value: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(f'{HEAD}mfa_serial = "{SERIAL}"\nmfa_session_duration = {value}\n',
                     path="roles.toml")
    assert str(caught.value).startswith("roles.toml: profile 'p': key 'mfa_session_duration': "
                                        "expected an integer from 900 to 129600")


def test_the_bounds_parse_and_defaults_apply() -> None:
    for value in (900, 129600):
        parsed = config.parse(f'[defaults]\nmfa_session_duration = {value}\n'
                              f'mfa_serial = "{SERIAL}"\n{HEAD}')
        assert parsed.profiles["p"].mfa_session_duration == value


def test_a_session_without_an_mfa_device_is_an_error_only_where_written() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(f"{HEAD}mfa_session_duration = 3600\n", path="roles.toml")
    assert str(caught.value) == ("roles.toml: profile 'p': key 'mfa_session_duration': needs "
                                 "mfa_serial: an MFA session starts with that device's code (set "
                                 "mfa_serial, or remove this key)")
    # Inherited from [defaults] by a profile without MFA: it simply does not apply.
    parsed = config.parse(f"[defaults]\nmfa_session_duration = 3600\n{HEAD}")
    assert parsed.profiles["p"].mfa_session_duration == 3600
    assert request.mfa_session_key(parsed, "p") is None


def test_profiles_share_a_session_only_with_the_same_source_device_and_duration() -> None:
    text = (f'[defaults]\nmfa_serial = "{SERIAL}"\nmfa_session_duration = 3600\n'
            'source_profile = "default"\n'
            '[profiles.a]\nrole_arn = "arn:aws:iam::111122223333:role/A"\n'
            '[profiles.b]\nrole_arn = "arn:aws:iam::444455556666:role/B"\nexternal_id = "xx"\n'
            '[profiles.c]\nrole_arn = "arn:aws:iam::111122223333:role/A"\n'
            'source_profile = "other"\n'
            '[profiles.d]\nrole_arn = "arn:aws:iam::111122223333:role/A"\n'
            'mfa_serial = "arn:aws:iam::111122223333:mfa/bob"\n'
            '[profiles.e]\nrole_arn = "arn:aws:iam::111122223333:role/A"\n'
            "mfa_session_duration = 7200\n")
    parsed = config.parse(text)
    keys = {name: request.mfa_session_key(parsed, name) for name in "abcde"}
    assert keys["a"] == keys["b"]
    assert len({keys["a"], keys["c"], keys["d"], keys["e"]}) == 4
    # The role's own key still names the MFA device: it is what the role was fetched with.
    without_mfa = config.parse('[profiles.a]\nrole_arn = "arn:aws:iam::111122223333:role/A"\n'
                               'source_profile = "default"\n')
    assert request.cache_key(parsed, "a") != request.cache_key(without_mfa, "a")


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_login_asks_once_up_front_and_jobs_then_need_no_code(world: World) -> None:
    world.roles()
    done = world.rolecall("login", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"dev: MFA session of {SERIAL} started, expires 20")
    assert "(in 11 h 59 min)" in first or "(in 12 h 0 min)" in first
    assert world.calls() == (1, 1, 1)
    # Non-interactive jobs: no terminal, and a token command that would fail if it ran.
    world.token.write_text("import sys; sys.exit(3)\n")
    for name in ("prod", "ops"):
        job = world.rolecall("credential-process", "--profile", name)
        assert job.returncode == 0, job.stderr
    again = world.rolecall("login", "--profile", "prod")
    assert again.returncode == 0, again.stderr
    assert "MFA session of" in again.stdout and "already started" in again.stdout
    assert world.calls() == (1, 1, 3)


@pytest.mark.slow
def test_login_renew_starts_a_new_session(world: World) -> None:
    world.roles()
    assert world.rolecall("login", "--profile", "dev").returncode == 0
    done = world.rolecall("login", "--profile", "dev", "--renew")
    assert done.returncode == 0, done.stderr
    assert " started, expires" in done.stdout
    assert world.calls()[:2] == (2, 2)


def test_login_says_why_a_profile_has_no_session_and_asks_for_its_role_now(world: World) -> None:
    world.roles(extra=f'[profiles.child]\nrole_arn = "{OPS}"\nsource_profile = "dev"\n')
    done = world.rolecall("login", "--profile", "child")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dev: MFA session of")
    assert lines[1].startswith("child: no MFA session (its source is rolecall profile 'dev', a "
                               "role: GetSessionToken needs an IAM user's long-term keys)")
    assert lines[2].startswith("child: role credentials expire 20")
    assert world.calls() == (2, 1, 2)


def test_login_says_a_memory_only_session_does_not_outlive_it(world: World) -> None:
    world.roles(defaults="cache = false")
    done = world.rolecall("login", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    assert "dev: cache = false: the session lives in this process only" in done.stdout


def test_login_for_a_profile_without_mfa_is_an_error(aws: Aws) -> None:
    aws.roles('[profiles.p]\nrole_arn = "arn:aws:iam::111122223333:role/R"\n'
              'source_profile = "default"\n')
    done = subprocess.run([ROLECALL, "login", "--profile", "p"], env=aws.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "profile 'p' needs no MFA code" in done.stderr


@pytest.mark.slow
def test_explain_shows_the_session_and_its_expiry(world: World) -> None:
    world.roles(defaults="duration_seconds = 7200")
    before = world.rolecall("explain", "--profile", "dev")
    assert before.returncode == 0, before.stderr
    assert "  MFA session: 43200s, shared with ops, prod; not started" in before.stdout
    assert "duration 3600s (capped at 3600: signed by the MFA session" in before.stdout
    world.identity("dev")
    after = world.rolecall("explain", "--profile", "prod", "--output", "json")
    link = json.loads(after.stdout)["chain"][0]
    session = link["mfa_session"]
    assert session["used"] is True and session["reason"] is None
    assert session["shared_with"] == ["dev", "ops"] and session["duration_seconds"] == 43200
    assert session["cache"]["state"] == "valid"
    stored = store.peek(world.session_key())
    assert stored is not None
    assert session["cache"]["expiration"] == stored.expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (link["duration_seconds"], link["duration_capped"], link["duration_capped_by"]) == \
        (3600, True, "mfa_session")
    text = world.rolecall("explain", "--profile", "prod").stdout
    assert "MFA session: 43200s, shared with dev, ops; started, until " in text


def test_explain_says_when_the_source_rules_a_session_out(world: World) -> None:
    world.aws.config("[profile corp]\nsso_session = corp\nsso_account_id = 111122223333\n"
                     "sso_role_name = Admin\n[sso-session corp]\n"
                     "sso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n")
    world.roles(extra='[profiles.sso]\nrole_arn = "arn:aws:iam::111122223333:role/S"\n'
                      'source_profile = "corp"\n')
    done = world.rolecall("explain", "--profile", "sso")
    assert done.returncode == 0, done.stderr
    assert ("MFA session: none (AWS profile 'corp' gives temporary credentials (IAM Identity "
            "Center (SSO)): GetSessionToken needs an IAM user's long-term keys); a code per role"
            ) in done.stdout
    listed = world.rolecall("list").stdout.splitlines()
    assert listed[0].split()[-2:] == ["MFA", "SESSION"]
    rows = {row.split()[0]: row for row in listed[1:]}
    assert rows["sso"].endswith("none: a code per role")
    assert rows["dev"].endswith("#1 (3 profiles)") and rows["ops"].endswith("#1 (3 profiles)")


def test_list_marks_profiles_that_share_a_session(world: World) -> None:
    world.roles(extra=f'[profiles.other]\nrole_arn = "{OPS}"\n'
                      'mfa_serial = "arn:aws:iam::111122223333:mfa/bob"\n'
                      '[profiles.plain]\nrole_arn = "arn:aws:iam::111122223333:role/P"\n'
                      'source_profile = "default"\nmfa_serial = "arn:aws:iam::1:mfa/c"\n')
    text = (world.aws.root / "roles.toml").read_text()
    world.aws.roles(text.replace('mfa_serial = "arn:aws:iam::1:mfa/c"\n', ""))
    done = world.rolecall("list", "--output", "json")
    assert done.returncode == 0, done.stderr
    sessions = {p["name"]: p["mfa_session"] for p in json.loads(done.stdout)["profiles"]}
    assert {name: s["id"] for name, s in sessions.items() if s} == \
        {"dev": 1, "ops": 1, "other": 2, "prod": 1, "plain": 1}
    assert sessions["other"]["shared_with"] == []
    rows = {row.split()[0]: row for row in world.rolecall("list").stdout.splitlines()[1:]}
    assert rows["other"].endswith("#2") and rows["prod"].endswith("#1 (4 profiles)")


@pytest.mark.slow
def test_cache_clear_clears_mfa_sessions(world: World) -> None:
    world.roles()
    world.identity("dev")
    world.identity("prod")
    session = Path(cache.folder()) / f"{world.session_key()}.json"
    assert session.exists()
    one = world.rolecall("cache", "clear", "--profile", "dev")
    assert one.returncode == 0, one.stderr
    assert one.stdout.rstrip().endswith(
        "; with its MFA session (shared with ops, prod: they too ask for a new code)")
    assert one.stdout.startswith("removed 2 cache entries")
    assert not session.exists()
    world.identity("ops")
    assert session.exists()
    every = world.rolecall("cache", "clear", "--all")
    assert every.returncode == 0 and not session.exists()
    assert not list(Path(cache.folder()).glob("*.json"))
    world.identity("dev")
    assert world.calls() == (3, 3, 4)


# --------------------------------------------------------------------------------------------
# Secrets: the session's secret key and token never reach logs, errors, reprs or reports
# --------------------------------------------------------------------------------------------


def _session_secrets(world: World) -> list[str]:
    stored = store.peek(world.session_key())
    assert stored is not None
    return [stored.secret_key, stored.token, CODE]


@pytest.mark.slow
def test_the_session_secret_stays_out_of_logs_reprs_and_reports(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.roles()
    with caplog.at_level(logging.DEBUG):  # botocore's own DEBUG logs too
        credentials = credentials_of(boto3.Session(profile_name="dev"))
        credentials.get_frozen_credentials()
        _frozen("prod")
    secrets = _session_secrets(world)
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert "GetSessionToken for" in said and "MFA session of" in said  # the log is there
    texts = [said, repr(credentials), *(repr(entry) for entry in store._entries.values())]
    for argv in (["list"], ["explain", "--profile", "dev"], ["list", "--output", "json"],
                 ["explain", "--profile", "prod", "--output", "json"],
                 ["login", "--profile", "ops"], ["--debug", "login", "--profile", "dev"],
                 ["--debug", "credential-process", "--profile", "ops"]):
        done = world.rolecall(*argv)
        assert done.returncode == 0, (argv, done.stderr)
        # credential-process prints the role's keys (its purpose), never the session's.
        texts += [done.stdout, done.stderr]
    text = "\n".join(texts)
    for secret in secrets:
        assert secret not in text, "a secret of the MFA session leaked"


def test_a_failing_session_says_why_without_a_secret(world: World) -> None:
    from tests.fake_sts import FakeSts

    world.roles()
    with FakeSts(status=403, code="AccessDenied", message="MultiFactorAuthentication failed") \
            as fake:
        text = (world.aws.root / "roles.toml").read_text()
        endpoint = f'sts_endpoint_url = "{fake.url}"'
        world.aws.roles(text.replace("mfa_session_duration = 43200",
                                     f"mfa_session_duration = 43200\n{endpoint}"))
        done = world.rolecall("credential-process", "--profile", "dev")
    assert done.returncode == 1
    assert "GetSessionToken failed: AccessDenied: MultiFactorAuthentication failed" in done.stderr
    assert "profile 'dev'" in done.stderr
    assert CODE not in done.stderr and "secret" not in done.stderr.lower()
    assert world.calls() == (1, 0, 0)


def test_roles_assumed_from_code_share_one_session(world: World) -> None:
    import rolecall

    options = {"mfa_serial": SERIAL, "mfa_token_command": [sys.executable, str(world.token)],
               "mfa_session_duration": 3600, "source_profile": "default"}
    for arn in (DEV, PROD_ROLE):
        frozen = rolecall.credentials(arn, **options).get_frozen_credentials()
        assert frozen.token
    assert world.calls() == (1, 1, 2)
