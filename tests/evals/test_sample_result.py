"""Failures classified by kind, with the real client against the simulator: transient ones are rerun."""
from __future__ import annotations

import socket

import pytest

from rlm.errors import LMError, SandboxError

from evals.sample_result import SampleResult, error_kind_of, is_transient
from tests.conftest import make_lm


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _failure(lm) -> LMError:
    with pytest.raises(LMError) as info:
        lm.complete("hello")
    return info.value


@pytest.mark.parametrize("fault, kind", [("500", "server_error"), ("503", "server_error"),
                                         ("429;retry_after=0", "rate_limited")])
def test_server_faults_after_retries_are_transient(sim, fault, kind):
    lm = make_lm(sim, max_retries=1, default_headers={"X-Sim-Fault": f"{fault};times=99"})
    assert error_kind_of(_failure(lm)) == kind and is_transient(kind)


def test_a_server_that_is_down_is_a_transient_connection_error():
    from rlm.lm import LM, LMConfig

    lm = LM(LMConfig(model="m", base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=0))
    kind = error_kind_of(_failure(lm))
    assert kind == "connection" and is_transient(kind)


def test_a_prompt_over_the_window_is_final(sim):
    lm = make_lm(sim, "sim-small", max_retries=0)
    with pytest.raises(LMError) as info:
        lm.complete("word " * 200_000)
    assert error_kind_of(info.value) == "context_exceeded" and not is_transient("context_exceeded")


def test_other_failures_are_final():
    assert error_kind_of(SandboxError("worker died")) == "sandbox"
    assert error_kind_of(ValueError("bug")) == "internal"
    assert not is_transient("internal") and not is_transient(None)


def test_a_declared_kind_wins():
    exc = LMError("x", status=400)
    exc.kind = "timeout"  # the client's own classification, when it has one
    assert error_kind_of(exc) == "timeout"


def test_round_trip_keeps_every_field():
    result = SampleResult(run_id="r", query_id="q", sample_id="s", sample_index=3, task="niah", family="niah",
                          size_tokens=4096, method="rlm", model="m", sub_model=None, depth=1, score=0.5,
                          correct=False, answer="a\udcff\x00b", expected=["x"], stop_reason="final",
                          error_kind="timeout", transient=True, cost_usd=None)
    back = SampleResult.from_dict(result.to_dict())
    assert back == result
