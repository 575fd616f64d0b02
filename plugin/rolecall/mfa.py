"""Where MFA codes come from: ``mfa_token_command``, else a prompt on the controlling terminal.

The terminal is opened directly (``/dev/tty``, ``CONIN$``/``CONOUT$`` on Windows), so the prompt
works even when stdout and stderr are captured, as under credential_process. With neither a command
nor a terminal, fail at once with an error that says how to fix it: never wait on stdin. Codes are
never logged or put in error texts.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

from rolecall.config import Profile

__all__ = ["MfaError", "token_for"]

COMMAND_TIMEOUT = 60.0
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


class MfaError(Exception):
    """No MFA code could be had; names the profile and says how to fix it."""


def token_for(profile: Profile) -> str:
    """A fresh MFA code for ``profile`` (which has ``mfa_serial``)."""
    if profile.mfa_token_command:
        return _from_command(profile)
    return _from_terminal(profile)


def _from_command(profile: Profile) -> str:
    command = list(profile.mfa_token_command or ())
    try:
        done = _run(command)
    except subprocess.TimeoutExpired:
        raise MfaError(f"mfa_token_command {command[0]!r} "
                       f"did not finish within {COMMAND_TIMEOUT:.0f} seconds") from None
    except OSError as exc:
        raise MfaError(f"mfa_token_command {command[0]!r} "
                       f"could not run: {exc.strerror}") from None
    if done.returncode != 0:
        raise MfaError(f"mfa_token_command {command[0]!r} "
                       f"exited with status {done.returncode}")
    codes = _CODE.findall(done.stdout)
    if not codes:
        raise MfaError(f"mfa_token_command {command[0]!r} "
                       "printed no 6-digit code")
    return str(codes[-1])


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the command in a session of its own; on timeout kill its whole process group, so
    whatever it started (``sh -c 'helper & wait'``) goes with it instead of lingering."""
    if sys.platform == "win32":  # pragma: no cover - no process groups
        return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    import signal

    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as process:
        try:
            out, err = process.communicate(timeout=COMMAND_TIMEOUT)
        except BaseException:  # the timeout, or Ctrl-C: nothing it started outlives it
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _read_line(fd: int) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
        if len(data) > 256:
            break
    return data.decode(errors="replace")


def _from_terminal(profile: Profile) -> str:
    prompt = f"MFA code for {profile.mfa_serial} (rolecall profile {profile.name}): "
    try:
        if sys.platform == "win32":  # pragma: no cover - tests run on Linux
            with open("CONIN$") as tty_in, open("CONOUT$", "w") as tty_out:
                tty_out.write(prompt)
                tty_out.flush()
                line = tty_in.readline()
        else:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
            try:  # raw reads and writes: a terminal is not seekable, so no "r+" file object
                os.write(fd, prompt.encode())
                line = _read_line(fd)
            finally:
                os.close(fd)
    except OSError:
        raise MfaError("needs an MFA code (mfa_serial) but there is no terminal to ask on; set "
                       "mfa_token_command in roles.toml, or run once from a terminal to fill the "
                       "cache") from None
    code = line.strip()
    if not _CODE.fullmatch(code):
        raise MfaError("the MFA code must be 6 digits")
    return code
