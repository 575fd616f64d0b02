"""How the commands talk: one clear line per error on stderr, JSON or text reports on stdout, and
the ``rolecall`` logger's lines on stderr (each problem once).

The library logs a broken roles.toml as a warning; a command that reports the same problem itself
(``rolecall: error: ...``, or ``check``'s lines) should not print it twice. So, without
``--debug``, the command's warnings are held until it ends and printed then, minus those whose
every line the command already reported. With ``--debug`` every record is printed as it happens.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

__all__ = ["CliError", "configure_logging", "emit", "flush_warnings", "print_error", "reported",
           "say"]

_reported: list[str] = []


class CliError(Exception):
    """A problem the user can fix. Commands raise it; the command line's entry point prints its
    text as one line (``rolecall: error: ...``) and exits with ``status`` (1 unless said: ``exec``
    uses 126 and 127 as shells do)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def print_error(message: str, status: int = 1) -> int:
    """Print ``rolecall: error: message`` on stderr (folded to one line); returns ``status``.
    Only the entry point calls it, for a :class:`CliError` or a library error; commands raise.
    A text that starts with "rolecall: " (a credential_process child's own error, passed on by
    botocore) does not get its "rolecall" repeated after the prefix."""
    one_line = _one_line(message)
    if one_line.startswith("rolecall: "):
        one_line = one_line[len("rolecall: "):]
    reported(one_line)
    print(f"rolecall: error: {one_line}", file=sys.stderr)
    return status


def reported(text: str) -> None:
    """Note that the command told the user ``text``, so a warning saying the same is dropped."""
    _reported.append(_one_line(text))


def say(text: str = "") -> None:
    print(text)


def emit(document: dict[str, Any]) -> None:
    """A report in ``--output json``: one JSON object, keys in a stable order."""
    print(json.dumps(document, indent=2))


class _Held(logging.Handler):
    """Holds WARNING and above until :func:`flush_warnings`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# The handler holding this command's warnings ("held"), unless --debug prints them at once.
_handlers: dict[str, _Held] = {}


class _Format(logging.Formatter):
    """``rolecall: debug: ...``: one prefix, whether or not the library's text has its own."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("rolecall: "):
            message = message[len("rolecall: "):]
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return f"rolecall: {record.levelname.lower()}: {message}"


def configure_logging(debug: bool) -> None:
    """The ``rolecall`` logger for a command: DEBUG at once with ``--debug``, else warnings held
    and deduplicated. Only the ``rolecall`` logger: botocore's DEBUG lines carry session tokens."""
    _reported.clear()  # what an earlier command run in this process said is not this one's
    logger = logging.getLogger("rolecall")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = False
    if debug:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(_Format())
        logger.setLevel(logging.DEBUG)
        logger.addHandler(stream)
        _handlers.pop("held", None)
    else:
        held = _handlers["held"] = _Held()
        logger.setLevel(logging.WARNING)
        logger.addHandler(held)


def flush_warnings() -> None:
    """Print the held warnings: each once, none the command already reported itself."""
    held = _handlers.get("held")
    if held is None:
        return
    records, held.records = held.records, []
    said = " ".join(_reported)
    seen: set[str] = set()
    formatter = _Format()
    for record in records:
        text = formatter.format(record)
        problem = getattr(record, "rolecall_problem", None)  # the initializer's warnings
        message = problem if isinstance(problem, str) else record.getMessage()
        lines = [_one_line(line) for line in message.splitlines() if line.strip()]
        details = lines[1:] or lines
        if text in seen or (details and all(line in said for line in details)):
            continue
        seen.add(text)
        print(text, file=sys.stderr)
