"""``init``, ``cache clear``, ``--help`` and ``--version`` (:mod:`rolecall.cli.admin` and the
parser's help texts).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli_helpers import (
    COMMANDS,
    STAGING,
    credential_process,
    one_error_line,
    python,
    run,
)
from tests.conftest import PROD, Aws

# --- init ------------------------------------------------------------------------------------


def test_init_writes_a_starter_that_parses_and_never_overwrites(isolated: Path) -> None:
    from rolecall import config

    path = isolated / "deeper" / "roles.toml"
    env = {**os.environ, "ROLECALL_CONFIG": str(path)}
    done = run(env, "init")
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stdout and "rolecall check" in done.stdout
    text = path.read_text()
    assert text.startswith("#") and "[profiles.prod]" in text
    assert config.parse(text, str(path)).profiles == {}
    assert run(env, "check").stdout == f"{path}: OK, 0 profile(s)\n"
    again = run(env, "init")
    line = one_error_line(again)
    assert str(path) in line and "exists" in line
    assert path.read_text() == text


def test_init_default_location(isolated: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ROLECALL_CONFIG"}
    done = run(env, "init")
    assert done.returncode == 0, done.stderr
    assert (Path(env["XDG_CONFIG_HOME"]) / "rolecall" / "roles.toml").is_file()


# --- cache clear -----------------------------------------------------------------------------


@pytest.mark.slow
def test_cache_clear_one_profile_then_all(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    prod_first = credential_process(aws.env, "prod", runner=run)
    staging_first = credential_process(aws.env, "staging", runner=run)
    assert aws.assume_role_calls() == 2
    folder = aws.root / "cache"
    assert len(list(folder.glob("*.json"))) == 2

    done = run(aws.env, "cache", "clear", "--profile", "prod")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"removed 1 cache entry from {folder}\n"
    assert credential_process(aws.env, "staging", runner=run) == staging_first
    assert aws.assume_role_calls() == 2
    prod_second = credential_process(aws.env, "prod", runner=run)
    assert prod_second != prod_first
    assert aws.assume_role_calls() == 3

    done = run(aws.env, "cache", "clear")
    assert done.stdout == f"removed 2 cache entries from {folder}\n"
    assert list(folder.glob("*.json")) == [] and list(folder.glob("*.index")) == []
    assert credential_process(aws.env, "prod", runner=run) != prod_second
    assert credential_process(aws.env, "staging", runner=run) != staging_first
    assert aws.assume_role_calls() == 5
    nothing = run({**aws.env, "ROLECALL_CACHE_DIR": str(aws.root / "none")}, "cache", "clear")
    assert nothing.returncode == 0 and nothing.stdout.startswith("removed 0 cache entries")


# --- help and version ------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    pytest.param([]),
    *([name] for name in COMMANDS),
    pytest.param(["cache", "clear"]),
], ids=lambda argv: " ".join(argv) or "rolecall")
def test_help_has_examples(isolated: Path, argv: list[str]) -> None:
    done = run(dict(os.environ), *argv, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: rolecall")
    assert "examples:" in done.stdout


def test_every_command_is_in_the_top_level_help(isolated: Path) -> None:
    done = run(dict(os.environ), "--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\b", done.stdout, re.M), name


def test_version(isolated: Path) -> None:
    from rolecall import __version__

    done = run(dict(os.environ), "--version")
    assert (done.returncode, done.stdout) == (0, f"rolecall {__version__}\n")
    module = python(dict(os.environ), "-m", "rolecall", "--version")
    assert (module.returncode, module.stdout) == (0, f"rolecall {__version__}\n")
