"""rolecall's benchmarks: its cost where it does nothing, and its STS savings, side by side with
plain botocore, in one run. Prints one Markdown table.

    make bench        (or: .venv/bin/python -m tests.benchmarks.bench)

It sets up everything itself in a temporary folder: the wheel, two fresh virtual environments with
the same packages at the same versions (one with rolecall, one without), both byte-compiled, the
local STS emulator (moto on 127.0.0.1), fake static keys, an AWS config with a botocore assume-role
profile, and a roles.toml. Timings are interleaved A/B runs (alternating which goes first), reported
as medians with the interquartile range, and compared as ratios measured in the same run; counts are
AssumeRole requests received by the emulator. The rows of bench_async (aiobotocore) and
bench_accounts (many accounts) join the same table.

Bytecode: uv installs without compiling, and a machine may set PYTHONDONTWRITEBYTECODE=1, so a timed
process would compile every module it imports from source, every time, and the import cost of each
side would dominate the difference measured. Both environments are compiled with ``compileall``
once they are built, and PYTHONDONTWRITEBYTECODE is removed from every benchmark process.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import bench_accounts, bench_async
from tests.conftest import EXAMPLES, STATIC_KEY_ID, STATIC_SECRET, Emulator, start_emulator
from tests.venvs import Venv, build_wheel

QUICK = os.environ.get("ROLECALL_BENCH_QUICK") == "1"  # smoke-test the harness only
ROLE = "arn:aws:iam::111122223333:role/Deploy"

ROLES_TOML = f"""
[profiles.prod]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"

[profiles.short]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"
duration_seconds = 900
"""

AWS_CONFIG = f"""
[default]
region = us-east-1

[profile botorole]
role_arn = {ROLE}
source_profile = default
region = us-east-1

[profile botoshort]
role_arn = {ROLE}
source_profile = default
region = us-east-1
duration_seconds = 900
"""

CLIENT_CALL = """
import boto3
boto3.Session(profile_name="{profile}").client("sts").get_caller_identity()
"""

FIRST_CREDENTIALS = """
import time
import boto3
import botocore.session
started, cpu = time.perf_counter(), time.process_time()
botocore.session.Session(profile="{profile}").get_credentials().get_frozen_credentials()
print(time.perf_counter() - started, time.process_time() - cpu)
"""

# What importing botocore now also costs: rolecall's Session layer, timed after boto3 (with
# ROLECALL_DISABLE=1, so that it is not already imported), beside `import boto3` itself.
SESSION_LAYER = """
import time
started = time.perf_counter()
import boto3, botocore.session
boto3_time = time.perf_counter() - started
started = time.perf_counter()
import rolecall.initializer
print(time.perf_counter() - started, boto3_time)
"""

WORKER = """
import os, sys, time
import boto3
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
boto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials()
"""

THREADS = """
import sys, threading
import boto3
barrier = threading.Barrier(100)
def work():
    session = boto3.Session(profile_name=sys.argv[1])
    barrier.wait()
    session.get_credentials().get_frozen_credentials()
threads = [threading.Thread(target=work) for _ in range(100)]
for t in threads: t.start()
for t in threads: t.join()
"""

# 13 API calls while a controllable clock (time-machine, which also drives the in-process
# emulator, so STS and client agree on the time) moves on by `step` seconds after each call.
CLOCK = """
import datetime, os, sys, threading
import time_machine
sys.path.insert(0, {examples!r})
import sts_emulator
from werkzeug.serving import make_server
profile, step = sys.argv[1], float(sys.argv[2])
with time_machine.travel(datetime.datetime.now(datetime.timezone.utc), tick=True) as clock:
    app = sts_emulator.make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{{server.socket.getsockname()[1]}}"
    import boto3
    sts = boto3.Session(profile_name=profile).client("sts")
    for _ in range(13):
        sts.get_caller_identity()
        clock.shift(step)
    print(app.counts["AssumeRole"])
    server.shutdown()
"""

LOAD_CONFIG = """
import sys, time
from rolecall import config
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
config.parse(data)
print(time.perf_counter() - started)
"""


@dataclass
class Stats:
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def iqr(self) -> tuple[float, float]:
        q = statistics.quantiles(self.values, n=4)
        return q[0], q[2]

    def show(self, scale: float = 1e3, unit: str = "ms") -> str:
        low, high = self.iqr()
        return f"{self.median * scale:.1f} {unit} (IQR {low * scale:.1f}–{high * scale:.1f})"


class Bench:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: list[tuple[str, str, str, str, str, str]] = []
        print("setting up: wheel, two virtual environments, emulator ...", file=sys.stderr)
        wheel = build_wheel(root / "dist")
        extras = ("boto3", "time-machine", "moto[server]")
        self.with_ = Venv.create(root / "with", wheel, *extras)
        pins = [line for line in self.with_.freeze() if not line.startswith("rolecall")]
        self.plain = Venv.create(root / "plain", *pins)
        for venv in (self.with_, self.plain):
            compile_site_packages(venv)
        self.emulator: Emulator = start_emulator(root)
        home = root / "home"
        home.mkdir()
        (root / "credentials").write_text(
            f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n"
            f"aws_secret_access_key = {STATIC_SECRET}\n")
        (root / "config").write_text(AWS_CONFIG)
        (root / "roles.toml").write_text(ROLES_TOML)
        self.cache = root / "cache"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "AWS_CONFIG_FILE": str(root / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "credentials"),
            "ROLECALL_CONFIG": str(root / "roles.toml"), "ROLECALL_CACHE_DIR": str(self.cache),
            "AWS_ENDPOINT_URL": self.emulator.url, "AWS_EC2_METADATA_DISABLED": "true",
        }

    def close(self) -> None:
        self.emulator.process.terminate()
        self.emulator.process.wait(10)

    # -- helpers ---------------------------------------------------------------------------
    def run(self, argv: Sequence[str], env: dict[str, str] | None = None) -> str:
        done = subprocess.run(list(argv), env=env or self.env, capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed: {done.stderr[-2000:]}")
        return done.stdout

    def interleaved(self, a: Callable[[], float], b: Callable[[], float],
                    n: int) -> tuple[Stats, Stats]:
        xs: list[float] = []
        ys: list[float] = []
        for i in range(n):
            if i % 2:
                xs.append(a())
                ys.append(b())
            else:
                ys.append(b())
                xs.append(a())
        return Stats(xs), Stats(ys)

    def wall(self, argv: Sequence[str], env: dict[str, str] | None = None,
             cpu: list[float] | None = None) -> Callable[[], float]:
        """A measure of the process's wall time; its CPU time (user + system, from the
        children's rusage) is appended to ``cpu`` when given."""
        def measure() -> float:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(list(argv), env=env or self.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            elapsed = time.perf_counter() - started
            if cpu is not None:
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            return elapsed
        return measure

    def row(self, measure: str, ours: str, theirs: str, result: str, goal: str, met: bool) -> None:
        self.rows.append((measure, ours, theirs, result, goal, "yes" if met else "**no**"))
        print(f"  {measure}: {result} (goal {goal})", file=sys.stderr)

    def cold(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)
        self.emulator.reset()

    # -- measures --------------------------------------------------------------------------
    def startup(self) -> None:
        n = 20 if QUICK else 250
        ours, theirs = self.interleaved(self.wall([self.with_.python, "-c", "pass"]),
                                        self.wall([self.plain.python, "-c", "pass"]), n)
        diff = (ours.median - theirs.median) * 1e3
        self.row(f"`python -c pass`, rolecall installed ({n} interleaved runs each)",
                 ours.show(), theirs.show() + " without rolecall", f"{diff:+.2f} ms median",
                 "≤ +1 ms", diff <= 1.0)

    def unmanaged_client(self) -> None:
        # 120 runs: a whole process varies by 10-25 % here (its median moved by ~5 % between
        # runs of 80), and the goal is 3 %. Wall time decides; CPU time is shown beside it.
        n = 5 if QUICK else 120
        code = CLIENT_CALL.format(profile="default")
        cpu_ours: list[float] = []
        cpu_theirs: list[float] = []
        ours, theirs = self.interleaved(
            self.wall([self.with_.python, "-c", code], cpu=cpu_ours),
            self.wall([self.plain.python, "-c", code], cpu=cpu_theirs), n)
        ratio = ours.median / theirs.median
        cpu_ratio = statistics.median(cpu_ours) / statistics.median(cpu_theirs)
        self.row(f"boto3 client + one call, unmanaged profile, whole process ({n} runs each)",
                 ours.show(), theirs.show() + " without rolecall",
                 f"{ratio:.3f}× (CPU time {cpu_ratio:.3f}×)", "≤ 1.03×", ratio <= 1.03)

    def first_credentials(self) -> None:
        """botocore ``Session()`` to frozen credentials, timed inside a new process (after the
        imports, rolecall's Session layer included: see :meth:`session_layer`): what rolecall
        adds where it does nothing, and for a managed profile."""
        # 120 runs: one median of 60 moved by ~2 % between runs on a shared 2-core machine,
        # against goals of 5 and 15 %.
        n = 5 if QUICK else 120
        # Warm: the roles.toml snapshot (its first read in the cache folder), the disk cache.
        self.run([self.with_.python, "-c", FIRST_CREDENTIALS.format(profile="default")])
        self.run([self.with_.python, "-c", FIRST_CREDENTIALS.format(profile="prod")])

        # Wall time decides; the process's CPU time is shown beside it, as it is far less
        # sensitive to other load on the machine.
        cpu: dict[str, list[float]] = {}

        def inner(venv: Venv, profile: str) -> Callable[[], float]:
            code = FIRST_CREDENTIALS.format(profile=profile)
            key = f"{venv.python} {profile}"

            def measure() -> float:
                wall, used = map(float, self.run([venv.python, "-c", code]).split())
                cpu.setdefault(key, []).append(used)
                return wall
            return measure

        def cpu_ratio(a: tuple[Venv, str], b: tuple[Venv, str]) -> float:
            return statistics.median(cpu.pop(f"{a[0].python} {a[1]}")) / \
                statistics.median(cpu.pop(f"{b[0].python} {b[1]}"))

        ours, theirs = self.interleaved(inner(self.with_, "default"),
                                        inner(self.plain, "default"), n)
        ratio = ours.median / theirs.median
        self.row(f"first credentials in a new process, unmanaged profile: Session() to frozen "
                 f"credentials, a roles.toml declaring other profiles ({n} runs each)",
                 ours.show() + " static-keys profile, rolecall installed",
                 theirs.show() + " the same profile without rolecall",
                 f"{ratio:.3f}× (CPU time "
                 f"{cpu_ratio((self.with_, 'default'), (self.plain, 'default')):.3f}×)",
                 "≤ 1.05×", ratio <= 1.05)
        ours, theirs = self.interleaved(inner(self.with_, "prod"),
                                        inner(self.plain, "default"), n)
        ratio = ours.median / theirs.median
        self.row(f"first credentials in a new process, managed profile: Session() to frozen "
                 f"credentials ({n} runs each)", ours.show() + " managed profile, warm disk cache",
                 theirs.show() + " static-keys profile without rolecall",
                 f"{ratio:.3f}× (CPU time "
                 f"{cpu_ratio((self.with_, 'prod'), (self.plain, 'default')):.3f}×)",
                 "≤ 1.15×", ratio <= 1.15)
        ours, theirs = self.interleaved(inner(self.with_, "prod"),
                                        inner(self.with_, "default"), n)
        ratio = ours.median / theirs.median
        cpu.clear()
        self.row(f"the managed profile again, both sides with rolecall installed ({n} runs each)",
                 ours.show() + " managed profile, warm disk cache",
                 theirs.show() + " static-keys profile", f"{ratio:.2f}×", "≤ 1.1×", ratio <= 1.1)

    def session_layer(self) -> None:
        """The price of the first-credentials rows: rolecall's Session layer is imported when
        botocore is, not at the first Session, so those rows no longer contain it; this one
        does, beside what ``import boto3`` costs in the same processes."""
        n = 5 if QUICK else 60
        env = {**self.env, "ROLECALL_DISABLE": "1"}
        layer: list[float] = []
        boto3: list[float] = []
        for _ in range(n):
            ours, theirs = map(float, self.run([self.with_.python, "-c", SESSION_LAYER],
                                               env).split())
            layer.append(ours)
            boto3.append(theirs)
        share = statistics.median(a / b for a, b in zip(layer, boto3, strict=True))
        self.row(f"rolecall's Session layer (`initializer`, `_files`), imported with botocore "
                 f"({n} runs)", Stats(layer).show(), Stats(boto3).show() +
                 " `import boto3` in the same processes", f"{share * 100:.2f} % of it",
                 "≤ 1 %", share <= 0.01)

    def credential_process(self) -> None:
        n = 20 if QUICK else 150
        rolecall = str(Path(self.with_.python).parent / "rolecall")
        self.run([rolecall, "credential-process", "--profile", "prod"])  # warm
        ours, theirs = self.interleaved(
            self.wall([rolecall, "credential-process", "--profile", "prod"]),
            self.wall([self.with_.python, "-c", "pass"]), n)
        ratio = ours.median / theirs.median
        self.row(f"`rolecall credential-process`, cache hit ({n} runs each)", ours.show(),
                 theirs.show() + " `python -c pass`", f"{ratio:.2f}×", "≤ 2.5×", ratio <= 2.5)

    def together(self, venv: Venv, profile: str, count: int) -> int:
        self.cold()
        go = self.root / f"go-{time.monotonic_ns()}"
        procs = [subprocess.Popen([venv.python, "-c", WORKER, profile, str(go)], env=self.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(count)]
        time.sleep(1.0 + count * 0.08)
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(err.decode()[-2000:])
        return self.emulator.assume_role_calls()

    def processes(self) -> None:
        for count in (1, 5) if QUICK else (1, 5, 20, 50):
            ours = self.together(self.with_, "prod", count)
            theirs = self.together(self.plain, "botorole", count)
            plural = "es" if count > 1 else ""
            self.row(f"AssumeRole calls, {count} process{plural} started together, cold",
                     f"{ours}", f"{theirs} botocore's assume-role", f"{ours} vs {theirs}",
                     "1 whatever N", ours == 1)

    def threads(self) -> None:
        counts = []
        for venv, profile in ((self.with_, "prod"), (self.plain, "botorole")):
            self.cold()
            self.run([venv.python, "-c", THREADS, profile])
            counts.append(self.emulator.assume_role_calls())
        self.row("AssumeRole calls, 100 threads each creating a Session", f"{counts[0]}",
                 f"{counts[1]} botocore's assume-role", f"{counts[0]} vs {counts[1]}", "1",
                 counts[0] == 1)

    def short_role(self) -> None:
        code = CLOCK.format(examples=str(EXAMPLES))
        for step, span in ((50.0, "its first 600 s"), (69.0, "its whole 900 s lifetime")):
            counts = []
            for venv, profile in ((self.with_, "short"), (self.plain, "botoshort")):
                shutil.rmtree(self.cache, ignore_errors=True)
                counts.append(int(self.run([venv.python, "-c", code, profile, str(step)])))
            goal, met = ("1", counts[0] == 1) if step == 50.0 else \
                ("a refresh before expiry", counts[0] == 2)
            self.row(f"AssumeRole calls, 900-second role, 13 API calls spread over {span} "
                     "(controllable clock)", f"{counts[0]}",
                     f"{counts[1]} botocore's assume-role", f"{counts[0]} vs {counts[1]}",
                     goal, met)

    def memory(self) -> None:
        n = 3 if QUICK else 15
        self.run([self.with_.python, "-c", CLIENT_CALL.format(profile="prod")])  # warm cache

        def peak(venv: Venv, profile: str) -> Callable[[], float]:
            code = CLIENT_CALL.format(profile=profile)

            def measure() -> float:
                proc = subprocess.Popen([venv.python, "-c", code], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _, _, usage = os.wait4(proc.pid, 0)
                proc.returncode = 0
                return usage.ru_maxrss / 1024  # KiB on Linux -> MiB
            return measure

        ours, theirs = self.interleaved(peak(self.with_, "prod"), peak(self.plain, "default"), n)
        diff = ours.median - theirs.median
        self.row(f"peak memory (max RSS) of a process making one call ({n} runs each)",
                 ours.show(1, "MiB") + " managed profile",
                 theirs.show(1, "MiB") + " static-keys profile without rolecall",
                 f"{diff:+.2f} MiB", "≤ +2 MiB", diff <= 2.0)

    def big_config(self) -> None:
        n = 5 if QUICK else 30
        big = self.root / "big.toml"
        big.write_text("\n".join(
            f'[profiles.p{i}]\nrole_arn = "arn:aws:iam::111122223333:role/R{i}"\n'
            f'source_profile = "{"default" if i == 0 else f"p{i - 1}" if i % 10 else "default"}"\n'
            f'region = "eu-west-1"\n' for i in range(1000)))
        small = self.root / "small.toml"
        small.write_text(ROLES_TOML)

        def load(path: Path) -> Callable[[], float]:
            return lambda: float(self.run([self.with_.python, "-c", LOAD_CONFIG, str(path)]))

        ours, theirs = self.interleaved(load(big), load(small), n)
        self.row(f"loading a 1 000-profile roles.toml (parse + validate, {n} runs)", ours.show(),
                 theirs.show() + " 2-profile file", f"{ours.median / theirs.median:.0f}×",
                 "once per file change (cached by mtime)", ours.median < 1.0)

    def joined(self, produce: Callable[[], list[tuple[str, str, str, str, str, bool]]]) -> None:
        """Rows of another benchmark module, in this table."""
        for measure, ours, theirs, result, goal, met in produce():
            self.row(measure, ours, theirs, result, goal, met)

    def table(self) -> str:
        lines = ["| measure | rolecall | compared with | result | goal | met |",
                 "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def compile_site_packages(venv: Venv) -> None:
    """Byte-compile an environment's packages, as pip does when it installs and uv does not."""
    subprocess.run([venv.python, "-m", "compileall", "-q", "-j", "0", str(venv.site_packages())],
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ROLECALL_DISABLE": "1"},
                   stdout=subprocess.DEVNULL, check=True, timeout=900)


def machine(venv: Venv) -> str:
    """The machine, and the versions the timed environments run (not this interpreter's)."""
    versions = subprocess.run(
        [venv.python, "-c", "import platform, botocore; "
         "print(platform.python_version(), botocore.__version__)"],
        capture_output=True, text=True, check=True, env={"ROLECALL_DISABLE": "1"},
    ).stdout.split()
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {versions[0]}, botocore {versions[1]}")


def main() -> int:
    started = time.monotonic()
    # Every benchmark process (and those bench_async / bench_accounts start from this
    # environment) may write and use bytecode, as on a user's machine.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(tempfile.mkdtemp(prefix="rolecall-bench-"))
    bench = Bench(root)
    try:
        where = machine(bench.with_)
        for measure in (bench.startup, bench.unmanaged_client, bench.first_credentials,
                        bench.session_layer, bench.credential_process, bench.processes,
                        bench.threads, bench.short_role, bench.memory, bench.big_config):
            measure()
        print("  aiobotocore rows (bench_async) ...", file=sys.stderr)
        bench.joined(lambda: bench_async.rows(bench.emulator.url, root / "async"))
        print("  many-accounts rows (bench_accounts) ...", file=sys.stderr)
        bench.joined(lambda: bench_accounts.rows(bench.emulator.url, root / "accounts",
                                                 python=bench.with_.python))
    finally:
        bench.close()
        shutil.rmtree(root, ignore_errors=True)
    print(bench.table())
    print()
    print(f"Machine: {where}. One run of `make bench`, {time.monotonic() - started:.0f} s; "
          "timings are medians of interleaved A/B runs with the interquartile range; the "
          "'without rolecall' side is a second virtual environment with the same packages at "
          "the same versions, both byte-compiled (compileall) and run without "
          "PYTHONDONTWRITEBYTECODE; counts are AssumeRole requests received by the local STS "
          "emulator; the aiobotocore rows run in the development environment (which has "
          "aiobotocore). "
          "The 900-second rows move a controllable clock (time-machine) that drives both the "
          "client and an in-process emulator, so no real time passes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
