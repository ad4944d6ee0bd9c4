"""Serving the worker's sub-call requests with the parent's handler.

The worker holds no API keys; it asks the parent, which calls the handler (the RLM layer's
LM clients) in the thread running the cell. Batches go to the handler whole, and the handler
spreads them with `fan_out`: up to DEFAULT_MAX_SUBCALLS threads per batch, while the model
endpoint's adaptive limiter (rlm.concurrency) decides how many requests are really in flight.
A fixed low cap here would make a 64-call batch to a fast server wait for nothing.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, Sequence, TypeVar

logger = logging.getLogger(__name__)

DEFAULT_MAX_SUBCALLS = 64
T = TypeVar("T")
R = TypeVar("R")


class SubcallHandler(Protocol):
    """Served by the parent while a cell runs."""

    def llm_query(self, prompt: str, model: str | None) -> str: ...
    def llm_query_batched(self, prompts: list[str], model: str | None) -> list[str]: ...
    def rlm_query(self, context: object, query: str) -> str: ...
    def rlm_query_batched(self, contexts: list, query: str) -> list[str]: ...


def count_calls(fn: str, args: dict[str, Any]) -> int:
    """Sub-calls a request stands for: a batch of n counts n."""
    if fn == "llm_query_batched":
        return len(args.get("prompts") or [])
    if fn == "rlm_query_batched":
        return len(args.get("contexts") or [])
    return 1


def serve_call(handler: SubcallHandler | None, request: dict[str, Any],
               enable_rlm_query: bool) -> dict[str, Any]:
    """Run one request on the handler; any failure becomes an error reply for the cell."""
    fn, args = request.get("fn"), request.get("args") or {}
    try:
        if handler is None:
            raise RuntimeError(f"{fn} is unavailable: this REPL has no sub-model handler")
        if fn == "llm_query":
            result: Any = _as_str(handler.llm_query(args["prompt"], args.get("model")))
        elif fn == "llm_query_batched":
            result = _as_list(handler.llm_query_batched(args["prompts"], args.get("model")),
                              len(args["prompts"]))
        elif fn == "rlm_query" and enable_rlm_query:
            result = _as_str(handler.rlm_query(args["context"], args["query"]))
        elif fn == "rlm_query_batched" and enable_rlm_query:
            result = _as_list(handler.rlm_query_batched(args["contexts"], args["query"]),
                              len(args["contexts"]))
        else:
            raise RuntimeError(f"unknown or disabled sub-call {fn!r}")
    except Exception as exc:
        logger.debug("sub-call %s failed: %r", fn, exc)
        return {"op": "reply", "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"op": "reply", "ok": True, "result": result}


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"handler returned {type(value).__name__}, expected str")
    return value


def _as_list(values: Any, n: int) -> list[str]:
    values = list(values)
    if len(values) != n:
        raise ValueError(f"handler returned {len(values)} results for {n} inputs")
    return [_as_str(v) for v in values]


def fan_out(fn: Callable[[T], R], items: Sequence[T], max_workers: int = DEFAULT_MAX_SUBCALLS) -> list[R]:
    """`[fn(item) for item in items]`, run concurrently, order kept.

    `fn` must not raise (sub-call failures are returned as error strings, so one failure
    does not fail the batch)."""
    items = list(items)
    if not items:
        return []
    if len(items) == 1 or max_workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items)), thread_name_prefix="subcall") as pool:
        return list(pool.map(fn, items))
