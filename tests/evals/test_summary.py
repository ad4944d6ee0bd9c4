"""The comparison table's exports: the terminal table fits 120 columns, CSV keeps numbers as
numbers, and every format keeps the simulated-models note."""
from __future__ import annotations

import csv
import io

from evals.report import render_run
from evals.summary import CSV_COLUMNS, HEADERS, TERMINAL_HEADERS, TERMINAL_WIDTH, render, summarize

NOTE = "simulated models: these numbers test the harness, they are not model results"


def row(method: str, score: float, *, model: str = "sim-large", depth: int | None = 1, cost: float | None = 0.27,
        size: int = 1_048_576, stop: str = "final") -> dict:
    return dict(task="ruler_niah", size_tokens=size, method=method, model=model, sub_model="sim-small",
                depth=depth, score=score, error=None if stop != "context_exceeded" else stop, stop_reason=stop,
                latency_ms=12_345.6, calls=51, sub_calls=49, prompt_tokens=1_051_727, cached_tokens=10_000,
                completion_tokens=662, cost_usd=cost)


ROWS = ([row("rlm", s) for s in (1.0, 1.0, 0.0)]
        + [row("rlm", 1.0, model="meta-llama/Llama-3.1-70B-Instruct-Turbo", depth=2, size=16_777_216)]
        + [row("baseline", 0.0, depth=None, cost=None, stop="context_exceeded") for _ in range(2)])


def test_terminal_table_keeps_the_first_columns_within_120():
    text = render_run(ROWS, "ruler_niah-16M-0123456789ab", "terminal", simulated=True, label=None)
    lines = text.splitlines()
    assert NOTE in lines[0]
    table = lines[2:]
    assert max(len(line) for line in table) <= TERMINAL_WIDTH
    assert table[0].split() == "task size method model depth n accuracy ctx exceeded cost mean $ latency p50 s".split()
    assert len(TERMINAL_HEADERS) == 10
    rlm = next(line for line in table if " rlm " in line and "sim-large" in line)
    assert "0.667 ± 0.333" in rlm and "0.2700" in rlm and "12.35" in rlm
    baseline = next(line for line in table if "baseline" in line)
    assert "2/2" in baseline and "unknown" in baseline
    assert any("meta-llama/Llama-3.1-…" in line for line in table)


def test_markdown_keeps_every_column():
    text = render_run(ROWS, "r", "markdown", simulated=True, label=None)
    assert NOTE in text.splitlines()[0]
    header = next(line for line in text.splitlines() if line.startswith("| task"))
    assert [h.strip() for h in header.strip("|").split("|")] == HEADERS


def test_csv_has_numbers_as_numbers_and_the_note():
    text = render_run(ROWS, "r", "csv", simulated=True, label=None)
    first, rest = text.split("\n", 1)
    assert first.startswith("# ") and NOTE in first
    records = list(csv.DictReader(io.StringIO(rest)))
    assert list(records[0]) == CSV_COLUMNS
    rlm = next(r for r in records if r["method"] == "rlm" and r["depth"] == "1")
    assert float(rlm["accuracy"]) == 2 / 3 and int(rlm["size_tokens"]) == 1_048_576
    assert float(rlm["prompt_tokens"]) == 1_051_727 and float(rlm["cost_mean"]) == 0.27
    baseline = next(r for r in records if r["method"] == "baseline")
    assert baseline["cost_mean"] == "" and int(baseline["context_exceeded"]) == 2   # unknown, not zero


def test_latex_keeps_the_note_escaped():
    text = render(summarize(ROWS), "latex", title="## run r_1 · sim (" + NOTE + ")")
    assert "\\begin{tabular}" in text and "cost mean \\$" in text
    assert "\\textit{run r\\_1 · sim (" + NOTE + ")}" in text


def test_a_long_title_wraps_within_120_with_the_note_on_its_own_line():
    text = render_run(ROWS, "ruler_niah-16M-0123456789ab", "terminal", simulated=True, label="a-long-label-" * 3)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= TERMINAL_WIDTH
    assert lines[0].startswith("## run ruler_niah-16M-0123456789ab · sim · a-long-label-")
    assert lines[1] == f"({NOTE})"


def test_no_title_no_note():
    assert NOTE not in render_run(ROWS, "r", "terminal", simulated=False, label=None)
