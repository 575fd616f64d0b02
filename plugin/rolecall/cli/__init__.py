"""The ``rolecall`` command: a thin shell over the library.

``rolecall credential-process --profile P`` is parsed by hand and answers a cache hit without
importing argparse's help machinery, botocore or boto3: SDKs run it at start-up and on every
refresh. Everything else goes through :mod:`rolecall.cli._parser`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["credential-process"]:
        profile = _fast_profile(args[1:])
        if profile is not None:
            from rolecall.cli import fastpath

            hit = fastpath.answer(profile)
            if hit is not None:
                sys.stdout.write(hit + "\n")
                return 0
            from rolecall.cli import process

            return process.credential_process(profile)
    from rolecall.cli import _parser

    return _parser.run(args)


def _console() -> None:
    """The ``rolecall`` console script."""
    sys.exit(main())


def _fast_profile(args: list[str]) -> str | None:
    """The profile of ``--profile P`` / ``--profile=P`` when that is all there is, else None."""
    if len(args) == 2 and args[0] == "--profile" and not args[1].startswith("-"):
        return args[1]
    if len(args) == 1 and args[0].startswith("--profile=") and len(args[0]) > 10:
        return args[0][10:]
    return None
