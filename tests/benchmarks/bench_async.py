"""The async stack's benchmark rows: rolecall's aiobotocore provider side by side with
aiobotocore's own ``role_arn`` profile (``~/.aws/config``), in unmodified asyncio programs.

    .venv/bin/python -m tests.benchmarks.bench_async     (alone: starts its own STS emulator)

- 20 concurrent coroutines on a cold cache: AssumeRole requests received by the emulator, with
  one shared session and with 20 sessions (as 20 s3fs filesystems would have);
- the longest event-loop stall during a cold fetch against an STS that answers after 500 ms (a
  delaying proxy on 127.0.0.1 in front of the emulator), measured as the largest gap of a 1 ms
  ticker; median and worst of interleaved runs; and the same for a fetch in a process that has
  already fetched another profile's credentials (what every later refresh meets).

Every run is a fresh process of this interpreter (which must have rolecall and aiobotocore
installed) with its own HOME, AWS files, roles.toml and an empty cache folder, all in ``workdir``.
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
from tests.fault_proxy import FaultProxy

__all__ = ["rows"]

Row = tuple[str, str, str, str, str, bool]
ROLE = "arn:aws:iam::111122223333:role/Deploy"
QUICK = os.environ.get("ROLECALL_BENCH_QUICK") == "1"
STALL_RUNS = 2 if QUICK else 7
STALL_GOAL_MS = 20.0
STS_DELAY = 0.5

ROLES_TOML = f"""
[profiles.prod]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"

[profiles.other]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"
duration_seconds = 1800
"""

AWS_CONFIG = f"""
[default]
region = us-east-1

[profile botorole]
role_arn = {ROLE}
source_profile = default
region = us-east-1

[profile botoother]
role_arn = {ROLE}
source_profile = default
region = us-east-1
duration_seconds = 1800
"""

CONCURRENT = """
import asyncio, sys
import aiobotocore.session

async def caller(session):
    async with session.create_client("sts") as sts:
        return (await sts.get_caller_identity())["Arn"]

async def main(sessions):
    shared = aiobotocore.session.get_session()  # AWS_PROFILE names the profile
    chosen = [aiobotocore.session.get_session() if sessions == "own" else shared
              for _ in range(20)]
    arns = await asyncio.gather(*(caller(session) for session in chosen))
    assert all(":assumed-role/" in arn for arn in arns), arns

asyncio.run(main(sys.argv[1]))
"""

STALL = """
import asyncio, json, sys, time
import aiobotocore.session

async def main(before):
    # Imports, the event loop and aiohttp warmed up without fetching anything (static keys) ...
    warm = aiobotocore.session.AioSession(profile="default")
    await (await warm.get_credentials()).get_frozen_credentials()
    if before == "client":  # ... or a client built first, as s3fs and pandas do ...
        session = aiobotocore.session.get_session()
        async with session.create_client("s3", region_name="us-east-1"):
            pass
        before = ""
    elif before:  # ... or with one fetch for another profile done (as a later refresh finds it)
        await (await aiobotocore.session.AioSession(profile=before).get_credentials()
               ).get_frozen_credentials()
        session = aiobotocore.session.get_session()  # AWS_PROFILE names the profile
    else:
        session = aiobotocore.session.get_session()
    gaps, done = [], asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    credentials = await session.get_credentials()
    await credentials.get_frozen_credentials()
    took = time.perf_counter() - started
    done.set()
    await ticking
    print(json.dumps({"stall": max(gaps), "took": took, "method": credentials.method}))

asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
"""


class _World:
    """Files and environment for one benchmark run, STS at ``emulator_url``."""

    def __init__(self, emulator_url: str, workdir: Path) -> None:
        self.url = emulator_url.rstrip("/")
        self.root = workdir
        home = workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        (workdir / "aws_config").write_text(AWS_CONFIG)
        (workdir / "aws_credentials").write_text(
            f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
            f"aws_secret_access_key = {STATIC_SECRET}\n")
        (workdir / "roles.toml").write_text(ROLES_TOML)
        self.base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "AWS_CONFIG_FILE": str(workdir / "aws_config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws_credentials"),
            "ROLECALL_CONFIG": str(workdir / "roles.toml"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
        }
        self.runs = 0

    def env(self, profile: str, **extra: str) -> dict[str, str]:
        """A cold start: a cache folder nobody has written to yet."""
        self.runs += 1
        cache = self.root / f"cache-{self.runs}"
        shutil.rmtree(cache, ignore_errors=True)
        return {**self.base, "AWS_PROFILE": profile, "ROLECALL_CACHE_DIR": str(cache), **extra}

    def assume_role_calls(self) -> int:
        with urllib.request.urlopen(f"{self.url}/_rolecall/counts", timeout=10) as response:
            counts: dict[str, int] = json.load(response)
        return counts.get("AssumeRole", 0)

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.url}/_rolecall/reset", data=b"", timeout=10).close()

    def run(self, code: str, env: dict[str, str], *args: str) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"benchmark program failed:\n{done.stderr[-3000:]}")
        return done.stdout


def _concurrent(world: _World, profile: str, sessions: str) -> int:
    world.reset()
    world.run(CONCURRENT, world.env(profile), sessions)
    return world.assume_role_calls()


def _stalls(world: _World, warm: str) -> dict[str, list[float]]:
    """Longest ticker gap (ms) per run, interleaved, alternating which side goes first.
    ``warm``: "" (a cold process), "client" (a client built first), "refresh" (another fetch
    done first)."""
    found: dict[str, list[float]] = {"prod": [], "botorole": []}
    before = ({"prod": "other", "botorole": "botoother"} if warm == "refresh" else
              {"prod": warm, "botorole": warm})
    with FaultProxy(world.url, delay=STS_DELAY) as proxy:
        for i in range(STALL_RUNS):
            order = ("prod", "botorole") if i % 2 == 0 else ("botorole", "prod")
            for profile in order:
                proxy.reset()
                out = world.run(STALL, world.env(profile, AWS_ENDPOINT_URL_STS=proxy.url),
                                before[profile])
                result = json.loads(out.strip().splitlines()[-1])
                if proxy.attempts < 1 or result["took"] < STS_DELAY:
                    raise RuntimeError(f"{profile}: the fetch did not go through the slow STS")
                expected = "rolecall" if profile == "prod" else "assume-role"
                if result["method"] != expected:
                    raise RuntimeError(f"{profile}: credentials from {result['method']}")
                found[profile].append(result["stall"] * 1000)
    return found


def rows(emulator_url: str, workdir: Path) -> list[Row]:
    """(measure, rolecall, compared with, result, goal, met) for bench.py's table."""
    world = _World(emulator_url, workdir)
    table: list[Row] = []
    for sessions, label in (("shared", "one session"), ("own", "20 sessions")):
        ours = _concurrent(world, "prod", sessions)
        theirs = _concurrent(world, "botorole", sessions)
        table.append((
            f"aiobotocore: 20 concurrent coroutines, cold cache, {label} (AssumeRole calls)",
            str(ours), f"{theirs} (aiobotocore, role_arn profile)",
            f"{theirs / ours:.0f}× fewer" if ours else "none", "1", ours == 1))
    for warm, when in (("", "a cold fetch, before any client exists"),
                       ("client", "the first fetch of a program that built its client first "
                                  "(as s3fs and pandas do)"),
                       ("refresh", "a fetch after one for another profile (as a refresh)")):
        stalls = _stalls(world, warm)
        ours_ms = statistics.median(stalls["prod"])
        theirs_ms = statistics.median(stalls["botorole"])
        table.append((
            f"aiobotocore: longest event-loop stall during {when}, STS answering after "
            f"{STS_DELAY * 1000:.0f} ms (1 ms ticker; median of {STALL_RUNS}, worst)",
            f"{ours_ms:.1f} ms (worst {max(stalls['prod']):.1f})",
            f"{theirs_ms:.1f} ms (worst {max(stalls['botorole']):.1f}; aiobotocore, role_arn "
            "profile)",
            f"{ours_ms / theirs_ms:.2f}×" if theirs_ms else "-",
            f"≤ {STALL_GOAL_MS:.0f} ms", ours_ms <= STALL_GOAL_MS))
    return table


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="rolecall-bench-async-"))
    emulator = start_emulator(root)
    try:
        table = rows(emulator.url, root / "work")
    finally:
        emulator.process.terminate()
        emulator.process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    print("| measure | rolecall | compared with | result | goal | met |")
    print("|---|---|---|---|---|---|")
    for measure, ours, theirs, result, goal, met in table:
        print(f"| {measure} | {ours} | {theirs} | {result} | {goal} | {'yes' if met else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
