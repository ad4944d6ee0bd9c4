"""Sub-calls made from a cell reach the parent's handler, in order and counted."""
from __future__ import annotations

from typing import Any

from rlm.repl import Sandbox, SandboxLimits

FAST = SandboxLimits(cell_timeout_s=5.0)


def test_llm_query_and_batch_keep_order_and_count(sandbox: Sandbox, handler: Any) -> None:
    result = sandbox.run("a = llm_query('one')\nb = llm_query_batched(['x', 'y', 'z'])\n(a, b)")
    assert result.value_repr == "('echo:one', ['echo:x', 'echo:y', 'echo:z'])"
    assert result.sub_calls == 4
    assert handler.requests == [("llm_query", "one"), ("llm_query_batched", ["x", "y", "z"])]


def test_handler_exception_is_raised_in_the_cell(sandbox: Sandbox) -> None:
    result = sandbox.run("llm_query('boom')")
    assert not result.success and "handler exploded" in result.error
    caught = sandbox.run("try:\n    llm_query('boom')\nexcept Exception as e:\n    r = str(e)\nr")
    assert "ValueError: handler exploded" in caught.value_repr and caught.sub_calls == 1


def test_no_handler_gives_a_clear_error() -> None:
    with Sandbox("ctx", None, FAST) as sb:
        result = sb.run("llm_query('hi')")
    assert not result.success and "no sub-model handler" in result.error


def test_bad_argument_type_is_a_cell_error(sandbox: Sandbox) -> None:
    assert sandbox.run("llm_query(123)").error_type == "TypeError"


def test_rlm_query_only_when_enabled(handler: Any) -> None:
    with Sandbox("ctx", handler, FAST) as sb:
        assert sb.run("rlm_query").error_type == "NameError"
    with Sandbox("ctx", handler, FAST, enable_rlm_query=True) as sb:
        result = sb.run("rlm_query(['a', 'b'], 'q'), rlm_query_batched(['c', 'd'], 'q')")
    assert result.value_repr == "('rlm:q:2', ['rlm:q:c', 'rlm:q:d'])"
    assert result.sub_calls == 3


def test_sub_calls_from_threads_in_a_cell(sandbox: Sandbox) -> None:
    code = ("from concurrent.futures import ThreadPoolExecutor\n"
            "with ThreadPoolExecutor(4) as ex:\n"
            "    out = list(ex.map(llm_query, [str(i) for i in range(20)]))\n"
            "out == ['echo:%d' % i for i in range(20)]")
    result = sandbox.run(code)
    assert result.value_repr == "True" and result.sub_calls == 20
