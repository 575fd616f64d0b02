"""``env`` and ``exec``: a role's credentials as environment variables, for a shell or a child."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys

from rolecall import config, resolve
from rolecall.cli._output import CliError, flush_warnings
from rolecall.cli.fastpath import NEED_SECONDS
from rolecall.cli.process import config_declaring, role_config
from rolecall.temporary import TemporaryCredentials, utc_text

__all__ = ["EXEC_VARIABLE", "FORMATS", "environment", "exec_command", "print_env"]

EXEC_VARIABLE = "ROLECALL_EXEC"
FORMATS = ("sh", "fish", "powershell", "dotenv", "json")
REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def environment(credentials: TemporaryCredentials, profile: config.Profile,
                region: str | None = None) -> dict[str, str]:
    """The variables that make any AWS tool use these credentials; ``region`` (``--region``)
    replaces the profile's region."""
    variables = {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token,
        "AWS_CREDENTIAL_EXPIRATION": utc_text(credentials.expiry),
    }
    region = region or profile.region
    if region:
        variables["AWS_REGION"] = variables["AWS_DEFAULT_REGION"] = region
    return variables


def _quote_ps(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# How each format sets a variable, and unsets one (dotenv files cannot unset).
_SET = {"sh": "export {name}={value}", "fish": "set -gx {name} {value};",
        "powershell": "$Env:{name} = {value}", "dotenv": "{name}={value}"}
_UNSET = {"sh": "unset {name}", "fish": "set -e {name};",
          "powershell": "Remove-Item Env:{name} -ErrorAction SilentlyContinue"}


def render(variables: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(variables, indent=2) + "\n"
    quote = _quote_ps if fmt == "powershell" else shlex.quote
    lines = [_SET[fmt].format(name=name, value=quote(value)) for name, value in variables.items()]
    if fmt in _UNSET:
        lines += [_UNSET[fmt].format(name=name) for name in REMOVED]
    return "\n".join(lines) + "\n"


def _credentials(name: str, how: str | None, role: tuple[str, str | None] | None
                 ) -> tuple[TemporaryCredentials, config.Profile]:
    loaded, name = role_config(*role) if role else (config_declaring(name, how), name)
    return resolve.credentials(loaded, name, NEED_SECONDS), loaded.profiles[name]


def print_env(name: str, fmt: str, region: str | None = None, how: str | None = None,
              role: tuple[str, str | None] | None = None) -> int:
    """Print the role's variables in ``fmt``; ``how`` says where the profile name came from;
    ``role``: --role-arn and --source-profile instead of a profile."""
    credentials, profile = _credentials(name, how, role)
    sys.stdout.write(render(environment(credentials, profile, region), fmt))
    return 0


def exec_command(name: str, command: list[str], force: bool, region: str | None = None, *,
                 how: str | None = None, role: tuple[str, str | None] | None = None) -> int:
    """Run ``command`` with the role's credentials; its exit status is ours."""
    if not command:
        raise CliError("nothing to run: rolecall exec --profile P -- COMMAND [ARGS...]")
    outer = os.environ.get(EXEC_VARIABLE)
    if outer and not force:
        raise CliError(f"already inside `rolecall exec` for profile {outer!r}; nesting would hide "
                    "that role (use --force to nest anyway)")
    credentials, profile = _credentials(name, how, role)
    env = {k: v for k, v in os.environ.items() if k not in REMOVED}
    env.update(environment(credentials, profile, region))
    env[EXEC_VARIABLE] = role[0] if role else name
    flush_warnings()  # exec replaces this process: say what there is to say now
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name == "posix":
            # Python ignores SIGPIPE; the command gets the default back, as subprocess gives it.
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execvpe(command[0], command, env)  # noqa: S606 - the user's own command
        return subprocess.run(command, env=env, check=False).returncode
    except FileNotFoundError:
        raise CliError(f"command not found: {command[0]}", status=127) from None
    except PermissionError:
        raise CliError(f"command not executable: {command[0]}", status=126) from None
