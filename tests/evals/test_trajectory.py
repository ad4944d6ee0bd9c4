"""Assembling a sample's tree from its events: by hand, from a real depth-2 run, through the
run's JSONL and through the embedded TimescaleDB (text table, escapes, the cap)."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from rlm import ListSink, RLM_REPL
from rlm.events import JsonlSink, TextEvent
from rlm.telemetry import Recorder, connect
from rlm.trace import child_call_id, child_key_of, new_id

from evals.trajectory import build, events_from_db, events_from_jsonl, load_from_db
from tests.conftest import make_haystack, make_lm
from tests.evals.trajectory_builder import TrajectoryBuilder, depth2_rlm, niah_rlm


def test_depth_one_tree_has_turns_cells_sub_calls_and_answer():
    b = niah_rlm("run", "q1", n_sub=7)
    other = niah_rlm("run", "q2", n_sub=3)       # another sample's events are ignored
    traj = build(b.events + other.events, "q1")
    assert [t.event.iteration for t in traj.turns] == [1, 2]
    (cell,) = traj.turns[0].cells
    assert cell.text("code").text.startswith("chunks = ")
    assert len(cell.sub_calls) == 7 and not cell.children
    assert [c.text("reply").text for c in cell.sub_calls].count("6136177") == 1
    assert traj.answer.text == "6136177"
    assert traj.usage().calls == 9


def test_depth_two_children_nest_under_the_cell_that_started_them():
    traj = build(depth2_rlm("run", "q", children=3).events, "q")
    (cell,) = traj.turns[0].cells
    assert cell.sub_calls == [] and len(cell.children) == 3
    for i, child in enumerate(cell.children):
        assert child.depth == 1
        assert [t.event.iteration for t in child.turns] == [1, 2]
        (child_cell,) = child.turns[0].cells
        assert child_cell.text("code").text == f"child_code_{i} = llm_query_batched(chunks)"
        assert [c.event.depth for c in child_cell.sub_calls] == [2, 2]
    assert len(list(traj.cells())) == 4


def test_concurrent_children_are_told_apart_by_timing():
    """Two children interleaved in time: each second turn joins the child whose step just ended."""
    b = TrajectoryBuilder("run", "q")
    t1 = b.turn("```repl\nrlm_query_batched(...)\n```")
    cell = b.cell(t1, "rlm_query_batched(...)", "", sub_calls=2)
    a1 = b.turn("child a", depth=1, parent=t1, exec_id=cell)
    c1 = b.turn("child b", depth=1, parent=t1, exec_id=cell)
    b.clock += timedelta(seconds=5)
    a_cell = b.cell(a1, "a()", "out a", depth=1, duration_ms=100)      # a's cell ends first
    b2 = b.turn("b second", depth=1, parent=t1, exec_id=cell, iteration=2)  # b had no cell: b is done
    b.clock += timedelta(seconds=1)
    a2 = b.turn("a second", depth=1, parent=t1, exec_id=cell, iteration=2)
    traj = build(b.events, "q")
    runs = {r.turns[0].event.call_id: [t.event.call_id for t in r.turns] for r in traj.turns[0].cells[0].children}
    assert runs == {a1: [a1, a2], c1: [c1, b2]}
    assert traj.turns[0].cells[0].children[0].turns[0].cells[0].event.exec_id == a_cell


def test_children_are_grouped_by_the_key_in_their_call_ids_whatever_the_timing():
    """The timing that would pair `b`'s second turn with `a` (a's cell just ended) is ignored:
    each child's turns carry its key (`rlm.trace.child_call_id`)."""
    b = TrajectoryBuilder("run", "q")
    t1 = b.turn("```repl\nrlm_query_batched(...)\n```")
    cell = b.cell(t1, "rlm_query_batched(...)", "", sub_calls=2)
    key_a, key_b = new_id(), new_id()
    a1 = b.turn("child a", depth=1, parent=t1, exec_id=cell, call_id=child_call_id(key_a, 1))
    b1 = b.turn("child b", depth=1, parent=t1, exec_id=cell, call_id=child_call_id(key_b, 1))
    b.clock += timedelta(seconds=5)
    b.cell(a1, "a()", "out a", depth=1, duration_ms=100)
    b2 = b.turn("b second", depth=1, parent=t1, exec_id=cell, iteration=2, call_id=child_call_id(key_b, 2))
    b.cell(b1, "b()", "out b", depth=1, duration_ms=100)       # b's first cell is recorded late
    a2 = b.turn("a second", depth=1, parent=t1, exec_id=cell, iteration=2, call_id=child_call_id(key_a, 2))
    traj = build(b.events, "q")
    runs = [[t.event.call_id for t in r.turns] for r in traj.turns[0].cells[0].children]
    assert runs == [[a1, a2], [b1, b2]]
    assert child_key_of(a1) == key_a and child_key_of(new_id()) is None
    assert child_key_of("0123456789abcdef-0123-4567-89ab-012345678901") is None  # a uuid string is no key


def test_a_real_depth_two_run_nests_child_cells_under_the_parent_cell(sim):
    """The library's own events (no texts yet from older runs): the tree still nests correctly."""
    memory = ListSink()
    rlm = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=2, sink=memory, run_id="d2")
    result = rlm.completion(make_haystack(30_000, "The magic number is 2468013", seed=11),
                            "I'm looking for a magic number. What is it?", query_id="q")
    assert "2468013" in result.answer
    traj = build(memory.events, "q")
    assert traj.unplaced == []
    assert traj.usage().calls == result.usage.total.calls       # every call placed exactly once
    assert len(list(traj.cells())) == len(memory.code_executions)
    nested = [c for t in traj.turns for c in t.cells if c.children]  # the root probes first, then fans out
    assert nested, "a root cell should hold child RLMs"
    child = nested[0].children[0]
    assert child.depth == 1 and child.turns[0].cells, "the child RLM's own cells sit under the parent cell"
    assert all(s.event.depth == 2 for s in child.turns[0].cells[0].sub_calls)
    for cell in nested:  # each child's turns share one key and count 1, 2, ... in order
        for run in cell.children:
            assert len({child_key_of(t.event.call_id) for t in run.turns}) == 1
            assert [t.event.iteration for t in run.turns] == list(range(1, len(run.turns) + 1))


def test_big_and_invalid_texts_survive_the_jsonl_log(tmp_path):
    b = TrajectoryBuilder("run", "q", cap=1_000_000)
    t1 = b.turn("reply with \udcff an undecodable byte and a \x00 NUL")
    b.cell(t1, "print('x' * 5_000_000)", "x" * 5_000_000)
    sink = JsonlSink(tmp_path / "events.jsonl")
    for event in b.events:
        sink.emit(event)
    sink.close()
    traj = build(events_from_jsonl([tmp_path / "events.jsonl"]), "q")
    out = traj.turns[0].cells[0].text("output")
    assert (len(out.text), out.chars, out.truncated) == (1_000_000, 5_000_000, True)
    assert traj.turns[0].text("reply").text == "reply with \udcff an undecodable byte and a \x00 NUL"


def test_texts_round_trip_through_timescaledb_with_escapes_and_the_cap(dsn, tmp_path):
    """Cap 20,000 characters: a 5 MB output is stored cut and marked; NUL and an undecodable
    byte are stored as visible escapes; the tree read back equals the one built in memory."""
    b = niah_rlm("traj-db", "q'1", n_sub=4, cap=20_000)
    t = b.turn("bad bytes \udcff and \x00 here", iteration=3)
    b.cell(t, "print(big)", "y" * 5_000_000, iteration=3, error="MemoryError: too big")
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool", batch_size=2)
    for event in b.events:
        recorder.emit(event)
    recorder.close()
    assert recorder.spooled == 0
    traj = load_from_db(dsn, "traj-db", "q'1")
    memory = build(b.events, "q'1")
    assert [c.event.call_id for c in traj.calls()] == [c.event.call_id for c in memory.calls()]
    big = traj.turns[2].cells[0]
    assert (len(big.text("output").text), big.text("output").chars, big.text("output").truncated) == (
        20_000, 5_000_000, True)
    assert big.text("error").text == "MemoryError: too big" and not big.event.success
    assert traj.turns[2].text("reply").text == "bad bytes \\udcff and \\x00 here"  # pg_safe's escapes
    assert traj.answer.text == "6136177"
    cut = load_from_db(dsn, "traj-db", "q'1", max_chars=1_000).turns[2].cells[0].text("output")
    assert cut.text.startswith("y" * 500) and cut.text.endswith("y" * 500)   # cut in the database
    assert "19,000" not in cut.text and "19000 characters not read" in cut.text and cut.chars == 5_000_000
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM trajectory_texts WHERE run_id = 'traj-db'")
        assert cur.fetchone()[0] == sum(isinstance(e, TextEvent) for e in b.events)
    # A folded page reads the prompt of each cell's first sub-call only; every reply still comes.
    folded = build(events_from_db(dsn, "traj-db", "q'1", first_prompts_only=True), "q'1")
    (cell,) = folded.turns[0].cells
    assert [c.text("prompt") is not None for c in cell.sub_calls] == [True, False, False, False]
    assert all(c.text("reply") is not None for c in cell.sub_calls)
    assert folded.turns[0].text("messages") is not None and folded.answer.text == "6136177"


@pytest.mark.skipif(not os.environ.get("RLM_TEST_NATIVE_DSN"), reason="needs a native TimescaleDB "
                    "(RLM_TEST_NATIVE_DSN): rows over 64 KiB")
def test_the_default_cap_round_trips_through_a_native_timescaledb(tmp_path):
    """The default 1 MB cap: a 5 MB output and a 1 MB prompt stored whole up to the cap."""
    from rlm.telemetry import migrate

    dsn = os.environ["RLM_TEST_NATIVE_DSN"]
    migrate(dsn)
    b = niah_rlm("traj-native", "q", n_sub=2)
    turn = b.turn("big", iteration=3)
    cell = b.cell(turn, "print(big)", "w" * 5_000_000, iteration=3)
    b.sub_call(cell, turn, "p" * 1_000_000 + "\udcff", "ok")
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool")
    for event in b.events:
        recorder.emit(event)
    recorder.close()
    assert recorder.spooled == 0
    traj = load_from_db(dsn, "traj-native", "q")
    big = traj.turns[2].cells[0]
    assert (len(big.text("output").text), big.text("output").chars, big.text("output").truncated) == (
        1_000_000, 5_000_000, True)
    prompt = big.sub_calls[0].text("prompt")
    assert prompt.chars == 1_000_001 and prompt.truncated and prompt.text == "p" * 1_000_000
