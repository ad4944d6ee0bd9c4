"""RLM_REPL: a Recursive Language Model whose root model works in a sandboxed REPL.

The root model sees the query and a description of `context`; it writes ```repl
code that inspects the context and calls sub-models (depth 1) or child RLMs
(depth >= 2) on pieces of it, until it answers with FINAL(...) / FINAL_VAR(name) or
sets answer["ready"] = True in a cell. `completion(context, query)` is a drop-in for an
LM call. Budgets are shared by the whole tree of calls and always end the run with a
stop reason, never a crash.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

from rlm.budget import Budget, BudgetTracker
from rlm.console import RLMConsole
from rlm.errors import ConfigError
from rlm.events import EventSink, FanoutSink
from rlm.model_client import RIGHT_FORM, ModelClient, ModelSpec, resolve_model
from rlm.repl import Sandbox, SandboxLimits
from rlm.repl._subcalls import DEFAULT_MAX_SUBCALLS
from rlm.results import ANSWERED, Cell, Iteration, RLMResult, StopRun
from rlm.run_loop import Run, RLMCallHandler
from rlm.trace import DEFAULT_TEXT_CAP, Tracer, new_id

__all__ = ["RLM_REPL", "RLMResult", "StopRun", "Cell", "Iteration"]


class RLM_REPL:  # noqa: N801 - the name the RLM literature uses
    """A Recursive Language Model.

    depth 0: the root model works in the REPL with no sub-calls; depth 1: `llm_query`
    calls plain sub-models (the paper's default); depth d: `rlm_query` runs child RLMs
    of depth d-1, each with its own REPL and the models of the next depths.
    Every model argument takes a name ("gpt-5-mini"), an `LMConfig` or a `ModelClient`.
    `sub_models[i]` is the model used at depth i+1 (the last one repeats); the seed's
    `recursive_model` / `recursive_models` are the same arguments under its names.

    `persistent=True` keeps one REPL across `completion()` calls until `close()`: variables
    survive, `context` is replaced by each call's. The trade-off: one query's code can see
    and change what earlier queries left (no isolation between them), and calls are serialised.
    `max_text_chars` caps each trajectory text (reply, prompt, cell output) sent to the sink.
    """

    def __init__(self, model: ModelSpec, *, sub_model: ModelSpec | None = None,
                 sub_models: Sequence[ModelSpec] | None = None, recursive_model: ModelSpec | None = None,
                 recursive_models: Sequence[ModelSpec] | None = None, depth: int = 1,
                 max_iterations: int = 20, budget: Budget | None = None, limits: SandboxLimits | None = None,
                 max_output_chars: int = 20_000, max_concurrent_subcalls: int = DEFAULT_MAX_SUBCALLS,
                 sink: EventSink | None = None, console: EventSink | None = None, run_id: str | None = None,
                 persistent: bool = False, custom_system_prompt: str | None = None,
                 max_text_chars: int = DEFAULT_TEXT_CAP, enable_logging: bool = False,
                 **unsupported: object) -> None:
        _reject(unsupported)
        if not isinstance(depth, int) or depth < 0:
            raise ConfigError(f"depth must be an int >= 0, got {depth!r}")
        if not isinstance(max_iterations, int) or max_iterations < 1:
            raise ConfigError(f"max_iterations must be an int >= 1, got {max_iterations!r}")
        if max_text_chars < 1:
            raise ConfigError(f"max_text_chars must be >= 1, got {max_text_chars!r}")
        root = resolve_model(model, what="model")
        by_name = {model: root} if isinstance(model, str) else {}
        chain = _sub_chain(sub_model, sub_models, recursive_model, recursive_models, by_name)
        self.models: list[ModelClient] = [root] + (chain or [root])
        self.depth = depth
        self.max_iterations = max_iterations
        self.budget = budget or Budget()
        self.limits = limits or SandboxLimits(max_output_chars=max_output_chars)
        self.max_output_chars = max_output_chars
        self.max_concurrent_subcalls = max_concurrent_subcalls
        self.sink = sink
        self.console = console if console is not None else (RLMConsole() if enable_logging else None)
        self.run_id = run_id or new_id()
        self.persistent = persistent
        self.custom_system_prompt = custom_system_prompt
        self.max_text_chars = max_text_chars
        self._session: tuple[Sandbox, RLMCallHandler | None] | None = None
        self._lock = threading.Lock()

    def model_at(self, level: int) -> ModelClient:
        return self.models[min(level, len(self.models) - 1)]

    def completion(self, context: object, query: str, *, query_id: str | None = None,
                   raise_on_stop: bool = False) -> RLMResult:
        """Answer `query` about `context` (str, list or dict)."""
        if not isinstance(context, (str, list, tuple, dict)):
            raise ConfigError(f"context must be a str, list or dict, not {type(context).__name__}")
        if not isinstance(query, str):
            raise ConfigError(f"query must be a str, not {type(query).__name__}")
        sinks = [s for s in (self.sink, self.console) if s is not None]
        sink = sinks[0] if len(sinks) == 1 else (FanoutSink(*sinks) if sinks else None)
        tracer = Tracer(sink, self.run_id, query_id or new_id(), text_cap=self.max_text_chars,
                        context=context if isinstance(context, str) else None)
        run = Run(self, context, query, level=0, tracer=tracer, tracker=BudgetTracker(self.budget),
                  parent_call_id=None)
        if self.persistent:
            with self._lock:
                result = run.execute()
        else:
            result = run.execute()
        if raise_on_stop and result.stop_reason not in ANSWERED:
            raise StopRun(result)
        return result

    def open_sandbox(self, run: Run) -> tuple[Sandbox, bool]:
        """The REPL for `run` and whether the run owns it (closes it at its end)."""
        handler = RLMCallHandler(run) if run.depth >= 1 else None
        if not (self.persistent and run.level == 0):
            return Sandbox(run.context, handler, self.limits, enable_rlm_query=run.depth >= 2), True
        if self._session is None:
            sandbox = Sandbox(run.context, handler, self.limits, enable_rlm_query=run.depth >= 2)
            self._session = (sandbox, handler)
        else:
            sandbox, kept = self._session
            if kept is not None:
                kept.run = run
            sandbox.load_context(run.context)
        return self._session[0], False

    def close(self) -> None:
        """End a persistent session (kill its REPL). Idempotent; a no-op otherwise."""
        if self._session is not None:
            self._session[0].close()
            self._session = None

    def __enter__(self) -> RLM_REPL:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


_ACCEPTED = ("model, sub_model, sub_models, recursive_model, recursive_models, depth, max_iterations, budget, "
             "limits, max_output_chars, max_concurrent_subcalls, sink, console, run_id, persistent, "
             "custom_system_prompt, max_text_chars, enable_logging")


def _reject(unsupported: dict[str, object]) -> None:
    if unsupported.get("api_key", "") is None:
        del unsupported["api_key"]  # the seed's default: read the key from the environment, as here
    if not unsupported:
        return
    if "api_key" in unsupported:
        raise ConfigError("RLM_REPL takes no api_key: keys come from the environment only "
                          "(set OPENAI_API_KEY, or pass LMConfig(model=..., api_key_env='YOUR_VAR'))")
    names = ", ".join(sorted(unsupported))
    raise ConfigError(f"RLM_REPL got unsupported argument(s) {names}; it accepts {_ACCEPTED}")


def _sub_chain(sub_model: ModelSpec | None, sub_models: Sequence[ModelSpec] | None,
               recursive_model: ModelSpec | None, recursive_models: Sequence[ModelSpec] | None,
               by_name: dict[str, ModelClient]) -> list[ModelClient]:
    """The models of depths 1, 2, ... from whichever of the four spellings was used (only one)."""
    given = {name: value for name, value in (("sub_model", sub_model), ("sub_models", sub_models),
                                             ("recursive_model", recursive_model),
                                             ("recursive_models", recursive_models)) if value is not None}
    if len(given) > 1:
        raise ConfigError(f"give the sub-models once, not as {' and '.join(given)}: "
                          "sub_model=... (one model) or sub_models=[...] (one per depth)")
    if not given:
        return []
    (name, value), = given.items()
    if name.endswith("models"):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ConfigError(f"{name} must be a list of models, one per depth: {RIGHT_FORM}")
        return [_resolve_once(v, f"{name}[{i}]", by_name) for i, v in enumerate(value)]
    return [_resolve_once(value, name, by_name)]


def _resolve_once(spec: object, what: str, by_name: dict[str, ModelClient]) -> ModelClient:
    """One client per model name (each client holds its own connection pool)."""
    if isinstance(spec, str) and spec in by_name:
        return by_name[spec]
    client = resolve_model(spec, what=what)
    if isinstance(spec, str):
        by_name[spec] = client
    return client
