"""What each server profile did, as the embedded TimescaleDB holds it: error_kind, http_status,
usage_source and attempts of every call, equal to what happened on the wire."""
from __future__ import annotations

import pytest

from rlm.events import FanoutSink, ListSink
from rlm.lm import LM, LMConfig
from rlm.sim import SimServer
from rlm.sim.models import SIM_SMALL
from rlm.sim.profiles import PROFILES
from rlm.telemetry import Recorder, queries
from rlm.trace import Tracer

from tests.conftest import make_haystack

QUESTION = "I'm looking for a magic number. What is it?\n\nThe magic number is 7654321"
TOO_LONG = make_haystack(12_000, "The magic number is 1234567")

# (X-Sim-Fault header or None, prompt, expected (status, error_kind, http_status or None = per profile, usage_source))
CASES = [
    (None, QUESTION, ("ok", None, 200, "reported")),
    ("nousage", QUESTION, ("ok", None, 200, "estimated")),
    ("empty;times=9", QUESTION, ("error", "empty_reply", 200, None)),
    ("429;retry_after=0.01", QUESTION, ("ok", "rate_limited", 200, "reported")),
    ("500;times=9", QUESTION, ("error", "server_error", 500, None)),
    (None, TOO_LONG, ("error", "context_exceeded", None, None)),
]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_database_holds_what_the_server_did(profile, dsn, tmp_path):
    memory = ListSink()
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool")
    tracer = Tracer(FanoutSink(memory, recorder), f"profile-{profile}", "q")
    with SimServer(seed=0, profile=profile) as sim:
        for header, prompt, _ in CASES:
            model = LM(LMConfig(model="sim-small", base_url=sim.base_url, context_window=SIM_SMALL.context_window,
                                price=SIM_SMALL.price, max_retries=1,
                                default_headers={"X-Sim-Fault": header} if header else {}))
            try:
                tracer.call(model, prompt, role="sub", depth=1)
            except Exception:  # noqa: BLE001 - recorded as data, checked below
                pass
    recorder.close()
    rows = queries.calls(dsn, f"profile-{profile}", "q")
    by_id = {r["call_id"]: r for r in rows}
    assert len(rows) == len(CASES) == len(memory.llm_calls)
    overflow_status = 200 if profile == "ollama" else 400   # Ollama cuts silently; streamed llama.cpp: see below
    if profile == "llamacpp":
        overflow_status = 200                                  # an empty 200 stream
    for (_, _, (status, kind, http, source)), event in zip(CASES, memory.llm_calls):
        row = by_id[event.call_id]
        if kind == "context_exceeded":
            http = overflow_status
        if source == "reported" and profile == "llamacpp":
            source = "estimated"                               # no usage in llama.cpp's streams
        assert (row["status"], row["error_kind"], row["http_status"], row["usage_source"]) == \
            (status, kind, http, source), (profile, row)
        assert row["attempt"] == event.attempt
        if source == "estimated":
            assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0 and row["cost_usd"] > 0
