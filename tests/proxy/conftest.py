"""Fixtures: the simulator as upstream, a recording proxy in front of it, and a raw scripted upstream."""
from __future__ import annotations

import pytest

from rlm.events import ListSink
from rlm.proxy import RecordingProxy
from rlm.sim import SimServer
from rlm.sim.models import model_table


@pytest.fixture()
def sim():
    with SimServer(seed=0, time_scale=0.0) as server:
        yield server


@pytest.fixture()
def twin_sim():
    """A second simulator with the same seed: its first replies are the bytes the first one sends."""
    with SimServer(seed=0, time_scale=0.0) as server:
        yield server


@pytest.fixture()
def sink():
    return ListSink()


@pytest.fixture()
def prices():
    return {name: spec.price for name, spec in model_table(None).items()}


@pytest.fixture()
def proxy(sim, sink, prices):
    with RecordingProxy(sim.base_url, sink, prices=prices, run_id="run-1", query_id="q-default") as server:
        yield server
