"""What ``rolecall.pth`` imports at interpreter start: wait for botocore, then register.

When botocore is imported, rolecall's initializer is registered and its Session layer
(:mod:`rolecall.initializer` and :mod:`rolecall._files`) imported with it: ``Session()`` itself
then imports nothing, nor does resolving a profile rolecall does not manage once roles.toml's
snapshot is current.

Frozen interface: the .pth line is ``import rolecall._bootstrap`` and the PEP 829 ``rolecall.start``
entry point is ``rolecall._bootstrap:activate``; both must keep working in every later version.

Rules for this module (it runs in every Python process of the environment, pip's included):
stdlib only until botocore is imported (then rolecall's Session layer), never imports botocore,
never raises, reads no file at start, idempotent (CPython runs .pth lines twice per start in a
virtual environment).
"""

import os
import sys

# Only names that interpreter start has already imported: `typing` or `types` would cost
# milliseconds in every Python process of the environment.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

_registered = False


def activate() -> None:
    """Start-up entry point: arm the hook unless ``ROLECALL_DISABLE`` is set. Never raises."""
    try:
        if not disabled():
            install()
    except Exception:  # noqa: BLE001 - a start-up hook must never print a traceback
        pass


def install() -> None:
    """Register with botocore now if it is imported, else when it is first imported."""
    botocore = sys.modules.get("botocore")
    if botocore is not None and hasattr(botocore, "register_initializer"):
        _register(botocore)
    elif not any(isinstance(finder, _BotocoreFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BotocoreFinder())


def uninstall() -> None:
    """Disarm the hook and unregister the initializer."""
    global _registered
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _BotocoreFinder)]
    botocore = sys.modules.get("botocore")
    if _registered and botocore is not None:
        try:
            botocore.unregister_initializer(_initialize)
        except (AttributeError, ValueError):
            pass
    _registered = False


def disabled() -> bool:
    """``ROLECALL_DISABLE`` switches the plugin off (any value but empty, 0, false, no)."""
    return os.environ.get("ROLECALL_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def _register(botocore: "ModuleType") -> None:
    global _registered
    if not _registered:
        _load_session_layer()
        botocore.register_initializer(_initialize)
        _registered = True


def _load_session_layer() -> None:
    """Import the Session layer with botocore, as botocore imports its own modules: not inside a
    ``Session.__init__`` (an event loop's, a thread's, one after an upgrade replaced the files).
    If it fails here, :func:`_initialize` tries again at each Session and logs why."""
    try:
        import rolecall.initializer  # noqa: F401
    except Exception:  # noqa: BLE001 - a start-up hook never raises
        pass


def _initialize(session: "Any") -> None:
    """botocore initializer: runs inside every ``Session.__init__``, so it never raises."""
    try:
        if not disabled():
            from rolecall import initializer

            initializer.initialize(session)
    except Exception:
        import logging

        logging.getLogger("rolecall").debug("rolecall initializer failed", exc_info=True)


class _BotocoreFinder:
    """One-shot meta path finder: lets botocore import normally, then registers after it ran."""

    def find_spec(self, fullname: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if fullname != "botocore":
            return None
        try:
            sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
            spec = None
            for finder in sys.meta_path:
                find_spec = getattr(finder, "find_spec", None)
                if find_spec is not None:
                    spec = find_spec(fullname, path, target)
                    if spec is not None:
                        break
            if spec is None or spec.loader is None:
                return spec
            _wrap_exec_module(spec.loader)
            return spec
        except Exception:  # noqa: BLE001 - fall back to the normal import machinery
            return None


def _wrap_exec_module(loader: "Any") -> None:
    """Patch this one loader instance so that registration follows botocore's own execution."""
    original = loader.exec_module

    def exec_module(module: "ModuleType") -> None:
        try:
            original(module)
        finally:
            try:
                del loader.exec_module
            except AttributeError:
                pass
        try:
            if not disabled() and hasattr(module, "register_initializer"):
                _register(module)
        except Exception:  # noqa: BLE001
            pass

    loader.exec_module = exec_module


activate()
