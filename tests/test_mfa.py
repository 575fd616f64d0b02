"""Tests of :mod:`rolecall.mfa`: ``token_for(profile)``, MFA codes from ``mfa_token_command`` or
from a prompt on the controlling terminal, and ``MfaError`` texts that say how to fix things and
never hold a code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall import mfa
from rolecall.config import Profile
from tests.conftest import ROLE

SERIAL = "arn:aws:iam::999999999999:mfa/alice"


def profile(*command: str) -> Profile:
    return Profile(name="prod", role_arn=ROLE, source_profile="default", mfa_serial=SERIAL,
                   mfa_token_command=command or None)


def printing(text: str, status: int = 0) -> Profile:
    """A profile whose command prints ``text`` and exits with ``status``."""
    return profile(sys.executable, "-c", f"import sys; print({text!r}); sys.exit({status})")


def test_the_last_six_digit_code_a_command_prints(isolated: Path) -> None:
    assert mfa.token_for(printing("123456")) == "123456"
    assert mfa.token_for(printing("Touch your key...\ncode: 111111 then 654321\n")) == "654321"


def test_a_command_that_prints_no_code(isolated: Path) -> None:
    with pytest.raises(mfa.MfaError) as raised:
        mfa.token_for(printing("1234567 12345 abcdef"))  # 7 and 5 digits are not codes
    assert str(raised.value) == f"mfa_token_command {sys.executable!r} printed no 6-digit code"


def test_a_failing_command_names_its_status_and_never_the_code(isolated: Path) -> None:
    with pytest.raises(mfa.MfaError) as raised:
        mfa.token_for(printing("987654", status=3))
    assert str(raised.value) == f"mfa_token_command {sys.executable!r} exited with status 3"
    assert "987654" not in str(raised.value)


def test_a_command_that_cannot_run(isolated: Path) -> None:
    missing = str(isolated / "no-such-helper")
    with pytest.raises(mfa.MfaError) as raised:
        mfa.token_for(profile(missing, "--code"))
    assert str(raised.value) == \
        f"mfa_token_command {missing!r} could not run: No such file or directory"


def test_the_command_reads_no_stdin_and_gets_no_shell(isolated: Path) -> None:
    code = "import sys; print('123456' if sys.stdin.read() == '' else 'waited')"
    assert mfa.token_for(profile(sys.executable, "-c", code)) == "123456"
    marker = isolated / "ran"
    with pytest.raises(mfa.MfaError, match="could not run"):  # one argv item, not a shell line
        mfa.token_for(profile(f"touch {marker}; echo 123456"))
    assert not marker.exists()


def test_a_hanging_command_is_killed_with_what_it_started(isolated: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mfa, "COMMAND_TIMEOUT", 0.6)
    pid_file = isolated / "helper.pid"
    started = time.monotonic()
    with pytest.raises(mfa.MfaError) as raised:
        mfa.token_for(profile("sh", "-c", f'sleep 30 & echo $! > {pid_file}; wait'))
    assert time.monotonic() - started < 5
    assert str(raised.value) == "mfa_token_command 'sh' did not finish within 1 seconds"
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(helper), "the command's own child outlived the timeout"


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


PROMPTED = f"""
from rolecall import mfa
from rolecall.config import Profile
try:
    code = mfa.token_for(Profile(name="prod", role_arn={ROLE!r}, mfa_serial={SERIAL!r}))
    print("CODE=" + code)
except mfa.MfaError as exc:
    print("ERROR=" + str(exc))
"""


def test_without_a_command_or_terminal_it_fails_at_once(isolated: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PROMPTED], env=dict(os.environ),
                          capture_output=True, text=True, stdin=subprocess.PIPE, timeout=30,
                          start_new_session=True, check=False)  # no controlling terminal
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "ERROR=needs an MFA code (mfa_serial) but there is no terminal to ask on; set "
        "mfa_token_command in roles.toml, or run once from a terminal to fill the cache")


def on_a_terminal(typed: bytes) -> str:
    """Run :data:`PROMPTED` with a pseudo-terminal as its controlling terminal, typing ``typed``;
    everything the terminal showed (the prompt, the echo, the result)."""
    if shutil.which("setsid") is None:
        pytest.skip("setsid (util-linux) is needed to give the child a controlling terminal")
    import pty

    primary, secondary = pty.openpty()
    try:
        child = subprocess.Popen(["setsid", "--ctty", sys.executable, "-c", PROMPTED],
                                 stdin=secondary, stdout=secondary, stderr=secondary,
                                 env=dict(os.environ))
        os.close(secondary)
        os.write(primary, typed)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's last user is gone
                break
            if not chunk:
                break
            shown += chunk
        assert child.wait(30) == 0
    finally:
        os.close(primary)
    return shown.decode(errors="replace")


def test_a_code_typed_at_the_terminal_prompt(isolated: Path) -> None:
    shown = on_a_terminal(b"246810\n")
    assert f"MFA code for {SERIAL} (rolecall profile prod): " in shown
    assert "CODE=246810" in shown


def test_a_malformed_code_typed_at_the_terminal(isolated: Path) -> None:
    shown = on_a_terminal(b"12 34\n")
    assert "ERROR=the MFA code must be 6 digits" in shown
