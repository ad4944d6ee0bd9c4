"""Fixtures: an in-thread simulator on a free port and an openai client for it."""
from __future__ import annotations

import pytest

from rlm.sim import SimServer


@pytest.fixture()
def sim():
    with SimServer(seed=0, time_scale=0.0) as server:
        yield server


@pytest.fixture()
def client(sim):
    return sim.openai_client(max_retries=0, timeout=30)

