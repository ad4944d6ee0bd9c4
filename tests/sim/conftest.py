"""Fixtures: an in-thread simulator on a free port and an openai client for it."""
from __future__ import annotations

import http.client
import json

import pytest

from rlm.sim import SimServer


@pytest.fixture()
def sim():
    with SimServer(seed=0, time_scale=0.0) as server:
        yield server


@pytest.fixture()
def client(sim):
    return sim.openai_client(max_retries=0, timeout=30)


def raw_post(port: int, body: bytes | dict, headers: dict | None = None, path: str = "/v1/chat/completions"):
    """POST over plain http.client: (status, headers, body bytes)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, payload, {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
