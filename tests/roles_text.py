"""roles.toml text and parsing helpers shared by the config and validation tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rolecall import config
from rolecall.config import Config, ConfigError, Problem
from tests.conftest import ROLE

OTHER_ROLE = "arn:aws:iam::444455556666:role/Audit"
FILE = "roles.toml"

__all__ = ["FILE", "FULL_PROFILE", "OTHER_ROLE", "ROLE", "error", "only_problem", "parse",
           "profile_toml", "shown", "write"]

def parse(text: str) -> Config:
    return config.parse(text, path=FILE)


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config.parse(text, path=FILE)
    return info.value


def profile_toml(body: str = "", name: str = "prod", *, source: str | None = "default",
                 role: str | None = ROLE) -> str:
    """One [profiles.NAME] table with a valid role_arn and source_profile, plus ``body``."""
    lines = [f"[profiles.{name}]"]
    if role is not None:
        lines.append(f'role_arn = "{role}"')
    if source is not None:
        lines.append(f'source_profile = "{source}"')
    if body:
        lines.append(body)
    return "\n".join(lines) + "\n"


def shown(value: object) -> str:
    """How a message shows a value: its repr, shortened to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def only_problem(text: str) -> Problem:
    err = error(text)
    assert len(err.problems) == 1, str(err)
    return err.problems[0]


def write(path: Path, text: str | bytes, bump: int = 0) -> Path:
    """Write ``path`` and (with ``bump``) move its mtime forward so no timestamp granularity hides
    the change from load()'s cache."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    if bump:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))
    return path


FULL_PROFILE = """\
[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
role_session_name = "alice"
duration_seconds = 3600
external_id = "build-7f3a"
mfa_serial = "arn:aws:iam::999999999999:mfa/alice"
mfa_token_command = ["ykman", "oath", "accounts", "code", "--single", "aws"]
policy = '{"Version": "2012-10-17", "Statement": []}'
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/Extra"]
tags = { team = "infra", cost-center = "42", app = "web" }
transitive_tag_keys = ["team"]
source_identity = "alice"
region = "us-east-1"
sts_endpoint_url = "https://sts.us-east-1.amazonaws.com"
cache = false
"""
