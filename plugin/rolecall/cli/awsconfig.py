"""Add sections to the AWS config file without disturbing anything else in it.

Every other line and comment is kept byte for byte; the file is replaced atomically, after a
backup; an existing section is left alone unless ``force``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Result", "add_sections"]

_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$")


@dataclass
class Result:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    backup: Path | None = None


def _spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Section name -> (first line, end line) of the section's body, header included."""
    spans: dict[str, tuple[int, int]] = {}
    current, start = None, 0
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            if current is not None:
                spans.setdefault(current, (start, index))
            current, start = " ".join(match.group(1).split()), index
    if current is not None:
        spans.setdefault(current, (start, len(lines)))
    return spans


def add_sections(path: Path, sections: dict[str, str], force: bool) -> Result:
    """Add ``sections`` (name -> text with its header) to the config file at ``path``."""
    result = Result()
    text = path.read_text() if path.exists() else ""
    lines = text.splitlines(keepends=True)
    for name, body in sections.items():
        spans = _spans(lines)
        if name in spans:
            if not force:
                result.kept.append(f"[{name}]")
                continue
            start, end = spans[name]
            # Keep the blank lines and comments that lead into the next section.
            while end > start + 1 and not lines[end - 1].strip():
                end -= 1
            lines[start:end] = body.splitlines(keepends=True)
            result.replaced.append(f"[{name}]")
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            if lines and lines[-1].strip():
                lines.append("\n")
            lines.extend(body.splitlines(keepends=True))
            result.added.append(f"[{name}]")
    new_text = "".join(lines)
    if new_text == text:
        return result
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        result.backup = path.with_name(f"{path.name}.rolecall-{time.strftime('%Y%m%d%H%M%S')}")
        shutil.copy2(path, result.backup)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(new_text)
        if path.exists():
            shutil.copymode(path, temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return result
