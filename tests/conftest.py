"""Shared fixtures: the simulator on a free loopback port, LM clients for it, and the databases.

`dsn` runs a test against each backend: the real embedded TimescaleDB (started once per session
in a tmp home) and a native TimescaleDB server given by $RLM_TEST_NATIVE_DSN (.ci/native_tsdb.sh
starts one). Without it the native runs skip, except under CI=true, where they fail.
"""
from __future__ import annotations

import os
import random
import uuid

import psycopg2.extensions

import pytest

from rlm.lm import LM, LMConfig
from rlm.sim import SimServer
from rlm.sim.models import model_table
from rlm.telemetry import embedded_status, migrate, start_embedded, stop_embedded
from tests.telemetry.helpers import admin, set_policy_jobs_scheduled

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


NATIVE_DSN_ENV = "RLM_TEST_NATIVE_DSN"


@pytest.fixture(scope="session")
def native_dsn():
    """A fresh database on the native TimescaleDB server, with the schema applied."""
    dsn = os.environ.get(NATIVE_DSN_ENV)
    if not dsn:
        reason = (f"native TimescaleDB tier: ${NATIVE_DSN_ENV} is not set "
                  "(start one with `eval \"$(.ci/native_tsdb.sh start $$)\"`)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason + "; under CI the native tier must run", pytrace=False)
        pytest.skip(reason)
    # A database of this session's own, so rows of earlier sessions never count.
    name = f"rlm_test_{uuid.uuid4().hex[:12]}"
    admin(dsn, f"CREATE DATABASE {name}")
    session_dsn = psycopg2.extensions.make_dsn(dsn, dbname=name)
    migrate(session_dsn)
    # Tests refresh aggregates and compress chunks when they choose; the server's workers doing
    # the same on their own schedule would race them. The policy-job test turns them on itself.
    set_policy_jobs_scheduled(session_dsn, False)
    yield session_dsn
    admin(dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session", params=["embedded", "native"])
def tsdb_backend(request) -> str:
    """Which database a DB test runs against: each such test runs once per backend."""
    return request.param


@pytest.fixture
def dsn(request, tsdb_backend) -> str:
    """The live DSN of the test's backend (the embedded port changes when a test restarts it)."""
    if tsdb_backend == "native":
        return request.getfixturevalue("native_dsn")
    home = request.getfixturevalue("tsdb_home")
    request.getfixturevalue("tsdb_dsn")
    status = embedded_status(home)
    return status.dsn if status.running else start_embedded(home)
