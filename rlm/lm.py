"""One client for every OpenAI-compatible model: OpenAI, vLLM, Ollama, llama.cpp, the simulator.

Why our own retry loop instead of the SDK's: we must count attempts, cap the total
wait, and never retry a context-length error. The SDK still does the HTTP; we only
classify its exceptions (by class and status, never by matching strings).
"""
from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass, field

import openai

from rlm.errors import ContextLengthExceededError, LMError, MissingAPIKeyError
from rlm.usage import Price, Usage

log = logging.getLogger(__name__)

Message = dict[str, str]


@dataclass(frozen=True)
class LMConfig:
    """Everything needed to call one model. Holds the *name* of the key variable, never a key."""

    model: str
    base_url: str | None = None
    api_key_env: str | None = None      # e.g. "OPENAI_API_KEY"; None = the SDK's own default
    price: Price | None = None           # None = unknown cost
    context_window: int | None = None    # tokens; told to a parent RLM so it can size chunks
    max_output_tokens: int | None = None
    stream: bool = True                  # streaming gives time-to-first-token
    temperature: float | None = None
    max_retries: int = 4
    timeout_s: float = 600.0
    max_retry_wait_s: float = 120.0     # total backoff one call may spend before giving up
    extra_body: dict = field(default_factory=dict)
    default_headers: dict = field(default_factory=dict)  # sent with every request (never put keys here)


@dataclass
class Completion:
    """A model's reply with its usage and timing."""

    text: str
    usage: Usage
    latency_ms: float
    ttft_ms: float | None
    attempts: int
    model: str
    from_cache: bool = False


_RETRYABLE = (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError)


class LM:
    """A callable model: `LM(LMConfig(...)).complete(messages)`."""

    def __init__(self, config: LMConfig) -> None:
        self.config = config
        kwargs: dict = {"max_retries": 0, "timeout": config.timeout_s}
        if config.base_url:
            kwargs["base_url"] = config.base_url
        if config.default_headers:
            kwargs["default_headers"] = dict(config.default_headers)
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise MissingAPIKeyError(
                    f"model {config.model!r} needs an API key: set the environment variable {config.api_key_env}")
            kwargs["api_key"] = key
        elif config.base_url and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local servers (sim, vLLM, Ollama) accept any key
        self._client = openai.OpenAI(**kwargs)

    @property
    def name(self) -> str:
        return self.config.model

    def __repr__(self) -> str:  # never shows a key
        return f"LM(model={self.config.model!r}, base_url={self.config.base_url!r})"

    def complete(self, messages: list[Message] | str, *, max_tokens: int | None = None) -> Completion:
        """Call the model, retrying transient errors; raise LMError or ContextLengthExceededError."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        start = time.perf_counter()
        attempt = 0
        slept = 0.0
        while True:
            attempt += 1
            try:
                text, usage, ttft = self._request(messages, max_tokens)
            except openai.BadRequestError as exc:
                if _is_context_error(exc):
                    raise ContextLengthExceededError(_message(exc), status=400, attempts=attempt) from exc
                raise LMError(f"{type(exc).__name__}: {_message(exc)}", status=400, attempts=attempt) from exc
            except _RETRYABLE as exc:
                wait = _retry_wait(exc, attempt)
                if attempt > self.config.max_retries or slept + wait > self.config.max_retry_wait_s:
                    raise LMError(f"{type(exc).__name__} after {attempt} attempts: {_message(exc)}",
                                  status=getattr(exc, "status_code", None), attempts=attempt) from exc
                log.info("model %s: %s, retrying in %.2fs (attempt %d)", self.name, type(exc).__name__, wait, attempt)
                time.sleep(wait)
                slept += wait
                continue
            except openai.APIStatusError as exc:
                raise LMError(f"{type(exc).__name__}: {_message(exc)}", status=exc.status_code, attempts=attempt) from exc
            latency_ms = (time.perf_counter() - start) * 1000
            if self.config.price is not None:
                usage.cost_usd = self.config.price.cost(usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens)
            else:
                usage.cost_usd = None
            return Completion(text=text, usage=usage, latency_ms=latency_ms, ttft_ms=ttft,
                              attempts=attempt, model=self.name)

    def _request(self, messages: list[Message], max_tokens: int | None) -> tuple[str, Usage, float | None]:
        cfg = self.config
        kwargs: dict = {"model": cfg.model, "messages": messages}
        limit = max_tokens or cfg.max_output_tokens
        if limit:
            kwargs["max_tokens"] = limit
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if cfg.extra_body:
            kwargs["extra_body"] = cfg.extra_body
        sent = time.perf_counter()
        if not cfg.stream:
            response = self._client.chat.completions.create(**kwargs)
            text = response.choices[0].message.content or "" if response.choices else ""
            return text, _usage(response.usage), None
        stream = self._client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs)
        parts: list[str] = []
        ttft: float | None = None
        usage = Usage(calls=1)
        for chunk in stream:
            if chunk.choices:
                delta = chunk.choices[0].delta.content
                if delta:
                    if ttft is None:
                        ttft = (time.perf_counter() - sent) * 1000
                    parts.append(delta)
            if chunk.usage is not None:
                usage = _usage(chunk.usage)
        return "".join(parts), usage, ttft


def _usage(raw: object) -> Usage:
    """Normalise a provider's usage object to OpenAI's convention (cached included in prompt)."""
    if raw is None:
        return Usage(calls=1)
    prompt_details = getattr(raw, "prompt_tokens_details", None)
    completion_details = getattr(raw, "completion_tokens_details", None)
    cached = getattr(prompt_details, "cached_tokens", None) or 0
    reasoning = getattr(completion_details, "reasoning_tokens", None) or 0
    return Usage(prompt_tokens=getattr(raw, "prompt_tokens", 0) or 0, cached_tokens=cached,
                 completion_tokens=getattr(raw, "completion_tokens", 0) or 0,
                 reasoning_tokens=reasoning, calls=1)


def _is_context_error(exc: openai.BadRequestError) -> bool:
    code = getattr(exc, "code", None)
    if code is None and isinstance(exc.body, dict):
        code = exc.body.get("code") or (exc.body.get("error") or {}).get("code")
    return code == "context_length_exceeded"


def _message(exc: openai.APIError) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        msg = body.get("message") or (body.get("error") or {}).get("message")
        if msg:
            return str(msg)
    return str(exc.message if hasattr(exc, "message") else exc)


def _retry_wait(exc: Exception, attempt: int) -> float:
    """Retry-After when the server sends one, else exponential backoff with jitter."""
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
