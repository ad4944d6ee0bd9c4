"""RLM_REPL figures: 64 batched sub-calls to a 100 ms model, and parent memory on a 10M-token run.

    python bench/bench_rlm.py

The batched figures, side by side in one run: the defaults (64 sub-calls per batch, the
endpoint's adaptive limiter starting at 64; target < 0.5 s, the floor being 0.1 s), the same
with each request made through the SDK's typed `chat.completions.create` (the client's CPU per
call is what spreads 64 requests out behind the GIL), the old fixed cap of 8, and the defaults
against servers that answer 429 above N requests at once (ideal: ceil(64 / N) x 100 ms; target
< 1.5x). The sub-model's simulator runs in a child process and is warmed up first, so only the
cell is timed; each figure is the median of `--repeat` cells (default 3).
"""
from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import LM, LMConfig, RLM_REPL  # noqa: E402
from rlm import lm as lm_module  # noqa: E402
from rlm.sim import SIM_LARGE, SIM_SMALL, ScriptedPolicy, SimServer  # noqa: E402

BATCH = ("```repl\nq = \"I'm looking for a magic number. What is it?\\n\\nText:\\nThe magic number is \"\n"
         "answers = llm_query_batched([q + str(i) for i in range(64)])\n"
         "print('failed', sum(a.startswith('Error') for a in answers))\n```")


class TypedCreateLM(LM):
    """For comparison: each request through `chat.completions.create` (typed params, pydantic reply)."""

    def _request(self, messages, max_tokens):  # type: ignore[no-untyped-def]
        response = self._client.chat.completions.create(model=self.config.model, messages=messages)
        choice = response.choices[0]
        return lm_module._Reply(choice.message.content or "", choice.finish_reason,
                                lm_module.normalize_usage(response.usage.model_dump()), None)


def lm(server, spec, cls: type[LM] = LM) -> LM:
    return cls(LMConfig(model=spec.name, base_url=server.base_url, context_window=spec.context_window,
                        price=spec.price, stream=False))


def batched(concurrency: int | None = None, server_limit: int | None = None,
            cls: type[LM] = LM) -> tuple[float, str, int]:
    """(cell seconds, its output, the limiter's final limit) for one 64-call cell."""
    slow_small = replace(SIM_SMALL, ttft_base_ms=100.0, ttft_per_uncached_token_ms=0.0, per_output_token_ms=0.0)
    with SimServer(models=[SIM_LARGE], policy=ScriptedPolicy([BATCH, "FINAL(done)"])) as root, \
            SimServer(models=[slow_small], time_scale=1.0, max_concurrent=server_limit, process=True) as subs:
        sub = lm(subs, slow_small, cls)
        sub.complete("warm up")
        options = {} if concurrency is None else {"max_concurrent_subcalls": concurrency}
        result = RLM_REPL(lm(root, SIM_LARGE), sub_model=sub, **options).completion("ctx", "q")
    cell = result.trajectory[0].cells[0]
    assert cell.result.sub_calls == 64, cell.result
    return cell.result.duration_ms / 1000, cell.output.strip(), sub.limiter.limit


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


def median_of(repeat: int, **options) -> tuple[float, str, int]:
    runs = [batched(**options) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    return wall, runs[-1][1], runs[-1][2]


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    sequential = 64 * 0.100
    for label, options in (("defaults", {}), ("defaults, SDK typed create per request", {"cls": TypedCreateLM}),
                           ("fixed cap 8 (the old default)", {"concurrency": 8})):
        wall, output, _ = median_of(repeat, **options)
        print(f"64 sub-calls x 100 ms, {label}: {wall:.2f} s ({sequential / wall:.1f}x faster than sequential "
              f"{sequential:.1f} s; {output})")
    for n in (8, 16, 32):
        wall, output, limit = median_of(repeat, server_limit=n)
        ideal = -(-64 // n) * 0.100
        print(f"64 sub-calls x 100 ms, defaults, server 429s above {n} at once: {wall:.2f} s = {wall / ideal:.2f}x "
              f"the ideal {ideal:.1f} s ({output}; limiter settled at {limit})")
    if "--no-10m" not in sys.argv:
        ten_million()


if __name__ == "__main__":
    main()
