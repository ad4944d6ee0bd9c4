"""What keeping trajectories costs: an RLM completion's time, and the main job's wall and DB size.

    python bench/bench_trajectory.py                  # the 1M-token needle at depth 1, 3 rounds
    python bench/bench_trajectory.py --lines 30000 --depth 2
    python bench/bench_trajectory.py --main-job       # the main job through TimescaleDB (see below)

1. Library: both arms run the same completion against the in-process simulator (time scale 0, so
   model time is near zero and the ratio is an upper bound on the real overhead); the "numbers
   only" arm replaces Tracer.text with a no-op. Arms alternate; the figure is the ratio of
   medians, and the texts are also emitted again on their own and timed.
2. Main job (`task=niah size=1M`, the default sim time scale) through the database: a fresh
   embedded TimescaleDB (or $RLM_TSDB_DSN), runs with `trajectory.store=true` and `=false`
   alternating in this process, each under its own run id. Wall: best of each arm. Size: the
   sum of `pg_column_size(row)` (compressed, TOAST included) over each run's own rows in
   llm_calls, code_executions, samples and trajectory_texts; then every chunk is compressed
   (what the policies do later) and the hypertables' compressed bytes are shared out per run
   (texts over the runs that stored them, numbers over all runs).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import RLM_REPL, ListSink, TextEvent  # noqa: E402
from rlm.sim import SimServer  # noqa: E402
from rlm.context_refs import resolve  # noqa: E402
from rlm.trace import Tracer  # noqa: E402
from tests.conftest import make_haystack, make_lm  # noqa: E402

QUESTION = "I'm looking for a magic number. What is it?"


def one(server: SimServer, haystack: str, depth: int) -> tuple[float, ListSink]:
    sink = ListSink()
    rlm = RLM_REPL(make_lm(server), sub_model=make_lm(server, "sim-small"), depth=depth, sink=sink)
    started = time.perf_counter()
    result = rlm.completion(haystack, QUESTION)
    assert "7340521" in result.answer, result.answer
    return time.perf_counter() - started, sink


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=150_000)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--main-job", action="store_true", help="the main job through TimescaleDB instead")
    args = parser.parse_args()
    if args.main_job:
        bench_main_job(args.rounds)
        return
    haystack = make_haystack(args.lines, "The magic number is 7340521", seed=3)
    real_text = Tracer.text
    with_texts, numbers_only = [], []
    with SimServer(seed=0, time_scale=0.0) as server:
        one(server, haystack, args.depth)  # warm up (tokenizer, worker start)
        for round_ in range(args.rounds):
            for arm in ("texts", "numbers") if round_ % 2 == 0 else ("numbers", "texts"):  # no order bias
                if arm == "texts":
                    elapsed, sink = one(server, haystack, args.depth)
                    with_texts.append(elapsed)
                    continue
                Tracer.text = lambda *a, **k: None  # type: ignore[method-assign,assignment]
                try:
                    numbers_only.append(one(server, haystack, args.depth)[0])
                finally:
                    Tracer.text = real_text  # type: ignore[method-assign]
    texts = [e for e in sink.events if isinstance(e, TextEvent)]
    print(f"context {len(haystack):,} chars, depth {args.depth}: {len(texts)} texts, "
          f"{sum(len(e.text) for e in texts):,} chars kept per completion")
    a, b = statistics.median(with_texts), statistics.median(numbers_only)
    print(f"median wall: with texts {a:.3f} s, numbers only {b:.3f} s, ratio {a / b:.3f}")
    # The same texts emitted again on their own: the cost without the run's noise around it.
    # Prompts as they were sent (their context slices put back), so the referencing is timed too.
    sent = [(e.item_id, e.field, resolve(e.text, haystack) if e.field == "prompt" else e.text) for e in texts]
    replay = Tracer(ListSink(), "run", "q", context=haystack)
    started = time.perf_counter()
    for _ in range(10):
        for item_id, field, text in sent:
            replay.text(item_id, field, text)  # type: ignore[arg-type]
    cost = (time.perf_counter() - started) / 10
    print(f"emitting one completion's texts alone: {cost * 1000:.1f} ms = {cost / b:.2%} of a completion")


ROW_TABLES = ("llm_calls", "code_executions", "samples", "trajectory_texts")


def run_bytes(dsn: str, run_id: str) -> dict[str, int]:
    """The run's own rows, table by table: sum of pg_column_size(row) (their stored, compressed size)."""
    from rlm.telemetry import connect

    out = {}
    with connect(dsn) as conn, conn.cursor() as cur:
        for table in ROW_TABLES:
            cur.execute(f"SELECT COALESCE(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE run_id = %s", (run_id,))
            out[table] = int(cur.fetchone()[0])
    return out


def bench_main_job(rounds: int) -> None:
    import dataclasses
    import io
    import os
    import tempfile

    from rich.console import Console

    from evals.plan import plan_for
    from evals.runner import run_eval
    from rlm.telemetry import start_embedded, stop_embedded

    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-trajectory-"))
    home = None
    if not os.environ.get("RLM_TSDB_DSN"):
        home = tmp / "home"
        os.environ["RLM_TSDB_DSN"] = start_embedded(home)
    walls: dict[bool, list[float]] = {True: [], False: []}
    sizes: dict[bool, dict[str, int]] = {}
    runs = {True: 0, False: 0}
    try:
        for i in range(2 * rounds + 1):
            store = i == 0 or (i - 1) % 4 in (0, 3)  # warm-up, then on, off, off, on, ...: no order bias
            plan = plan_for(["task=niah", "size=1M", "db=dsn", f"trajectory.store={str(store).lower()}",
                             f"results_dir={tmp}/r{i}", f"cache_dir={root}/.rlm-evals/cache"])
            plan = dataclasses.replace(plan, run_id=f"{plan.run_id[:-3]}{i:03d}")  # own id, a real id's length
            started = time.perf_counter()
            outcome = run_eval(plan, console=Console(file=io.StringIO()))
            elapsed = time.perf_counter() - started
            assert outcome.db_note is None, outcome.db_note
            runs[store] += 1
            if i:
                walls[store].append(elapsed)
                sizes[store] = run_bytes(os.environ["RLM_TSDB_DSN"], plan.run_id)
            print(f"  run {i}: texts {'stored' if store else 'off'} {elapsed:.1f} s", flush=True)
        compressed = compressed_bytes(os.environ["RLM_TSDB_DSN"])
    finally:
        if home is not None:
            stop_embedded(home)
    on, off = min(walls[True]), min(walls[False])
    print(f"main job wall through the database: texts stored {on:.2f} s, off {off:.2f} s (best of {rounds} each) "
          f"= {on / off - 1:+.1%}; medians {statistics.median(walls[True]):.2f} / "
          f"{statistics.median(walls[False]):.2f} s")
    with_texts, without = sizes[True], sizes[False]
    numbers = sum(v for k, v in with_texts.items() if k != "trajectory_texts")
    total = sum(with_texts.values())
    print("run's own rows (sum of pg_column_size): " + ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in with_texts.items()))
    print(f"with texts {total / 1e3:,.0f} kB / without {numbers / 1e3:,.0f} kB = {total / numbers:.2f}x "
          f"(a run with trajectory.store=false: {sum(without.values()) / 1e3:,.0f} kB)")
    texts = compressed["trajectory_texts"] / runs[True]
    numbers = sum(v for k, v in compressed.items() if k != "trajectory_texts") / (runs[True] + runs[False])
    print("compressed hypertables: " + ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in compressed.items())
          + f"; per run: texts {texts / 1e3:,.0f} kB, numbers {numbers / 1e3:,.0f} kB = {(texts + numbers) / numbers:.2f}x")


def compressed_bytes(dsn: str) -> dict[str, int]:
    """Compress every chunk of the run tables (as their policies will) and return each one's bytes."""
    from rlm.telemetry import connect

    out = {}
    with connect(dsn) as conn, conn.cursor() as cur:
        for table in ("llm_calls", "code_executions", "trajectory_texts"):
            cur.execute(f"SELECT count(compress_chunk(c, if_not_compressed => true)) FROM show_chunks('{table}') c")
            cur.execute("SELECT COALESCE(sum(after_compression_total_bytes), 0) FROM chunk_compression_stats(%s)",
                        (table,))
            out[table] = int(cur.fetchone()[0])
        conn.commit()
    return out


if __name__ == "__main__":
    main()
