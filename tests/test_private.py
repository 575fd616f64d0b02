"""Tests of :mod:`rolecall._private`: the private folder (made or tightened to 0700, a foreign or
relative one refused, symbolic links followed only to a private folder of ours), atomic 0600 JSON
writes, and the one warning per problem."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolecall import _private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave new files and folders open to everyone."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_missing_folder_is_made_0700_with_its_parents(isolated: Path, loose_umask: None) -> None:
    folder = isolated / "a" / "b" / "cache"
    assert _private.private_folder(str(folder)) == (True, None)
    assert folder.is_dir() and mode(folder) == 0o700


def test_without_create_a_missing_folder_is_just_unusable(isolated: Path) -> None:
    folder = isolated / "cache"
    assert _private.private_folder(str(folder), create=False) == (False, None)
    assert not folder.exists()


def test_a_relative_path_is_refused(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(isolated)
    usable, note = _private.private_folder("cache")
    assert not usable
    assert note == "cache folder 'cache' is a relative path (ROLECALL_CACHE_DIR must be " \
                   "absolute); not caching on disk"
    assert not (isolated / "cache").exists()


def test_a_loose_folder_of_ours_is_tightened(isolated: Path) -> None:
    folder = isolated / "cache"
    folder.mkdir()
    folder.chmod(0o755)
    assert _private.private_folder(str(folder)) == (
        True, f"cache folder {folder} was mode 0755 lets others in; tightened to 0700")
    assert mode(folder) == 0o700
    assert _private.private_folder(str(folder)) == (True, None)  # fixed once, quiet after


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_someone_else_is_refused_and_left_alone(isolated: Path) -> None:
    folder = isolated / "theirs"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    os.chown(folder, 1000, 1000)
    usable, note = _private.private_folder(str(folder))
    assert not usable
    assert note == f"cache folder {folder} is owned by uid 1000, not 0; not caching on disk"
    assert mode(folder) == 0o755 and folder.stat().st_uid == 1000


def test_symbolic_links_lead_only_to_a_private_folder_of_ours(isolated: Path) -> None:
    private, loose, file = isolated / "private", isolated / "loose", isolated / "file"
    private.mkdir(mode=0o700)
    loose.mkdir()
    loose.chmod(0o755)
    file.write_text("")
    file.chmod(0o600)
    for target in (private, loose, file):
        (isolated / f"to-{target.name}").symlink_to(target)
    assert _private.private_folder(str(isolated / "to-private")) == (True, None)
    assert _private.private_folder(str(isolated / "to-loose")) == (
        False, f"cache folder {isolated / 'to-loose'} is a symbolic link to a folder mode 0755 "
               "lets others in; not caching on disk")
    assert mode(loose) == 0o755  # never chmodded through a link
    assert _private.private_folder(str(isolated / "to-file")) == (
        False, f"cache folder {isolated / 'to-file'} is a symbolic link to a folder not a "
               "folder; not caching on disk")


def test_a_file_where_the_folder_should_be_is_unusable(isolated: Path) -> None:
    path = isolated / "cache"
    path.write_text("")
    assert _private.private_folder(str(path)) == (
        False, f"cache folder {path} unusable (Not a directory); not caching on disk")


def test_write_json_writes_0600_atomically(isolated: Path, loose_umask: None) -> None:
    folder = isolated / "cache"
    folder.mkdir(mode=0o700)
    old = folder / "entry.json"
    old.write_text("{}")
    old.chmod(0o644)
    _private.write_json(str(folder), "entry.json", {"key": "value", "n": [1, 2]})
    assert json.loads(old.read_text()) == {"key": "value", "n": [1, 2]}
    assert mode(old) == 0o600  # a new file replaced the loose one
    assert sorted(p.name for p in folder.iterdir()) == ["entry.json"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(isolated: Path) -> None:
    folder = isolated / "cache"
    folder.mkdir(mode=0o700)
    (folder / "entry.json").write_text('{"old": true}')
    with pytest.raises(TypeError):
        _private.write_json(str(folder), "entry.json", {"not json": object()})
    assert (folder / "entry.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in folder.iterdir()) == ["entry.json"]


def test_warn_once_warns_once_per_message(caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_private, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="rolecall"):
        for _ in range(3):
            _private.warn_once("cache folder /x unusable")
        _private.warn_once("another problem")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("rolecall", logging.WARNING, "rolecall: cache folder /x unusable"),
        ("rolecall", logging.WARNING, "rolecall: another problem"),
    ]
