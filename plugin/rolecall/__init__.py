"""rolecall: every botocore session assumes the IAM role that roles.toml declares for its profile.

The public surface is deliberately small: :func:`install`, :func:`uninstall`, :class:`ConfigError`
and :class:`RolecallProvider`. Importing this package imports nothing heavy (no botocore, no
tomllib): it is imported at every interpreter start by ``rolecall.pth``.
"""

# No `typing` import: this module is imported at every interpreter start, and typing alone would
# cost several milliseconds. Type checkers understand this spelling of TYPE_CHECKING.
TYPE_CHECKING = False

__version__ = "0.1.0"
__all__ = ["ConfigError", "RolecallProvider", "__version__", "install", "uninstall"]

if TYPE_CHECKING:
    from typing import Any

    from rolecall.config import ConfigError
    from rolecall.provider import RolecallProvider


def install() -> None:
    """Make every botocore Session created from now on use rolecall.

    Needed only where site-packages start-up files are not processed (``python -S``,
    ``pip install --target`` + ``PYTHONPATH``, embedded interpreters that skip ``site``);
    otherwise ``rolecall.pth`` has done it (``python -I`` still processes it).
    Idempotent. Does not import botocore: the hook fires when botocore is imported.
    """
    from rolecall import _bootstrap

    _bootstrap.install()


def uninstall() -> None:
    """Stop rolecall from touching Sessions created from now on (existing ones keep theirs)."""
    from rolecall import _bootstrap

    _bootstrap.uninstall()


def __getattr__(name: str) -> "Any":
    # Lazy attributes (PEP 562): the public classes live in modules that are not free to import.
    if name == "ConfigError":
        from rolecall.config import ConfigError

        return ConfigError
    if name == "RolecallProvider":
        from rolecall.provider import RolecallProvider

        return RolecallProvider
    raise AttributeError(f"module 'rolecall' has no attribute {name!r}")
