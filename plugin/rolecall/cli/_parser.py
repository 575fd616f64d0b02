"""The argument parser of every command, with examples in each ``--help``, and the dispatch.

The global options (``--profile``, ``--region``, ``--output``, ``--debug``) are accepted before or
after the command, as ``aws`` accepts them; after wins when both are given. A command that has no
use for one says so (usage error) rather than ignoring it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rolecall import __version__
from rolecall.cli import default_profile
from rolecall.cli._output import CliError, configure_logging, flush_warnings, print_error

__all__ = ["GLOBAL_OPTIONS", "USES", "build", "run"]

DESCRIPTION = """\
Assume the IAM roles that roles.toml declares: in-process for every boto3/botocore program
(nothing to run), and through these commands for everything else.

--profile defaults to $AWS_DEFAULT_PROFILE, then $AWS_PROFILE, then "default" (as botocore).
--output json prints whoami, list and explain as one JSON object (shape in the README).

exit status: 0 success, 1 error (one line on stderr), 2 usage, 130 interrupted (Ctrl-C),
141 stdout closed early (`rolecall list | head -1`);
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
  rolecall --profile prod whoami --output json
  rolecall whoami --role-arn arn:aws:iam::111122223333:role/Deploy""",
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
  rolecall list
  rolecall list --output json | jq -r '.profiles[].name'""",
    "init": """\
examples:
  rolecall init          # writes ~/.config/rolecall/roles.toml (or $ROLECALL_CONFIG)""",
    "login": """\
examples:
  rolecall login --profile prod           # one MFA code now; jobs started later need none
  rolecall login --profile prod --renew   # a new MFA session even if one is still live
  rolecall login --profile prod && nohup ./nightly-job.sh &""",
    "cache": """\
examples:
  rolecall cache clear                    # $AWS_PROFILE's entries when it is set, else all
  rolecall cache clear --profile prod
  rolecall cache clear --all""",
    "completion": """\
examples:
  source <(rolecall completion bash)            # in ~/.bashrc
  rolecall completion zsh > "${fpath[1]}/_rolecall"   # then: autoload -U compinit; compinit
  rolecall completion fish > ~/.config/fish/completions/rolecall.fish""",
}



# The options `aws` users put before or after the command, and the commands that use each.
GLOBAL_OPTIONS = ("profile", "region", "output", "debug")
USES: dict[str, frozenset[str]] = {
    "credential-process": frozenset({"profile"}),
    "setup-process": frozenset(),
    "env": frozenset({"profile", "region"}),
    "exec": frozenset({"profile", "region"}),
    "whoami": frozenset({"profile", "region", "output"}),
    "explain": frozenset({"profile", "output"}),
    "check": frozenset(),
    "list": frozenset({"output"}),
    "init": frozenset(),
    "login": frozenset({"profile"}),
    "cache": frozenset({"profile"}),
    "completion": frozenset(),
}
OUTPUTS = ("text", "json")
FORMATS = ("sh", "fish", "powershell", "dotenv", "json")
SHELLS = ("bash", "zsh", "fish")
_DEFAULT = "default: $AWS_DEFAULT_PROFILE, then $AWS_PROFILE, then 'default'"
PROFILE_HELP = {
    "": f"the profile of the command ({_DEFAULT})",
    "credential-process": f"a profile declared in roles.toml ({_DEFAULT})",
    "env": f"a profile declared in roles.toml ({_DEFAULT})",
    "exec": f"a profile declared in roles.toml ({_DEFAULT})",
    "whoami": f"as boto3.Session(profile_name=...); {_DEFAULT}, as boto3",
    "explain": f"as passed explicitly ({_DEFAULT})",
    "login": f"a profile declared in roles.toml ({_DEFAULT})",
    "cache": "only this roles.toml profile (default: $AWS_DEFAULT_PROFILE or $AWS_PROFILE when "
             "set, else every profile)",
}
REGION_HELP = {
    "": "whoami: the region of its STS client; env/exec: the AWS_REGION exported",
    "whoami": "the region of the STS client that asks who you are (default: as boto3)",
    "env": "print this AWS_REGION / AWS_DEFAULT_REGION instead of the profile's region",
    "exec": "give the command this AWS_REGION / AWS_DEFAULT_REGION instead of the profile's",
}
OUTPUT_HELP = "text (default) for people, json for programs (whoami, list, explain)"
DEBUG_HELP = ("log what rolecall does (profile, role, cache hit or miss, expiry) on stderr; "
              "never a secret")


def _globals(parser: argparse.ArgumentParser, command: str, uses: frozenset[str]) -> None:
    """Add the global options ``uses`` to ``parser``; SUPPRESS keeps an option given before the
    command when the same option is absent after it."""
    group = parser.add_argument_group("global options (before or after the command)")
    if "profile" in uses:
        group.add_argument("--profile", default=argparse.SUPPRESS, metavar="PROFILE",
                           help=PROFILE_HELP.get(command, PROFILE_HELP[""]))
    if "region" in uses:
        group.add_argument("--region", default=argparse.SUPPRESS, metavar="REGION",
                           help=REGION_HELP.get(command, REGION_HELP[""]))
    if "output" in uses:
        group.add_argument("--output", default=argparse.SUPPRESS, choices=OUTPUTS,
                           help=OUTPUT_HELP)
    group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help=DEBUG_HELP)


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
             help_text: str) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text, description=help_text,
                         epilog=EXAMPLES[name],
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    if name != "cache":
        _globals(cmd, name, USES[name])
    return cmd


def _role_options(cmd: argparse.ArgumentParser) -> None:
    """--role-arn [--source-profile]: a role with no roles.toml entry, as rolecall.assume()."""
    group = cmd.add_argument_group("a role without roles.toml (instead of --profile)")
    group.add_argument("--role-arn", metavar="ARN",
                       help="assume this role (no roles.toml needed)")
    group.add_argument("--source-profile", metavar="PROFILE",
                       help="with --role-arn: the AWS profile whose credentials sign the "
                            "AssumeRole call (default: botocore's default chain)")


def _role(ns: argparse.Namespace) -> tuple[str, str | None] | None:
    """--role-arn and --source-profile, or None; with --profile too, a usage error."""
    role_arn = getattr(ns, "role_arn", None)
    source = getattr(ns, "source_profile", None)
    if role_arn is None:
        if source is not None:
            raise CliError("--source-profile goes with --role-arn")
        return None
    if getattr(ns, "profile", None):
        raise CliError("give --profile or --role-arn, not both")
    return str(role_arn), source


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rolecall", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rolecall {__version__}")
    _globals(parser, "", frozenset(GLOBAL_OPTIONS))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cmd = _command(sub, "credential-process",
                   "print a profile's credentials as credential_process JSON (Version 1)")
    _role_options(cmd)

    cmd = _command(sub, "setup-process",
                   "print or add credential_process stanzas to the AWS config file")
    cmd.add_argument("profiles", nargs="*", metavar="PROFILE",
                     help="profiles to set up (default: all of roles.toml)")
    cmd.add_argument("--write", action="store_true",
                     help="add them to $AWS_CONFIG_FILE or ~/.aws/config (atomic, with a backup)")
    cmd.add_argument("--force", action="store_true", help="replace existing profiles")

    cmd = _command(sub, "env", "print a role's credentials as environment variables")
    _role_options(cmd)
    cmd.add_argument("--format", default="sh", choices=FORMATS,
                     help="how to print them: sh (default: bash, zsh; for eval), fish, "
                          "powershell, dotenv (a .env file), json (one object)")

    cmd = _command(sub, "exec", "run a command with a role's credentials in its environment")
    _role_options(cmd)
    cmd.add_argument("--force", action="store_true", help="allow nesting inside another exec")
    cmd.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")

    cmd = _command(sub, "whoami", "the caller identity through the normal credential chain")
    _role_options(cmd)
    _command(sub, "explain", "how a profile resolves and why (no secrets, nothing fetched)")
    _command(sub, "check", "validate roles.toml: every problem with file, profile and key")
    _command(sub, "list", "profiles with role, source, region and cache state")
    _command(sub, "init", "write a commented starter roles.toml (never overwrites)")

    cmd = _command(sub, "login",
                   "ask for the MFA code now and start the profile's MFA session")
    cmd.add_argument("--renew", action="store_true",
                     help="start a new MFA session even if a live one is cached")

    cmd = _command(sub, "cache", "manage the disk cache")
    cache_sub = cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    clear = cache_sub.add_parser("clear", help="remove cached credentials",
                                 description="remove cached credentials (one profile's, or all)",
                                 epilog=EXAMPLES["cache"],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    _globals(clear, "cache", USES["cache"])
    clear.add_argument("--all", action="store_true", dest="every",
                       help="every profile's entries, whatever $AWS_PROFILE says")

    cmd = _command(sub, "completion", "print a shell completion script (bash, zsh or fish)")
    cmd.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL",
                     help="bash, zsh or fish")
    cmd.add_argument("--profiles", action="store_true", help=argparse.SUPPRESS)  # for scripts
    return parser


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(name, one line of help) of every command, in the order of ``--help``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [(choice.dest, choice.help or "") for choice in action._choices_actions]
    return []


def overview(parser: argparse.ArgumentParser) -> str:
    """What bare ``rolecall`` prints: the usage and one line per command, as ``aws``/``git`` do."""
    listed = commands(parser)
    width = max(len(name) for name, _ in listed)
    lines = [parser.format_usage().rstrip(), "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in listed]
    lines += ["", "`rolecall COMMAND --help` shows a command's options and examples; "
                  "`rolecall --help` the global options."]
    return "\n".join(lines) + "\n"


def _chosen(ns: argparse.Namespace) -> tuple[str, str]:
    """The profile a command acts on and where that came from (for messages)."""
    explicit: str | None = getattr(ns, "profile", None)
    return (explicit, "--profile") if explicit else default_profile()


def dispatch(ns: argparse.Namespace) -> int:
    """Run the command ``ns`` names: each command's module is imported only when it runs."""
    return _COMMANDS[ns.command](ns)


def _credential_process(ns: argparse.Namespace) -> int:
    from rolecall.cli import process

    return process.credential_process(*_chosen(ns), role=_role(ns))


def _setup_process(ns: argparse.Namespace) -> int:
    from rolecall.cli import process

    return process.setup_process(ns.profiles, ns.write, ns.force)


def _env(ns: argparse.Namespace) -> int:
    from rolecall.cli import envexec

    profile, how = _chosen(ns)
    return envexec.print_env(profile, ns.format, getattr(ns, "region", None), how, _role(ns))


def _exec(ns: argparse.Namespace) -> int:
    from rolecall.cli import envexec

    profile, how = _chosen(ns)
    argv = ns.argv[1:] if ns.argv[:1] == ["--"] else ns.argv
    return envexec.exec_command(profile, argv, ns.force, getattr(ns, "region", None), how=how,
                                role=_role(ns))


def _whoami(ns: argparse.Namespace) -> int:
    from rolecall.cli import report

    return report.whoami(getattr(ns, "profile", None), getattr(ns, "region", None),
                         getattr(ns, "output", "text"), _role(ns))


def _explain(ns: argparse.Namespace) -> int:
    from rolecall.cli import report

    return report.explain(getattr(ns, "profile", None), getattr(ns, "output", "text"))


def _check(ns: argparse.Namespace) -> int:
    from rolecall.cli import report

    return report.check()


def _list(ns: argparse.Namespace) -> int:
    from rolecall.cli import report

    return report.list_profiles(getattr(ns, "output", "text"))


def _init(ns: argparse.Namespace) -> int:
    from rolecall.cli import admin

    return admin.init()


def _login(ns: argparse.Namespace) -> int:
    from rolecall.cli import login

    return login.login(*_chosen(ns), renew=ns.renew)


def _cache_clear(ns: argparse.Namespace) -> int:
    from rolecall.cli import admin

    explicit = getattr(ns, "profile", None)
    if ns.every:
        if explicit:
            raise CliError("cache clear: give --profile or --all, not both")
        return admin.clear_cache(None, "--all")
    if explicit:
        return admin.clear_cache(explicit, "--profile")
    name, how = default_profile()
    return admin.clear_cache(name, how) if how != "the default" else admin.clear_cache(None, "")


def _completion(ns: argparse.Namespace) -> int:
    if ns.profiles:  # what the completion scripts run for profile names: quiet, never fails
        from rolecall.cli import report

        loaded = report.read_config()[1]
        for name in sorted(loaded.profiles if loaded is not None else ()):
            print(name)
        return 0
    from rolecall.cli import completion

    sys.stdout.write(completion.script(build(), str(ns.shell)))
    return 0


def _misplaced(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """A global option given before a command that has no use for it: a usage error."""
    for option in ("profile", "region", "output"):
        if hasattr(ns, option) and option not in USES[ns.command]:
            users = ", ".join(name for name, uses in USES.items() if option in uses)
            parser.error(f"--{option} does not apply to {ns.command} (it applies to: {users})")


def run(args: list[str]) -> int:
    parser = build()
    ns = parser.parse_args(args)
    if ns.command is None:
        sys.stderr.write(overview(parser))
        return 2
    _misplaced(parser, ns)
    if ns.command == "completion" and ns.shell is None and not ns.profiles:
        parser.error("completion: which shell? rolecall completion bash|zsh|fish")
    configure_logging(bool(getattr(ns, "debug", False)))
    try:
        return dispatch(ns)
    except CliError as exc:
        return print_error(str(exc), exc.status)
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] in ("rolecall", "botocore"):
            return print_error(str(exc))
        raise
    finally:
        flush_warnings()


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "credential-process": _credential_process, "setup-process": _setup_process, "env": _env,
    "exec": _exec, "completion": _completion, "whoami": _whoami, "explain": _explain,
    "check": _check, "list": _list, "init": _init, "login": _login, "cache": _cache_clear,
}
