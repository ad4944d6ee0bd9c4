"""Ctrl-C stops a run cleanly (exit 130, finished samples kept) and the same command resumes it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from evals.run_record import RunLog

ROOT = Path(__file__).resolve().parents[2]


def _finished(record: Path) -> int:
    return len(RunLog(record.parent).results())


def test_ctrl_c_keeps_finished_samples_and_the_rerun_completes_only_the_rest(tmp_path):
    args = [sys.executable, "-m", "evals.run", "task=niah", "size=32K", "samples=4", "db=off", "concurrency=2",
            f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache"]
    # time_scale=1: real-time simulated latency, so the run is still going when interrupted.
    # SIGINT is reset to its default because a background test runner may have it ignored.
    proc = subprocess.Popen([*args, "sim.time_scale=1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    jsonl = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((tmp_path / "results" / "runs").glob("*/record.jsonl"))
        if found and _finished(found[0]) >= 1:
            jsonl = found[0]
            break
        time.sleep(0.1)
    assert jsonl is not None, "no sample finished in time"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    kept = _finished(jsonl)
    finishes = [h for h in RunLog(jsonl.parent).read().header if h.kind == "run_finish"]
    assert finishes[-1].status == "interrupted"
    assert 1 <= kept < 8

    rerun = subprocess.run([*args, "sim.time_scale=1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{kept} finished samples skipped, {8 - kept} to run" in rerun.stderr
    assert _finished(jsonl) == 8
