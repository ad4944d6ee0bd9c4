"""A native server from a local build: found where .ci/native_tsdb.sh puts it, or a clear error."""
from __future__ import annotations

import os

import pytest

from rlm.telemetry import EmbeddedServerError
from rlm.telemetry.native import find_bin, native_status, start_native


def test_a_missing_build_is_named_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("RLM_TSDB_NATIVE_BIN", raising=False)
    with pytest.raises(EmbeddedServerError, match="RLM_TSDB_NATIVE_BIN.*native_tsdb.sh build"):
        find_bin(tmp_path / "no-such-bin")


def test_a_home_without_a_native_server_reports_not_running(tmp_path):
    status = native_status(tmp_path)
    assert not status.running and status.dsn is None


@pytest.mark.skipif(os.geteuid() != 0, reason="only root is refused")
def test_root_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(EmbeddedServerError, match="does not run as root"):
        start_native(tmp_path)
    assert not (tmp_path / "native").exists()
