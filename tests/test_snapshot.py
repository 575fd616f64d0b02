"""Unit tests for the roles.toml snapshot (read by rolecall._files.read_snapshot, written by
rolecall._private.save_snapshot): the validated roles.toml kept in the cache folder for the next
process, used only while the file's identity and rolecall's version are those it was made from,
and never when it is not private. In-process; the cost it saves across processes is tested in
test_transparency.py."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from rolecall import __version__, _files, _private, config
from tests.conftest import PROD


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no snapshot remembered by this process."""
    monkeypatch.setattr(_files, "_snapshots", {})


def saved(isolated: Path, key: list[int] | None = None) -> tuple[str, list[int], Path]:
    path = isolated / "roles.toml"
    path.write_text(PROD)
    identity = key or _files.identity(path.stat())
    _private.save_snapshot(str(path), identity, {"prod": {"name": "prod", "role_arn": "x"}}, {}, [])
    (snapshot,) = (isolated / "cache").glob("config-*.snapshot")
    return str(path), identity, snapshot


def test_what_is_saved_is_read_back(isolated: Path) -> None:
    path, key, snapshot = saved(isolated)
    doc = _files.read_snapshot(path, key)
    assert doc is not None
    assert doc["profiles"] == {"prod": {"name": "prod", "role_arn": "x"}}
    assert (doc["rolecall"], doc["path"], doc["identity"]) == (__version__, path, key)
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert stat.S_IMODE(snapshot.parent.stat().st_mode) == 0o700


def test_the_identity_changes_with_an_edit(isolated: Path) -> None:
    path = isolated / "roles.toml"
    path.write_text(PROD)
    before = _files.identity(path.stat())
    path.write_text(PROD.replace("eu-west-1", "eu-west-2"))  # same size
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _files.identity(path.stat()) != before


def test_another_identity_is_a_miss(isolated: Path) -> None:
    path, key, _ = saved(isolated)
    assert _files.read_snapshot(path, [key[0] + 1, *key[1:]]) is None


@pytest.mark.parametrize("change", [
    {"rolecall": "0.0.0-other"},
    {"format": 99},
    {"path": "/elsewhere/roles.toml"},
    {"profiles": []},
    {"problems": None},
])
def test_a_snapshot_of_another_version_or_shape_is_a_miss(isolated: Path,
                                                          change: dict[str, Any]) -> None:
    path, key, snapshot = saved(isolated)
    doc = json.loads(snapshot.read_text())
    doc.update(change)
    snapshot.write_text(json.dumps(doc))
    assert _files.read_snapshot(path, key) is None


def test_a_corrupt_snapshot_is_a_miss(isolated: Path) -> None:
    path, key, snapshot = saved(isolated)
    snapshot.write_text('{"format": 1, "profiles": {')
    assert _files.read_snapshot(path, key) is None


def test_a_snapshot_others_can_read_or_write_is_never_trusted(isolated: Path) -> None:
    path, key, snapshot = saved(isolated)
    snapshot.chmod(0o644)
    assert _files.read_snapshot(path, key) is None


def test_a_snapshot_is_read_once_per_process(isolated: Path) -> None:
    path, key, snapshot = saved(isolated)
    first = _files.read_snapshot(path, key)
    snapshot.unlink()
    assert _files.read_snapshot(path, key) is first


def test_load_answers_from_the_snapshot_without_parsing(
        isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rolecall import _validate

    path = isolated / "roles.toml"
    path.write_text(PROD)
    first = config.load(path)
    assert first is not None
    monkeypatch.setattr(config, "_loaded", {})  # as a new process: nothing in memory ...
    monkeypatch.setattr(_files, "_snapshots", {})

    def fail(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(_validate, "tolerant", fail)  # ... and no parsing allowed
    again = config.load(path)
    assert again is not None and again is not first
    assert again.profiles == first.profiles


def test_no_snapshot_is_written_into_a_folder_that_is_not_private(isolated: Path) -> None:
    folder = isolated / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = isolated / "roles.toml"
    path.write_text(PROD)
    _private.save_snapshot(str(path), _files.identity(path.stat()), {}, {}, [])
    found = list(folder.glob("config-*.snapshot"))
    # Either the folder was made private first, or nothing was written: never a shared snapshot.
    assert not found or stat.S_IMODE(folder.stat().st_mode) == 0o700
