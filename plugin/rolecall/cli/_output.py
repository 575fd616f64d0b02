"""How the commands talk: one clear line per error on stderr, and the error types they report."""

from __future__ import annotations

import sys

__all__ = ["CliError", "fail", "say"]


class CliError(Exception):
    """A problem the user can fix; its text is the whole message."""


def fail(message: str) -> int:
    """Print ``rolecall: error: message`` on stderr (folded to one line); exit status 1."""
    one_line = " ".join(str(message).split())
    print(f"rolecall: error: {one_line}", file=sys.stderr)
    return 1


def say(text: str = "") -> None:
    print(text)
