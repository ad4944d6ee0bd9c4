"""Fault injection from the X-Sim-Fault header and from server config rates."""
from __future__ import annotations

import time

import httpx2
import openai
import pytest

from rlm.sim import FaultConfig, SimServer

MSG = [{"role": "user", "content": "hello"}]


def test_429_with_retry_after_is_retried(sim):
    client = sim.openai_client(max_retries=1, timeout=10)
    start = time.perf_counter()
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", messages=MSG, extra_headers={"X-Sim-Fault": "429;retry_after=0.05"})
    assert raw.retries_taken == 1
    assert raw.parse().choices[0].message.content
    assert time.perf_counter() - start < 0.45  # honoured Retry-After, not the SDK's default backoff


def test_429_headers_and_body(sim):
    client = sim.openai_client(max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="sim-small", messages=MSG, extra_headers={"X-Sim-Fault": "429"})
    assert info.value.response.headers["retry-after"]
    assert info.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("kind, status", [("500", 500), ("503", 503)])
def test_5xx_first_attempt_only(sim, kind, status):
    client = sim.openai_client(max_retries=0)
    headers = {"X-Sim-Fault": kind}
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="sim-small", messages=MSG, extra_headers=headers)
    assert info.value.status_code == status
    assert client.chat.completions.create(model="sim-small", messages=MSG, extra_headers=headers).choices


def test_times_option(sim):
    client = sim.openai_client(max_retries=0)
    headers = {"X-Sim-Fault": "500;times=2"}
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="sim-small", messages=MSG, extra_headers=headers)
    assert client.chat.completions.create(model="sim-small", messages=MSG, extra_headers=headers).choices


def test_drop_then_success(sim):
    client = sim.openai_client(max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="sim-small", messages=MSG, extra_headers={"X-Sim-Fault": "drop"})
    assert client.chat.completions.create(model="sim-small", messages=MSG, extra_headers={"X-Sim-Fault": "drop"}).choices


def test_hang_times_out(sim):
    client = sim.openai_client(max_retries=0, timeout=httpx2.Timeout(0.3, connect=2.0))
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="sim-small", messages=MSG, extra_headers={"X-Sim-Fault": "hang"})
    assert time.perf_counter() - start < 2
    assert sim.openai_client(max_retries=0).chat.completions.create(model="sim-small", messages=MSG).choices


def test_config_rates_are_deterministic():
    def outcomes() -> list[str]:
        with SimServer(seed=3, faults=FaultConfig(rate_429=0.3, rate_500=0.2)) as sim:
            client = sim.openai_client(max_retries=0)
            got = []
            for i in range(20):
                try:
                    client.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": f"q{i}"}])
                    got.append("ok")
                except openai.APIStatusError as exc:
                    got.append(str(exc.status_code))
            return got

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "429", "500"} <= set(first)
