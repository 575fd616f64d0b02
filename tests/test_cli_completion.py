"""``rolecall completion bash|zsh|fish``, run in the real shells: the generated script is loaded the
way its install line says, and the shell's completion function is asked what it offers.

bash: source the script, set COMP_WORDS/COMP_CWORD, call the function ``complete`` registered,
read COMPREPLY. zsh: ``compinit`` finds the script on ``fpath`` (its ``#compdef`` line), and the
registered function runs with ``words``/``CURRENT`` set; ``compadd`` (a builtin that only works
inside a completion widget) is replaced by a function that prints what it is given, and the test
does the prefix matching zsh would. fish: ``complete -C``, fish's own query.

zsh and fish are Debian packages that `make test` installs when missing (as root); without them
their tests are skipped, saying so.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import COMMANDS, ROLECALL, STAGING
from tests.conftest import PROD, Aws

FORMATS = {"sh", "fish", "powershell", "dotenv", "json"}
PROFILES = {"prod", "staging"}


def options(*path: str) -> set[str]:
    """The options of a command path, straight from the parser (what completion must offer)."""
    from rolecall.cli import _parser

    parser = _parser.build()
    for name in path:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]  # type: ignore[index]
    return {flag for action in parser._actions for flag in action.option_strings
            if action.help != "==SUPPRESS=="}


# (what the user typed, what completion must offer: exactly, after prefix matching)
CASES: list[tuple[str, set[str]]] = [
    ("rolecall ", set(COMMANDS)),
    ("rolecall wh", {"whoami"}),
    ("rolecall e", {"env", "exec", "explain"}),
    ("rolecall --profile ", PROFILES),
    ("rolecall --profile prod e", {"env", "exec", "explain"}),
    ("rolecall --debug --region eu-west-1 --profile st", {"staging"}),
    ("rolecall env --format ", FORMATS),
    ("rolecall env --profile prod --format p", {"powershell"}),
    ("rolecall whoami --output ", {"text", "json"}),
    ("rolecall --output j", {"json"}),
    ("rolecall cache ", {"clear"}),
    ("rolecall cache clear --", {o for o in options("cache", "clear") if o.startswith("--")}),
    ("rolecall completion ", {"bash", "zsh", "fish"}),
    ("rolecall setup-process ", PROFILES),
    ("rolecall setup-process prod --", {"--help", "--write", "--force", "--debug"}),
    ("rolecall env --", {o for o in options("env") if o.startswith("--")}),
    ("rolecall --", {o for o in options() if o.startswith("--")}),
    ("rolecall exec --profile prod -", {o for o in options("exec")}),
]
IDS = [line.replace("rolecall", "").strip() or "commands" for line, _ in CASES]


@pytest.fixture
def shell_env(aws: Aws) -> dict[str, str]:
    """roles.toml with two profiles, and `rolecall` on PATH (the scripts run it for names)."""
    aws.roles(PROD + STAGING)
    return {**aws.env, "PATH": f"{ROLECALL.parent}{os.pathsep}{os.environ['PATH']}"}


def script(env: dict[str, str], shell: str, folder: Path, name: str) -> Path:
    done = subprocess.run([str(ROLECALL), "completion", shell], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""
    path = folder / name
    path.write_text(done.stdout)
    return path


def matching(line: str, offered: list[str]) -> set[str]:
    current = "" if line.endswith(" ") else line.rsplit(maxsplit=1)[-1]
    return {word for word in offered if word.startswith(current)}


def need(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (`make test` installs it as root: apt-get install "
                    f"{shell})")


# --- bash ------------------------------------------------------------------------------------


def bash_offers(env: dict[str, str], path: Path, line: str) -> list[str]:
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = (f"source {shlex.quote(str(path))}\n"
               f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n"
               "complete -p rolecall >&2\n"
               '"$(complete -p rolecall | sed -n "s/.*-F \\([^ ]*\\) .*/\\1/p")"\n'
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("complete -F _rolecall rolecall"), done.stderr
    return [word for word in done.stdout.splitlines() if word]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
@pytest.mark.slow
def test_bash(shell_env: dict[str, str], tmp_path: Path, line: str, expected: set[str]) -> None:
    path = script(shell_env, "bash", tmp_path, "rolecall.bash")
    assert matching(line, bash_offers(shell_env, path, line)) == expected


@pytest.mark.slow
def test_bash_after_exec_dashdash_completes_commands_then_files(
        shell_env: dict[str, str], tmp_path: Path) -> None:
    path = script(shell_env, "bash", tmp_path, "rolecall.bash")
    assert "bash" in bash_offers(shell_env, path, "rolecall exec --profile prod -- bas")
    (tmp_path / "plan.tfvars").write_text("")
    files = bash_offers(shell_env, path, f"rolecall exec -- terraform {tmp_path}/pla")
    assert files == [f"{tmp_path}/plan.tfvars"]


# --- zsh -------------------------------------------------------------------------------------

ZSH = """\
fpath=({folder} $fpath)
autoload -U compinit && compinit -u -D
[[ $_comps[rolecall] == _rolecall ]] || {{ print -u2 "not registered: $_comps[rolecall]"; exit 3 }}
compadd() {{  # the builtin works only inside a widget: print what it is given
    local -a described; described=("${{(@P)3}}")
    print -rl -- "${{described[@]/#/HELP:}}"
    while [[ $1 != -- ]]; do shift; done; shift
    print -rl -- "$@"
}}
_normal() {{ print -r -- "NORMAL:$CURRENT:${{words[*]}}" }}
words=({words})
CURRENT={current}
_rolecall
"""


def zsh_offers(env: dict[str, str], folder: Path, line: str) -> list[str]:
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = ZSH.format(folder=shlex.quote(str(folder)), current=len(words),
                         words=" ".join(shlex.quote(w) for w in words))
    done = subprocess.run(["zsh", "-f", "-c", program], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
@pytest.mark.slow
def test_zsh(shell_env: dict[str, str], tmp_path: Path, line: str, expected: set[str]) -> None:
    need("zsh")
    script(shell_env, "zsh", tmp_path, "_rolecall")
    offered = [w for w in zsh_offers(shell_env, tmp_path, line) if not w.startswith("HELP:")]
    assert matching(line, offered) == expected


@pytest.mark.slow
def test_zsh_describes_commands_and_hands_exec_to_the_command(
        shell_env: dict[str, str], tmp_path: Path) -> None:
    need("zsh")
    script(shell_env, "zsh", tmp_path, "_rolecall")
    offered = zsh_offers(shell_env, tmp_path, "rolecall ")
    assert "HELP:whoami  the caller identity through the normal credential chain" in offered
    assert zsh_offers(shell_env, tmp_path, "rolecall exec --profile prod -- terraform pl") == \
        ["NORMAL:2:terraform pl"]


# --- fish ------------------------------------------------------------------------------------


def fish_offers(env: dict[str, str], path: Path, line: str) -> list[str]:
    program = f"source {shlex.quote(str(path))}; complete -C {shlex.quote(line)}"
    done = subprocess.run(["fish", "--no-config", "-c", program], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
@pytest.mark.slow
def test_fish(shell_env: dict[str, str], tmp_path: Path, line: str, expected: set[str]) -> None:
    need("fish")
    path = script(shell_env, "fish", tmp_path, "rolecall.fish")
    offered = [entry.split("\t")[0] for entry in fish_offers(shell_env, path, line)]
    assert matching(line, offered) == expected


@pytest.mark.slow
def test_fish_describes_commands_and_completes_exec_commands(
        shell_env: dict[str, str], tmp_path: Path) -> None:
    need("fish")
    path = script(shell_env, "fish", tmp_path, "rolecall.fish")
    assert "whoami\tthe caller identity through the normal credential chain" in \
        fish_offers(shell_env, path, "rolecall wh")
    offered = [e.split("\t")[0] for e in fish_offers(shell_env, path, "rolecall exec -- bas")]
    assert "bash" in offered


def test_every_parser_command_and_option_is_in_every_script(shell_env: dict[str, str]) -> None:
    """Generated, not hand-written: what the parser has, each script has."""
    for shell in ("bash", "zsh", "fish"):
        text = subprocess.run([str(ROLECALL), "completion", shell], env=shell_env,
                              capture_output=True, text=True, timeout=60, check=True).stdout
        for word in [*COMMANDS, *options(), *options("env"), *FORMATS]:
            assert word in text, (shell, word)
