"""The ``rolecall`` command: a thin shell over the library.

``rolecall credential-process [--profile P]`` is parsed by hand and answers a cache hit without
importing argparse's help machinery, botocore or boto3: SDKs run it at start-up and on every
refresh. Everything else goes through :mod:`rolecall.cli._parser`.

Like any Unix tool, the command stops quietly when its reader goes away (``rolecall list | head
-1``: exit 141, the status of a process ended by SIGPIPE, with nothing on stderr) and on Ctrl-C
(exit 130, no traceback).
"""

from __future__ import annotations

import os
import sys

__all__ = ["BROKEN_PIPE", "INTERRUPTED", "default_profile", "main"]

BROKEN_PIPE = 141  # 128 + SIGPIPE, what the shell reports for `seq 1000000 | head -1`
INTERRUPTED = 130  # 128 + SIGINT


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage; ``exec``: its
    command's). Commands raise :class:`rolecall.cli._output.CliError`; the parser's ``run`` prints
    it as one line."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if args[:1] == ["credential-process"]:
            profile = _fast_profile(args[1:])
            if profile is not None:
                from rolecall.cli import fastpath

                hit = fastpath.answer(profile)
                if hit is not None:
                    sys.stdout.write(hit + "\n")
                    sys.stdout.flush()
                    return 0
        from rolecall.cli import _parser

        status = _parser.run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Nobody reads any more: say nothing, and keep the interpreter's last flush quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE
    except KeyboardInterrupt:
        return INTERRUPTED


def _console() -> None:
    """The ``rolecall`` console script."""
    sys.exit(main())


def default_profile() -> tuple[str, str]:
    """The profile when no ``--profile`` is given, and where it came from: as botocore decides,
    ``AWS_DEFAULT_PROFILE``, then ``AWS_PROFILE``, then ``default``. A botocore-free copy of its
    rule, for the cache-hit path (``explain`` asks botocore itself; a test keeps the two in step).
    An empty variable is skipped here, where botocore would use the empty name and fail."""
    for variable in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        value = os.environ.get(variable)
        if value:
            return value, variable
    return "default", "the default"


def _fast_profile(args: list[str]) -> str | None:
    """The profile of ``--profile P`` / ``--profile=P`` / nothing (the environment's default)
    when that is all there is, else None (the full parser decides)."""
    if not args:
        return default_profile()[0]
    if len(args) == 2 and args[0] == "--profile" and not args[1].startswith("-"):
        return args[1]
    if len(args) == 1 and args[0].startswith("--profile=") and len(args[0]) > 10:
        return args[0][10:]
    return None
