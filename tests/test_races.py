"""Races and kills: many processes on one cold key, some SIGKILLed while they hold its lock.

The lock holder is made to hold the lock for a while by an MFA token command that sleeps (it
runs inside the critical section, before the STS call), and writes its parent's pid so the test
knows exactly whom to kill. Workers are unmodified-by-rolecall Python processes resolving the
profile through rolecall's library path (botocore is imported only by the one that fetches).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall import cache
from tests.conftest import Aws

pytestmark = pytest.mark.slow

PROCESSES = 50
ROUNDS = 20

WORKER = """
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.002)
from rolecall import config, resolve
print(resolve.credentials(config.load(), "prod").access_key)
"""

TOKEN = """
import os, pathlib, time
here = pathlib.Path(__file__).parent
(here / "holder.tmp").write_text(str(os.getppid()))
os.replace(here / "holder.tmp", here / "holder")
with (here / "token-runs").open("a") as log:
    log.write("run\\n")
time.sleep(0.4)
print("123456")
"""


def test_fifty_processes_twenty_rounds_with_kills(aws: Aws) -> None:
    token = aws.root / "token.py"
    token.write_text(TOKEN)
    aws.roles(f"""
[profiles.prod]
role_arn = "arn:aws:iam::111122223333:role/Deploy"
source_profile = "default"
mfa_serial = "arn:aws:iam::111122223333:mfa/alice"
mfa_token_command = ["{sys.executable}", "{token}"]
""")
    rng = random.Random(829)  # noqa: S311 - picks victims, not secrets
    folder = aws.root / "cache"
    totals = {"survivors": 0, "failures": 0, "killed_holders": 0, "killed_waiters": 0,
              "corrupt": 0, "assume_role": 0}
    for round_no in range(ROUNDS):
        for path in (aws.root / "holder", aws.root / "token-runs"):
            path.unlink(missing_ok=True)
        if folder.exists():
            for path in folder.iterdir():
                path.unlink()
        aws.emulator.reset()
        go = aws.root / f"go-{round_no}"
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(go)], env=aws.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(PROCESSES)]
        time.sleep(0.8)
        go.touch()
        killed: set[int] = set()
        kill_holder = round_no % 2 == 0
        deadline = time.monotonic() + 60
        while kill_holder and not (aws.root / "holder").exists():
            assert time.monotonic() < deadline, "no process took the lock"
            time.sleep(0.01)
        if kill_holder:
            holder = int((aws.root / "holder").read_text())
            os.kill(holder, signal.SIGKILL)  # inside the critical section, lock held
            killed.add(holder)
            totals["killed_holders"] += 1
        for victim in rng.sample([w for w in workers if w.pid not in killed], 3):
            victim.send_signal(signal.SIGKILL)  # a waiter (or, by chance, the next holder)
            killed.add(victim.pid)
            totals["killed_waiters"] += 1
        keys = set()
        for worker in workers:
            out, err = worker.communicate(timeout=120)  # a deadlock fails here
            if worker.pid in killed:
                continue
            if worker.returncode != 0:
                totals["failures"] += 1
                pytest.fail(f"round {round_no}: a survivor failed: {err[-2000:]}")
            totals["survivors"] += 1
            keys.add(out.strip())
        assert len(keys) == 1, f"round {round_no}: survivors got different credentials"
        calls = aws.assume_role_calls()
        totals["assume_role"] += calls
        assert calls == 1, f"round {round_no}: {calls} AssumeRole calls"
        entries = list(folder.glob("*.json"))
        assert len(entries) == 1
        parsed = cache.read(str(entries[0].parent), entries[0].stem)[0]
        if parsed is None or parsed.access_key not in keys:
            totals["corrupt"] += 1
        assert not list(folder.glob(".tmp-*"))
    assert totals["corrupt"] == 0 and totals["failures"] == 0
    assert totals["assume_role"] == ROUNDS
    print("\nraces:", json.dumps(totals))


def test_a_killed_writer_leaves_no_partial_entry(aws: Aws, tmp_path: Path) -> None:
    """Entries appear whole or not at all: a temp file is renamed over the entry."""
    aws.roles('[profiles.prod]\nrole_arn = "arn:aws:iam::111122223333:role/Deploy"\n'
              'source_profile = "default"\n')
    code = ("from rolecall import config, resolve; "
            "print(resolve.credentials(config.load(), 'prod').access_key)")
    first = subprocess.run([sys.executable, "-c", code], env=aws.env, capture_output=True,
                           text=True, timeout=60, check=True)
    (entry,) = (aws.root / "cache").glob("*.json")
    # A crash between writing the temp file and renaming it leaves only a .tmp- file behind.
    leftover = entry.with_name(".tmp-crashed.json")
    leftover.write_text('{"version": 1, "AccessKeyId": "ASIAHALF')
    leftover.chmod(0o600)
    second = subprocess.run([sys.executable, "-c", code], env=aws.env, capture_output=True,
                            text=True, timeout=60, check=True)
    assert second.stdout == first.stdout  # the whole entry is still what is read
    assert aws.assume_role_calls() == 1
