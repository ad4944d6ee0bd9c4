"""A cost computed from locally counted tokens (the server sent no usage) is marked as estimated in
every table: `~0.0012` in markdown/terminal/LaTeX with a note, a boolean column in CSV; end to
end through the CLI against a server that streams without usage (the simulator's llama.cpp
profile), read back from the run's record and from TimescaleDB."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from rlm.sim import SIM_SMALL, SimServer
from rlm.telemetry import connect, embedded_status

from evals.run_source import sample_rows_from_db
from evals.summary import ESTIMATED_NOTE, render, summarize

ROOT = Path(__file__).resolve().parents[2]


def row(method: str, cost: float | None, estimated: bool) -> dict:
    return dict(task="niah", size_tokens=4096, method=method, model="m", sub_model=None, depth=None, score=1.0,
                latency_ms=100.0, prompt_tokens=1000, cached_tokens=0, completion_tokens=10, calls=1, sub_calls=0,
                cost_usd=cost, cost_estimated=estimated)


def test_estimated_costs_are_marked_in_every_format_and_exact_ones_are_not():
    groups = summarize([row("rlm", 0.0012, True), row("rlm", 0.0010, False), row("baseline", 0.002, False)])
    by_method = {g["method"]: g for g in groups}
    assert by_method["rlm"]["cost_estimated"] and not by_method["baseline"]["cost_estimated"]
    markdown = render(groups, "markdown", title="## run x")
    assert "~0.0011" in markdown and "| 0.0020" in markdown and ESTIMATED_NOTE in markdown
    assert "~0.0011" in render(groups, "terminal") and ESTIMATED_NOTE in render(groups, "terminal")
    latex = render(groups, "latex", title="## run x")
    assert "\\textasciitilde{}0.0011" in latex and "~" not in latex.replace("\\textasciitilde{}", "")
    text = render(groups, "csv", title="## run x")
    assert text.splitlines()[1] == f"# {ESTIMATED_NOTE}"
    table = list(csv.DictReader(io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#")))))
    assert {r["method"]: r["cost_estimated"] for r in table} == {"rlm": "True", "baseline": "False"}
    assert abs(float({r["method"]: r["cost_mean"] for r in table}["rlm"]) - 0.0011) < 1e-12  # a plain number


def test_an_unknown_cost_is_not_marked_and_no_note_without_estimates():
    groups = summarize([row("rlm", None, True), row("baseline", 0.002, False)])
    assert not any(g["cost_estimated"] for g in groups)
    markdown = render(groups, "markdown")
    assert "unknown" in markdown and "~" not in markdown and ESTIMATED_NOTE not in markdown


def test_a_run_against_a_server_without_stream_usage_marks_its_cost_estimated(tsdb_home, tmp_path):
    dsn = embedded_status(tsdb_home).dsn
    with SimServer(models=[SIM_SMALL], profile="llamacpp") as sim:   # llama.cpp: no usage in streams
        proc = subprocess.run(
            [sys.executable, "-m", "evals.run", "model=vllm", "model.name=sim-small", f"model.base_url={sim.base_url}",
             "model.context_window=65536", "model.price.input=0.5", "model.price.output=1.5", "model.stream=true",
             "methods=[baseline]", "task=niah", "size=4K", "samples=1", "db=dsn", f"db.dsn='{dsn}'",
             "label=cost-estimated", f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache"],
            cwd=ROOT, capture_output=True, text=True, timeout=180, env={**os.environ, "RLM_EVALS_HOME": str(tsdb_home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (report,) = (tmp_path / "results").rglob("report.md")
    text = report.read_text()
    assert ESTIMATED_NOTE in text and "| ~0.00" in text
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id FROM runs WHERE label = 'cost-estimated' ORDER BY started_at DESC LIMIT 1")
        (run_id,) = cur.fetchone()
        cur.execute("SELECT DISTINCT usage_source FROM llm_calls WHERE run_id = %s", (run_id,))
        assert cur.fetchall() == [("estimated",)]
    rows = sample_rows_from_db(dsn, run_id)
    assert rows and all(r["cost_estimated"] and r["cost_usd"] > 0 for r in rows)
    assert "~0.00" in render(summarize(rows), "markdown")
