"""RLM_REPL end to end: real worker processes, the simulator over HTTP, the real openai client."""
from __future__ import annotations

import pytest

from rlm import Budget, ListSink, RLM_REPL
from rlm.repl import SandboxLimits
from rlm.sim import ScriptedPolicy, SimServer

from tests.conftest import make_haystack, make_lm


def scripted(*replies: str, sub: object = "auto") -> SimServer:
    """A simulator whose root model (sim-large) says `replies` in order; sub-calls use `sub`."""
    return SimServer(policy={"sim-large": ScriptedPolicy(list(replies)), "sim-small": sub})


def rlm_for(server: SimServer, **kwargs) -> RLM_REPL:
    kwargs.setdefault("limits", SandboxLimits(cell_timeout_s=20))
    return RLM_REPL(make_lm(server), sub_model=make_lm(server, "sim-small"), **kwargs)


def test_scripted_trajectory_reaches_final_and_keeps_the_transcript():
    with scripted("Let me look.\n```repl\nn = len(context)\nprint('length', n)\n```",
                  "The length is known.\nFINAL(5 characters)") as server:
        result = rlm_for(server).completion("hello", "How long is the context?")
    assert result.answer == "5 characters"
    assert result.stop_reason == "final"
    assert result.iterations == 2
    assert result.trajectory[0].cells[0].output.strip() == "length 5"
    assistant = [m["content"] for m in result.messages if m["role"] == "assistant"]
    assert assistant[0].startswith("Let me look.")
    assert result.usage.total.calls == 2
    assert result.usage.by_depth[0].calls == 2


def test_final_var_returns_the_variable_and_output_is_truncated():
    with scripted("```repl\nanswer = context.upper()\nprint('x' * 50000)\n```\nFINAL_VAR(answer)") as server:
        result = rlm_for(server, max_output_chars=1000).completion("hello", "Shout it.")
    assert (result.answer, result.stop_reason) == ("HELLO", "final_var")
    output = result.trajectory[0].cells[0].output
    assert len(output) <= 1000 and "truncated" in output
    assert "truncated" in result.messages[-1]["content"]


def test_final_var_of_a_missing_variable_tells_the_model():
    with scripted("FINAL_VAR(nothing_here)", "FINAL(recovered)") as server:
        result = rlm_for(server).completion("abc", "q")
    assert result.answer == "recovered"
    told = [m["content"] for m in result.messages if m["role"] == "user"][1]
    assert "nothing_here" in told and "not defined" in told


def test_reply_with_neither_code_nor_final_is_answered_with_guidance():
    with scripted("I am thinking about it.", "FINAL(ok)") as server:
        result = rlm_for(server).completion(["a", "b"], "q")
    assert result.answer == "ok"
    assert "neither" in result.messages[3]["content"]


@pytest.mark.parametrize("context", ["", [], {"a": 1, "b": [1, 2]}, ["x", "y", "z"]])
def test_context_of_any_supported_type(context):
    with scripted("```repl\nanswer = type(context).__name__ + ':' + str(len(context))\n```\nFINAL_VAR(answer)") as server:
        result = rlm_for(server).completion(context, "what type?")
    assert result.answer == f"{type(context).__name__}:{len(context)}"


def test_sub_call_over_the_sub_models_window_is_an_error_the_model_can_read():
    with scripted("```repl\nr = llm_query('word ' * 200000)\nprint(r[:200])\n```",
                  "FINAL(retried smaller)") as server:
        result = rlm_for(server).completion("ctx", "q")
    output = result.trajectory[0].cells[0].output
    assert output.startswith("Error: ContextLengthExceededError")
    assert "context_length_exceeded" in output or "maximum context length" in output
    assert result.answer == "retried smaller"


def test_batched_sub_calls_keep_order_and_are_counted():
    code = ("```repl\nq = \"I'm looking for a magic number. What is it?\\n\\nText:\\n\"\n"
            "answers = llm_query_batched([q + 'The magic number is 1111111', q + 'nothing here',"
            " q + 'The magic number is 3333333'])\nprint(answers)\n```")
    sink = ListSink()
    with scripted(code, "FINAL(done)") as server:
        result = rlm_for(server, sink=sink).completion("ctx", "q")
    answers = result.trajectory[0].cells[0].output
    assert answers.index("1111111") < answers.index("NOT FOUND") < answers.index("3333333")
    assert result.trajectory[0].cells[0].result.sub_calls == 3
    subs = [e for e in sink.llm_calls if e.role == "sub"]
    assert len(subs) == 3 and all(e.parent_call_id == result.trajectory[0].call_id for e in subs)
    assert result.usage.by_depth[1].calls == 3


def test_auto_policy_finds_the_needle_in_a_1m_token_haystack(sim):
    haystack = make_haystack(150_000, "The magic number is 7340521", seed=3)
    assert len(haystack) > 4_000_000
    result = rlm_for(sim, depth=1).completion(haystack, "I'm looking for a magic number. What is it?")
    assert "7340521" in result.answer
    assert result.stop_reason in ("final", "final_var")
    assert result.usage.by_depth[1].calls >= 8  # the haystack was read in chunks by sub-calls


def test_depth_two_runs_child_rlms_and_totals_equal_the_sum_of_all_calls(sim):
    sink = ListSink()
    haystack = make_haystack(30_000, "The magic number is 5550123", seed=5)
    rlm = rlm_for(sim, depth=2, sink=sink)
    result = rlm.completion(haystack, "I'm looking for a magic number. What is it?")
    assert "5550123" in result.answer
    calls = sink.llm_calls
    assert {e.depth for e in calls} >= {0, 1, 2}
    assert result.usage.total.calls == len(calls)
    assert result.usage.total.prompt_tokens == sum(e.prompt_tokens for e in calls)
    assert result.usage.total.completion_tokens == sum(e.completion_tokens for e in calls)
    assert result.usage.total.cost_usd == pytest.approx(sum(e.cost_usd for e in calls))
    ids = {e.call_id for e in calls}
    assert all(e.parent_call_id in ids for e in calls if e.depth > 0)
    assert len(sink.code_executions) >= 2  # the root's cells and the children's cells


def test_max_iterations_ends_with_one_last_answer_call():
    with scripted("```repl\nanswer = 'partial'\n```", "```repl\nx = 1\n```", "FINAL(last word)") as server:
        result = rlm_for(server, max_iterations=2).completion("c", "q")
    assert result.stop_reason == "max_iterations"
    assert result.answer == "last word"
    assert "run out of iterations" in result.messages[-2]["content"]


@pytest.mark.parametrize("budget, reason", [
    (Budget(max_tokens=10), "max_tokens"),
    (Budget(max_cost_usd=1e-9), "max_cost"),
])
def test_token_and_cost_budgets_stop_with_a_partial_answer(budget, reason):
    with scripted("```repl\nanswer = 'partial'\n```", "FINAL(never reached)") as server:
        result = rlm_for(server, budget=budget).completion("c", "q")
    assert result.stop_reason == reason
    assert result.answer == "partial"


def test_wall_time_budget_stops_the_run():
    with scripted("```repl\nanswer = 'slow partial'\nimport time; time.sleep(1.5)\n```",
                  "FINAL(never reached)") as server:
        result = rlm_for(server, budget=Budget(max_wall_s=1.0)).completion("c", "q")
    assert result.stop_reason == "max_wall_time"
    assert result.answer == "slow partial"


def test_infinite_loop_cell_times_out_and_the_run_continues():
    with scripted("```repl\nx = 1\nwhile True: pass\n```", "```repl\nprint(len(context))\n```", "FINAL(fine)") as server:
        result = rlm_for(server, limits=SandboxLimits(cell_timeout_s=1)).completion("abcd", "q")
    first, second = result.trajectory[0].cells[0], result.trajectory[1].cells[0]
    assert first.result.timed_out and "restarted" in first.output
    assert second.output.strip() == "4"
    assert result.answer == "fine"
