"""Loops and limits: hanging or babbling MFA commands, a 1 000-profile roles.toml, a cache folder
that belongs to someone else."""

from __future__ import annotations

import logging
import os
import sys
import time

import boto3
import pytest
from botocore.exceptions import CredentialRetrievalError

from rolecall import config, mfa
from tests.conftest import PROD, Aws, credentials_of

# The shared prod profile, with an MFA device.
PROD_MFA = PROD + 'mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n'


def test_a_hanging_mfa_command_is_stopped(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mfa, "COMMAND_TIMEOUT", 1.0)
    aws.roles(PROD_MFA + f'mfa_token_command = ["{sys.executable}", "-c", '
                     '"import time; time.sleep(600)"]\n')
    started = time.monotonic()
    with pytest.raises(CredentialRetrievalError, match=r"'prod'.*did not finish within 1 second"):
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()
    assert time.monotonic() - started < 10
    assert aws.assume_role_calls() == 0


@pytest.mark.parametrize("output", ["", "garbage \x00\xff", "1234567 and 12345", "code: 12 34 56"])
def test_mfa_command_garbage_is_refused(aws: Aws, output: str) -> None:
    script = aws.root / "token.py"
    script.write_text(f"import sys; sys.stdout.write({output!r})\n")
    aws.roles(PROD_MFA + f'mfa_token_command = ["{sys.executable}", "{script}"]\n')
    with pytest.raises(CredentialRetrievalError, match="no 6-digit code"):
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()


def test_failing_mfa_command_is_reported(aws: Aws) -> None:
    aws.roles(PROD_MFA + f'mfa_token_command = ["{sys.executable}", "-c", "raise SystemExit(3)"]\n')
    with pytest.raises(CredentialRetrievalError, match="exited with status 3"):
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()


def test_missing_mfa_command_is_reported(aws: Aws) -> None:
    aws.roles(PROD_MFA + 'mfa_token_command = "/nonexistent/token-tool --now"\n')
    with pytest.raises(CredentialRetrievalError, match="could not run"):
        credentials_of(boto3.Session(profile_name="prod")).get_frozen_credentials()


@pytest.mark.slow
def test_a_thousand_profiles(aws: Aws) -> None:
    """1 000 profiles in chains of ten: the file loads and the deepest link resolves."""
    lines = []
    for i in range(1000):
        source = "default" if i % 10 == 0 else f"p{i - 1}"
        lines.append(f'[profiles.p{i}]\nrole_arn = "arn:aws:iam::111122223333:role/R{i}"\n'
                     f'source_profile = "{source}"\n')
    path = aws.roles("\n".join(lines))
    loaded = config.load(path)
    assert loaded is not None and len(loaded.profiles) == 1000
    arn = boto3.Session(profile_name="p999").client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/R999/" in arn
    assert aws.assume_role_calls() == 10  # p990 ... p999


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_foreign_cache_folder_is_not_used(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    aws.roles(PROD_MFA.replace('mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n', ""))
    folder = aws.root / "cache"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with caplog.at_level(logging.WARNING, logger="rolecall"):
        arn = boto3.Session(profile_name="prod").client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/Deploy/" in arn  # credentials still work, from memory
    assert list(folder.iterdir()) == []
    assert "not caching on disk" in caplog.text and "owned by uid 65534" in caplog.text
