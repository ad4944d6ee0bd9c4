"""Compose the project's real Hydra config with overrides, as `python -m evals.run` would."""
from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from evals.config import register_configs

CONF = str(Path(__file__).resolve().parents[2] / "conf")


@pytest.fixture
def compose_cfg(tmp_path):
    """compose_cfg("task=niah", "size=16K") -> the run's DictConfig, writing under tmp_path."""
    register_configs()

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=CONF, version_base="1.3"):
            return compose("config", overrides=[f"results_dir={tmp_path}/results",
                                                f"cache_dir={tmp_path}/cache", "sim.time_scale=0", *overrides])
    yield _compose
    GlobalHydra.instance().clear()
