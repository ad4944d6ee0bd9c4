"""rlm: Recursive Language Models with a sandboxed REPL, any OpenAI-compatible model."""
from rlm.budget import Budget
from rlm.errors import (ConfigError, ContextLengthExceededError, LMError, MissingAPIKeyError, RLMError,
                        SandboxError)
from rlm.events import CodeExecEvent, EventSink, JsonlSink, ListSink, LLMCallEvent
from rlm.lm import LM, Completion, LMConfig
from rlm.rlm_repl import RLM_REPL, RLMResult, StopRun
from rlm.usage import Price, Usage, UsageBreakdown

__all__ = [
    "LM", "LMConfig", "Completion", "RLM_REPL", "RLMResult", "StopRun", "Budget",
    "Usage", "UsageBreakdown", "Price",
    "LLMCallEvent", "CodeExecEvent", "EventSink", "ListSink", "JsonlSink",
    "RLMError", "ConfigError", "LMError", "ContextLengthExceededError", "MissingAPIKeyError", "SandboxError",
]
