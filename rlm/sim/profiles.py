"""Server profiles: the simulator answering as a given OpenAI-compatible server would.

Servers agree on successful replies and differ on everything else: whether a stream carries
usage, how a too-long prompt is refused (or not refused at all), what a validation error looks
like, whether cached tokens are reported. Each profile reproduces one server's documented or
observed shapes (sources in rlm/sim/README.md), so a client is tested against all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlm.sim import api_errors

StreamUsage = Literal["include_usage", "always", "never"]
Overflow = Literal["openai", "vllm", "llamacpp", "litellm", "truncate"]


@dataclass(frozen=True)
class ServerProfile:
    """How one server family replies. `overflow="truncate"` shortens the prompt silently."""

    name: str
    stream_usage: StreamUsage = "include_usage"   # include_usage: only when the client asks
    report_cached: bool = True                    # prompt_tokens_details.cached_tokens in usage
    overflow: Overflow = "openai"
    validation_status: int = 400                  # llama-cpp-python reports validation errors as 500
    any_model: bool = False                       # serve any model name with the first model's spec
    error_style: Literal["openai", "vllm", "litellm"] = "openai"
    interrupt_requests: bool = False              # a newer request cuts a running stream (then [DONE])


PROFILES: dict[str, ServerProfile] = {p.name: p for p in (
    ServerProfile("openai"),
    ServerProfile("vllm", report_cached=False, overflow="vllm", error_style="vllm"),
    ServerProfile("llamacpp", stream_usage="never", report_cached=False, overflow="llamacpp",
                  validation_status=500, any_model=True, interrupt_requests=True),
    ServerProfile("litellm", stream_usage="always", overflow="litellm", error_style="litellm"),
    ServerProfile("ollama", report_cached=False, overflow="truncate"),
)}


def get_profile(profile: "str | ServerProfile | None") -> ServerProfile:
    if profile is None:
        return PROFILES["openai"]
    if isinstance(profile, ServerProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown server profile {profile!r} (one of {', '.join(PROFILES)})") from None


def overflow_error(profile: ServerProfile, window: int, prompt_tokens: int, max_tokens: int | None) -> api_errors.APIError:
    """The error a too-long prompt gets from this server (for a streamed llama.cpp request the
    engine sends an empty 200 stream instead)."""
    if profile.overflow == "vllm":
        # vLLM's serving_engine check (0.6-0.9 wording), as a top-level ErrorResponse.
        return api_errors.APIError(
            400, f"This model's maximum context length is {window} tokens. However, your request has "
                 f"{prompt_tokens} input tokens. Please reduce the length of the input messages.",
            type="BadRequestError", code=400, style="vllm")
    if profile.overflow == "llamacpp":
        # llama-cpp-python's RouteErrorHandler for non-streamed requests.
        requested = prompt_tokens + (max_tokens or 0)
        return api_errors.APIError(
            400, f"Requested tokens ({requested}) exceed context window of {window}",
            type="invalid_request_error", param="messages", code="context_length_exceeded")
    if profile.overflow == "litellm":
        return api_errors.APIError(
            400, "litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: "
                 f"OpenAIException - This model's maximum context length is {window} tokens. However, your "
                 f"messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages.. "
                 "Received Model Group=sim\nAvailable Model Group Fallbacks=None",
            type=None, param=None, code="400")
    return api_errors.context_length_exceeded(window, prompt_tokens)


def validation_error(profile: ServerProfile, message: str, param: str | None,
                     code: str | int | None) -> api_errors.APIError:
    """A rejected request body, in the profile's status and shape."""
    if profile.validation_status == 500:
        return api_errors.APIError(500, f"1 validation error for CreateChatCompletionRequest\n{param or 'body'}\n  "
                                        f"{message}", type="internal_server_error", param=None, code=None)
    if profile.error_style == "litellm":
        return api_errors.APIError(400, f"litellm.BadRequestError: {message}", type=None, param=param, code="400")
    if profile.error_style == "vllm":
        return api_errors.APIError(400, message, type="BadRequestError", code=400, style="vllm")
    return api_errors.bad_request(message, param=param, code=None if code is None else str(code))


def rate_limit_error(profile: ServerProfile, model: str, retry_after_s: float) -> api_errors.APIError:
    error = api_errors.rate_limited(model, retry_after_s)
    if profile.error_style == "litellm":
        error.message = f"litellm.RateLimitError: RateLimitError: OpenAIException - {error.message}"
        error.type, error.code = "throttling_error", "429"
    return error
