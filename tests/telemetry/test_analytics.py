"""Cache analytics and latency aggregates against hand-computed values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rlm.events import LLMCallEvent
from rlm.telemetry import Recorder, connect, queries, refresh_aggregates
from rlm.usage import Price

T = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)


def _call(i: int, model: str, prompt: int, cached: int, latency: float) -> LLMCallEvent:
    return LLMCallEvent(time=T, run_id="cache-run", query_id="q", call_id=f"c{i}", parent_call_id=None, depth=0,
                        iteration=i, role="root", model=model, prompt_tokens=prompt, cached_tokens=cached,
                        completion_tokens=10, latency_ms=latency, cost_usd=0.001)


@pytest.fixture
def cache_run(dsn, tmp_path_factory):
    """The same rows on each backend (idempotent: a second write adds nothing); the live DSN."""
    calls = [_call(0, "m-a", 1000, 0, 100.0), _call(1, "m-a", 2000, 1500, 200.0),
             _call(2, "m-b", 4000, 3000, 300.0), _call(3, "m-b", 1000, 500, 400.0)]
    with Recorder(dsn, tmp_path_factory.mktemp("spool")) as rec:
        rec.record_prices({"m-a": Price(input=2.0, cached_input=0.5, output=8.0),
                           "m-b": Price(input=1.0, cached_input=0.1, output=4.0)})
        rec.record_run("cache-run")
        for c in calls:
            rec.emit(c)
    return dsn


def test_cache_summary_equals_hand_computed(cache_run):
    s = queries.cache_summary(cache_run, "cache-run")
    assert s["prompt_tokens"] == 8000 and s["cached_tokens"] == 5000 and s["tokens_saved"] == 5000
    assert s["hit_rate"] == pytest.approx(5000 / 8000)
    # m-a: 1500 x (2.0 - 0.5) / 1e6; m-b: 3500 x (1.0 - 0.1) / 1e6
    assert s["usd_saved"] == pytest.approx(1500 * 1.5 / 1e6 + 3500 * 0.9 / 1e6)
    by_model = {r["model"]: r for r in queries.cache_by_model(cache_run, "cache-run")}
    assert by_model["m-b"]["hit_rate"] == pytest.approx(3500 / 5000)


def test_unpriced_model_has_unknown_savings(dsn, tmp_path):
    with Recorder(dsn, tmp_path) as rec:
        rec.emit(LLMCallEvent(time=T, run_id="unpriced", query_id="q", call_id="u1", parent_call_id=None, depth=0,
                              iteration=0, role="root", model="no-price", prompt_tokens=10, cached_tokens=5))
    assert queries.cache_summary(dsn, "unpriced")["usd_saved"] is None


def test_latency_percentiles_exact_and_from_aggregates(cache_run):
    by_model = {r["model"]: r for r in queries.latency_metrics(cache_run, "cache-run")}
    assert by_model["m-a"]["latency_p50"] == pytest.approx(150.0)
    assert by_model["m-b"]["latency_p90"] == pytest.approx(390.0)
    refresh_aggregates(cache_run)
    with connect(cache_run) as conn, conn.cursor() as cur:
        cur.execute("SELECT model, calls, cached_tokens, latency_p50 FROM llm_run_model_stats "
                    "WHERE run_id = 'cache-run' ORDER BY model")
        rows = cur.fetchall()
        cur.execute("SELECT sum(usd_saved) FROM llm_cache_1m WHERE run_id = 'cache-run'")
        usd_1m = cur.fetchone()[0]
    assert [(r[0], r[1], r[2]) for r in rows] == [("m-a", 2, 1500), ("m-b", 2, 3500)]
    assert rows[0][3] == pytest.approx(100.0, rel=0.05)  # log-histogram bin of the lower median
    assert usd_1m == pytest.approx(1500 * 1.5 / 1e6 + 3500 * 0.9 / 1e6)
    slowest = queries.slowest_calls(cache_run, "cache-run", 1)
    assert slowest[0]["latency_ms"] == 400.0


def test_a_non_finite_latency_leaves_the_latency_views_readable(dsn, tmp_path):
    """NaN and infinite latencies (a broken clock, a hand-made event) have no histogram bin: the
    real-time views stay readable before and after a refresh, and the percentiles are the
    finite calls' own."""
    run = "nonfinite-latency"
    # Later than any refresh has reached: before its own refresh, the view reads these rows raw.
    later = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(days=2)
    calls = [LLMCallEvent(time=later, run_id=run, query_id="q", call_id=f"{run}-{i}", parent_call_id=None, depth=0,
                          iteration=i, role="root", model="m", latency_ms=latency)
             for i, latency in enumerate([100.0, float("nan"), float("inf"), 100.0, float("-inf")])]
    with Recorder(dsn, tmp_path / "spool") as rec:
        for c in calls:
            rec.emit(c)
    assert rec.spooled == 0
    for refreshed in (False, True):
        if refreshed:
            refresh_aggregates(dsn)
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT calls, latency_p50, latency_p99 FROM llm_run_model_stats WHERE run_id = %s", (run,))
            total, p50, p99 = cur.fetchone()
            cur.execute("SELECT calls FROM llm_latency_by_run_model WHERE run_id = %s", (run,))
            binned = cur.fetchone()[0]
        assert (total, binned) == (5, 3)  # -inf counts as 0 ms; NaN and +inf have no bin
        assert p50 == pytest.approx(100.0, rel=0.05) and p99 == pytest.approx(100.0, rel=0.05)
