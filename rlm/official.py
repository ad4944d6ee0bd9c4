"""`from rlm import RLM`: the official RLM library's constructor and `completion()`, mapped onto RLM_REPL.

A thin façade so code written for the official library runs here with its sandbox,
telemetry and budgets. Only arguments with a faithful meaning here are accepted; the
others raise a ConfigError naming what to do instead, never silently ignored.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Literal

from rlm.budget import Budget
from rlm.errors import ConfigError
from rlm.events import EventSink
from rlm.lm import LMConfig
from rlm.model_client import config_for_name
from rlm.results import RLMResult, StopReason
from rlm.rlm_repl import RLM_REPL

__all__ = ["RLM", "RLMChatCompletion", "UsageSummary", "ModelUsageSummary"]

Backend = Literal["openai", "vllm", "openrouter"]  # OpenAI-compatible servers; others raise
_BACKENDS: dict[str, tuple[str | None, str | None]] = {  # backend -> (default base_url, key variable)
    "openai": (None, "OPENAI_API_KEY"),
    "vllm": (None, None),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
}
_BACKEND_KWARGS = ("model_name", "base_url", "api_key_env", "context_window", "max_output_tokens", "temperature")
# The query the root model gets when completion() is given no root_prompt.
DEFAULT_ROOT_PROMPT = "Do what the text in `context` asks, and answer it."


@dataclass
class ModelUsageSummary:
    total_calls: int
    total_input_tokens: int
    total_output_tokens: int
    total_cached_tokens: int
    total_cost: float | None


@dataclass
class UsageSummary:
    """Usage per model, as the official library reports it, plus cached tokens and cost."""

    model_usage_summaries: dict[str, ModelUsageSummary] = field(default_factory=dict)
    total_cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RLMChatCompletion:
    """What `RLM.completion()` returns; `result` is this library's full record of the run."""

    root_model: str
    prompt: object
    response: str
    usage_summary: UsageSummary
    execution_time: float
    stop_reason: StopReason
    result: RLMResult


class RLM:
    """The official library's `RLM`: `RLM(backend="openai", backend_kwargs={"model_name": ...})`.

    `max_depth` is this library's `depth` (1 = plain sub-calls); `other_backends[0]` with
    `other_backend_kwargs[0]` is the sub-call model; `max_budget` (USD), `max_timeout`
    (seconds) and `max_tokens` are budgets over the whole tree of calls.
    """

    def __init__(self, backend: Backend = "openai", backend_kwargs: Mapping[str, Any] | None = None,
                 environment: str = "local", environment_kwargs: Mapping[str, Any] | None = None,
                 depth: int = 0, max_depth: int = 1, max_iterations: int = 30, max_budget: float | None = None,
                 max_timeout: float | None = None, max_tokens: int | None = None,
                 other_backends: Sequence[str] | None = None,
                 other_backend_kwargs: Sequence[Mapping[str, Any]] | None = None,
                 custom_system_prompt: str | None = None, persistent: bool = False, verbose: bool = False,
                 sink: EventSink | None = None, **unsupported: Any) -> None:
        if unsupported:
            raise ConfigError(f"RLM(): {', '.join(sorted(unsupported))} not supported here; supported: backend, "
                              "backend_kwargs, environment='local', max_depth, max_iterations, max_budget, "
                              "max_timeout, max_tokens, other_backends, other_backend_kwargs, "
                              "custom_system_prompt, persistent, verbose")
        if environment != "local":
            raise ConfigError(f"environment={environment!r} is not available: only 'local' (here a sandboxed "
                              "worker process with a per-cell timeout)")
        if environment_kwargs:
            raise ConfigError("environment_kwargs are not supported; sandbox limits are "
                              "RLM_REPL(limits=SandboxLimits(...))")
        if depth != 0:
            raise ConfigError("depth is internal to the official library; use max_depth")
        root = _backend_config(backend, backend_kwargs, "backend_kwargs")
        subs = list(other_backends or [])
        sub_kwargs = list(other_backend_kwargs or [])
        if len(subs) > 1 or len(subs) != len(sub_kwargs):
            raise ConfigError("other_backends and other_backend_kwargs must be lists of one entry each "
                              "(the sub-call model), e.g. other_backends=['openai'], "
                              "other_backend_kwargs=[{'model_name': 'gpt-5-mini'}]")
        sub = _backend_config(subs[0], sub_kwargs[0], "other_backend_kwargs[0]") if subs else None
        budget = Budget(max_tokens=max_tokens, max_cost_usd=max_budget, max_wall_s=max_timeout)
        self.rlm = RLM_REPL(root, sub_model=sub, depth=max_depth, max_iterations=max_iterations, budget=budget,
                            persistent=persistent, custom_system_prompt=custom_system_prompt,
                            enable_logging=verbose, sink=sink)

    def completion(self, prompt: object, root_prompt: str | None = None) -> RLMChatCompletion:
        """Answer with `prompt` as the REPL's `context`; `root_prompt` is the question the root model sees."""
        started = time.perf_counter()
        result = self.rlm.completion(prompt, root_prompt if root_prompt is not None else DEFAULT_ROOT_PROMPT)
        summaries = {name: ModelUsageSummary(u.calls, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                                             u.cost_usd)
                     for name, u in result.usage.by_model.items()}
        return RLMChatCompletion(
            root_model=self.rlm.models[0].name, prompt=prompt, response=result.answer,
            usage_summary=UsageSummary(summaries, result.usage.total.cost_usd),
            execution_time=time.perf_counter() - started, stop_reason=result.stop_reason, result=result)

    def close(self) -> None:
        self.rlm.close()

    def __enter__(self) -> RLM:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _backend_config(backend: str, kwargs: Mapping[str, Any] | None, what: str) -> LMConfig:
    if backend not in _BACKENDS:
        raise ConfigError(f"backend {backend!r} is not supported: use one of {', '.join(_BACKENDS)} "
                          "(any OpenAI-compatible server works as 'openai' or 'vllm' with base_url)")
    kwargs = dict(kwargs or {})
    if "api_key" in kwargs:
        raise ConfigError(f"{what}: api_key is not accepted, keys come from the environment only; set "
                          f"{_BACKENDS[backend][1] or 'OPENAI_API_KEY'} or give api_key_env='YOUR_VARIABLE'")
    unknown = sorted(set(kwargs) - set(_BACKEND_KWARGS))
    if unknown:
        raise ConfigError(f"{what}: unsupported key(s) {', '.join(unknown)}; supported: {', '.join(_BACKEND_KWARGS)}")
    name = kwargs.pop("model_name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{what} needs model_name, e.g. {{'model_name': 'gpt-5-mini'}}")
    base = config_for_name(name)
    default_url, key_env = _BACKENDS[backend]
    base_url = kwargs.pop("base_url", None) or default_url or base.base_url
    if backend == "vllm" and not base_url:
        raise ConfigError(f"{what}: backend 'vllm' needs base_url, e.g. 'http://127.0.0.1:8000/v1'")
    if "api_key_env" in kwargs:
        key_env = kwargs.pop("api_key_env")
    elif base_url and backend != "openrouter":
        key_env = None  # a local or custom server: OPENAI_API_KEY is used if set, else none is needed
    return LMConfig(model=name, base_url=base_url, api_key_env=key_env, price=base.price,
                    context_window=kwargs.pop("context_window", base.context_window),
                    max_output_tokens=kwargs.pop("max_output_tokens", None),
                    temperature=kwargs.pop("temperature", None))
