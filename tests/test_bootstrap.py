"""Tests of :mod:`rolecall._bootstrap`, what ``rolecall.pth`` imports at interpreter start: the
one-shot hook that waits for botocore (never importing it), ``install``/``uninstall``,
``ROLECALL_DISABLE``, and that nothing in it ever raises.

Hooks and registration are process-wide, so those cases run in a fresh interpreter
(:func:`run_python`, the .pth of this environment included); the pure ones run in-process.
"""

from __future__ import annotations

import logging

import pytest

from rolecall import _bootstrap
from tests.conftest import PROD, STATIC_KEY_ID, Aws, first_fast, run_python

# roles.toml making the `default` profile assume a role (it names itself as its source).
DEFAULT_ROLE = PROD.replace("[profiles.prod]", "[profiles.default]")

STATE = """
import sys
import rolecall._bootstrap as b
finders = sum(type(f).__name__ == "_BotocoreFinder" for f in sys.meta_path)
def registered():
    botocore = sys.modules.get("botocore")
    return 0 if botocore is None else botocore._INITIALIZERS.count(b._initialize)
def method():
    import botocore.session
    found = botocore.session.Session().get_credentials()
    return found.method + " " + ("static" if found.access_key == STATIC else "assumed")
""" + f"STATIC = {STATIC_KEY_ID!r}\n"


def python(aws: Aws, code: str, **env: str) -> list[str]:
    done = run_python(STATE + code, {**aws.env, **env}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(("value", "off"), [
    ("", False), ("0", False), ("false", False), (" No ", False), ("FALSE", False),
    ("1", True), ("yes", True), ("true", True), ("anything", True),
])
def test_disabled_reads_rolecall_disable(monkeypatch: pytest.MonkeyPatch, value: str,
                                         off: bool) -> None:
    monkeypatch.setenv("ROLECALL_DISABLE", value)
    assert _bootstrap.disabled() is off


def test_disabled_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLECALL_DISABLE", raising=False)
    assert _bootstrap.disabled() is False


def test_start_arms_one_hook_and_imports_no_botocore(aws: Aws) -> None:
    assert python(aws, "print('botocore' in sys.modules, finders)") == ["False", "1"]


def test_importing_botocore_registers_once_and_disarms_the_hook(aws: Aws) -> None:
    aws.roles(DEFAULT_ROLE)
    out = python(aws, "import botocore\n"
                      "b.activate(); b.install()  # a second .pth pass, a second install\n"
                      "print(registered(), sum(type(f).__name__ == '_BotocoreFinder' "
                      "for f in sys.meta_path), method())")
    assert out == ["1", "0", "rolecall", "assumed"]


MODULES = "mods = lambda: [m for m in sorted(sys.modules) if m.partition('.')[0] == 'rolecall']\n"


def test_the_session_layer_is_imported_with_botocore_not_in_a_session(aws: Aws) -> None:
    aws.roles(PROD)  # declares other profiles: `default` is not rolecall's
    code = MODULES + ("import botocore\nprint(','.join(mods()))\n"
                      "at_import = mods()\nprint(method(), mods() == at_import)")
    python(aws, code)  # the first process after an edit parses roles.toml (and imports a parser)
    out = python(aws, code)
    assert out == ["rolecall,rolecall._bootstrap,rolecall._files,rolecall.initializer",
                   "shared-credentials-file", "static", "True"]


def test_a_session_layer_that_fails_to_import_with_botocore_is_tried_again(aws: Aws) -> None:
    aws.roles(DEFAULT_ROLE)
    out = python(aws, MODULES + "sys.modules['rolecall.initializer'] = None  # import fails\n"
                                "import botocore\nprint(registered(), "
                                "sys.modules['rolecall.initializer'] is not None)\n"
                                "del sys.modules['rolecall.initializer']\nprint(method())")
    assert out == ["1", "False", "rolecall", "assumed"]


@pytest.mark.parametrize("value", first_fast(["1", "true"]))
def test_rolecall_disable_at_start_leaves_botocore_alone(aws: Aws, value: str) -> None:
    aws.roles(DEFAULT_ROLE)
    out = python(aws, "print(finders)\nimport botocore\nprint(registered(), method(), "
                      "'rolecall.initializer' in sys.modules)", ROLECALL_DISABLE=value)
    assert out == ["0", "0", "shared-credentials-file", "static", "False"]
    assert aws.assume_role_calls() == 0


def test_install_after_botocore_is_imported_registers_at_once(aws: Aws) -> None:
    aws.roles(DEFAULT_ROLE)
    out = python(aws, "import os, botocore\nprint(registered())\n"
                      "del os.environ['ROLECALL_DISABLE']\nb.install(); b.install()\n"
                      "print(registered(), method())", ROLECALL_DISABLE="1")
    assert out == ["0", "1", "rolecall", "assumed"]


def test_uninstall_disarms_and_unregisters(aws: Aws) -> None:
    aws.roles(DEFAULT_ROLE)
    out = python(aws, "b.uninstall()\nprint(sum(type(f).__name__ == '_BotocoreFinder' "
                      "for f in sys.meta_path))\nimport botocore\nb.install()\n"
                      "print(registered())\nb.uninstall(); b.uninstall()\n"
                      "print(registered(), method())")
    assert out == ["0", "1", "0", "shared-credentials-file", "static"]
    assert aws.assume_role_calls() == 0


def test_activate_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("broken install")

    monkeypatch.delenv("ROLECALL_DISABLE", raising=False)
    monkeypatch.setattr(_bootstrap, "install", broken)
    _bootstrap.activate()  # a start-up hook: no traceback in every Python process


def test_the_initializer_never_raises(monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    from rolecall import initializer

    def broken(session: object) -> None:
        raise RuntimeError("broken initializer")

    monkeypatch.delenv("ROLECALL_DISABLE", raising=False)
    monkeypatch.setattr(initializer, "initialize", broken)
    with caplog.at_level(logging.DEBUG, logger="rolecall"):
        _bootstrap._initialize(object())
    assert [r.getMessage() for r in caplog.records] == ["rolecall initializer failed"]
