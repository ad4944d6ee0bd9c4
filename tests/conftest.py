"""Shared fixtures: the simulator on a free loopback port, LM clients for it, and the real
embedded TimescaleDB, started once per session in a tmp home."""
from __future__ import annotations

import random

import pytest

from rlm.lm import LM, LMConfig
from rlm.sim import SimServer
from rlm.sim.models import model_table
from rlm.telemetry import embedded_status, migrate, start_embedded, stop_embedded

SPECS = model_table(None)
WORDS = ("apple river stone quiet yellow moving garden seventy lamp ocean silver paper window "
         "thunder candle marble forest basket ladder copper").split()


def make_lm(server: SimServer, name: str = "sim-large", **overrides) -> LM:
    """An LM for one of the simulator's default models, with its window and prices."""
    spec = SPECS[name]
    params = dict(model=name, base_url=server.base_url, context_window=spec.context_window,
                  price=spec.price, max_retries=3)
    params.update(overrides)
    return LM(LMConfig(**params))


def make_haystack(n_lines: int, needle: str, seed: int = 0) -> str:
    """The seed's haystack: lines of 3-8 random words with one needle line between 40% and 60%."""
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(n_lines)]
    lines.insert(rng.randint(int(n_lines * 0.4), int(n_lines * 0.6)), needle)
    return "\n".join(lines)


@pytest.fixture(scope="session")
def sim():
    """The simulator with its auto policy, instant (time scale 0)."""
    with SimServer(seed=0, time_scale=0.0) as server:
        yield server


@pytest.fixture(scope="session")
def tsdb_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("rlm-evals-home")
    start_embedded(home)
    yield home
    stop_embedded(home)


@pytest.fixture(scope="session")
def tsdb_dsn(tsdb_home) -> str:
    """A DSN of the embedded TimescaleDB with the schema applied (restarted if a test killed it)."""
    dsn = start_embedded(tsdb_home)
    migrate(dsn)
    return dsn


@pytest.fixture
def dsn(tsdb_home, tsdb_dsn) -> str:
    """The live DSN for one test (the port changes when a test restarts the server)."""
    status = embedded_status(tsdb_home)
    return status.dsn if status.running else start_embedded(tsdb_home)
