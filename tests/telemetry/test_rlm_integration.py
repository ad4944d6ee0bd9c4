"""A real depth-2 RLM run recorded into the embedded TimescaleDB: every call, every depth, exact sums."""
from __future__ import annotations

from decimal import Decimal

import pytest

from rlm import ListSink, RLM_REPL
from rlm.events import FanoutSink
from rlm.telemetry import Recorder, connect, queries

from tests.conftest import make_haystack, make_lm


def test_depth_two_run_records_every_call_with_parent_links_and_exact_totals(sim, dsn, tmp_path):
    memory = ListSink()
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool")
    rlm = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=2,
                   sink=FanoutSink(memory, recorder), run_id="it's; a \"depth-2\" run")
    result = rlm.completion(make_haystack(30_000, "The magic number is 2468013", seed=11),
                            "I'm looking for a magic number. What is it?", query_id="q'1;")
    recorder.close()
    assert "2468013" in result.answer
    assert recorder.spooled == 0

    rows = queries.calls(dsn, rlm.run_id, "q'1;")
    assert len(rows) == len(memory.llm_calls) == result.usage.total.calls
    assert {r["depth"] for r in rows} == {0, 1, 2}
    by_id = {r["call_id"]: r for r in rows}
    for row in rows:
        if row["depth"] == 0:
            assert row["parent_call_id"] is None and row["role"] == "root"
        else:  # every deeper call hangs off a call one level up
            assert by_id[row["parent_call_id"]]["depth"] == row["depth"] - 1
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(prompt_tokens), sum(cached_tokens), sum(completion_tokens), sum(cost_usd) "
                    "FROM llm_calls WHERE run_id = %s", (rlm.run_id,))
        prompt, cached, completion, cost = cur.fetchone()
        cur.execute("SELECT count(*), sum(sub_calls) FROM code_executions WHERE run_id = %s", (rlm.run_id,))
        cells, sub_calls = cur.fetchone()
    total = result.usage.total
    assert (prompt, cached, completion) == (total.prompt_tokens, total.cached_tokens, total.completion_tokens)
    assert float(cost if not isinstance(cost, Decimal) else cost) == pytest.approx(total.cost_usd, rel=1e-9)
    assert cells == len(memory.code_executions)
    assert sub_calls == sum(e.sub_calls for e in memory.code_executions)
