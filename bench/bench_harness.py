"""The harness's own costs: the main job's wall split, the run record's flushing, and resume start-up.

    python bench/bench_harness.py                          # all three, niah at 1M, 5 samples, db off
    python bench/bench_harness.py --only flush --size 128K
    python bench/bench_harness.py --only resume --resume-samples 1000

- main: generation (cold cache), model time and harness overhead of each sample's wall.
- flush: time spent writing and fsyncing the run record during the main job, as a share of its
  wall; then the same batches written again in this process with and without fsync.
  Target: under 2 % of the main job's wall.
- resume: a 1,000-sample run with 990 finished in its record; time from `run_eval` to the first
  model call of the 10 left. Target: under 2 s.
Figures are ratios and times of runs in this one process, not absolute targets across machines.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.plan import plan_for  # noqa: E402
from evals.run_record import RunLog  # noqa: E402
from evals.runner import run_eval  # noqa: E402
from evals.sample_result import SampleResult  # noqa: E402
from evals.tasks import build_samples, parse_size  # noqa: E402
from rlm.events import LLMCallEvent, ListSink, utcnow  # noqa: E402


class TimedAppends:
    """Wraps RunLog.append_encoded (every write goes through it) to add up the time the runner's
    loop spends writing and fsyncing, and keeps the batches. Encoding happens in the samples' threads."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.batches: list[bytes] = []
        self._original = RunLog.append_encoded

    def __enter__(self) -> "TimedAppends":
        timer = self

        def append_encoded(log: RunLog, data: bytes) -> None:
            started = time.perf_counter()
            timer._original(log, data)
            timer.seconds += time.perf_counter() - started
            timer.batches.append(data)

        RunLog.append_encoded = append_encoded  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        RunLog.append_encoded = self._original  # type: ignore[method-assign]


def bench_main(args: argparse.Namespace, tmp: Path) -> None:
    t0 = time.perf_counter()
    build_samples("niah", parse_size(args.size), args.samples, 0, {}, cache_dir=tmp / "cache" / "tasks")
    generation = time.perf_counter() - t0
    plan = plan_for(["task=niah", f"size={args.size}", f"samples={args.samples}", "db=off",
                     f"results_dir={tmp}/results", f"cache_dir={tmp}/cache", f"sim.time_scale={args.time_scale}"])
    sink = ListSink()
    with TimedAppends() as appends:
        t1 = time.perf_counter()
        outcome = run_eval(plan, sink=sink)
        run_wall = time.perf_counter() - t1
    sample_wall = sum(r.latency_ms for r in outcome.results) / 1000
    direct_calls = sum(e.latency_ms for e in sink.llm_calls if e.role in ("root", "baseline")) / 1000
    cells = sum(e.duration_ms for e in sink.code_executions) / 1000
    model_time = direct_calls + cells  # sub-calls happen inside cells
    overhead = max(0.0, sample_wall - model_time)
    print(f"## main job: niah size={args.size} samples={args.samples} time_scale={args.time_scale}")
    print(f"generation (cold cache): {generation:.2f} s")
    print(f"run phase wall: {run_wall:.2f} s  (sum of sample walls {sample_wall:.2f} s, concurrency {plan.concurrency})")
    print(f"  model time (root/baseline calls + cells with their sub-calls): {model_time:.2f} s "
          f"({model_time / sample_wall:.1%} of sample wall)")
    print(f"  harness overhead: {overhead:.2f} s ({overhead / sample_wall:.1%} of sample wall)")
    print(f"calls: {len(sink.llm_calls)}, cells: {len(sink.code_executions)}")
    print(f"## run record flushing: {len(appends.batches)} batches, {appends.seconds * 1000:.1f} ms writing "
          f"and fsyncing = {appends.seconds / run_wall:.3%} of the run's wall (target < 2%)")
    for fsync in (True, False):
        again = RunLog(tmp / "rewrite" / str(fsync), writer=True)
        again.fsync = fsync
        started = time.perf_counter()
        for batch in appends.batches:
            again.append_encoded(batch)
        spent = time.perf_counter() - started
        print(f"  the same batches again, fsync={fsync}: {spent * 1000:.1f} ms ({spent / run_wall:.3%} of the wall)")


def _fake_result(plan, method: str, index: int, sample_id: str) -> SampleResult:
    return SampleResult(run_id=plan.run_id, query_id=f"{method}:{sample_id}:old", sample_id=sample_id,
                        sample_index=index, task="niah", family="niah", size_tokens=plan.size_tokens, method=method,
                        model="sim-large", sub_model=None, depth=None, score=1.0, correct=True, answer="1234567",
                        expected=["1234567"], stop_reason="final", calls=20)


def bench_resume(args: argparse.Namespace, tmp: Path) -> None:
    n = args.resume_samples // 2  # two methods
    overrides = ["task=niah", "size=1K", f"samples={n}", "db=off", f"results_dir={tmp}/resume",
                 f"cache_dir={tmp}/cache", "sim.time_scale=0", "concurrency=4"]
    plan = plan_for(overrides)
    samples = build_samples("niah", plan.size_tokens, n, 0, {}, cache_dir=tmp / "cache" / "tasks")  # warm cache
    log = RunLog(plan.run_dir, writer=True)
    pairs = [(m, i, s.sample_id) for m in plan.methods for i, s in enumerate(samples)]
    keep = pairs[:len(pairs) - 10]
    for method, index, sample_id in keep:  # 20 model-call events per finished sample, as a real record has
        query_id = f"{method}:{sample_id}:old"
        events = [LLMCallEvent(time=utcnow(), run_id=plan.run_id, query_id=query_id, call_id=f"{query_id}:{k}",
                               parent_call_id=None, depth=0, iteration=k, role="root", model="sim-large",
                               prompt_tokens=900, completion_tokens=40) for k in range(20)]
        log.append([*events, _fake_result(plan, method, index, sample_id)])
    size_mb = log.path.stat().st_size / 1e6


    import openai

    openai.OpenAI(api_key="warm-up", base_url="http://127.0.0.1:9/v1")  # imports a CLI process has already done
    sink = ListSink()
    started, started_at = time.perf_counter(), utcnow()
    outcome = run_eval(plan_for(overrides), sink=sink)
    total = time.perf_counter() - started
    first = (min(e.time for e in sink.llm_calls) - started_at).total_seconds()  # when the first call was sent
    print(f"## resume: {len(pairs)} samples, {len(keep)} finished in a {size_mb:.1f} MB record")
    print(f"first model call of the {len(pairs) - len(keep)} left after {first:.2f} s (target < 2 s); "
          f"whole resume {total:.2f} s; skipped {outcome.skipped}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1M")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--resume-samples", type=int, default=1000)
    parser.add_argument("--only", choices=("main", "flush", "resume"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-harness-"))
    if args.only in (None, "main", "flush"):
        bench_main(args, tmp)
    if args.only in (None, "resume"):
        bench_resume(args, tmp)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
