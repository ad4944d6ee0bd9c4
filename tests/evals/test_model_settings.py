"""Model settings from the command line, through the real CLI: an unpriced model (conf/model/vllm.yaml)
served by the simulator gets a price, a timeout, retries, streaming off, limiter caps and a tokenizer,
and the price reaches the database's model_prices and the calls' cost; a wrong value is one usage line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm.sim import SIM_SMALL, SimServer
from rlm.telemetry import connect, embedded_status

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*overrides: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals.run", *overrides], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_price_and_client_settings_reach_the_database_for_an_unpriced_model(tsdb_home, tmp_path):
    dsn = embedded_status(tsdb_home).dsn
    run_id_label = "cli-price"
    with SimServer(models=[SIM_SMALL]) as sim:
        proc = run_cli("model=vllm", "model.name=sim-small", f"model.base_url={sim.base_url}",
                       "model.context_window=65536", "model.price.input=0.5", "model.price.output=1.5",
                       "model.stream=false", "model.timeout_s=30", "model.max_retries=1",
                       "model.max_rate_limit_retries=3", "model.concurrency_start=4", "model.concurrency_max=8",
                       "model.tokenizer=cl100k_base", "methods=[baseline]", "task=niah", "size=4K", "samples=1",
                       "db=dsn", f"db.dsn='{dsn}'", f"label={run_id_label}", f"results_dir={tmp_path}/results",
                       f"cache_dir={tmp_path}/cache", env={"RLM_EVALS_HOME": str(tsdb_home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (saved,) = (tmp_path / "results").rglob("config.yaml")
    text = saved.read_text()
    for line in ("stream: false", "timeout_s: 30.0", "max_rate_limit_retries: 3", "concurrency_max: 8",
                 "tokenizer: cl100k_base"):
        assert line in text, line
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT input, cached_input, output FROM model_prices WHERE model = 'sim-small'")
        assert cur.fetchone() == (0.5, 0.5, 1.5)     # cached_input unset = the input price
        cur.execute("SELECT r.run_id FROM runs r WHERE r.config->>'label' = %s ORDER BY r.started_at DESC LIMIT 1",
                    (run_id_label,))
        (run_id,) = cur.fetchone()
        cur.execute("SELECT prompt_tokens, cached_tokens, completion_tokens, cost_usd FROM llm_calls "
                    "WHERE run_id = %s AND status = 'ok'", (run_id,))
        rows = cur.fetchall()
    assert rows
    for prompt, cached, completion, cost in rows:
        expected = ((prompt - cached) * 0.5 + cached * 0.5 + completion * 1.5) / 1e6
        assert cost == pytest.approx(expected, rel=1e-6) and cost > 0


@pytest.mark.parametrize("override, message", [
    ("model.price.input=abc", "model.price.input=abc"),
    ("model.timeout_s=soon", "model.timeout_s=soon"),
    ("model.stream=maybe", "model.stream=maybe"),
    ("model.max_retries=1.5", "model.max_retries=1.5"),
    ("model.concurrency_start=1000", "model.concurrency_start must be at least 1 and at most"),
    ("model.price.input=0.5", "model.price needs both input and output"),
    ("model.price.input=1 model.price.output=-2", "model.price.output must be 0 or more"),
    ("model.tokenizer=/no/such/tokenizer.json", "model.tokenizer: no tokenizer file"),
])
def test_a_wrong_model_setting_is_one_usage_line_and_exit_2(override, message, tmp_path):
    proc = run_cli("model=vllm", *override.split(), "db=off", "samples=1", "size=4K", f"results_dir={tmp_path}/results",
                   timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "results" / "runs").exists()     # nothing of a run was written
