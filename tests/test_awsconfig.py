"""Unit tests for rolecall.cli.awsconfig: adding sections to the AWS config file without
disturbing anything else in it (comments and line endings byte for byte, a backup before every
change, links followed, existing sections kept unless forced, concurrent runs both land).

In-process on files in the temporary folder; the concurrency test uses real processes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall.cli import awsconfig

PROD = "[profile prod]\ncredential_process = rolecall credential-process --profile prod\n"
AUDIT = "[profile audit]\ncredential_process = rolecall credential-process --profile audit\n"

EXISTING = """\
# my AWS config; keep this comment
[default]
region = eu-west-1   ; an inline comment
output = json

; a comment that belongs to the next section
[profile dev]
region = us-east-1
"""


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.rolecall-*"))


def test_a_new_file_is_created_with_the_section_and_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "aws" / "config"  # the folder does not exist yet either
    result = awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    assert path.read_text() == PROD
    assert (result.added, result.replaced, result.kept, result.backup) == \
        (["[profile prod]"], [], [], None)


def test_sections_are_appended_and_every_other_byte_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(EXISTING)
    result = awsconfig.add_sections(path, {"profile prod": PROD, "profile audit": AUDIT},
                                    force=False)
    assert path.read_text() == EXISTING + "\n" + PROD + "\n" + AUDIT
    assert result.added == ["[profile prod]", "[profile audit]"]
    assert result.backup is not None and result.backup.read_text() == EXISTING
    assert backups(path) == [result.backup]


def test_a_file_without_a_final_newline_gets_one_before_the_new_section(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[default]\nregion = eu-west-1")
    awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    assert path.read_text() == "[default]\nregion = eu-west-1\n\n" + PROD


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = tmp_path / "config"
    original = EXISTING.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    data = path.read_bytes()
    assert data.startswith(original)
    assert data == original + b"\r\n" + PROD.replace("\n", "\r\n").encode()
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare LF anywhere


def test_an_existing_section_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "config"
    mine = "[profile prod]\nregion = ap-south-1\n"
    path.write_text(mine)
    result = awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    assert path.read_text() == mine
    assert (result.added, result.kept, result.backup) == ([], ["[profile prod]"], None)
    assert backups(path) == []  # nothing changed: no backup either


def test_force_replaces_only_that_sections_own_lines(tmp_path: Path) -> None:
    path = tmp_path / "config"
    text = ("[profile prod]\nregion = ap-south-1\n\n; about dev\n[profile dev]\n"
            "region = us-east-1\n")
    path.write_text(text)
    result = awsconfig.add_sections(path, {"profile prod": PROD}, force=True)
    # The blank line and the comment before [profile dev] belong to dev: kept in place.
    assert path.read_text() == PROD + "\n; about dev\n[profile dev]\nregion = us-east-1\n"
    assert result.replaced == ["[profile prod]"]
    assert result.backup is not None and result.backup.read_text() == text


def test_headers_are_matched_as_the_aws_cli_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "config"
    text = "[  profile   prod ]  # spaced out\nregion = x\n"
    path.write_text(text)
    result = awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    assert result.kept == ["[profile prod]"] and path.read_text() == text


def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "aws-config"
    real.parent.mkdir()
    real.write_text(EXISTING)
    link = tmp_path / "config"
    link.symlink_to(real)
    result = awsconfig.add_sections(link, {"profile prod": PROD}, force=False)
    assert link.is_symlink()
    assert real.read_text() == EXISTING + "\n" + PROD
    assert result.backup is not None and result.backup.parent == real.parent


def test_the_files_mode_is_kept_and_no_temporary_or_lock_file_is_left(tmp_path: Path) -> None:
    (tmp_path / "aws").mkdir()
    path = tmp_path / "aws" / "config"
    path.write_text(EXISTING)
    path.chmod(0o640)
    awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    left = sorted(p.name for p in path.parent.iterdir())
    assert [name for name in left if not name.startswith("config.rolecall-")] == ["config"]


def test_each_change_gets_its_own_backup(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(EXISTING)
    first = awsconfig.add_sections(path, {"profile prod": PROD}, force=False).backup
    second = awsconfig.add_sections(path, {"profile audit": AUDIT}, force=False).backup
    assert first is not None and second is not None and first != second
    assert first.read_text() == EXISTING
    assert second.read_text() == EXISTING + "\n" + PROD


WRITER = """
import sys, time
from pathlib import Path
from rolecall.cli import awsconfig
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
for round in range(10):
    section = f"profile {name}-{round}"
    awsconfig.add_sections(path, {section: f"[{section}]\\nregion = x\\n"}, force=False)
"""


def test_runs_at_the_same_time_all_land(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(EXISTING)
    go = tmp_path / "go"
    names = ["a", "b", "c", "d"]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(go)],
                              env={**os.environ, "ROLECALL_DISABLE": "1"}) for name in names]
    time.sleep(0.5)  # every writer imported and waiting
    go.touch()
    assert [proc.wait(60) for proc in procs] == [0] * len(names)
    text = path.read_text()
    assert text.startswith(EXISTING)
    written = sorted(line for line in text.splitlines() if line.startswith("[profile "))
    assert written == sorted(["[profile dev]"] + [f"[profile {name}-{round}]" for name in names
                                                  for round in range(10)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_it_cannot_write_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "config"
    path.write_text(EXISTING)
    folder.chmod(0o500)
    try:
        with pytest.raises(OSError):  # the command reports it; the file is untouched
            awsconfig.add_sections(path, {"profile prod": PROD}, force=False)
    finally:
        folder.chmod(0o700)
    assert path.read_text() == EXISTING
