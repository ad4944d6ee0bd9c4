"""Running the simulator in a child process (`python -m rlm.sim`).

On a 2-core machine the simulator's tokenizing and JSON work competes with the
harness for one GIL when served in-thread; a child process moves it to the other
core. Only the auto policy crosses the process boundary.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import asdict
from typing import Sequence

from rlm.sim.faults import FaultConfig
from rlm.sim.models import SimModelSpec
from rlm.usage import Price

log = logging.getLogger(__name__)

READY_PREFIX = "rlm-sim listening on "


def specs_to_json(models: Sequence[SimModelSpec]) -> str:
    return json.dumps([asdict(spec) for spec in models])


def specs_from_json(text: str) -> list[SimModelSpec]:
    return [SimModelSpec(**{**item, "price": Price(**item["price"])}) for item in json.loads(text)]


def faults_to_arg(faults: FaultConfig) -> str:
    return ",".join(f"{name.removeprefix('rate_').removesuffix('_s')}={value}"
                    for name, value in asdict(faults).items())


class SimProcess:
    """A simulator child process; `.base_url`, `.port`, `.stop()`, context manager."""

    def __init__(self, popen: subprocess.Popen, port: int) -> None:
        self._popen = popen
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self, timeout: float = 5.0) -> None:
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        if self._popen.stdout:
            self._popen.stdout.close()

    def __enter__(self) -> "SimProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sim_process(models: Sequence[SimModelSpec] | None = None, *, seed: int = 0, time_scale: float = 0.0,
                      faults: FaultConfig | None = None, port: int = 0, cache_blocks: int = 200_000,
                      startup_timeout: float = 30.0, profile: str | None = None, max_concurrent: int | None = None,
                      concurrency_retry_after_s: float = 0.0) -> SimProcess:
    """Start `python -m rlm.sim` and wait until it listens; returns its handle."""
    cmd = [sys.executable, "-m", "rlm.sim", "--port", str(port), "--seed", str(seed),
           "--time-scale", str(time_scale), "--cache-blocks", str(cache_blocks)]
    if models is not None:
        cmd += ["--models-json", specs_to_json(models)]
    if faults is not None:
        cmd += ["--faults", faults_to_arg(faults)]
    if profile:
        cmd += ["--profile", profile]
    if max_concurrent:
        cmd += ["--max-concurrent", str(max_concurrent), "--concurrency-retry-after", str(concurrency_retry_after_s)]
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = popen.stdout.readline() if popen.stdout else ""
    if not line.startswith(READY_PREFIX):
        popen.kill()
        raise RuntimeError(f"simulator process did not start (exit code {popen.wait(startup_timeout)}): {line!r}")
    port = int(line.strip().rsplit(":", 1)[1].split("/", 1)[0])
    log.info("simulator process %d on port %d", popen.pid, port)
    return SimProcess(popen, port)
