"""How the commands talk (:mod:`rolecall.cli._output`): errors as one line on stderr with exit 1
(usage errors: 2), and ``--output json`` for whoami, list and explain, in the shapes README
documents, key for key."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.cli_helpers import (
    ACCOUNT,
    ASSUMED,
    CANARY,
    CHAINED,
    DEPLOY,
    STAGING,
    credential_process,
    one_error_line,
    run,
)
from tests.conftest import PROD, ROOT, STATIC_KEY_ID, Aws

MFA = ('mfa_serial = "arn:aws:iam::111122223333:mfa/alice"\n'
       'mfa_token_command = ["ykman", "oath", "accounts", "code"]\n')
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def documented() -> dict[str, Any]:
    """The JSON examples of README's Command line section, by command."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"`rolecall (\w+) --output json`:\n\n```json\n(.*?)\n```", text, re.S)
    examples = {command: json.loads(body) for command, body in found}
    assert set(examples) == {"whoami", "list", "explain"}
    return examples


def leaves(value: Any, path: str = "") -> dict[str, set[type]]:
    """Every key path of a JSON value ("profiles[].cache.state") with the types seen there."""
    if isinstance(value, dict):
        out: dict[str, set[type]] = {}
        for key, item in value.items():
            for sub, types in leaves(item, f"{path}.{key}" if path else key).items():
                out.setdefault(sub, set()).update(types)
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = {}
        for item in value:
            for sub, types in leaves(item, f"{path}[]").items():
                out.setdefault(sub, set()).update(types)
        return out
    return {path: {type(value)}}


def same_shape(actual: Any, example: Any) -> None:
    """The same key paths; each value of the documented type, or null where README allows a
    string (and the other way round: README shows null for a value that may be a string)."""
    got, doc = leaves(actual), leaves(example)
    assert set(got) == set(doc), (set(got) ^ set(doc))
    for key, types in got.items():
        allowed = doc[key] | {type(None)}
        if type(None) in doc[key]:
            allowed |= {str}
        assert types <= allowed, (key, types, doc[key])


def run_json(env: dict[str, str], *args: str, status: int = 0) -> Any:
    done = run(env, *args)
    assert done.returncode == status, done.stderr
    assert done.stdout.startswith("{") and done.stdout.endswith("}\n")
    return json.loads(done.stdout)


@pytest.fixture
def chained(aws: Aws) -> Aws:
    aws.roles(CHAINED + 'region = "eu-west-1"\n' + MFA)
    return aws


def test_whoami_json(chained: Aws) -> None:
    doc = run_json(chained.env, "whoami", "--profile", "base", "--output", "json")
    same_shape(doc, documented()["whoami"])
    assert doc["profile"] == "base" and doc["provider"] == "rolecall"
    assert doc["arn"].startswith(f"{ASSUMED}Base/") and doc["account"] == ACCOUNT
    assert doc["user_id"].endswith(":" + doc["arn"].rpartition("/")[2])
    assert doc["region"] == "us-east-1"
    assert STAMP.match(doc["expiration"])
    before = run_json(chained.env, "--output", "json", "whoami", "--profile", "base")
    assert before["arn"] == doc["arn"]  # the same credentials, from the cache
    plain = run_json(chained.env, "whoami", "--output", "json")
    same_shape(plain, documented()["whoami"])
    assert plain["provider"] == "shared-credentials-file" and plain["expiration"] is None
    assert chained.assume_role_calls() == 1


def test_list_json(chained: Aws) -> None:
    credential_process(chained.env, "base", runner=run)
    doc = run_json(chained.env, "list", "--output", "json")
    same_shape(doc, documented()["list"])
    assert doc["config"] == str(chained.root / "roles.toml")
    profiles = {p["name"]: p for p in doc["profiles"]}
    assert [p["name"] for p in doc["profiles"]] == ["base", "prod"]
    assert profiles["base"]["source"] == {"type": "aws_profile", "name": "default"}
    assert profiles["prod"]["source"] == {"type": "rolecall_profile", "name": "base"}
    assert profiles["prod"]["role_arn"] == DEPLOY and profiles["prod"]["region"] == "eu-west-1"
    assert profiles["base"]["region"] is None
    assert profiles["base"]["cache"]["state"] == "valid"
    assert STAMP.match(profiles["base"]["cache"]["expiration"])
    assert profiles["prod"]["cache"] == {"state": "empty", "expiration": None}
    chained.roles(PROD + "cache = false\n" +
                  '[profiles.ec2]\nrole_arn = "arn:aws:iam::111122223333:role/X"\n'
                  'credential_source = "Ec2InstanceMetadata"\n')
    again = {p["name"]: p for p in run_json(chained.env, "--output", "json", "list")["profiles"]}
    assert again["prod"]["cache"] == {"state": "off", "expiration": None}
    assert again["ec2"]["source"] == {"type": "credential_source", "name": "Ec2InstanceMetadata"}


def test_explain_json(chained: Aws) -> None:
    doc = run_json({**chained.env, "AWS_PROFILE": "prod"}, "explain", "--output", "json")
    same_shape(doc, documented()["explain"])
    assert (doc["profile"], doc["profile_from"], doc["winner"]) == ("prod", "AWS_PROFILE",
                                                                    "rolecall")
    assert doc["config_found"] is True and doc["problems"] == []
    assert [link["profile"] for link in doc["chain"]] == ["prod", "base"]
    prod, base = doc["chain"]
    assert prod["role_arn"] == DEPLOY and prod["sts_region"] == "eu-west-1"
    assert (prod["mfa_code_from"], prod["mfa_command"]) == ("command", "ykman")
    assert prod["source"] == {"type": "rolecall_profile", "name": "base", "detail": None}
    assert base["source"] == {"type": "aws_profile", "name": "default", "detail": "static keys"}
    assert base["mfa_serial"] is None and base["mfa_code_from"] is None
    assert isinstance(prod["duration_seconds"], int)


def test_explain_json_other_winners_and_problems(chained: Aws) -> None:
    env_keys = {**chained.env, "AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": CANARY}
    done = run(env_keys, "explain", "--output", "json")
    assert CANARY not in done.stdout
    assert json.loads(done.stdout)["winner"] == "environment"
    unmanaged = run_json(chained.env, "explain", "--output", "json")
    assert (unmanaged["profile"], unmanaged["profile_from"]) == ("default", "default")
    assert unmanaged["winner"] == "botocore" and "static keys" in unmanaged["reason"]
    assert unmanaged["chain"] == []
    chained.roles('[profiles.prod]\nrole_arn = "nope"\nsource_profile = "default"\n')
    broken = run_json(chained.env, "explain", "--profile", "prod", "--output", "json", status=1)
    same_shape(broken, {**documented()["explain"], "chain": []})
    assert broken["winner"] is None and broken["chain"] == []
    [problem] = broken["problems"]
    assert "'prod'" in problem and "'role_arn'" in problem


def test_text_stays_the_default(chained: Aws) -> None:
    for argv in (["whoami"], ["list"], ["explain"], ["list", "--output", "text"]):
        done = run(chained.env, *argv)
        assert done.returncode == 0, done.stderr
        assert not done.stdout.startswith("{")


# --- errors: one line on stderr, exit 1 ------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "nope"],
    ["credential-process", "--profile=nope"],
    ["env", "--profile", "nope"],
    pytest.param(["exec", "--profile", "nope", "--", "true"], marks=pytest.mark.slow),
    ["cache", "clear", "--profile", "nope"],
])
def test_unknown_profile(prod: Aws, argv: list[str]) -> None:
    line = one_error_line(run(prod.env, *argv))
    assert "'nope'" in line
    assert str(prod.root / "roles.toml") in line
    if argv[0] != "cache":
        assert "declared: prod" in line


def test_unknown_profile_lists_every_declared_profile(aws: Aws) -> None:
    aws.roles(PROD + STAGING)
    line = one_error_line(run(aws.env, "credential-process", "--profile", "nope"))
    assert "declared: prod, staging" in line


def test_setup_process_unknown_profile(prod: Aws) -> None:
    line = one_error_line(run(prod.env, "setup-process", "nope"))
    assert "nope" in line and str(prod.root / "roles.toml") in line


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "prod"],
    ["env", "--profile", "prod"],
    pytest.param(["exec", "--profile", "prod", "--", "true"], marks=pytest.mark.slow),
    ["setup-process"],
    ["list"],
])
def test_no_roles_toml(aws: Aws, argv: list[str]) -> None:
    line = one_error_line(run(aws.env, *argv))
    assert "no roles.toml" in line and str(aws.root / "roles.toml") in line


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "prod"],
    ["env", "--profile", "prod"],
    pytest.param(["exec", "--profile", "prod", "--", "true"], marks=pytest.mark.slow),
    ["list"],
])
def test_invalid_roles_toml(aws: Aws, argv: list[str]) -> None:
    # Two problems (a misspelt key and a bad ARN) still make one line.
    aws.roles('[profiles.prod]\nrole_arn = "nope"\nsource_profile = "default"\n'
              "duraton_seconds = 1\n")
    line = one_error_line(run(aws.env, *argv))
    assert str(aws.root / "roles.toml") in line
    assert "role_arn" in line and "duraton_seconds" in line
    assert aws.assume_role_calls() == 0


def test_invalid_toml_syntax(aws: Aws) -> None:
    aws.roles("[profiles.prod\nrole_arn = \n")
    line = one_error_line(run(aws.env, "credential-process", "--profile", "prod"))
    assert "invalid TOML" in line and str(aws.root / "roles.toml") in line


def test_usage_errors_exit_2(prod: Aws) -> None:
    for argv in (["cache"], ["nonsense"], ["env", "--profile", "prod", "--format", "csh"], [],
                 ["--output", "yaml", "list"], ["--region", "eu-west-1", "check"],
                 ["completion"], ["completion", "tcsh"]):
        done = run(prod.env, *argv)
        assert done.returncode == 2, argv
        assert "usage: rolecall" in done.stderr and done.stdout == ""
