"""Add sections to the AWS config file without disturbing anything else in it.

Every other line and comment is kept byte for byte (line endings included); the file is replaced
atomically after a backup; a symbolic link is followed, so the file it points to is the one
updated; an existing section is left alone unless ``force``. The whole read-modify-write runs
under a lock file next to the config (``.NAME.rolecall-lock``, removed afterwards), so two runs
at once both land: neither overwrites the other's section.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rolecall import filelock

__all__ = ["Result", "add_sections"]

_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$")


@dataclass
class Result:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    backup: Path | None = None


def _spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Section name -> (header line, end line) of each section's body."""
    spans: dict[str, tuple[int, int]] = {}
    current, start = None, 0
    for index, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match:
            if current is not None:
                spans.setdefault(current, (start, index))
            current, start = " ".join(match.group(1).split()), index
    if current is not None:
        spans.setdefault(current, (start, len(lines)))
    return spans


def _own_end(lines: list[str], start: int, end: int) -> int:
    """Where a section's own lines end: blank and comment lines just before the next header
    belong to that next section."""
    while end > start + 1 and (not lines[end - 1].strip() or
                               lines[end - 1].lstrip().startswith(("#", ";"))):
        end -= 1
    return end


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d%H%M%S")
    candidate = path.with_name(f"{path.name}.rolecall-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.rolecall-{stamp}-{counter}")
        counter += 1
    return candidate


def add_sections(path: Path, sections: dict[str, str], force: bool) -> Result:
    """Add ``sections`` (name -> text with its header, LF endings) to the config at ``path``."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}.rolecall-lock")
    held = filelock.acquire(lock)  # no timeout: waits for the other run
    if held is None:  # pragma: no cover - only with a zero timeout
        raise filelock.LockTimeout(str(lock))
    try:
        return _add_locked(target, sections, force)
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # whoever waits on it notices and locks a new one (see filelock)
        filelock.release(held)


def _add_locked(target: Path, sections: dict[str, str], force: bool) -> Result:
    result = Result()
    text = ""
    if target.exists():
        with target.open(newline="") as handle:
            text = handle.read()
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    for name, body in sections.items():
        new = [line.replace("\n", newline) for line in body.splitlines(keepends=True)]
        spans = _spans(lines)
        if name in spans:
            if not force:
                result.kept.append(f"[{name}]")
                continue
            start, end = spans[name]
            lines[start:_own_end(lines, start, end)] = new
            result.replaced.append(f"[{name}]")
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += newline
            if lines and lines[-1].strip():
                lines.append(newline)
            lines.extend(new)
            result.added.append(f"[{name}]")
    new_text = "".join(lines)
    if new_text == text:
        return result
    if target.exists():
        result.backup = _backup_path(target)
        shutil.copy2(target, result.backup)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(new_text)
        if target.exists():
            shutil.copymode(target, temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return result
