"""Policies: what the simulated model replies to a request.

A policy is any callable `(ChatRequest) -> str`. `ScriptedPolicy` plays back
fixed replies (the project's test double for every model conversation); "auto"
is the deterministic reading policy of rlm.sim.policy_auto. A dict maps model
names to policies, with "*" as the fallback (else "auto").
"""
from __future__ import annotations

import threading
from typing import Callable, Mapping, Sequence, Union

from rlm.sim.request import ChatRequest

Policy = Callable[[ChatRequest], str]
PolicySpec = Union[str, Policy, Mapping[str, Union[str, Policy]], None]


class PolicyError(Exception):
    """A policy cannot reply (e.g. a script ran out); served as a non-retryable 500."""


class ScriptedPolicy:
    """Replies from a list, consumed in order (thread-safe), or from a function.

    `ScriptedPolicy(["first", "second"])` answers the first request "first", the
    next "second", then fails with a clear error. `ScriptedPolicy(fn)` calls
    `fn(request)`. `calls` records every request served, in order.
    """

    def __init__(self, replies: Sequence[str] | Policy) -> None:
        if callable(replies):
            self._fn: Policy | None = replies
            self._replies: list[str] = []
        else:
            self._fn = None
            self._replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()
        self.calls: list[ChatRequest] = []

    def __call__(self, request: ChatRequest) -> str:
        with self._lock:
            self.calls.append(request)
            if self._fn is not None:
                fn = self._fn
            else:
                if self._next >= len(self._replies):
                    raise PolicyError(
                        f"ScriptedPolicy exhausted: all {len(self._replies)} scripted replies were used "
                        f"(request {self._next + 1} for model {request.model!r}).")
                reply = self._replies[self._next]
                self._next += 1
                return reply
        return fn(request)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._replies) - self._next if self._fn is None else 0


def _one(spec: str | Policy | None) -> Policy:
    if spec is None or spec == "auto":
        from rlm.sim.policy_auto import AutoPolicy

        return AutoPolicy()
    if isinstance(spec, str):
        raise ValueError(f"unknown policy {spec!r} (use 'auto', a ScriptedPolicy, a callable or a dict)")
    if callable(spec):
        return spec
    raise TypeError(f"a policy must be 'auto', callable or a dict, not {type(spec).__name__}")


def resolve_policy(spec: PolicySpec) -> Callable[[str], Policy]:
    """Turn SimServer's `policy` argument into a lookup model name -> policy."""
    if isinstance(spec, Mapping):
        table = {name: _one(p) for name, p in spec.items()}
        fallback = table.get("*") or _one("auto")
        return lambda model: table.get(model, fallback)
    single = _one(spec)
    return lambda model: single
