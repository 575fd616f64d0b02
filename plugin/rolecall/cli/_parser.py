"""The argument parser of every command, with examples in each ``--help``, and the dispatch."""

from __future__ import annotations

import argparse

from rolecall import __version__
from rolecall.cli._output import CliError, fail

__all__ = ["build", "run"]

DESCRIPTION = """\
Assume the IAM roles that roles.toml declares: in-process for every boto3/botocore program
(nothing to run), and through these commands for everything else.

exit status: 0 success, 1 error (one line on stderr), 2 usage;
`exec` exits with its command's status (126: not executable, 127: not found).

examples:
  rolecall init && rolecall check
  AWS_PROFILE=prod python my_script.py     # no command needed: the plugin does it
  rolecall setup-process prod --write      # for the AWS CLI v2, Terraform, other SDKs
  rolecall exec --profile prod -- terraform plan
  rolecall explain --profile prod"""

EXAMPLES = {
    "credential-process": """\
examples:
  rolecall credential-process --profile prod
  # in ~/.aws/config, for the AWS CLI v2, Terraform and the other SDKs:
  #   [profile prod]
  #   credential_process = /path/to/rolecall credential-process --profile prod""",
    "setup-process": """\
examples:
  rolecall setup-process                 # print stanzas for every roles.toml profile
  rolecall setup-process prod --write    # add [profile prod] to the AWS config file
  rolecall setup-process prod --write --force   # replace an existing [profile prod]""",
    "env": """\
examples:
  eval "$(rolecall env --profile prod)"
  rolecall env --profile prod --format fish | source
  rolecall env --profile prod --format powershell | Invoke-Expression
  rolecall env --profile prod --format dotenv > .env""",
    "exec": """\
examples:
  rolecall exec --profile prod -- terraform plan
  rolecall exec --profile prod -- aws s3 ls""",
    "whoami": """\
examples:
  rolecall whoami
  rolecall whoami --profile prod""",
    "explain": """\
examples:
  rolecall explain --profile prod
  AWS_PROFILE=prod rolecall explain""",
    "check": """\
examples:
  rolecall check
  ROLECALL_CONFIG=./roles.toml rolecall check""",
    "list": """\
examples:
  rolecall list""",
    "init": """\
examples:
  rolecall init          # writes ~/.config/rolecall/roles.toml (or $ROLECALL_CONFIG)""",
    "cache": """\
examples:
  rolecall cache clear
  rolecall cache clear --profile prod""",
}


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
             help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text, description=help_text,
                          epilog=EXAMPLES[name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rolecall", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rolecall {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cmd = _command(sub, "credential-process",
                   "print a profile's credentials as credential_process JSON (Version 1)")
    cmd.add_argument("--profile", required=True, help="a profile declared in roles.toml")

    cmd = _command(sub, "setup-process",
                   "print or add credential_process stanzas to the AWS config file")
    cmd.add_argument("profiles", nargs="*", metavar="PROFILE",
                     help="profiles to set up (default: all of roles.toml)")
    cmd.add_argument("--write", action="store_true",
                     help="add them to $AWS_CONFIG_FILE or ~/.aws/config (atomic, with a backup)")
    cmd.add_argument("--force", action="store_true", help="replace existing profiles")

    cmd = _command(sub, "env", "print a role's credentials as environment variables")
    cmd.add_argument("--profile", required=True, help="a profile declared in roles.toml")
    cmd.add_argument("--format", default="sh",
                     choices=("sh", "fish", "powershell", "dotenv", "json"))

    cmd = _command(sub, "exec", "run a command with a role's credentials in its environment")
    cmd.add_argument("--profile", required=True, help="a profile declared in roles.toml")
    cmd.add_argument("--force", action="store_true", help="allow nesting inside another exec")
    cmd.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")

    cmd = _command(sub, "whoami", "the caller identity through the normal credential chain")
    cmd.add_argument("--profile", help="as boto3.Session(profile_name=...); default: as boto3")

    cmd = _command(sub, "explain",
                   "how a profile resolves and why (no secrets, nothing fetched)")
    cmd.add_argument("--profile", help="as passed explicitly; default: AWS_PROFILE or default")

    _command(sub, "check", "validate roles.toml: every problem with file, profile and key")
    _command(sub, "list", "profiles with role, source, region and cache state")
    _command(sub, "init", "write a commented starter roles.toml (never overwrites)")

    cmd = _command(sub, "cache", "manage the disk cache")
    cache_sub = cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    clear = cache_sub.add_parser("clear", help="remove cached credentials",
                                 description="remove cached credentials (all, or one profile's)",
                                 epilog=EXAMPLES["cache"],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    clear.add_argument("--profile", help="only this roles.toml profile")
    return parser


def dispatch(ns: argparse.Namespace) -> int:
    command = ns.command
    if command == "credential-process":
        from rolecall.cli import process

        return process.credential_process(ns.profile)
    if command == "setup-process":
        from rolecall.cli import process

        return process.setup_process(ns.profiles, ns.write, ns.force)
    if command in ("env", "exec"):
        from rolecall.cli import envexec

        if command == "env":
            return envexec.print_env(ns.profile, ns.format)
        argv = ns.argv[1:] if ns.argv[:1] == ["--"] else ns.argv
        return envexec.exec_command(ns.profile, argv, ns.force)
    from rolecall.cli import admin, report

    if command == "whoami":
        return report.whoami(ns.profile)
    if command == "explain":
        return report.explain(ns.profile)
    if command == "check":
        return report.check()
    if command == "list":
        return report.list_profiles()
    if command == "init":
        return admin.init()
    return admin.clear_cache(ns.profile)


def run(args: list[str]) -> int:
    ns = build().parse_args(args)
    try:
        return dispatch(ns)
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        return fail(str(exc))
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] in ("rolecall", "botocore"):
            return fail(str(exc))
        raise


