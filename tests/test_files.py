"""rolecall computes its XDG folders without importing platformdirs (it is slow to import, and the
credential-process hit path needs them); they must be exactly platformdirs' folders."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from rolecall import _files, config


@pytest.mark.parametrize("xdg", ["set", "unset", "blank"])
def test_folders_match_platformdirs(xdg: str, isolated: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLECALL_CONFIG")
    monkeypatch.delenv("ROLECALL_CACHE_DIR")
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        if xdg == "unset":
            monkeypatch.delenv(variable)
        elif xdg == "blank":
            monkeypatch.setenv(variable, "  ")
    assert _files.config_file() == os.path.join(
        platformdirs.user_config_dir("rolecall", appauthor=False), "roles.toml")
    assert _files.cache_dir() == platformdirs.user_cache_dir("rolecall", appauthor=False)
    assert config.locate() == config.default_path()


def test_overrides_win(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_CONFIG", "~/elsewhere/roles.toml")
    monkeypatch.setenv("ROLECALL_CACHE_DIR", "~/cache-here")
    home = os.environ["HOME"]
    assert _files.config_file() == f"{home}/elsewhere/roles.toml"
    assert _files.cache_dir() == f"{home}/cache-here"
