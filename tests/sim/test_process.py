"""Serving from a child process (`python -m rlm.sim`), as the harness does on 2 cores."""
from __future__ import annotations

import openai

from rlm.sim import SIM_SMALL, FaultConfig, SimServer, start_sim_process


def test_process_mode_serves_auto_policy():
    with SimServer(process=True, seed=1) as sim:
        client = sim.openai_client(max_retries=0)
        text = "filler\nThe magic number is 3141592\n\nQuestion: I'm looking for a magic number. What is it?\nAnswer:"
        reply = client.chat.completions.create(model="sim-large", messages=[{"role": "user", "content": text}])
        assert reply.choices[0].message.content == "3141592"


def test_start_sim_process_with_models_and_faults():
    with start_sim_process([SIM_SMALL], faults=FaultConfig(rate_500=0.0)) as proc:
        client = openai.OpenAI(base_url=proc.base_url, api_key="sim", max_retries=0)
        assert [m.id for m in client.models.list()] == ["sim-small"]
