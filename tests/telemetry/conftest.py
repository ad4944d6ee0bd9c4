"""The real embedded TimescaleDB, started once per session in a tmp home."""
from __future__ import annotations

import pytest

from rlm.telemetry import embedded_status, migrate, start_embedded, stop_embedded


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
