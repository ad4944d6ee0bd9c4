"""What emitting the trajectory's texts costs an RLM completion: with texts vs numbers only.

    python bench/bench_trajectory.py                  # the 1M-token needle at depth 1, 3 rounds
    python bench/bench_trajectory.py --lines 30000 --depth 2

Both arms run the same completion against the in-process simulator (time scale 0, so model
time is near zero and the ratio is an upper bound on the real overhead); the "numbers only"
arm replaces Tracer.text with a no-op. Arms alternate; the figure is the ratio of medians, which
on a loaded machine is mostly noise, so the texts are also emitted again on their own and timed.
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
    args = parser.parse_args()
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
    replay = Tracer(ListSink(), "run", "q")
    started = time.perf_counter()
    for _ in range(10):
        for e in texts:
            replay.text(e.item_id, e.field, e.text)
    cost = (time.perf_counter() - started) / 10
    print(f"emitting one completion's texts alone: {cost * 1000:.1f} ms = {cost / b:.2%} of a completion")


if __name__ == "__main__":
    main()
