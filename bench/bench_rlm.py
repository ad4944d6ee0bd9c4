"""RLM_REPL figures: 64 batched sub-calls to a 100 ms model, and parent memory on a 10M-token run.

    python bench/bench_rlm.py

The batched figure is a ratio against the sequential time (64 x 100 ms) in the same process.
"""
from __future__ import annotations

import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import LM, LMConfig, RLM_REPL  # noqa: E402
from rlm.sim import SIM_LARGE, SIM_SMALL, ScriptedPolicy, SimServer  # noqa: E402

BATCH = ("```repl\nq = \"I'm looking for a magic number. What is it?\\n\\nText:\\nThe magic number is \"\n"
         "answers = llm_query_batched([q + str(i) for i in range(64)])\nprint(len(answers))\n```")


def lm(server: SimServer, spec) -> LM:
    return LM(LMConfig(model=spec.name, base_url=server.base_url, context_window=spec.context_window,
                       price=spec.price, stream=False))


def batched(concurrency: int) -> float:
    slow_small = replace(SIM_SMALL, ttft_base_ms=100.0, ttft_per_uncached_token_ms=0.0, per_output_token_ms=0.0)
    policy = {"sim-large": ScriptedPolicy([BATCH, "FINAL(done)"]), "sim-small": "auto"}
    with SimServer(models=[SIM_LARGE, slow_small], policy=policy, time_scale=1.0) as server:
        rlm = RLM_REPL(lm(server, SIM_LARGE), sub_model=lm(server, slow_small), max_concurrent_subcalls=concurrency)
        result = rlm.completion("ctx", "q")
    cell = result.trajectory[0].cells[0].result
    assert cell.sub_calls == 64, cell
    return cell.duration_ms / 1000


def ten_million() -> None:
    words = "apple river stone quiet yellow moving garden seventy lamp ocean".split()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) for _ in range(1_500_000)]
    lines.insert(750_000, "The magic number is 8675309")
    haystack = "\n".join(lines)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with SimServer(process=False) as server:
        rlm = RLM_REPL(lm(server, SIM_LARGE), sub_model=lm(server, SIM_SMALL))
        t0 = time.perf_counter()
        result = rlm.completion(haystack, "I'm looking for a magic number. What is it?")
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"10M-token run ({len(haystack) / 1e6:.0f} MB context): answer {result.answer!r}, "
          f"{result.usage.total.calls} calls, {wall:.1f} s; parent peak RSS {peak:.0f} MB "
          f"(context built at {before:.0f} MB; simulator in-process)")


def main() -> None:
    sequential = 64 * 0.100
    for concurrency in (8, 16, 64):
        wall = batched(concurrency)
        print(f"64 sub-calls x 100 ms, max_concurrent_subcalls={concurrency}: {wall:.2f} s "
              f"({sequential / wall:.1f}x faster than sequential {sequential:.1f} s)")
    ten_million()


if __name__ == "__main__":
    main()
