"""LiteLLM's proxy on loopback, a real third-party OpenAI-compatible server.

Its models are LiteLLM `mock_response`s (a text, a full reply with cached tokens, and its own
context-overflow, rate-limit and server errors) plus one model it forwards to the simulator
(real usage passthrough, real overflow mapping, upstream 5xx). The proxy runs from the
`litellm` executable: $RLM_LITELLM_BIN, else the venv .ci/litellm.sh makes, else PATH. Where
none is installed the tier is skipped, except in CI, where that is a failure.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx2
import pytest
import yaml

from rlm.sim import SimServer
from rlm.sim.faults import FaultConfig

MASTER_KEY = "sk-rlm-local-test"   # a throwaway key for a loopback proxy, passed by environment
VENV_BIN = Path.home() / ".cache" / "rlm-evals" / "litellm-venv" / "bin" / "litellm"
STARTUP_S = 420.0                   # the proxy imports a lot: minutes on a loaded 2-core machine


def litellm_bin() -> str | None:
    for candidate in (os.environ.get("RLM_LITELLM_BIN"), str(VENV_BIN), shutil.which("litellm")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mock(name: str, response: object) -> dict:
    return {"model_name": name, "litellm_params": {"model": f"openai/{name}", "api_key": "none",
                                                   "mock_response": response}}


CACHED_REPLY = {
    "id": "chatcmpl-mock", "object": "chat.completion", "created": 1735689600, "model": "mock-cached",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "cached answer"}}],
    "usage": {"prompt_tokens": 2048, "completion_tokens": 3, "total_tokens": 2051,
              "prompt_tokens_details": {"cached_tokens": 1536}},
}


def proxy_config(sim_url: str) -> dict:
    return {
        "model_list": [
            _mock("mock-text", "The magic number is 4242424"),
            _mock("mock-cached", CACHED_REPLY),
            _mock("mock-overflow", "litellm.ContextWindowExceededError"),
            _mock("mock-429", "litellm.RateLimitError"),
            _mock("mock-500", "litellm.InternalServerError"),
            {"model_name": "sim-small", "litellm_params": {"model": "openai/sim-small", "api_base": sim_url,
                                                           "api_key": "sim"}},
        ],
        "litellm_settings": {"num_retries": 0, "telemetry": False},
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


@pytest.fixture(scope="session")
def upstream_sim():
    """The simulator behind the proxy: every 3rd attempt of a request, on average, is a 500."""
    with SimServer(seed=5, faults=FaultConfig(rate_500=0.3)) as sim:
        yield sim


@pytest.fixture(scope="session")
def litellm_proxy(upstream_sim, tmp_path_factory):
    """The proxy's base URL; the process is stopped at the end of the session."""
    binary = litellm_bin()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("LiteLLM's proxy is not installed: .ci/litellm.sh should have installed it")
        pytest.skip("LiteLLM's proxy is not installed (bash .ci/litellm.sh, or pip install 'litellm[proxy]')")
    home = tmp_path_factory.mktemp("litellm")
    config = home / "config.yaml"
    config.write_text(yaml.safe_dump(proxy_config(upstream_sim.base_url)))
    port = _free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_TELEMETRY": "False", "NO_DOCS": "True"}
    log = open(home / "proxy.log", "wb")
    proc = subprocess.Popen([binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"LiteLLM's proxy exited with {proc.returncode}: "
                            f"{(home / 'proxy.log').read_text(errors='replace')[-2000:]}")
            try:
                if httpx2.get(f"{base}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"LiteLLM's proxy did not start within {STARTUP_S:.0f} s")
            time.sleep(1)
        yield f"{base}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def proxy_key(monkeypatch) -> str:
    """The proxy's key, in the environment variable the LM config names."""
    monkeypatch.setenv("RLM_LITELLM_KEY", MASTER_KEY)
    return "RLM_LITELLM_KEY"
