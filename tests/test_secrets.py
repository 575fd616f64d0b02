"""Secrets — secret keys, session tokens, MFA codes — never reach rolecall's logs, exception
texts, reprs, or the output of list, explain, whoami and check. Canaries are planted in every
place a secret comes from and searched for in everything rolecall says."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import CredentialRetrievalError

import rolecall
from rolecall import config
from rolecall.cache import store
from tests.conftest import STATIC_KEY_ID, Aws, credentials_of
from tests.fake_sts import FakeSts

SOURCE_SECRET = "CANARYsourceSECRETcanarySOURCEsecret0001"
MFA_CODE = "864209"
ROLECALL = str(Path(sys.executable).parent / "rolecall")


@pytest.fixture
def planted(aws: Aws) -> Aws:
    aws.credentials(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                    f"aws_secret_access_key = {SOURCE_SECRET}\n")
    token = aws.root / "token.py"
    token.write_text(f"print('your code is {MFA_CODE}')\n")
    aws.roles(f"""
[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
region = "eu-west-1"
mfa_serial = "arn:aws:iam::111122223333:mfa/alice"
mfa_token_command = ["{sys.executable}", "{token}"]

[profiles.child]
role_arn = "arn:aws:iam::444455556666:role/Child"
source_profile = "prod"
""")
    return aws


def canaries(aws: Aws, *profiles: str) -> list[str]:
    """The planted secrets, plus every role secret and token rolecall handed out."""
    found = [SOURCE_SECRET, MFA_CODE]
    for profile in profiles:
        done = subprocess.run([ROLECALL, "credential-process", "--profile", profile],
                              env=aws.env, capture_output=True, text=True, timeout=60,
                              check=True)
        doc = json.loads(done.stdout)
        found += [doc["SecretAccessKey"], doc["SessionToken"]]
    return found


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret reached {where}"


def test_debug_logs_carry_no_secret(planted: Aws, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="rolecall"):
        for name in ("prod", "child"):
            credentials = credentials_of(boto3.Session(profile_name=name))
            credentials.get_frozen_credentials()
        store.forget_memory()
        credentials_of(boto3.Session(profile_name="child")).get_frozen_credentials()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("rolecall"))
    assert "cache miss" in text and "disk cache hit" in text  # the log is really there
    assert_clean(text, canaries(planted, "prod", "child"), "the rolecall DEBUG log")


def test_reprs_carry_no_secret(planted: Aws) -> None:
    credentials = credentials_of(boto3.Session(profile_name="child"))
    frozen = credentials.get_frozen_credentials()
    assert frozen.secret_key and frozen.token
    loaded = config.load()
    assert loaded is not None
    texts = [repr(credentials), repr(rolecall.RolecallProvider("child")), repr(loaded),
             *(repr(p) for p in loaded.profiles.values()),
             *(repr(e) for e in store._entries.values())]
    assert_clean("\n".join(texts), [*canaries(planted), frozen.secret_key, frozen.token],
                 "a repr")


@pytest.mark.slow
def test_cli_reports_carry_no_secret(planted: Aws) -> None:
    secrets = canaries(planted, "prod", "child")
    outputs = []
    for argv in (["list"], ["explain", "--profile", "child"], ["explain"],
                 ["whoami", "--profile", "child"], ["check"]):
        done = subprocess.run([ROLECALL, *argv], env=planted.env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, (argv, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert "assumed-role/Child/" in outputs[3]  # whoami really resolved the role
    assert_clean("\n".join(outputs), secrets, "the output of list/explain/whoami/check")


def test_error_texts_carry_no_secret(planted: Aws) -> None:
    secrets = canaries(planted)
    texts = []
    with FakeSts(status=403, code="AccessDenied", message="not authorized") as fake:
        planted.roles((planted.root / "roles.toml").read_text()
                      .replace('region = "eu-west-1"', f'sts_endpoint_url = "{fake.url}"'))
        with pytest.raises(CredentialRetrievalError) as caught:
            credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    texts += [str(caught.value), repr(caught.value), str(caught.value.__cause__)]
    (planted.root / "token.py").write_text(f"print('{MFA_CODE[:3]} no code here')\n")
    with pytest.raises(CredentialRetrievalError) as caught:
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    texts += [str(caught.value), repr(caught.value)]
    done = subprocess.run([ROLECALL, "credential-process", "--profile", "prod"],
                          env=planted.env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    texts.append(done.stderr)
    assert "not authorized" in texts[0] and "no 6-digit code" in texts[3]
    assert_clean("\n".join(texts), secrets, "an error text")


@pytest.mark.slow
def test_botocore_debug_logs_of_rolecalls_sts_calls_carry_no_secret(
        planted: Aws, caplog: pytest.LogCaptureFixture) -> None:
    """With the root logger at DEBUG, botocore logs request and response bodies: rolecall's own
    STS calls (the MFA code going out, the role's keys coming back) are kept out of them."""
    with caplog.at_level(logging.DEBUG):
        for name in ("prod", "child"):
            credentials_of(boto3.Session(profile_name=name)).get_frozen_credentials()
        fetching = len(caplog.records)
        boto3.Session(profile_name="child").client("sts").get_caller_identity()
    records = [r for r in caplog.records[:fetching] if r.name.startswith("botocore")]
    said = [r.getMessage() for r in records]
    assert any(text.startswith("Sending http request: <redacted by rolecall") for text in said)
    # The program's own calls are logged as ever (botocore's business, see README: Secrets).
    assert any("GetCallerIdentity" in r.getMessage() for r in caplog.records[fetching:])
    secrets = canaries(planted, "prod", "child")
    leaked = sorted({r.name for r in records for s in secrets if s in r.getMessage()})
    assert leaked == [], f"secrets in the DEBUG log of {leaked}"
