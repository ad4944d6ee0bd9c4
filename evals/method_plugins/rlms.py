"""`method=rlms`: the official RLM library (PyPI `rlms`) on the same samples, recorded by rlm.proxy.

The library runs in a child interpreter (evals/method_plugins/rlms_child.py) because it
and this project both name their package `rlm`. Its OpenAI backend points at a recording
proxy in this process, with one client per role (root, sub) whose headers tag every call
with the run, the sample and the role; so its calls land in llm_calls like our own, with
cached tokens, TTFT and prices it does not track itself. Its environment="local" exec's
model-written code inside that child (no sandbox); the child gets no API keys.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm.events import EventSink, FanoutSink, ListSink, TextEvent, utcnow
from rlm.lm import LMConfig
from rlm.parsing import truncate_middle
from rlm.proxy import RecordingProxy, RoutingSink, tag_headers
from rlm.usage import Usage

from evals.errors import EvalError
from evals.methods import MethodOutcome
from evals.tasks import Sample

CHILD_SCRIPT = Path(__file__).with_name("rlms_child.py")
OPENAI_BASE_URL = "https://api.openai.com/v1"
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
    rlms_path: str | None = None          # a `pip install --target` dir; None = $RLMS_PATH, else this environment
    python: str | None = None             # interpreter for the child; None = this one
    wall_timeout_s: float = 3600.0        # the child is killed after this


class RlmsMethod:
    """prepare(root, sub, run_id=...) once, solve(sample, query_id, sink) per sample, close() at the end."""

    name = "rlms"

    def __init__(self, settings: RlmsSettings | None = None) -> None:
        self.settings = settings or RlmsSettings()
        self.run_id = ""
        self._router = RoutingSink()
        self._proxies: dict[tuple[str, str | None], RecordingProxy] = {}
        self._root: dict[str, Any] = {}
        self._sub: dict[str, Any] = {}

    @property
    def rlms_path(self) -> str | None:
        path = self.settings.rlms_path or os.environ.get("RLMS_PATH")
        return os.path.abspath(path) if path else None

    def prepare(self, root: LMConfig, sub: LMConfig | None = None, *, run_id: str, check: bool = True) -> None:
        """Check the library can be loaded and start one recording proxy per upstream."""
        if check:
            self.check_installed()
        self.run_id = run_id
        sub = sub or root  # the library always offers llm_query; without a sub-model it goes to the root model
        prices = {cfg.model: cfg.price for cfg in (root, sub) if cfg.price is not None}
        for cfg in (root, sub):
            key = (cfg.base_url or OPENAI_BASE_URL, cfg.api_key_env)
            if key not in self._proxies:
                proxy = RecordingProxy(key[0], self._router, api_key_env=cfg.api_key_env, prices=prices, run_id=run_id,
                                       text_limit=self.settings.text_limit, timeout_s=cfg.timeout_s)
                self._proxies[key] = proxy.start()
        self._root = self._endpoint(root)
        self._sub = self._endpoint(sub)

    def solve(self, sample: Sample, query_id: str, sink: EventSink | None) -> MethodOutcome:
        """Run the library on one sample; its failures come back as data in the outcome."""
        calls = ListSink()
        self._router.register(query_id, FanoutSink(calls, sink))
        started = time.perf_counter()
        try:
            result = self._run_child(sample, query_id)
        finally:
            for proxy in self._proxies.values():
                proxy.wait_idle(query_id, timeout=30)
            self._router.unregister(query_id)
        # The library's own wall time, without the child interpreter's start (as method=rlm's excludes ours).
        library_s = result.get("execution_time_s")
        latency_ms = float(library_s) * 1000 if library_s else (time.perf_counter() - started) * 1000
        answer = str(result.get("answer") or "").strip()
        if sink is not None:
            self._store_text(sink, query_id, "answer", answer)
            if result.get("trajectory") is not None:
                self._store_text(sink, query_id, "messages", json.dumps(result["trajectory"], default=str))
        return MethodOutcome(answer=answer, stop_reason=str(result.get("stop_reason") or "error"), latency_ms=latency_ms,
                             usage=_usage_of(calls), iterations=int(result.get("iterations") or 0),
                             error=result.get("error"))

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()
        self._proxies.clear()

    def check_installed(self) -> None:
        """Fail before any sample when the official library cannot be imported by the child."""
        probe = ("import sys\np = sys.argv[1]\nif p: sys.path.insert(0, p)\nimport rlm\n"
                 "sys.exit(0 if hasattr(rlm, 'RLM') and hasattr(rlm, '__path__') else 3)")
        proc = subprocess.run([self.settings.python or sys.executable, "-I", "-c", probe, self.rlms_path or ""],
                              capture_output=True, text=True, env=_child_env(), timeout=120)
        if proc.returncode != 0:
            raise EvalError("method=rlms needs the official RLM library (PyPI rlms): "
                            "pip install --no-deps --target .rlm-evals/rlms 'rlms>=0.1.3' and set "
                            "RLMS_PATH=.rlm-evals/rlms (docs/METHODS.md says why not into this environment)")

    # -- internals ------------------------------------------------------------------
    def _endpoint(self, cfg: LMConfig) -> dict[str, Any]:
        proxy = self._proxies[(cfg.base_url or OPENAI_BASE_URL, cfg.api_key_env)]
        return {"model": cfg.model, "base_url": proxy.base_url}

    def _job(self, sample: Sample, query_id: str) -> dict[str, Any]:
        s = self.settings
        root = {**self._root, "headers": tag_headers(run_id=self.run_id, query_id=query_id, role="root", depth=0)}
        sub = {**self._sub, "headers": tag_headers(run_id=self.run_id, query_id=query_id, role="sub", depth=1)}
        return {"rlms_path": self.rlms_path, "context": sample.context, "query": sample.query, "root": root, "sub": sub,
                "environment": s.environment, "max_depth": s.max_depth, "max_iterations": s.max_iterations,
                "max_timeout_s": s.max_timeout_s, "max_tokens": s.max_tokens, "max_errors": s.max_errors,
                "max_concurrent_subcalls": s.max_concurrent_subcalls, "keep_trajectory": s.log_trajectory}

    def _run_child(self, sample: Sample, query_id: str) -> dict[str, Any]:
        job = json.dumps(self._job(sample, query_id))
        with tempfile.TemporaryDirectory(prefix="rlms-") as workdir:
            out = Path(workdir) / "result.json"
            try:
                proc = subprocess.run([self.settings.python or sys.executable, "-I", str(CHILD_SCRIPT), str(out)],
                                      input=job, capture_output=True, text=True, cwd=workdir, env=_child_env(),
                                      timeout=self.settings.wall_timeout_s)
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

    def _store_text(self, sink: EventSink, query_id: str, field: str, text: str) -> None:
        limit = self.settings.text_limit or 20_000
        cut = truncate_middle(text, limit if field == "answer" else limit * 10)
        sink.emit(TextEvent(time=utcnow(), run_id=self.run_id, query_id=query_id, item_id=query_id,
                            field=field, text=cut, chars=len(text), truncated=cut != text))  # type: ignore[arg-type]


def _child_env() -> dict[str, str]:
    """This environment without anything secret: the child exec's model-written code in-process."""
    return {name: value for name, value in os.environ.items()
            if not _SECRET_NAME.search(name) and not name.startswith(("OPENAI_", "ANTHROPIC_", "PGPASS"))}


def _usage_of(calls: ListSink) -> Usage:
    """The sample's usage as the proxy recorded it (the library's own figures lack cached tokens)."""
    total = Usage()
    for event in calls.llm_calls:
        total = total + Usage(prompt_tokens=event.prompt_tokens, cached_tokens=event.cached_tokens,
                              completion_tokens=event.completion_tokens, reasoning_tokens=event.reasoning_tokens,
                              cost_usd=event.cost_usd, calls=1)
    return total


def settings_from_config(cfg: Any) -> RlmsSettings:
    """The same limits as method=rlm (iterations, wall time, tokens, concurrency), plus `rlms.*`."""
    budget, extra = cfg.rlm.budget, cfg.get("rlms") or {}
    return RlmsSettings(max_iterations=int(cfg.rlm.max_iterations), max_depth=max(1, int(cfg.depth)),
                        max_timeout_s=budget.max_wall_s, max_tokens=budget.max_tokens,
                        max_concurrent_subcalls=int(cfg.rlm.max_concurrent_subcalls),
                        environment=str(extra.get("environment") or "local"),
                        log_trajectory=bool(extra.get("log_trajectory", False)),
                        text_limit=extra.get("text_limit", 20_000), rlms_path=extra.get("path"))


_checked: set[tuple[str | None, str | None]] = set()


def run_rlms(sample: Sample, cfg: Any, pool: Any, sink: EventSink | None, run_id: str, query_id: str) -> MethodOutcome:
    """The runner's per-sample function shape: a method (and its proxy) for one sample.

    A proxy starts in about a millisecond, next to a child interpreter's ~0.5 s, so nothing
    is kept between samples and nothing needs closing at the end of the run.
    """
    method = RlmsMethod(settings_from_config(cfg))
    key = (method.settings.python, method.rlms_path)
    if key not in _checked:
        method.check_installed()
        _checked.add(key)
    sub = pool.lm(cfg.sub_model.name).config if int(cfg.depth) >= 1 else None
    method.prepare(pool.lm(cfg.model.name).config, sub, run_id=run_id, check=False)
    try:
        return method.solve(sample, query_id, sink)
    finally:
        method.close()
