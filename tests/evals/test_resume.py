"""Resume: a model server that goes down gives transient errors; with it back, the same plan reruns only those."""
from __future__ import annotations

import socket
import threading
import time

from rlm.sim.process import start_sim_process

from evals.run_record import RunLog
from evals.runner import run_eval
from evals.summary import summarize

GROUP_FIELDS = ("method", "n", "accuracy", "errors", "calls_per_sample", "prompt_tokens", "completion_tokens",
                "cost_mean")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _served_by(port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}/v1"
    return ["model.provider=openai", f"model.base_url={url}", "model.max_retries=1",
            "sub_model.provider=openai", f"sub_model.base_url={url}", "sub_model.max_retries=1",
            "task=niah", "size=8K", "samples=4", "concurrency=1", "db=off"]


def _groups(results) -> list[dict]:
    return [{k: g[k] for k in GROUP_FIELDS} for g in summarize(r.to_dict() for r in results)]


def test_a_server_down_mid_run_then_back_reruns_only_the_transient_failures(make_plan, tmp_path):
    port = _free_port()
    overrides = _served_by(port)
    with start_sim_process(port=port, time_scale=0.05):
        clean = run_eval(make_plan(*overrides, f"results_dir={tmp_path}/clean"))
    assert not any(r.transient or r.error for r in clean.results)

    plan = make_plan(*overrides, f"results_dir={tmp_path}/flaky")
    sim = start_sim_process(port=port, time_scale=0.05)

    def stop_after_first_sample() -> None:  # the server goes away while the run is going
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not RunLog(plan.run_dir).results():
            time.sleep(0.02)
        sim.stop()

    killer = threading.Thread(target=stop_after_first_sample)
    killer.start()
    try:
        down = run_eval(plan)
    finally:
        killer.join()
        sim.stop()
    failed = [r for r in down.results if r.transient]
    kept = [r for r in down.results if not r.transient]
    assert failed and kept, [(r.method, r.error_kind) for r in down.results]
    assert {r.error_kind for r in failed} == {"connection"}
    assert len(down.results) == 8

    # retry_errors=false keeps them (and the server is still down: nothing is attempted).
    keep = run_eval(make_plan(*overrides, f"results_dir={tmp_path}/flaky", "retry_errors=false"))
    assert keep.retried == 0 and sum(r.transient for r in keep.results) == len(failed)

    with start_sim_process(port=port, time_scale=0.05):
        again = run_eval(plan)
    assert again.retried == len(failed) and again.skipped == len(kept)
    assert not any(r.transient for r in again.results) and len(again.results) == 8
    assert {r.query_id for r in kept} <= {r.query_id for r in again.results}  # finished ones never reran
    assert _groups(again.results) == _groups(clean.results)  # the clean run's accuracy, n not doubled
