"""The base of methods that run another RLM implementation with its calls recorded by rlm.proxy.

A subclass implements only `run(sample, root, sub)`: point the implementation's OpenAI-compatible
clients at `root.base_url` / `sub.base_url` with `root.headers` / `sub.headers` (any API key) and
return its answer. Everything else is here: one recording proxy per upstream (keys stay on the
proxy's side), each sample's calls routed to that sample's sink, usage and cost from the proxy's
events, failures as data. docs/METHODS.md shows a whole method in under 50 lines.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rlm.events import EventSink, FanoutSink, ListSink, TextEvent, utcnow
from rlm.lm import LMConfig
from rlm.parsing import truncate_middle
from rlm.proxy import RecordingProxy, RoutingSink, tag_headers
from rlm.usage import Usage

from evals.methods import MethodOutcome
from evals.tasks import Sample

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """What an implementation's client is given for one role of one sample."""

    model: str
    base_url: str                 # the recording proxy in front of this model's server
    headers: dict[str, str]       # tags the proxy reads (run, sample, role, depth); send with every request


@dataclass
class RunResult:
    """What an implementation reports for one sample; usage comes from the proxy, not from here."""

    answer: str
    stop_reason: str = "final"
    iterations: int = 0
    error: str | None = None
    latency_ms: float | None = None       # None = the wall time of run()
    trajectory: Any = None                # stored as a TextEvent (field "messages", item = the query id)


class ProxiedMethod:
    """prepare(root, sub, run_id=...) once, solve(sample, query_id, sink) per sample, close() at the end."""

    name = "proxied"

    def __init__(self, *, text_limit: int | None = 20_000) -> None:
        """`text_limit`: record prompts, replies, the answer and any trajectory as TextEvents (None = off)."""
        self.text_limit = text_limit
        self.run_id = ""
        self._router = RoutingSink()
        self._proxies: dict[tuple[str, str | None], RecordingProxy] = {}
        self._models: dict[str, LMConfig] = {}

    def run(self, sample: Sample, root: Endpoint, sub: Endpoint) -> RunResult:
        raise NotImplementedError

    def prepare(self, root: LMConfig, sub: LMConfig | None = None, *, run_id: str) -> None:
        """Start one recording proxy per upstream. Without a sub-model, sub-calls go to the root model."""
        self.run_id = run_id
        self._models = {"root": root, "sub": sub or root}
        prices = {cfg.model: cfg.price for cfg in self._models.values() if cfg.price is not None}
        for cfg in self._models.values():
            key = (cfg.base_url or OPENAI_BASE_URL, cfg.api_key_env)
            if key not in self._proxies:
                proxy = RecordingProxy(key[0], self._router, api_key_env=cfg.api_key_env, prices=prices,
                                       run_id=run_id, text_limit=self.text_limit, timeout_s=cfg.timeout_s)
                self._proxies[key] = proxy.start()

    def solve(self, sample: Sample, query_id: str, sink: EventSink | None) -> MethodOutcome:
        """One sample; an exception inside the implementation is recorded, not raised."""
        calls = ListSink()
        self._router.register(query_id, FanoutSink(calls, sink) if sink is not None else calls)
        started = time.perf_counter()
        try:
            result = self.run(sample, self.endpoint(query_id, "root"), self.endpoint(query_id, "sub"))
        except Exception as exc:  # noqa: BLE001 - a sample's failure is data
            result = RunResult("", "error", error=f"{type(exc).__name__}: {exc}")
        finally:
            for proxy in self._proxies.values():
                proxy.wait_idle(query_id, timeout=30)  # every call of this sample is recorded before we return
            self._router.unregister(query_id)
        latency_ms = result.latency_ms if result.latency_ms is not None else (time.perf_counter() - started) * 1000
        answer = str(result.answer or "").strip()
        if sink is not None and self.text_limit:
            self._store_text(sink, query_id, "answer", answer)
            if result.trajectory is not None:
                self._store_text(sink, query_id, "messages", json.dumps(result.trajectory, default=str))
        return MethodOutcome(answer=answer, stop_reason=result.stop_reason, latency_ms=latency_ms,
                             usage=usage_of(calls), iterations=result.iterations, error=result.error)

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()
        self._proxies.clear()

    def endpoint(self, query_id: str, role: str) -> Endpoint:
        cfg = self._models[role]
        proxy = self._proxies[(cfg.base_url or OPENAI_BASE_URL, cfg.api_key_env)]
        headers = tag_headers(run_id=self.run_id, query_id=query_id, role=role,  # type: ignore[arg-type]
                              depth=0 if role == "root" else 1)
        return Endpoint(model=cfg.model, base_url=proxy.base_url, headers=headers)

    def _store_text(self, sink: EventSink, query_id: str, field_name: str, text: str) -> None:
        limit = (self.text_limit or 0) * (1 if field_name == "answer" else 10)
        cut = truncate_middle(text, limit)
        sink.emit(TextEvent(time=utcnow(), run_id=self.run_id, query_id=query_id, item_id=query_id,
                            field=field_name, text=cut, chars=len(text), truncated=cut != text))  # type: ignore[arg-type]


def usage_of(calls: ListSink) -> Usage:
    """A sample's usage as the proxy recorded it (cost unknown if any call's price is unknown)."""
    total = Usage()
    for event in calls.llm_calls:
        total = total + Usage(prompt_tokens=event.prompt_tokens, cached_tokens=event.cached_tokens,
                              completion_tokens=event.completion_tokens, reasoning_tokens=event.reasoning_tokens,
                              cost_usd=event.cost_usd, calls=1)
    return total
