"""Simulator throughput and overhead: `python bench/bench_sim.py`.

Prints requests/second for small prompts at time scale 0, the time to tokenize
and cache-check a 1M-token prompt, the per-call server overhead for a
10K-token prompt (in-process engine time and HTTP round trip), and rlm.LM's
per-call time against each server profile (llama.cpp's streams carry no usage,
so there the client counts the tokens itself: the cost of an estimate).
"""
from __future__ import annotations

import concurrent.futures
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import tokens  # noqa: E402
from rlm.lm import LM, LMConfig  # noqa: E402
from rlm.sim import SimServer  # noqa: E402
from rlm.sim.profiles import PROFILES  # noqa: E402
from rlm.sim.engine import Engine  # noqa: E402
from rlm.sim.models import model_table  # noqa: E402
from rlm.sim.prefix_cache import PrefixCache  # noqa: E402
from rlm.sim.tokenizer import MessageTokenizer  # noqa: E402

WORDS = "apple river stone cloud paper market garden window silver orange planet music table forest".split()


def filler(n_lines: int, seed: int) -> str:
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choices(WORDS, k=rng.randint(3, 8))) for _ in range(n_lines))


def bench_rps(sim: SimServer, n: int = 2000, threads: int = 1) -> float:
    client = sim.openai_client(max_retries=0)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    client.chat.completions.create(model="sim-small", messages=messages)
    start = time.perf_counter()
    if threads == 1:
        for _ in range(n):
            client.chat.completions.create(model="sim-small", messages=messages)
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: client.chat.completions.create(model="sim-small", messages=messages), range(n)))
    return n / (time.perf_counter() - start)


def bench_1m() -> tuple[float, float, int]:
    text = filler(150_000, 1)
    tokenizer, cache = MessageTokenizer(), PrefixCache()
    messages = [{"role": "user", "content": text}]
    start = time.perf_counter()
    ids = tokenizer.encode_messages(messages)
    cache.lookup_and_insert(ids)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    cache.lookup_and_insert(tokenizer.encode_messages(messages))
    again = time.perf_counter() - start
    return cold, again, len(ids)


def bench_10k(sim: SimServer, n: int = 50) -> tuple[float, float, float, int]:
    engine = Engine(model_table(None))
    bodies = [json.dumps({"model": "sim-large", "messages": [
        {"role": "user", "content": f"Question {i}: I'm looking for a magic number. What is it?\n\n" + filler(1650, i)}]}).encode()
        for i in range(n)]
    n_tokens = engine.complete(bodies[0]).prompt_tokens
    engine_ms = []
    for body in bodies[1:]:
        start = time.perf_counter()
        engine.complete(body)
        engine_ms.append((time.perf_counter() - start) * 1000)
    client = sim.openai_client(max_retries=0)
    http_ms, small_ms = [], []
    for body in bodies[1:]:
        messages = json.loads(body)["messages"]
        start = time.perf_counter()
        client.chat.completions.create(model="sim-large", messages=messages)
        http_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        client.chat.completions.create(model="sim-large", messages=[{"role": "user", "content": "hi"}])
        small_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(engine_ms), statistics.median(http_ms), statistics.median(small_ms), n_tokens


def bench_profiles(n: int = 200) -> dict[str, tuple[float, str]]:
    """Median ms per streamed rlm.LM call with a 2K-token prompt, and the usage source, per profile."""
    prompt = "I'm looking for a magic number. What is it?\n\n" + filler(330, 9)
    out = {}
    for name in sorted(PROFILES):
        with SimServer(profile=name) as sim:
            model = LM(LMConfig(model="sim-small", base_url=sim.base_url, context_window=65536))
            model.complete(prompt)
            times, source = [], ""
            for i in range(n):
                start = time.perf_counter()
                source = model.complete(f"{i} {prompt}").usage_source
                times.append((time.perf_counter() - start) * 1000)
        out[name] = (statistics.median(times), source)
    return out


def main() -> None:
    tokens.encoding()
    with SimServer() as sim:
        print(f"small prompts, time scale 0, 1 client thread : {bench_rps(sim):8.0f} requests/s")
        print(f"small prompts, time scale 0, 8 client threads: {bench_rps(sim, threads=8):8.0f} requests/s")
        engine_ms, http_ms, small_ms, n_tokens = bench_10k(sim)
    cold, again, n_1m = bench_1m()
    print(f"1M-token prompt ({n_1m:,} tokens): tokenize + cache check {cold * 1000:.0f} ms first time, "
          f"{again * 1000:.0f} ms again (message memo, full prefix hit)")
    print(f"{n_tokens:,}-token prompt: engine {engine_ms:.2f} ms/call (median); HTTP round trip {http_ms:.2f} ms "
          f"vs {small_ms:.2f} ms for a tiny prompt")
    for name, (ms, source) in bench_profiles().items():
        print(f"rlm.LM streamed call, 2K-token prompt, profile {name:8}: {ms:6.2f} ms (median), usage {source}")


if __name__ == "__main__":
    main()
