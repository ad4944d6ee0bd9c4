"""Adaptive concurrency: the AIMD limiter alone, and a 64-sub-call cell against a server that
answers 429 above N requests at once (the real openai client over HTTP, a real REPL worker)."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from rlm import LM, LMConfig, RLM_REPL
from rlm.concurrency import AdaptiveLimiter, endpoint_limiter
from rlm.sim import SIM_LARGE, SIM_SMALL, ScriptedPolicy, SimServer

BATCH = ("```repl\nq = \"I'm looking for a magic number. What is it?\\n\\nText:\\nThe magic number is \"\n"
         "answers = llm_query_batched([q + str(i) for i in range(64)])\n"
         "print('failed', sum(a.startswith('Error') for a in answers))\n```")


def test_a_rejection_below_the_limit_sets_the_limit_to_what_the_server_was_serving():
    limiter = AdaptiveLimiter(start=64)
    epochs = [limiter.acquire() for _ in range(50)]
    limiter.release()                              # the rejected request gives its slot back first
    limiter.on_overload(epochs[0])
    assert limiter.limit == 49                     # the 49 still in flight, not 64 x 0.8
    for epoch in epochs[1:]:
        limiter.on_overload(epoch)                 # the same burst: sent before the cut
    assert limiter.limit == 49 and limiter.cuts == 1 and limiter.rejections == 50


def test_a_rejection_at_the_limit_cuts_by_the_decrease_factor():
    limiter = AdaptiveLimiter(start=10)
    epochs = [limiter.acquire() for _ in range(10)]
    limiter.on_overload(epochs[0])
    assert limiter.limit == 8


def waiters(limiter: AdaptiveLimiter, n: int, timeout_s: float) -> tuple[list[threading.Thread], list[float]]:
    woke: list[float] = []
    start = time.monotonic()

    def rejected() -> None:
        limiter.wait_for_room(timeout_s)
        woke.append(time.monotonic() - start)

    threads = [threading.Thread(target=rejected) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    return threads, woke


def test_a_success_lets_as_many_rejected_calls_go_as_the_limit_has_free_slots():
    limiter = AdaptiveLimiter(start=4)
    for _ in range(3):
        limiter.acquire()                           # 3 of 4 slots in flight: room for one
    threads, woke = waiters(limiter, 3, timeout_s=2.0)
    limiter.release()
    limiter.on_success()                            # now 2 of 4 in flight: two may go
    time.sleep(0.05)
    assert len(woke) == 2 and max(woke) < 0.3
    limiter.on_success()
    for t in threads:
        t.join()
    assert len(woke) == 3 and max(woke) < 0.5      # nobody waited for the 2 s backoff


def test_only_one_rejected_call_at_a_time_probes_when_its_backoff_ends():
    limiter = AdaptiveLimiter(start=4, patience_s=0.6)
    threads, woke = waiters(limiter, 3, timeout_s=0.1)
    for t in threads:
        t.join()
    first, second, third = sorted(woke)
    assert first < 0.3                              # the prober: its backoff
    assert second - first >= 0.05 and third - second >= 0.05   # then one prober after another
    assert third < 0.8                              # patience bounds everyone's wait


def test_a_rejected_call_with_no_success_around_waits_its_backoff():
    limiter = AdaptiveLimiter(start=4)
    limiter.on_success()                            # room given while nobody waits is not kept
    start = time.monotonic()
    limiter.wait_for_room(timeout_s=0.1)
    assert 0.09 <= time.monotonic() - start < 0.5


def test_retry_after_pauses_new_requests():
    limiter = AdaptiveLimiter(start=4)
    limiter.on_overload(None, retry_after_s=0.2)
    start = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - start >= 0.19


def test_additive_increase_up_to_the_cap_and_never_below_the_floor():
    limiter = AdaptiveLimiter(start=2, maximum=3)
    for _ in range(2 + 3 + 10):
        limiter.on_success()
    assert limiter.limit == 3
    for _ in range(20):
        time.sleep(0.021)
        limiter.on_overload()
    assert limiter.limit == 1


def test_the_limit_bounds_requests_in_flight():
    limiter = AdaptiveLimiter(start=3)
    peak, now, lock = [0], [0], threading.Lock()

    def work() -> None:
        with limiter.slot():
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.01)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3


def test_clients_of_one_endpoint_share_one_limiter():
    assert endpoint_limiter("http://x/v1", "m") is endpoint_limiter("http://x/v1", "m")
    assert endpoint_limiter("http://x/v1", "m") is not endpoint_limiter("http://y/v1", "m")


def test_bad_caps_are_refused():
    with pytest.raises(ValueError, match="minimum <= start <= maximum"):
        AdaptiveLimiter(start=0)


# The bench (bench/bench_rlm.py) measures 1.5x at 100 ms on an idle machine. On a loaded CI box the
# client's own CPU per call (a few ms across 64 threads, behind one GIL) grows with the load and
# would eat the margin of a 100 ms model (seen: 1.6x for N = 8 at a load of 11 on 2 cores; 1.55x for
# N = 16 at 200 ms once, at the end of a full CI run, where idle runs give 1.12-1.15x), so the test
# keeps 300 ms (1.08x idle), where the same 1.5x holds with room.
@pytest.mark.parametrize("n", [8, 16])
def test_64_sub_calls_against_a_server_limited_to_n_all_succeed_near_the_ideal_time(n):
    latency = 0.3
    slow = replace(SIM_SMALL, ttft_base_ms=latency * 1000, ttft_per_uncached_token_ms=0.0, per_output_token_ms=0.0)
    with SimServer(models=[SIM_LARGE], policy=ScriptedPolicy([BATCH, "FINAL(done)"])) as root, \
            SimServer(models=[slow], time_scale=1.0, max_concurrent=n, process=True) as server:
        def lm(spec, srv):
            return LM(LMConfig(model=spec.name, base_url=srv.base_url, context_window=spec.context_window,
                               price=spec.price, stream=False))
        sub = lm(slow, server)
        sub.complete("warm the server up")
        result = RLM_REPL(lm(SIM_LARGE, root), sub_model=sub).completion("ctx", "q")
    cell = result.trajectory[0].cells[0]
    assert cell.result.sub_calls == 64
    assert "failed 0" in cell.output
    ideal = -(-64 // n) * latency
    assert cell.result.duration_ms / 1000 < 1.5 * ideal, (cell.result.duration_ms, ideal)
    assert sub.limiter.cuts >= 1 and sub.limiter.limit <= n + 4   # it found the server's width
