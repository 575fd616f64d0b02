"""rolecall: every botocore session assumes the IAM role that roles.toml declares for its profile.

The public surface is small: :func:`assume` and :func:`credentials` (a role from code),
:func:`install` and :func:`uninstall` (the start-up hook, by hand), :class:`ConfigError` and
:class:`AssumeRoleError` (what goes wrong), and :class:`RolecallProvider` (botocore's provider
protocol). Importing this package imports nothing heavy (no botocore, no tomllib): it is imported
at every interpreter start by ``rolecall.pth``.
"""

# No `typing` import: this module is imported at every interpreter start, and typing alone would
# cost several milliseconds. Type checkers understand this spelling of TYPE_CHECKING.
TYPE_CHECKING = False

__version__ = "0.1.0"
__all__ = ["AssumeRoleError", "ConfigError", "RolecallProvider", "__version__", "assume",
           "credentials", "install", "uninstall"]

if TYPE_CHECKING:
    from typing import Any

    import boto3
    from botocore.credentials import RefreshableCredentials

    from rolecall.config import ConfigError
    from rolecall.provider import RolecallProvider
    from rolecall.sts import AssumeRoleError


def assume(role_arn: str, *, session: "Any" = None, **options: "Any") -> "boto3.Session":
    """A boto3 Session that assumes ``role_arn``, refreshing by itself.

    ``options`` are the keys of a roles.toml profile (``source_profile``, ``external_id``,
    ``duration_seconds``, ``region``, ...), checked by the same rules; ``session`` is an existing
    boto3 or botocore Session to take the source credentials from (chaining from code). With no
    source, botocore's default chain signs the call. Raises :class:`ConfigError` for a bad option.
    """
    from rolecall import api

    return api.session(role_arn, session=session, **options)  # type: ignore[no-any-return]


def credentials(role_arn: str, *, session: "Any" = None,
                **options: "Any") -> "RefreshableCredentials":
    """botocore refreshable credentials for ``role_arn`` (see :func:`assume`); nothing is fetched
    until they are first used."""
    from rolecall import api

    return api.credentials(role_arn, session=session, **options)


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
    if name == "AssumeRoleError":
        from rolecall.sts import AssumeRoleError

        return AssumeRoleError
    raise AttributeError(f"module 'rolecall' has no attribute {name!r}")


def __dir__() -> "list[str]":
    return sorted(__all__)
