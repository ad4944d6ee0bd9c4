"""Each query's trajectory as TextEvents: root turns, cells, sub-calls, the baseline and the answer,
keyed to the numeric events, nested under the cell at depth 2, capped, and safe for any text."""
from __future__ import annotations

import json

import pytest

from rlm import RLM_REPL, JsonlSink, ListSink, LLMCallEvent, TextEvent
from rlm.events import CodeExecEvent, event_from_dict, event_to_dict
from rlm.repl import SandboxLimits
from rlm.sim import ScriptedPolicy, SimServer
from rlm.trace import Tracer

from tests.conftest import make_haystack, make_lm


def texts(sink: ListSink) -> dict[tuple[str, str], TextEvent]:
    return {(e.item_id, e.field): e for e in sink.events if isinstance(e, TextEvent)}


def run_scripted(*replies: str, **kwargs: object) -> tuple[object, ListSink]:
    sink = ListSink()
    with SimServer(policy={"sim-large": ScriptedPolicy(list(replies)), "sim-small": "auto"}) as server:
        rlm = RLM_REPL(make_lm(server), sub_model=make_lm(server, "sim-small"), sink=sink,
                       limits=SandboxLimits(cell_timeout_s=20), **kwargs)  # type: ignore[arg-type]
        result = rlm.completion("the context", "What is it?", query_id="q-1")
    return result, sink


def test_root_turns_cells_sub_calls_and_the_answer_are_kept_after_their_numbers():
    first = ("Looking.\n```repl\nr = llm_query(\"I'm looking for a magic number. What is it?\\n\\nText:\\n\"\n"
             "              'The magic number is 1234567')\n"
             "print(r)\n```\n```repl\nimport sys; print('warn', file=sys.stderr); 1/0\n```")
    result, sink = run_scripted(first, "FINAL(1234567)")
    by_key = texts(sink)
    turn1, turn2 = result.trajectory
    sent1 = json.loads(by_key[(turn1.call_id, "messages")].text)
    assert [m["role"] for m in sent1] == ["system", "user"] and sent1[1]["content"].endswith("What is it?")
    sent2 = json.loads(by_key[(turn2.call_id, "messages")].text)  # only what the turn added
    assert [m["role"] for m in sent2] == ["user"] and sent2[0]["content"].startswith("REPL output (cell 1)")
    assert by_key[(turn1.call_id, "reply")].text == turn1.response
    ok_cell, bad_cell = turn1.cells
    assert by_key[(ok_cell.exec_id, "code")].text == ok_cell.code
    assert by_key[(ok_cell.exec_id, "output")].text == ok_cell.output  # exactly what the model saw
    assert by_key[(bad_cell.exec_id, "stderr")].text.strip() == "warn"
    assert "ZeroDivisionError" in by_key[(bad_cell.exec_id, "error")].text
    (sub,) = [e for e in sink.llm_calls if e.role == "sub"]
    assert sub.exec_id == ok_cell.exec_id and sub.parent_call_id == turn1.call_id
    assert "1234567" in by_key[(sub.call_id, "prompt")].text and "1234567" in by_key[(sub.call_id, "reply")].text
    assert by_key[("q-1", "answer")].text == "1234567"
    order = {id(e): i for i, e in enumerate(sink.events)}
    numeric = {e.call_id: e for e in sink.llm_calls} | {e.exec_id: e for e in sink.code_executions}
    for (item, _), event in by_key.items():
        if item in numeric:
            assert order[id(numeric[item])] < order[id(event)]
    assert all(not e.truncated and e.chars == len(e.text) for e in by_key.values())


def test_depth_two_child_turns_nest_under_the_cell_that_called_them(sim):
    sink = ListSink()
    rlm = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=2, sink=sink)
    result = rlm.completion(make_haystack(30_000, "The magic number is 5550123", seed=5),
                            "I'm looking for a magic number. What is it?")
    assert "5550123" in result.answer
    cells = {e.exec_id: e for e in sink.code_executions}
    child_roots = [e for e in sink.llm_calls if e.role == "root" and e.depth == 1]
    assert child_roots and all(cells[e.exec_id].depth == 0 for e in child_roots)
    child_cells = [e for e in sink.code_executions if e.depth == 1]
    assert child_cells and all(e.parent_call_id in {c.call_id for c in child_roots} for e in child_cells)
    by_key = texts(sink)
    assert all((e.call_id, "messages") in by_key and (e.call_id, "reply") in by_key for e in child_roots)
    assert all(e.exec_id in cells for e in sink.llm_calls if e.role == "sub")
    answers = [e for e in by_key.values() if e.field == "answer"]
    assert len(answers) == 1 and answers[0].item_id == result.query_id


def test_long_texts_are_cut_at_the_cap_with_the_cut_marked():
    reply = "A" * 3000 + "\n```repl\nprint('x' * 5_000_000)\n```"
    result, sink = run_scripted(reply, "FINAL(done)", max_text_chars=1000, max_output_chars=50_000)
    by_key = texts(sink)
    cut = by_key[(result.trajectory[0].call_id, "reply")]
    assert cut.truncated and cut.chars == len(reply) and len(cut.text) <= 1000 and "truncated" in cut.text
    out = by_key[(result.trajectory[0].cells[0].exec_id, "output")]
    assert out.truncated and out.chars == len(result.trajectory[0].cells[0].output) and len(out.text) <= 1000


def test_any_text_is_data_surrogates_nul_and_invalid_bytes(tmp_path):
    # '\udcff' is how Python carries an undecodable byte (surrogateescape); the next turn must still go out
    result, sink = run_scripted("```repl\nprint('nul\\x00 lone\\udcff pair\\U0001F600')\n"
                                "print(b'bad \\xff\\xfe bytes'.decode('utf-8', 'surrogateescape'))\n```",
                                "FINAL(ok)")
    assert result.answer == "ok"
    output = texts(sink)[(result.trajectory[0].cells[0].exec_id, "output")].text
    assert "nul\x00" in output and "\U0001F600" in output and "\ufffd" in output
    output.encode("utf-8")  # valid UTF-8 whatever the cell printed
    jsonl = JsonlSink(tmp_path / "events.jsonl")
    for event in sink.events:
        jsonl.emit(event)
    jsonl.close()
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(sink.events)
    assert any(isinstance(event_from_dict(json.loads(line)), TextEvent) for line in lines)
    tracer = Tracer(ListSink(), "run", "q")
    tracer.text("x", "reply", "\udc80\ud800 half pairs")
    (event,) = tracer.sink.events  # type: ignore[union-attr]
    assert event_to_dict(event)["text"] == "\ufffd\ufffd half pairs"


def test_the_baseline_keeps_its_prompt_and_reply(sim):
    sink = ListSink()
    tracer = Tracer(sink, "run", "q-base")
    completion = tracer.call(make_lm(sim), "The magic number is 7654321.\n\nQuestion: magic number?\nAnswer:",
                             role="baseline", depth=0)
    (call,) = sink.llm_calls
    by_key = texts(sink)
    assert "7654321" in by_key[(call.call_id, "prompt")].text
    assert by_key[(call.call_id, "reply")].text == completion.text
    assert isinstance(sink.events[0], LLMCallEvent)


def test_no_sink_means_no_text_work():
    tracer = Tracer(None, "run", "q")
    tracer.text("x", "reply", "anything")  # nothing to emit to, nothing raised


@pytest.mark.parametrize("field", ["code", "output"])
def test_cell_texts_follow_their_code_exec_event(field):
    result, sink = run_scripted("```repl\nprint(1)\n```", "FINAL(1)")
    exec_index = next(i for i, e in enumerate(sink.events) if isinstance(e, CodeExecEvent))
    text_index = next(i for i, e in enumerate(sink.events)
                      if isinstance(e, TextEvent) and e.field == field and e.item_id == result.trajectory[0].cells[0].exec_id)
    assert exec_index < text_index
