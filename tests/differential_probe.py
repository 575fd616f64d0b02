"""The differential suite's probe: run botocore cases in this interpreter, print one JSON per case.

    python differential_probe.py CASES.json

Run by tests/test_differential.py with the Python of a virtual environment with rolecall installed
and again with the Python of one without; the test compares the two outputs field by field. It
imports nothing from the project (the plain environment has no rolecall), only the standard
library, botocore and boto3, so it runs on every supported botocore, the oldest included.

Every AWS request (the program's own, and those botocore's credential providers make for
``role_arn`` and ``web_identity_token_file``) is caught by a session-level ``before-send`` handler,
its User-Agent recorded, and forwarded over HTTP to the local STS emulator (``PROBE_EMULATOR``),
whose answer becomes botocore's response: no request leaves loopback, and the oldest botocore
(which predates ``AWS_ENDPOINT_URL``) is covered the same way. Secrets are never printed: secret
keys and session tokens appear only as short hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse

EMULATOR = os.environ["PROBE_EMULATOR"]
_recording = False
_opened: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Files opened while a Session is built; modules (imports) are not configuration."""
    if _recording and event == "open" and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if "__pycache__" not in path and not path.endswith((".py", ".pyc", ".so", ".pth")):
            _opened.append(path)


sys.addaudithook(_audit)


class _Raw:
    """What botocore reads an HTTP response body through."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


class Recorder:
    """The session-level ``before-send`` handler: records, then forwards to the emulator."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        headers = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in request.headers.items()}
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        action = (urllib.parse.parse_qs((body or b"").decode(errors="replace")).get("Action")
                  or [None])[0]
        agent = headers.get("User-Agent", "")
        found = re.search(r"(?:^| )m/(\S+)", agent)
        # A set in botocore: its order follows string hashing, which differs per process.
        features = ",".join(sorted(found.group(1).split(","))) if found else None
        if found:
            agent = agent.replace(f"m/{found.group(1)}", f"m/{features}")
        self.requests.append({"action": action, "user_agent": _normalize(agent),
                              "features": features})
        parts = urllib.parse.urlsplit(request.url)
        target = EMULATOR + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        forward = urllib.request.Request(target, data=body or None, method=request.method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(forward, timeout=30) as answer:
                status, answer_headers, data = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, data = error.code, dict(error.headers), error.read()
        return AWSResponse(request.url, status, cast(Any, answer_headers), _Raw(data))


def _normalize(text: str) -> str:
    """botocore's generated role session names carry the time; ARNs and agents must not."""
    text = re.sub(r"botocore-session-\d+", "botocore-session-N", text)
    return re.sub(r"(Attempt|attempt)/\d+", r"\1/N", text)


def _digest(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()[:12]


def _shape(key: str | None) -> str | None:
    return None if key is None else f"{key[:4]}…({len(key)})"


def _build(case: dict[str, Any], recorder: Recorder) -> tuple[Any, Any]:
    """The botocore session under test and, for boto3 cases, the boto3 session over it."""
    global _recording
    kind = case["kind"]
    profile = case.get("profile")
    _opened.clear()
    _recording = True
    try:
        if kind == "boto3":
            kwargs = {k: v for k, v in (("profile_name", profile),
                                        ("region_name", case.get("region"))) if v}
            b3 = boto3.Session(**kwargs)
            core = b3._session
        else:
            core = botocore.session.Session(profile=profile) if profile else \
                botocore.session.Session()
            b3 = None
    finally:
        _recording = False
    core.register("before-send", cast(Any, recorder))
    for name, value in case.get("late", []):
        core.set_config_variable(name, value)
    if kind == "boto3_over":
        b3 = boto3.Session(botocore_session=core)
    return core, b3


def _credentials(case: dict[str, Any], session: Any) -> dict[str, Any] | None:
    credentials = session.get_credentials()
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    random = case.get("random_keys")
    return {
        "method": credentials.method,
        "access_key": _shape(frozen.access_key) if random else frozen.access_key,
        "secret": None if random else _digest(frozen.secret_key),
        "token": (frozen.token is not None) if random else _digest(frozen.token),
    }


def run(case: dict[str, Any]) -> dict[str, Any]:
    recorder = Recorder()
    out: dict[str, Any] = {"case": case["name"], "error": None}
    stage = "session"
    try:
        core, b3 = _build(case, recorder)
        out["opened"] = list(_opened)
        stage = "config"
        out["config"] = {name: core.get_config_variable(name) for name in
                         ("profile", "region", "retry_mode", "max_attempts")}
        if case.get("credentials_first"):
            stage = "credentials"
            out["credentials"] = _credentials(case, b3 or core)
        # A program's usual order is the client first: botocore then resolves the credentials
        # inside create_client's context and writes their feature ids into the User-Agent.
        stage = "client"
        client = b3.client("sts") if b3 is not None else core.create_client("sts")
        out["client"] = {"region": client.meta.region_name,
                         "retries": client.meta.config.retries}
        if not case.get("credentials_first"):
            stage = "credentials"
            out["credentials"] = _credentials(case, b3 or core)
        stage = "call"
        out["arn"] = _normalize(client.get_caller_identity()["Arn"])
    except Exception as exc:  # noqa: BLE001 - the point is to record what the program sees
        out["error"] = {"stage": stage, "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                        "message": _normalize(str(exc))}
    out["requests"] = recorder.requests
    return out


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        cases = json.load(handle)
    for case in cases:
        print(json.dumps(run(case), sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
