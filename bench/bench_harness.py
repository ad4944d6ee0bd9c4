"""Wall time of the main job split into generation, model time and harness overhead; memory at 10M.

    python bench/bench_harness.py                 # niah at 1M, 5 samples, db off
    python bench/bench_harness.py --size 10M --samples 1

Generation is timed on its own (cold cache). "Model time" is the time a sample spent waiting on
model calls (root and baseline calls, plus sub-calls overlapping inside cells, counted once per
cell via the cell's duration); "harness overhead" is the rest of each sample's wall time.
Figures are ratios of one run in this process, not absolute targets.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.plan import register_configs  # noqa: E402
from evals.runner import run_eval  # noqa: E402
from evals.tasks import build_samples, parse_size  # noqa: E402
from rlm.events import ListSink  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1M")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.02)
    args = parser.parse_args()
    register_configs()
    tmp = Path(tempfile.mkdtemp(prefix="bench-harness-"))
    t0 = time.perf_counter()
    build_samples("niah", parse_size(args.size), args.samples, 0, {}, cache_dir=tmp / "cache" / "tasks")
    generation = time.perf_counter() - t0
    conf = str(Path(__file__).resolve().parents[1] / "conf")
    with initialize_config_dir(config_dir=conf, version_base="1.3"):
        cfg = compose("config", overrides=["task=niah", f"size={args.size}", f"samples={args.samples}", "db=off",
                                           f"results_dir={tmp}/results", f"cache_dir={tmp}/cache",
                                           f"sim.time_scale={args.time_scale}"])
    sink = ListSink()
    t1 = time.perf_counter()
    outcome = run_eval(cfg, sink=sink)
    run_wall = time.perf_counter() - t1
    sample_wall = sum(r.latency_ms for r in outcome.results) / 1000
    direct_calls = sum(e.latency_ms for e in sink.llm_calls if e.role in ("root", "baseline")) / 1000
    cells = sum(e.duration_ms for e in sink.code_executions) / 1000
    model_time = direct_calls + cells  # sub-calls happen inside cells
    overhead = max(0.0, sample_wall - model_time)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    acc = {m: sum(r.score for r in outcome.results if r.method == m) / max(1, sum(1 for r in outcome.results if r.method == m))
           for m in ("rlm", "baseline")}
    print(f"niah size={args.size} samples={args.samples} time_scale={args.time_scale}")
    print(f"generation (cold cache): {generation:.2f} s")
    print(f"run phase wall: {run_wall:.2f} s  (sum of sample walls {sample_wall:.2f} s, concurrency {cfg.concurrency})")
    print(f"  model time (root/baseline calls + cells with their sub-calls): {model_time:.2f} s "
          f"({model_time / sample_wall:.1%} of sample wall)")
    print(f"  harness overhead: {overhead:.2f} s ({overhead / sample_wall:.1%} of sample wall)")
    print(f"calls: {len(sink.llm_calls)}, cells: {len(sink.code_executions)}, accuracy {acc}")
    print(f"peak RSS of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
