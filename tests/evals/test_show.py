"""`python -m evals.show`: the sample list and one sample's trajectory, from the run's files and
from the embedded TimescaleDB, and the main job read back end to end."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rlm.telemetry import Recorder, RunRecord, SampleRecord

from evals.show import main
from tests.evals.run_fixture import RUN_ID, fixture_samples, make_run

ROOT = Path(__file__).resolve().parents[2]


def show(*argv: str) -> tuple[int, str]:
    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    code = main(list(argv), console=console)
    return code, console.export_text()


@pytest.fixture
def results(tmp_path) -> Path:
    make_run(tmp_path, big_output="z" * 5_000_000)
    return tmp_path


def list_rows(text: str) -> list[str]:
    """The list's rows: the lines between its header and its "N of M samples" line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "sample"])
    end = next(i for i, line in enumerate(lines) if " samples" in line and " of " in line)
    return lines[start + 1:end]


def test_list_has_every_sample_and_filters_wrong_and_errored(results):
    code, text = show("--results", str(results))
    assert code == 0
    assert f"run {RUN_ID}" in text.splitlines()[0]
    rows = list_rows(text)
    assert len(rows) == 4 and "4 of 4 samples" in text
    assert "niah-1M-1" in rows[1] and "42" in rows[1]
    _, wrong = show("--results", str(results), RUN_ID, "--wrong")
    assert [r.split()[0] for r in list_rows(wrong)] == ["3", "4"]   # numbers of the full list
    _, errors = show("--results", str(results), "--errors")
    assert [r.split()[0] for r in list_rows(errors)] == ["3"]
    assert max(len(line) for line in text.splitlines()[2:]) <= 120


def test_sample_shows_cells_outputs_sub_call_and_expected(results):
    code, text = show("--results", str(results), RUN_ID, "rlm:niah-1M-0")
    assert code == 0
    assert "In [1]:" in text and "Out [1]:" in text
    assert "1 chunks = [context[i:i + 1000]" in text                 # numbered code lines
    assert "asked 5 chunks: 6136177" in text                          # the cell's output
    assert "▸ 5 sub-calls to sim-small" in text
    assert "Find the magic number in chunk 0" in text and "NOT FOUND" in text   # first prompt and reply
    assert "'NOT FOUND' ×4, '6136177' ×1" in text
    assert "Query: I'm looking for a magic number" in text
    assert text.count("answers = llm_query_batched") == 1              # the code once, not twice
    final = text[text.index("final"):]
    assert "answer    6136177" in final and "expected  6136177" in final
    _, every = show("--results", str(results), RUN_ID, "1", "--calls")
    assert every.count("Find the magic number in chunk") == 5


def test_depth_two_child_cells_nest_under_the_parent_cell(results):
    _, text = show("--results", str(results), RUN_ID, "2")
    parent = text.index("parts = rlm_query_batched")
    children = [text.index(f"child RLM {i}/2") for i in (1, 2)]
    child_code = text.index("child_code_0 = llm_query_batched")
    assert parent < children[0] < child_code < children[1]
    line = next(ln for ln in text.splitlines() if "child_code_0 = llm_query_batched" in ln)
    assert line.startswith("      ")                                   # indented under the parent cell
    assert "grandchild prompt 0.0" in text


def test_errors_big_output_and_invalid_text_are_shown_cut(results):
    code, text = show("--results", str(results), RUN_ID, "3")
    assert code == 0
    assert "cell 1 · ZeroDivisionError" in text and "stderr:" in text
    assert "error: APIConnectionError" in text
    assert "zzzz" in text and "more characters (--full shows all)" in text
    assert "stored 1,000,000 of 5,000,000 characters" in text
    assert len(text) < 20_000
    _, baseline = show("--results", str(results), RUN_ID, "baseline:niah-1M-0")
    assert "I don't know \\xff\\x00" in baseline                      # undecodable byte and NUL, escaped
    assert "Question: magic?" in baseline                              # a prompt's tail is kept


@pytest.mark.parametrize("argv, message", [
    (["no-such-run"], "no run 'no-such-run'"),
    ([RUN_ID, "9"], "sample #9 does not exist: the run has 4 samples"),
    ([RUN_ID, "niah-1M-0"], "is ambiguous"),
    ([RUN_ID, "nothing-like-it"], "no sample 'nothing-like-it'"),
])
def test_bad_input_is_one_line_and_exit_2(results, capsys, argv, message):
    code, _ = show("--results", str(results), "--source", "local", *argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_reads_the_same_run_from_timescaledb(dsn, tmp_path):
    run_id = "show-db-run"
    rows, events = fixture_samples(run_id)
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool", batch_size=20)
    recorder.record_run(RunRecord(run_id=run_id, label="sim", status="finished"))
    for event in events:
        recorder.emit(event)
    columns = set(SampleRecord.__dataclass_fields__) - {"time", "kind"}
    for r in rows:
        recorder.record_sample(SampleRecord(**{k: v for k, v in r.items() if k in columns}))
    recorder.close()
    assert recorder.spooled == 0
    code, listing = show("--results", str(tmp_path), "--source", "db", "--dsn", dsn, run_id)
    assert code == 0 and "from TimescaleDB" in listing and "simulated models" in listing
    assert len(list_rows(listing)) == 4
    _, text = show("--source", "db", "--dsn", dsn, run_id, "rlm:niah-1M-1")
    assert "child RLM 2/2" in text and "grandchild prompt 1.1" not in text and "grandchild prompt 1.0" in text
    assert text.index("parts = rlm_query_batched") < text.index("child_code_1 = llm_query_batched")


@pytest.mark.slow
def test_main_job_then_show_lists_ten_samples_and_an_rlm_trajectory(tsdb_home, tmp_path):
    env = {**os.environ, "RLM_EVALS_HOME": str(tsdb_home), "COLUMNS": "160"}
    env.pop("RLM_TSDB_DSN", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=300, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    # seed=1: a run id of its own, since the main-job test ships the seed-0 run into the same database
    run("evals.run", "task=niah", "size=1M", "seed=1", f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache")
    page = next((tmp_path / "results" / "runs").glob("*/report.html")).read_text(encoding="utf-8")
    assert page.count('<tr class="sample') == 10 and page.count("In [1]") == 5    # written at the run's end
    listing = run("evals.show", "--results", f"{tmp_path}/results").stdout
    assert "from TimescaleDB" in listing and "10 of 10 samples" in listing
    text = run("evals.show", "--results", f"{tmp_path}/results", "latest", "1").stdout
    assert "In [1]:" in text and "Out [1]:" in text and "49 sub-calls to sim-small" in text
    local = run("evals.show", "--results", f"{tmp_path}/results", "--source", "local", "latest", "1").stdout
    if "(code not recorded)" in text:
        pytest.skip("the library does not emit trajectory texts yet: only the tree is checked")
    assert "llm_query_batched" in text and "asked the sub-model about 49 chunks" in text
    assert "prompt" in text and "NOT FOUND" in text
    assert "characters of the sample's context⟧" in text   # a chunk is kept as a reference, said in words
    assert "llm_query_batched" in local
