"""rlm: Recursive Language Models with a sandboxed REPL, any OpenAI-compatible model."""
from rlm.budget import Budget
from rlm.console import RLMConsole
from rlm.errors import (TRANSIENT_KINDS, AuthError, BadRequestError, ConfigError, ContentFilterError,
                        ContextLengthExceededError, EmptyReplyError, ErrorKind, LMConnectionError, LMError,
                        LMTimeoutError, MissingAPIKeyError, RateLimitedError, RLMError, SandboxError, ServerError,
                        TruncatedReplyError)
from rlm.events import (CodeExecEvent, Event, EventSink, FanoutSink, JsonlSink, ListSink, LLMCallEvent, Role,
                        TextEvent, TextField)
from rlm.lm import LM, Completion, LMConfig, Message
from rlm.model_client import KNOWN_MODELS, KnownModel, ModelClient, ModelSpec, resolve_model
from rlm.official import RLM, RLMChatCompletion, UsageSummary
from rlm.repl import CellResult, SandboxLimits
from rlm.response_cache import CachedLM
from rlm.results import Cell, Iteration, RLMResult, StopReason, StopRun
from rlm.rlm_repl import RLM_REPL
from rlm.usage import Price, Usage, UsageBreakdown

__all__ = [
    "RLM_REPL", "RLMResult", "StopRun", "StopReason", "Iteration", "Cell", "Budget", "SandboxLimits", "CellResult",
    "RLM", "RLMChatCompletion", "UsageSummary",
    "ModelClient", "ModelSpec", "LM", "LMConfig", "Completion", "Message", "CachedLM", "KNOWN_MODELS",
    "KnownModel", "resolve_model",
    "Usage", "UsageBreakdown", "Price",
    "Event", "LLMCallEvent", "CodeExecEvent", "TextEvent", "TextField", "Role", "EventSink", "ListSink",
    "JsonlSink", "FanoutSink", "RLMConsole",
    "RLMError", "ConfigError", "LMError", "ContextLengthExceededError", "MissingAPIKeyError", "SandboxError",
    "ErrorKind", "TRANSIENT_KINDS", "RateLimitedError", "LMTimeoutError", "LMConnectionError", "ServerError",
    "BadRequestError", "AuthError", "EmptyReplyError", "TruncatedReplyError", "ContentFilterError",
]
