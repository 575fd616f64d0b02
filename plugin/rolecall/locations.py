"""Where rolecall keeps its files: roles.toml and the cache folder.

``ROLECALL_CONFIG`` / ``ROLECALL_CACHE_DIR`` win; otherwise platformdirs' user folders. On Linux
and the BSDs those are the XDG folders, computed here directly, because importing platformdirs
costs more than everything else on the credential-process cache-hit path (a test checks that the
two agree).
"""

from __future__ import annotations

import os
import sys

__all__ = ["cache_dir", "config_file"]

_XDG = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))


def _xdg(variable: str, fallback: str) -> str:
    value = os.environ.get(variable, "").strip()
    return value if value else os.path.expanduser(fallback)


def config_file() -> str:
    """roles.toml: ``ROLECALL_CONFIG``, else ``user_config_dir("rolecall")/roles.toml``."""
    override = os.environ.get("ROLECALL_CONFIG")
    if override:
        return os.path.expanduser(override)
    if _XDG:
        folder = os.path.join(_xdg("XDG_CONFIG_HOME", "~/.config"), "rolecall")
    else:  # pragma: no cover - tests run on Linux
        import platformdirs

        folder = platformdirs.user_config_dir("rolecall", appauthor=False)
    return os.path.join(folder, "roles.toml")


def cache_dir() -> str:
    """The cache folder: ``ROLECALL_CACHE_DIR``, else ``user_cache_dir("rolecall")``."""
    override = os.environ.get("ROLECALL_CACHE_DIR")
    if override:
        return os.path.expanduser(override)
    if _XDG:
        return os.path.join(_xdg("XDG_CACHE_HOME", "~/.cache"), "rolecall")
    import platformdirs  # pragma: no cover

    return platformdirs.user_cache_dir("rolecall", appauthor=False)  # pragma: no cover
