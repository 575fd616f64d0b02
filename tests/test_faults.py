"""STS faults: throttling, 5xx, refused and unanswered connections, a silent endpoint.

Every failing AssumeRole must end within a bound that follows from rolecall's settings
(``sts.CONNECT_TIMEOUT``, ``READ_TIMEOUT``, ``MAX_ATTEMPTS``) and botocore's retry backoff,
raise botocore's CredentialRetrievalError naming the profile and the role, leave nothing in the
cache folder, and not get in the way of the next success. A failure while the credentials are
only in their advisory refresh window keeps the current credentials (botocore's rule); in the
mandatory window it raises.

The proxy (tests/fault_proxy.py) sits in front of the moto emulator on 127.0.0.1 and counts the
attempts it receives; for ports where nothing answers, botocore's own DEBUG line per HTTP request
sent ("Sending http request") counts them.

The bounds, with botocore's default ("standard") retry mode and rolecall's defaults
(3 attempts, 3 s connect and 10 s read timeouts):

- backoff before retry i (0-based) is rand(0, 1) x min(scale x 2**i, 20) s, where scale is 1 s
  for throttling and 50 ms for other errors: at most 1 + 2 = 3 s (throttling) or 0.15 s (5xx,
  refused, timeouts) over three attempts; the legacy mode uses scale 1 s for every error;
- an attempt that is refused or answered costs ~ms; an endpoint that accepts and stays silent
  costs READ_TIMEOUT (10 s); one whose connect is never answered costs CONNECT_TIMEOUT (3 s);
- so throttling ends within 3 s + SLACK, 5xx and refused within 0.15 s + SLACK, a silent
  endpoint after at least 30 s and within 30.15 s + SLACK, and with AWS_MAX_ATTEMPTS=1 after at
  least 10 s and within 10 s + SLACK. SLACK (3 s) covers loading botocore's models and a busy
  machine.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Literal, NamedTuple

import boto3
import pytest
from botocore.exceptions import CredentialRetrievalError

from rolecall.cache import store
from rolecall.provider import RoleCredentials
from rolecall.sts import CONNECT_TIMEOUT, MAX_ATTEMPTS, READ_TIMEOUT, AssumeRoleError
from tests.conftest import Aws, first_fast
from tests.fault_proxy import FaultProxy, Mode, closed_port, unanswered_port

ROLE_ARN = "arn:aws:iam::111122223333:role/Deploy"
SLACK = 3.0  # seconds: botocore's model loading, session set-up, a loaded CI machine
THROTTLING_SCALE = 1.0  # botocore standard mode: backoff base for throttling errors
OTHER_SCALE = 0.05  # ... and for every other retryable error
LEGACY_SCALE = 1.0  # botocore legacy mode: rand x 2**i seconds whatever the error
MAX_BACKOFF = 20.0

FAILING: tuple[Mode, ...] = ("throttle", "500", "503")
EXPECTED_CODE = {"throttle": "Throttling", "500": "InternalFailure", "503": "ServiceUnavailable",
                 "refused": "Could not connect", "hang": "Read timeout",
                 "unanswered": "Connect timeout"}


def backoff(attempts: int, fault: str, retry_mode: str = "standard") -> float:
    """The most botocore sleeps between ``attempts`` attempts failing with ``fault``."""
    if retry_mode == "legacy":
        scale = LEGACY_SCALE
    else:
        scale = THROTTLING_SCALE if fault == "throttle" else OTHER_SCALE
    return sum(min(scale * 2.0**i, MAX_BACKOFF) for i in range(attempts - 1))


def bounds(fault: str, attempts: int = MAX_ATTEMPTS,
           retry_mode: str = "standard") -> tuple[float, float]:
    """(at least, at most) seconds a call failing ``attempts`` times with ``fault`` takes."""
    per_attempt = {"hang": READ_TIMEOUT, "unanswered": CONNECT_TIMEOUT}.get(fault, 0)
    least = attempts * per_attempt
    return least, least + backoff(attempts, fault, retry_mode) + SLACK


def prod_via(aws: Aws, url: str) -> None:
    """roles.toml: profile ``prod`` assumes ROLE_ARN from ``default``'s keys, STS at ``url``."""
    aws.roles(f'[profiles.prod]\nrole_arn = "{ROLE_ARN}"\nsource_profile = "default"\n'
              f'sts_endpoint_url = "{url}"\n')


@pytest.fixture
def proxy(aws: Aws) -> Iterator[FaultProxy]:
    with FaultProxy(aws.emulator.url) as running:
        yield running


@pytest.fixture
def sent(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures botocore's DEBUG line for each HTTP request sent, and every WARNING."""
    caplog.set_level(logging.DEBUG, logger="botocore.endpoint")  # the handler too: all levels
    return caplog


def requests_sent(caplog: pytest.LogCaptureFixture) -> int:
    return sum(record.name == "botocore.endpoint" and
               record.getMessage().startswith("Sending http request")
               for record in caplog.records)


def cache_files(aws: Aws) -> tuple[list[str], list[str]]:
    """(entry files, temp files) in the cache folder."""
    folder = aws.root / "cache"
    names = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    temps = [name for name in names if name.startswith(".tmp-")]
    return [name for name in names if name.endswith(".json") and name not in temps], temps


def credentials_for_prod() -> RoleCredentials:
    credentials = boto3.Session(profile_name="prod").get_credentials()
    assert isinstance(credentials, RoleCredentials), credentials
    return credentials


def access_key(credentials: RoleCredentials) -> str:
    key = credentials.get_frozen_credentials().access_key
    assert key is not None and key.startswith("ASIA"), key
    return key


def fail(credentials: RoleCredentials) -> tuple[AssumeRoleError, float]:
    """get_frozen_credentials() must raise; the error and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(CredentialRetrievalError) as raised:
        credentials.get_frozen_credentials()
    elapsed = time.monotonic() - started
    assert isinstance(raised.value, AssumeRoleError), repr(raised.value)
    return raised.value, elapsed


def check_failure(aws: Aws, error: AssumeRoleError, elapsed: float, fault: str,
                  limits: tuple[float, float]) -> None:
    message = str(error)
    assert "'prod'" in message and ROLE_ARN in message, message
    assert EXPECTED_CODE[fault] in message, message
    assert "wJalr" not in message  # never the source secret
    least, most = limits
    assert least - 0.1 <= elapsed < most, f"{fault}: {elapsed:.2f}s, expected [{least}, {most})"
    assert cache_files(aws) == ([], []), "a failure left a cache entry or a temp file"
    assert aws.assume_role_calls() == 0


def check_success(aws: Aws, credentials: RoleCredentials) -> str:
    """The same credentials object now works, and writes exactly one entry."""
    key = access_key(credentials)
    entries, temps = cache_files(aws)
    assert len(entries) == 1 and temps == []
    assert access_key(credentials_for_prod()) == key  # a cache hit
    return key


# -- each fault with the default settings -------------------------------------------------------

@pytest.mark.parametrize("fault", first_fast(FAILING))
def test_sts_error_fails_within_bound_then_recovers(aws: Aws, proxy: FaultProxy, fault: Mode,
                                                     sent: pytest.LogCaptureFixture) -> None:
    prod_via(aws, proxy.url)
    proxy.set(fault)
    credentials = credentials_for_prod()
    error, elapsed = fail(credentials)
    print(f"\n{fault}: {elapsed:.2f}s, {proxy.attempts} attempts, bound {bounds(fault)[1]:.2f}s")
    check_failure(aws, error, elapsed, fault, bounds(fault))
    assert proxy.attempts == MAX_ATTEMPTS == requests_sent(sent)

    proxy.set("pass")
    proxy.reset()
    check_success(aws, credentials)
    assert proxy.attempts == 1 and aws.assume_role_calls() == 1


@pytest.mark.slow
def test_refused_connection_fails_within_bound_then_recovers(
        aws: Aws, sent: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    prod_via(aws, f"http://127.0.0.1:{port}")
    credentials = credentials_for_prod()
    error, elapsed = fail(credentials)
    attempts = requests_sent(sent)
    print(f"\nrefused: {elapsed:.2f}s, {attempts} attempts, bound {bounds('refused')[1]:.2f}s")
    check_failure(aws, error, elapsed, "refused", bounds("refused"))
    assert attempts == MAX_ATTEMPTS

    with FaultProxy(aws.emulator.url, port=port) as proxy:  # STS is back on that port
        check_success(aws, credentials)
        assert proxy.attempts == 1 and aws.assume_role_calls() == 1


@pytest.mark.slow
def test_silent_endpoint_fails_after_three_read_timeouts(aws: Aws, proxy: FaultProxy,
                                                         sent: pytest.LogCaptureFixture) -> None:
    """The one run with the default settings: 3 x READ_TIMEOUT + backoff (~30 s)."""
    prod_via(aws, proxy.url)
    proxy.set("hang")
    credentials = credentials_for_prod()
    error, elapsed = fail(credentials)
    print(f"\nhang: {elapsed:.2f}s, {proxy.attempts} attempts, bound {bounds('hang')[1]:.2f}s")
    check_failure(aws, error, elapsed, "hang", bounds("hang"))
    assert proxy.attempts == MAX_ATTEMPTS == requests_sent(sent)

    proxy.set("pass")
    proxy.reset()
    check_success(aws, credentials)
    assert proxy.attempts == 1


# -- the user's retry settings win --------------------------------------------------------------

@pytest.mark.slow
def test_silent_endpoint_with_one_attempt(aws: Aws, proxy: FaultProxy,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    prod_via(aws, proxy.url)
    proxy.set("hang")
    error, elapsed = fail(credentials_for_prod())
    print(f"\nhang, AWS_MAX_ATTEMPTS=1: {elapsed:.2f}s, {proxy.attempts} attempts, "
          f"bound {bounds('hang', 1)[1]:.2f}s")
    check_failure(aws, error, elapsed, "hang", bounds("hang", 1))
    assert proxy.attempts == 1


@pytest.mark.slow
def test_unanswered_connect_gives_up_after_connect_timeout(
        aws: Aws, monkeypatch: pytest.MonkeyPatch, sent: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with ExitStack() as stack:
        try:
            port = stack.enter_context(unanswered_port())
        except OSError as exc:
            pytest.skip(str(exc))
        prod_via(aws, f"http://127.0.0.1:{port}")
        error, elapsed = fail(credentials_for_prod())
    print(f"\nunanswered connect, AWS_MAX_ATTEMPTS=1: {elapsed:.2f}s, {requests_sent(sent)} "
          f"attempts, bound {bounds('unanswered', 1)[1]:.2f}s")
    check_failure(aws, error, elapsed, "unanswered", bounds("unanswered", 1))
    assert requests_sent(sent) == 1


class RetryCase(NamedTuple):
    variables: dict[str, str]
    fault: Mode
    attempts: int
    retry_mode: str = "standard"


RETRY_CASES = [
    RetryCase({"AWS_MAX_ATTEMPTS": "2"}, "503", 2),
    RetryCase({"AWS_MAX_ATTEMPTS": "1"}, "throttle", 1),
    RetryCase({"AWS_RETRY_MODE": "standard"}, "throttle", MAX_ATTEMPTS),
    RetryCase({"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "2"}, "500", 2),
    RetryCase({"AWS_RETRY_MODE": "legacy"}, "503", MAX_ATTEMPTS, "legacy"),
]


# The cases that wait out every attempt with backoff run in the full tier only.
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow)
                                  if c.attempts == MAX_ATTEMPTS else c for c in RETRY_CASES],
                         ids=[f"{c.fault}-{'-'.join(f'{k}={v}' for k, v in c.variables.items())}"
                              for c in RETRY_CASES])
def test_retry_settings_from_the_environment(aws: Aws, proxy: FaultProxy,
                                             monkeypatch: pytest.MonkeyPatch,
                                             case: RetryCase) -> None:
    for name, value in case.variables.items():
        monkeypatch.setenv(name, value)
    prod_via(aws, proxy.url)
    proxy.set(case.fault)
    error, elapsed = fail(credentials_for_prod())
    limits = bounds(case.fault, case.attempts, case.retry_mode)
    print(f"\n{case.fault} {case.variables}: {elapsed:.2f}s, {proxy.attempts} attempts, "
          f"bound {limits[1]:.2f}s")
    check_failure(aws, error, elapsed, case.fault, limits)
    assert proxy.attempts == case.attempts


def test_max_attempts_from_the_aws_config(aws: Aws, proxy: FaultProxy) -> None:
    """``default`` assumes a role from its own keys: its ``max_attempts`` is the user's setting
    whichever profile's settings rolecall reads."""
    aws.config("[default]\nmax_attempts = 2\n")
    aws.roles(f'[profiles.default]\nrole_arn = "{ROLE_ARN}"\nsource_profile = "default"\n'
              f'sts_endpoint_url = "{proxy.url}"\n')
    proxy.set("500")
    credentials = boto3.Session().get_credentials()
    assert isinstance(credentials, RoleCredentials)
    error, elapsed = fail(credentials)
    assert "'default'" in str(error) and ROLE_ARN in str(error)
    assert elapsed < bounds("500", 2)[1]
    assert proxy.attempts == 2
    assert cache_files(aws) == ([], [])


def test_retry_settings_of_the_selected_profile_win(aws: Aws, proxy: FaultProxy) -> None:
    aws.config("[default]\nmax_attempts = 2\n[profile prod]\nmax_attempts = 1\n")
    prod_via(aws, proxy.url)
    proxy.set("503")
    session = boto3.Session(profile_name="prod")
    assert session._session.get_config_variable("max_attempts") == 1  # what prod's clients use
    credentials = session.get_credentials()
    assert isinstance(credentials, RoleCredentials)
    fail(credentials)
    assert proxy.attempts == 1


@pytest.mark.slow
def test_callers_queued_behind_a_failing_fetch_end_within_the_bound(
        aws: Aws, monkeypatch: pytest.MonkeyPatch, sent: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # each fetch: one 3 s connect timeout
    results: list[tuple[str, float]] = []

    def call(credentials: RoleCredentials) -> None:
        started = time.monotonic()
        try:
            credentials.get_frozen_credentials()
            outcome = "ok"
        except CredentialRetrievalError as exc:
            outcome = type(exc).__name__
        results.append((outcome, time.monotonic() - started))

    with ExitStack() as stack:
        try:
            port = stack.enter_context(unanswered_port())
        except OSError as exc:
            pytest.skip(str(exc))
        prod_via(aws, f"http://127.0.0.1:{port}")
        callers = [threading.Thread(target=call, args=(credentials_for_prod(),), daemon=True)
                   for _ in range(3)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join(60)
    print(f"\n3 concurrent callers, unanswered connect, AWS_MAX_ATTEMPTS=1: "
          f"{sorted(round(e, 2) for _, e in results)}s, {requests_sent(sent)} attempts")
    assert [outcome for outcome, _ in results] == ["AssumeRoleError"] * 3
    assert cache_files(aws) == ([], [])
    assert max(elapsed for _, elapsed in results) < bounds("unanswered", 1)[1]


# -- transient faults and slow answers ----------------------------------------------------------

@pytest.mark.parametrize(("fault", "times"), first_fast([("503", 1), ("throttle", 2), ("500", 2)]))
def test_a_transient_fault_is_retried(aws: Aws, proxy: FaultProxy, fault: Mode,
                                      times: int) -> None:
    prod_via(aws, proxy.url)
    proxy.set(fault, times=times)
    started = time.monotonic()
    access_key(credentials_for_prod())
    elapsed = time.monotonic() - started
    assert proxy.attempts == times + 1 and aws.assume_role_calls() == 1
    assert elapsed < backoff(times + 1, fault) + SLACK
    entries, temps = cache_files(aws)
    assert len(entries) == 1 and temps == []


@pytest.mark.slow
def test_a_slow_answer_within_the_read_timeout_is_waited_for(aws: Aws,
                                                             proxy: FaultProxy) -> None:
    prod_via(aws, proxy.url)
    proxy.set("pass", delay=1.5)
    started = time.monotonic()
    access_key(credentials_for_prod())
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 1.5 + SLACK
    assert proxy.attempts == 1 and aws.assume_role_calls() == 1


# -- refresh windows ----------------------------------------------------------------------------

def into_window(aws: Aws, credentials: RoleCredentials, seconds_left: float) -> None:
    """Time passes: the process's entry, and the credentials object, expire in
    ``seconds_left``; the disk entry is gone (as if another process had let it lapse)."""
    soon = datetime.now(timezone.utc) + timedelta(seconds=seconds_left)
    for key, entry in list(store._entries.items()):
        store._entries[key] = entry.replace(expiry=soon)
    folder = aws.root / "cache"
    for path in folder.glob("*.json"):
        path.unlink()
    credentials._expiry_time = soon  # type: ignore[attr-defined]


def windows(credentials: RoleCredentials) -> tuple[float, float]:
    advisory = float(credentials._advisory_refresh_timeout)
    mandatory = float(credentials._mandatory_refresh_timeout)
    assert 0 < mandatory < advisory - 60
    return advisory, mandatory


def break_sts(proxy: FaultProxy, fault: Mode | Literal["refused"]) -> None:
    """From now on the STS endpoint fails with ``fault``."""
    if fault == "refused":
        proxy.close()  # nothing listens on its port any more
    else:
        proxy.set(fault)
        proxy.reset()


@contextmanager
def sts_back(aws: Aws, proxy: FaultProxy) -> Iterator[FaultProxy]:
    """STS answers again at the proxy's address."""
    if proxy.closed:
        with FaultProxy(aws.emulator.url, port=proxy.port) as again:
            yield again
    else:
        proxy.set("pass")
        proxy.reset()
        yield proxy


@pytest.mark.parametrize("fault", first_fast(["throttle", "503", "refused", "hang"]))
def test_advisory_refresh_failure_keeps_the_current_credentials(
        aws: Aws, proxy: FaultProxy, fault: Mode | Literal["refused"],
        monkeypatch: pytest.MonkeyPatch, sent: pytest.LogCaptureFixture) -> None:
    if fault == "hang":
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    attempts = 1 if fault == "hang" else MAX_ATTEMPTS
    prod_via(aws, proxy.url)
    credentials = credentials_for_prod()
    first = access_key(credentials)
    assert proxy.attempts == 1 and aws.assume_role_calls() == 1
    advisory, mandatory = windows(credentials)
    assert mandatory < advisory - 30

    into_window(aws, credentials, advisory - 30)  # advisory, not mandatory
    break_sts(proxy, fault)
    sent.clear()
    started = time.monotonic()
    again = credentials.get_frozen_credentials()  # no exception
    elapsed = time.monotonic() - started
    print(f"\nadvisory refresh, {fault}: {elapsed:.2f}s, {requests_sent(sent)} attempts")
    assert again.access_key == first
    assert requests_sent(sent) == attempts  # the refresh was really tried
    assert elapsed < bounds(fault, attempts)[1]
    warnings = [r.getMessage() for r in sent.records if r.levelno == logging.WARNING]
    assert any("advisory refresh period" in w for w in warnings), warnings
    assert cache_files(aws) == ([], [])
    assert aws.assume_role_calls() == 1

    with sts_back(aws, proxy) as recovered:
        second = check_success(aws, credentials)
        assert second != first
        assert recovered.attempts == 1 and aws.assume_role_calls() == 2


@pytest.mark.parametrize("fault", first_fast(["refused", "throttle"]))
def test_mandatory_refresh_failure_raises(aws: Aws, proxy: FaultProxy,
                                          fault: Mode | Literal["refused"],
                                          sent: pytest.LogCaptureFixture) -> None:
    prod_via(aws, proxy.url)
    credentials = credentials_for_prod()
    first = access_key(credentials)
    _, mandatory = windows(credentials)

    into_window(aws, credentials, mandatory - 30)
    break_sts(proxy, fault)
    sent.clear()
    started = time.monotonic()
    with pytest.raises(CredentialRetrievalError, match=r"'prod'.*Deploy") as raised:
        credentials.get_frozen_credentials()
    elapsed = time.monotonic() - started
    assert isinstance(raised.value, AssumeRoleError)
    assert elapsed < bounds(fault)[1]
    assert requests_sent(sent) == MAX_ATTEMPTS
    warnings = [r.getMessage() for r in sent.records if r.levelno == logging.WARNING]
    assert any("mandatory refresh period" in w for w in warnings), warnings
    assert cache_files(aws) == ([], [])

    with sts_back(aws, proxy) as recovered:
        assert check_success(aws, credentials) != first
        assert recovered.attempts == 1


def test_the_proxy_counts_and_forwards(aws: Aws, proxy: FaultProxy) -> None:
    """The harness itself: every mode counts one attempt per request; "pass" reaches moto."""
    assert proxy.attempts == 0
    prod_via(aws, proxy.url)
    credentials_for_prod().get_frozen_credentials()
    assert proxy.attempts == 1 == aws.assume_role_calls()
    assert len(proxy.arrival_times) == 1


@pytest.mark.slow
def test_processes_queued_behind_a_failing_fetch_share_its_failure(
        aws: Aws, proxy: FaultProxy) -> None:
    """Across processes too: N processes against a silent STS end after about one bound, not N."""
    prod_via(aws, proxy.url)
    proxy.set("hang")
    env = {**aws.env, "AWS_MAX_ATTEMPTS": "1"}  # one attempt: a 10 s read timeout
    code = ("import boto3; boto3.Session(profile_name='prod').get_credentials()"
            ".get_frozen_credentials()")
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    elapsed = time.monotonic() - started
    assert all(proc.returncode != 0 for proc in procs)
    assert all("'prod'" in err and ROLE_ARN in err for err in errors)
    assert proxy.attempts == 1  # one process tried; the three queued behind it were told
    assert elapsed < 10 + 8, f"{elapsed:.1f} s"
    assert cache_files(aws)[0] == []
