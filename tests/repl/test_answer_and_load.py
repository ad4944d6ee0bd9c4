"""The worker's side of the answer dict and of persistent sessions (a new `context`, same variables)."""
from __future__ import annotations

from rlm.repl import Sandbox, SandboxLimits

from .conftest import EchoHandler


def test_answer_dict_state_comes_back_with_each_cell(sandbox: Sandbox) -> None:
    first = sandbox.run("answer['content'] = 'draft'")
    assert (first.answer_ready, first.answer_content) == (False, "draft")
    done = sandbox.run("answer['ready'] = True")
    assert (done.answer_ready, done.answer_content) == (True, "draft")
    assert sandbox.get_variable("answer") == (True, "draft")  # FINAL_VAR(answer) means its content
    plain = sandbox.run("answer = 42")
    assert (plain.answer_ready, plain.answer_content) == (False, "42")


def test_load_context_keeps_variables_resets_answer_and_survives_a_restart(handler: EchoHandler) -> None:
    with Sandbox("first", handler, SandboxLimits(cell_timeout_s=2.0)) as sb:
        sb.run("kept = context.upper(); answer['ready'] = True")
        sb.load_context(["second", "context"])
        cell = sb.run("print(kept, context, answer)")
        assert cell.stdout.strip() == "FIRST ['second', 'context'] {'content': '', 'ready': False}"
        lost = sb.run("while True: pass")
        assert lost.state_lost
        assert sb.run("print(context)").stdout.strip() == "['second', 'context']"  # not the first context
