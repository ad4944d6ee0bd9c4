"""Cell semantics: state, last-expression value, streams, errors, contexts, variables."""
from __future__ import annotations

import pytest

from rlm.repl import Sandbox, SandboxLimits

FAST = SandboxLimits(cell_timeout_s=5.0)


def test_state_persists_and_last_expression_is_shown(sandbox: Sandbox) -> None:
    assert sandbox.run("x = 40").success
    result = sandbox.run("y = x + 1\ny + 1")
    assert result.success and result.value_repr == "42"
    assert sandbox.run("None").value_repr is None
    assert sandbox.run("'a' * 3").value_repr == "'aaa'"


def test_stdout_and_stderr_are_captured(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    assert (result.stdout_chars, result.stderr_chars) == (4, 4)


def test_exception_gives_traceback_and_type(sandbox: Sandbox) -> None:
    result = sandbox.run("print('before')\n1 / 0")
    assert not result.success and result.error_type == "ZeroDivisionError"
    assert "Traceback" in result.error and "<cell-" in result.error and "1 / 0" in result.error
    assert result.stdout == "before\n" and not result.state_lost
    syntax = sandbox.run("def f(:")
    assert syntax.error_type == "SyntaxError" and not syntax.success
    assert sandbox.run("raise SystemExit(3)").error_type == "SystemExit"
    assert sandbox.run("1 + 1").value_repr == "2"  # the worker survived all of it


@pytest.mark.parametrize("context, expected", [
    ("some text", "('str', 9)"),
    ("", "('str', 0)"),
    (["a", "b", "c"], "('list', 3)"),
    ([], "('list', 0)"),
    ({"k": [1, 2], "j": "v"}, "('dict', 2)"),
])
def test_context_kinds(context: object, expected: str) -> None:
    with Sandbox(context, None, FAST) as sb:
        assert sb.run("type(context).__name__, len(context)").value_repr == expected


def test_unicode_context_round_trips() -> None:
    text = "naïve café — 数字 🎉\nline2"
    with Sandbox(text, None, FAST) as sb:
        assert sb.run("context").value_repr == repr(text)


def test_get_variable(sandbox: Sandbox) -> None:
    sandbox.run("answer = 'forty-two'\nnums = [1, 2]")
    assert sandbox.get_variable("answer") == (True, "forty-two")
    assert sandbox.get_variable("nums") == (True, "[1, 2]")
    assert sandbox.get_variable("missing")[0] is False


def test_unsupported_context_type_is_rejected() -> None:
    with pytest.raises(TypeError):
        Sandbox(object())


def test_close_is_idempotent_and_cleans_up() -> None:
    sb = Sandbox("ctx", None, FAST)
    base, proc = sb._workspace.base, sb._worker.proc
    sb.close()
    sb.close()
    assert not base.exists() and proc.poll() is not None


def test_worker_imports_no_rlm_or_openai(sandbox: Sandbox) -> None:
    code = "import sys\nsorted(m for m in sys.modules if m.split('.')[0] in ('rlm', 'openai'))"
    assert sandbox.run(code).value_repr == "[]"
