"""RLMConsole as an event sink: every cell printed once, labelled with its sample, sub-calls folded."""
from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from rlm import RLM_REPL, EventSink, RLMConsole
from rlm.repl import SandboxLimits
from rlm.sim import ScriptedPolicy, SimServer

from tests.conftest import make_lm

BATCH = ("```repl\nq = \"I'm looking for a magic number. What is it?\\n\\nText:\\n\"\n"
         "answers = llm_query_batched([q + 'The magic number is 1111111', q + 'nothing', q + 'nothing'])\n"
         "print(answers)\n```")


def test_cells_are_printed_once_labelled_with_their_sample_and_the_progress_shares_the_console():
    out = io.StringIO()
    view = RLMConsole(Console(file=out, width=120, force_terminal=False))
    assert isinstance(view, EventSink)
    progress = Progress(console=view.console)
    progress.add_task("run", total=1)
    with SimServer(policy={"sim-large": ScriptedPolicy([BATCH, "```repl\n1/0\n```", "FINAL(1111111)"]),
                           "sim-small": "auto"}) as server, view.live(progress):
        rlm = RLM_REPL(make_lm(server), sub_model=make_lm(server, "sim-small"), console=view,
                       limits=SandboxLimits(cell_timeout_s=20))
        view.expect("rlm:niah-0007:0123abcd", "1111111")
        result = rlm.completion("ctx", "q", query_id="rlm:niah-0007:0123abcd")
    text = out.getvalue()
    assert result.answer == "1111111"
    assert text.count("In [1]") == 1 and text.count("In [2]") == 1 and "In [3]" not in text
    assert text.count("llm_query_batched") == 1  # the code once, not again with the reply
    assert "rlm:niah-0007 · depth 0 · turn 1 · In [1]" in text
    assert "↳ 3 sub-calls" in text and "'1111111'" in text
    assert "ZeroDivisionError" in text
    assert "■ rlm:niah-0007 · answer · 2 cells · 6 calls" in text
    assert "expected: 1111111" in text


def test_a_console_that_already_has_a_live_display_still_gets_every_cell():
    out = io.StringIO()
    shared = Console(file=out, width=120, force_terminal=False)
    view = RLMConsole(shared)
    with Progress(console=shared), SimServer(policy={"sim-large": ScriptedPolicy(["```repl\nprint(6 * 7)\n```",
                                                                                   "FINAL(42)"])}) as server:
        result = RLM_REPL(make_lm(server), depth=0, console=view).completion("ctx", "q", query_id="solo")
    assert result.answer == "42" and "Out [1]: 42" in out.getvalue()


def test_depth_two_child_cells_are_indented_under_their_depth_and_folded_in_the_parent_cell(sim):
    from tests.conftest import make_haystack

    out = io.StringIO()
    view = RLMConsole(Console(file=out, width=160, force_terminal=False))
    rlm = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=2, console=view)
    result = rlm.completion(make_haystack(30_000, "The magic number is 5550123", seed=5),
                            "I'm looking for a magic number. What is it?", query_id="rlm:deep:0123abcd")
    text = out.getvalue()
    assert "5550123" in result.answer
    assert "\n    rlm:deep · depth 1 · turn 1 · In [" in text  # a child's cell, indented (cells are numbered per sample)
    parent = text.index("rlm:deep · depth 0 · turn 1 · In [")
    assert "child RLMs (their cells above, indented)" in text[parent:]
    assert text.count("■ rlm:deep · answer") == 1


def test_a_baseline_call_that_fails_ends_its_sample_and_leaves_no_live_line(sim):
    from rlm.errors import LMError
    from rlm.trace import Tracer

    out = io.StringIO()
    view = RLMConsole(Console(file=out, width=120, force_terminal=False))
    ok, bad = Tracer(view, "run", "baseline:ok:0123abcd"), Tracer(view, "run", "baseline:big:0123abcd")
    ok.call(make_lm(sim), "I'm looking for a magic number. What is it?\n\nThe magic number is 4242424", role="baseline",
            depth=0)
    try:
        bad.call(make_lm(sim, "sim-small"), "word " * 100_000, role="baseline", depth=0)
    except LMError:
        pass
    assert "■ baseline:ok · answer" in out.getvalue() and "4242424" in out.getvalue()
    assert "■ baseline:big · answer" in out.getvalue() and "ContextLengthExceededError" in out.getvalue()
    assert not view._samples  # nothing left running in the live area
