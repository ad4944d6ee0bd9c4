"""Task generation time and peak memory at large sizes.

    python bench/bench_tasks.py [--sizes 1M 10M] [--tasks niah ruler_niah ...]
    python bench/bench_tasks.py --ruler-fit [--sizes 1M]   # RULER's whole-prompt fit: target < 5 s


Each (task, size) runs in a fresh process so peak RSS is its own; the figures are generation
only (no cache), reported with the context's size so time per million tokens can be read off.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_TASKS = ["niah", "ruler_niah", "vt", "cwe", "fwe", "qa_retrieval", "qa_aggregation", "qa_pairs"]


def _measure(task: str, size: int, out: mp.Queue) -> None:
    from evals.tasks import get_task
    from rlm.tokens import encoding

    encoding()  # load the tokenizer outside the timed part
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    generator = get_task(task)
    start = time.perf_counter()
    draft = generator.generate(random.Random(0), size, generator.resolve({}))
    seconds = time.perf_counter() - start
    chars = len(draft.context) if isinstance(draft.context, str) else sum(len(d) for d in draft.context)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put({"task": task, "size": size, "seconds": round(seconds, 2), "actual_tokens": draft.actual_tokens,
             "context_mb": round(chars / 1e6, 1), "peak_rss_mb": round(peak / 1024, 1),
             "added_rss_mb": round((peak - base_rss) / 1024, 1)})


RULER_TASKS = [("ruler_niah", {"variant": "single_1"}), ("ruler_niah", {"variant": "multikey_2"}),
               ("vt", {}), ("cwe", {}), ("fwe", {})]


def _fit(task: str, params: dict, size: int, out: mp.Queue) -> None:
    """First sample (cold fit), second sample (starts from the remembered fit), both again (disk cache);
    fit times also as multiples of one tokenisation of the final prompt, which machine load scales alike."""
    import tempfile

    from evals.tasks import build_samples
    from rlm.tokens import count_tokens, encoding

    encoding()
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        first = build_samples(task, size, 1, seed=0, params=params, cache_dir=Path(cache))[0]
        t1 = time.perf_counter()
        build_samples(task, size, 2, seed=0, params=params, cache_dir=Path(cache))
        t2 = time.perf_counter()
        build_samples(task, size, 2, seed=0, params=params, cache_dir=Path(cache))
        t3 = time.perf_counter()
    prompt = first.baseline_prompt()
    t4 = time.perf_counter()
    total = count_tokens(prompt) + first.max_output_tokens
    one = time.perf_counter() - t4  # one tokenisation of the final prompt: the unit the fit is measured in
    out.put({"cold": round(t1 - t0, 2), "warm": round(t2 - t1, 2), "cached": round(t3 - t2, 2), "total": total,
             "cold_x": round((t1 - t0) / one, 1), "warm_x": round((t2 - t1) / one, 1)})


def ruler_fit(sizes: list[str]) -> None:
    from evals.tasks import parse_size

    ctx = mp.get_context("spawn")
    print(f"{'task':<24}{'size':>6}{'cold s':>8}{'warm s':>8}{'cached s':>10}{'prompt+cap':>12}{'cold/5s':>9}"
          f"{'cold x tok':>11}{'warm x tok':>11}")
    for task, params in RULER_TASKS:
        for size_name in sizes:
            queue: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_fit, args=(task, params, parse_size(size_name), queue))
            proc.start()
            row = queue.get()
            proc.join()
            label = task + (f":{params['variant']}" if params else "")
            print(f"{label:<24}{size_name:>6}{row['cold']:>8}{row['warm']:>8}{row['cached']:>10}{row['total']:>12}"
                  f"{row['cold'] / 5:>9.2f}{row['cold_x']:>11}{row['warm_x']:>11}")


def main() -> None:
    from evals.tasks import parse_size, task_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1M", "10M"])
    parser.add_argument("--tasks", nargs="+", default=[t for t in DEFAULT_TASKS if t in task_names()])
    parser.add_argument("--ruler-fit", action="store_true", help="time RULER's whole-prompt fit per sample")
    args = parser.parse_args()
    if args.ruler_fit:
        ruler_fit(args.sizes if args.sizes != ["1M", "10M"] else ["1M"])
        return
    ctx = mp.get_context("spawn")
    print(f"{'task':<16}{'size':>6}{'seconds':>9}{'tokens':>11}{'text MB':>9}{'added RSS MB':>14}{'x text':>8}")
    for task in args.tasks:
        for size_name in args.sizes:
            queue: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_measure, args=(task, parse_size(size_name), queue))
            proc.start()
            row = queue.get()
            proc.join()
            ratio = row["added_rss_mb"] / row["context_mb"] if row["context_mb"] else 0.0
            print(f"{task:<16}{size_name:>6}{row['seconds']:>9}{row['actual_tokens']:>11}{row['context_mb']:>9}"
                  f"{row['added_rss_mb']:>14}{ratio:>8.1f}")


if __name__ == "__main__":
    main()
