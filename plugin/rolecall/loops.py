"""credential_process loops between processes: which profiles this process's ancestors are
fetching right now.

A profile whose source runs ``rolecall credential-process`` for a profile being fetched (directly
or through other profiles) would wait forever for the lock its own ancestor holds. While a process
fetches, it lists ``pid:profile`` in ``ROLECALL_PROCESS_CHAIN``, which its children inherit; a
child asked for a listed profile waits for its lock at most :data:`WAIT` seconds, then reports the
loop. Entries of this very process are other threads' fetches, never a loop. Stdlib only.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WAIT", "announced", "in_chain", "message"]

VARIABLE = "ROLECALL_PROCESS_CHAIN"
WAIT = 3.0  # seconds a profile that an ancestor is fetching may wait for its lock

_fetching: dict[str, int] = {}
_fetching_lock = threading.Lock()
_stack: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("rolecall_fetching",
                                                                         default=())


def _foreign() -> list[str]:
    """The chain's entries that ancestor processes made, outermost first."""
    own = str(os.getpid())
    return [item for item in os.environ.get(VARIABLE, "").split(",")
            if item and item.rpartition(":")[0] != own]


def in_chain(name: str) -> bool:
    """Whether an ancestor process is fetching profile ``name`` right now."""
    return name in (item.rpartition(":")[2] for item in _foreign())


def message(name: str) -> str:
    """What to tell the user who asked for profile ``name`` inside a loop."""
    names = [item.rpartition(":")[2] for item in _foreign()] + list(_stack.get())
    return (f"credential_process loop: {' -> '.join([*names, name])} (a source of profile "
            f"{names[-1]!r} runs `rolecall credential-process` for profile {name!r} while it "
            "is being fetched; give it another source)")


@contextmanager
def announced(name: str) -> Iterator[None]:
    """While ``name`` is fetched, child processes see it in ``ROLECALL_PROCESS_CHAIN``."""
    with _fetching_lock:
        _fetching[name] = _fetching.get(name, 0) + 1
        _publish()
    token = _stack.set((*_stack.get(), name))
    try:
        yield
    finally:
        _stack.reset(token)
        with _fetching_lock:
            _fetching[name] -= 1
            if not _fetching[name]:
                del _fetching[name]
            _publish()


def _publish() -> None:
    own = [f"{os.getpid()}:{name}" for name in _fetching]
    value = ",".join([*_foreign(), *own])
    if value:
        os.environ[VARIABLE] = value
    else:
        os.environ.pop(VARIABLE, None)
