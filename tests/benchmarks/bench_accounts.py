"""Many accounts: one source assumes the same role name in 50 accounts (``rolecall.assume``),
sequentially and from a thread pool, cold, then again in a second process.

    .venv/bin/python -m tests.benchmarks.bench_accounts     (alone: starts its own STS emulator)

Every run is a fresh process of ``python`` (which must have rolecall installed) with its own HOME,
AWS files and cache folder in ``workdir``; counts are AssumeRole requests the emulator received.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, start_emulator

__all__ = ["rows"]

Row = tuple[str, str, str, str, str, bool]
QUICK = os.environ.get("ROLECALL_BENCH_QUICK") == "1"
ACCOUNTS = 10 if QUICK else 50
RUNS = 1 if QUICK else 3
PROGRAM = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import rolecall

mode, accounts = sys.argv[1], sys.argv[2:]

def one(account):
    credentials = rolecall.credentials(f"arn:aws:iam::{account}:role/Audit", region="us-east-1")
    return credentials.get_frozen_credentials().access_key

start = time.perf_counter()
if mode == "pool":
    with ThreadPoolExecutor(max_workers=16) as pool:
        seen = list(pool.map(one, accounts))
else:
    seen = [one(account) for account in accounts]
assert len(set(seen)) == len(accounts), seen
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def _counts(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_rolecall/counts", timeout=10) as response:
        return int(json.load(response).get("AssumeRole", 0))


def _reset(url: str) -> None:
    urllib.request.urlopen(f"{url}/_rolecall/reset", data=b"", timeout=10).close()


def _run(python: str, env: dict[str, str], mode: str, accounts: list[str]) -> float:
    done = subprocess.run([python, "-c", PROGRAM, mode, *accounts], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"many-accounts run failed:\n{done.stderr}")
    return float(json.loads(done.stdout)["seconds"])


def rows(emulator_url: str, workdir: Path, python: str = sys.executable) -> list[Row]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "credentials").write_text(f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
                                         f"aws_secret_access_key = {STATIC_SECRET}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROLECALL_"))}
    env.update(HOME=str(workdir), AWS_SHARED_CREDENTIALS_FILE=str(workdir / "credentials"),
               AWS_CONFIG_FILE=str(workdir / "config"), ROLECALL_CONFIG=str(workdir / "none"),
               ROLECALL_CACHE_DIR=str(workdir / "cache"), AWS_ENDPOINT_URL=emulator_url,
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    accounts = [f"{100000000000 + n:012d}" for n in range(ACCOUNTS)]
    times: dict[str, list[float]] = {"sequential": [], "pool": []}
    cold_calls: dict[str, int] = {}
    warm_calls = 0
    for run in range(RUNS):
        for mode in (("sequential", "pool") if run % 2 == 0 else ("pool", "sequential")):
            shutil.rmtree(workdir / "cache", ignore_errors=True)
            _reset(emulator_url)
            times[mode].append(_run(python, env, mode, accounts))
            cold_calls[mode] = _counts(emulator_url)
            _reset(emulator_url)
            _run(python, env, mode, accounts)  # a second process: the disk cache answers
            warm_calls = max(warm_calls, _counts(emulator_url))
    seq, pool = statistics.median(times["sequential"]), statistics.median(times["pool"])
    n = ACCOUNTS
    return [
        (f"AssumeRole calls, {n} roles in {n} accounts from one source: first process / second "
         "process", f"{cold_calls['sequential']} / {warm_calls}", f"{n} roles",
         f"{cold_calls['sequential']} vs {warm_calls}", f"{n} then 0",
         cold_calls["sequential"] == n and warm_calls == 0),
        (f"{n} roles' credentials fetched, cold cache: thread pool (16) vs sequential "
         f"({RUNS} runs each)", f"{pool:.2f} s pool", f"{seq:.2f} s sequential",
         f"{seq / pool:.1f}× faster", f"{n} AssumeRole either way",
         cold_calls["pool"] == n),
    ]


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="rolecall-bench-accounts-"))
    emulator = start_emulator(root)
    try:
        for row in rows(emulator.url, root / "work"):
            print(" | ".join(str(cell) for cell in row))
    finally:
        emulator.process.terminate()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
