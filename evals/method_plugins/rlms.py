"""`method=rlms`: the official RLM library (PyPI `rlms`) on the same samples, recorded by rlm.proxy.

The library runs in a child interpreter (rlms_child.py) because it and this project both name
their package `rlm`. Its OpenAI backend points at a recording proxy in this process, with one
client per role (root, sub) whose headers tag every call with the run, the sample and the role,
so its calls land in llm_calls like our own, with the cached tokens, TTFT and prices it does not
track itself. Its environment="local" exec's model-written code inside that child, which is why
the child gets an environment without API keys (the proxy adds the key upstream).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm.lm import LMConfig
from rlm.parsing import truncate_middle

from evals.errors import EvalError
from evals.method_plugins.proxied import Endpoint, ProxiedMethod, RunResult
from evals.tasks import Sample

CHILD_SCRIPT = Path(__file__).with_name("rlms_child.py")
DEFAULT_RLMS_DIR = ".rlm-evals/rlms"
INSTALL_HINT = ("pip install python-dotenv requests && pip install --no-deps --target .rlm-evals/rlms 'rlms>=0.1.3' "
                "from the repository root, or set RLMS_PATH (docs/METHODS.md says why not into this environment)")
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DSN", re.IGNORECASE)


@dataclass(frozen=True)
class RlmsSettings:
    """How the official library is run. Limits mirror its RLM(...) arguments."""

    max_iterations: int = 30
    max_depth: int = 1                    # 1 = sub-calls are plain LMs (its default), 2+ = child RLMs
    max_timeout_s: float | None = None
    max_tokens: int | None = None
    max_errors: int | None = None
    max_concurrent_subcalls: int = 4
    environment: str = "local"
    log_trajectory: bool = False          # store the library's own logger output with the sample
    text_limit: int | None = 20_000       # record prompts/replies through the proxy, cut to this many chars
    rlms_path: str | None = None          # a `pip install --target` dir; None = $RLMS_PATH or ./.rlm-evals/rlms
    python: str | None = None             # interpreter for the child; None = this one
    wall_timeout_s: float = 3600.0        # the child is killed after this


class RlmsMethod(ProxiedMethod):
    """The official library as a method: prepare(root, sub, run_id=...), solve(...), close()."""

    name = "rlms"

    def __init__(self, settings: RlmsSettings | None = None) -> None:
        self.settings = settings or RlmsSettings()
        super().__init__(text_limit=self.settings.text_limit)

    @property
    def rlms_path(self) -> str | None:
        """Where the official `rlm` is: the setting, $RLMS_PATH, ./.rlm-evals/rlms, else this environment."""
        path = self.settings.rlms_path or os.environ.get("RLMS_PATH")
        if not path and (Path(DEFAULT_RLMS_DIR) / "rlm" / "__init__.py").exists():
            path = DEFAULT_RLMS_DIR
        return os.path.abspath(path) if path else None

    def prepare(self, root: LMConfig, sub: LMConfig | None = None, *, run_id: str, check: bool = True) -> None:
        """Check the library can be loaded (one clear error if not), then start the proxies."""
        if check:
            self.check_installed()
        super().prepare(root, sub, run_id=run_id)

    def check_installed(self) -> None:
        # This project's `rlm` has an RLM class too; only the official one has rlm.core and rlm.clients.
        probe = ("import sys, importlib.util\np = sys.argv[1]\nif p: sys.path.insert(0, p)\n"
                 "try:\n    ok = all(importlib.util.find_spec(m) for m in ('rlm.core.rlm', 'rlm.clients'))\n"
                 "except ModuleNotFoundError:\n    ok = False\n"
                 "sys.exit(0 if ok else 3)")
        proc = subprocess.run([self.settings.python or sys.executable, "-I", "-c", probe, self.rlms_path or ""],
                              capture_output=True, text=True, env=child_env(), timeout=120)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            why = f" ({lines[-1]})" if proc.returncode != 3 and lines else ""
            raise EvalError(f"method=rlms needs the official RLM library (PyPI rlms){why}: {INSTALL_HINT}")

    def run(self, sample: Sample, root: Endpoint, sub: Endpoint) -> RunResult:
        result = self._run_child(self._job(sample, root, sub))
        library_s = result.get("execution_time_s")  # its own wall time, without the child interpreter's start
        return RunResult(answer=str(result.get("answer") or ""), stop_reason=str(result.get("stop_reason") or "error"),
                         iterations=int(result.get("iterations") or 0), error=result.get("error"),
                         latency_ms=float(library_s) * 1000 if library_s else None,
                         trajectory=_with_library_usage(result))

    def _job(self, sample: Sample, root: Endpoint, sub: Endpoint) -> dict[str, Any]:
        s = self.settings
        endpoint = lambda e: {"model": e.model, "base_url": e.base_url, "headers": e.headers}  # noqa: E731
        return {"rlms_path": self.rlms_path, "context": sample.context, "query": sample.query,
                "root": endpoint(root), "sub": endpoint(sub), "environment": s.environment,
                "max_depth": s.max_depth, "max_iterations": s.max_iterations, "max_timeout_s": s.max_timeout_s,
                "max_tokens": s.max_tokens, "max_errors": s.max_errors,
                "max_concurrent_subcalls": s.max_concurrent_subcalls, "keep_trajectory": s.log_trajectory}

    def _run_child(self, job: dict[str, Any]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="rlms-") as workdir:
            out = Path(workdir) / "result.json"
            try:
                proc = subprocess.run([self.settings.python or sys.executable, "-I", str(CHILD_SCRIPT), str(out)],
                                      input=json.dumps(job), capture_output=True, text=True, cwd=workdir,
                                      env=child_env(), timeout=self.settings.wall_timeout_s)
            except subprocess.TimeoutExpired:
                return {"stop_reason": "max_wall_time",
                        "error": f"the official library ran past {self.settings.wall_timeout_s:.0f}s and was stopped"}
            if not out.exists():
                tail = truncate_middle(proc.stderr.strip(), 600) or f"exit code {proc.returncode}"
                return {"stop_reason": "error", "error": f"the official library's process failed: {tail}"}
            result = json.loads(out.read_text(encoding="utf-8"))
        if "fatal" in result:
            raise EvalError(result["fatal"])
        return result


def _with_library_usage(result: dict[str, Any]) -> Any:
    """The logged trajectory plus the library's own usage summary (to set against the proxy's rows)."""
    trajectory = result.get("trajectory")
    if trajectory is None:
        return None
    return {**trajectory, "library_usage": result.get("library_usage")}


def child_env() -> dict[str, str]:
    """This environment without anything secret: the child exec's model-written code in-process."""
    return {name: value for name, value in os.environ.items()
            if not _SECRET_NAME.search(name) and not name.startswith(("OPENAI_", "ANTHROPIC_", "PGPASS"))}
