"""credential_source = EcsContainer / Ec2InstanceMetadata, against loopback stand-ins for the
container credentials endpoint and the instance metadata service (botocore accepts both on
127.0.0.1), so the source credentials really travel over HTTP as on ECS and EC2."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Aws

EXPIRY = (datetime.now(timezone.utc) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
SOURCE = {"AccessKeyId": STATIC_KEY_ID, "SecretAccessKey": STATIC_SECRET,
          "Token": "source-session-token", "Expiration": EXPIRY}


class _Handler(BaseHTTPRequestHandler):
    requests: list[str]

    def _answer(self, body: str, status: int = 200) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:  # IMDSv2 session token
        self.requests.append(f"PUT {self.path}")
        self._answer("imds-session-token" if self.path == "/latest/api/token" else "", 200)

    def do_GET(self) -> None:
        self.requests.append(f"GET {self.path}")
        if self.path == "/creds":  # ECS
            self._answer(json.dumps({**SOURCE, "RoleArn": "task-role"}))
        elif self.path == "/latest/meta-data/iam/security-credentials/":
            self._answer("instance-role")
        elif self.path == "/latest/meta-data/iam/security-credentials/instance-role":
            self._answer(json.dumps({**SOURCE, "Code": "Success", "Type": "AWS-HMAC"}))
        else:
            self._answer("", 404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def roles(source: str) -> str:
    return ('[profiles.app]\nrole_arn = "arn:aws:iam::444455556666:role/App"\n'
            f'credential_source = "{source}"\n')


def test_ecs_container_credentials(aws: Aws, metadata: tuple[str, list[str]],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, requests = metadata
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{url}/creds")
    aws.roles(roles("EcsContainer"))
    arn = boto3.Session(profile_name="app").client("sts").get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::444455556666:assumed-role/App/")
    assert requests == ["GET /creds"]


def test_ec2_instance_metadata_credentials(aws: Aws, metadata: tuple[str, list[str]],
                                           monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    url, requests = metadata
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    aws.roles(roles("Ec2InstanceMetadata") + "duration_seconds = 7200\n")
    with caplog.at_level("DEBUG", logger="rolecall"):
        arn = boto3.Session(profile_name="app").client("sts").get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::444455556666:assumed-role/App/")
    assert "GET /latest/meta-data/iam/security-credentials/instance-role" in requests
    assert "capped at 3600" in caplog.text  # instance credentials are temporary
