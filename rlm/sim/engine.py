"""The simulator's request pipeline, independent of HTTP.

bytes -> fault decision -> JSON -> validation -> tokens and window check ->
prefix cache -> policy -> output cap. Everything a reply contains is a function
of (seed, request bytes, attempt number, cache history), so one seed gives the
same bytes every run.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Mapping

from rlm import tokens
from rlm.sim import api_errors
from rlm.sim.faults import Fault, FaultConfig, FaultInjector
from rlm.sim.models import SimModelSpec
from rlm.sim.policy import PolicyError, PolicySpec, resolve_policy
from rlm.sim.prefix_cache import PrefixCache
from rlm.sim.profiles import ServerProfile, get_profile, overflow_error, rate_limit_error, validation_error
from rlm.sim.request import ChatRequest, parse_request
from rlm.sim.tokenizer import MessageTokenizer

log = logging.getLogger(__name__)

SIM_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z; `created` = this + a seeded offset


@dataclass
class SimCompletion:
    """A successful reply, before it is serialised."""

    request: ChatRequest
    spec: SimModelSpec
    id: str
    created: int
    text: str
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    ttft_s: float
    per_token_s: float
    profile: ServerProfile = get_profile(None)
    shape: str = "normal"           # normal | empty (no text) | cut (stream ends early) | silent (no events)
    send_usage: bool = True         # False: the reply carries no usage at all

    def usage(self) -> dict | None:
        if not self.send_usage:
            return None
        usage: dict = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        if self.profile.report_cached:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens, "audio_tokens": 0}
        return usage

    def stream_usage(self) -> bool:
        """Whether a stream of this reply ends with a usage chunk."""
        mode = self.profile.stream_usage
        return self.send_usage and (mode == "always" or (mode == "include_usage" and self.request.include_usage))


class Engine:
    """Turns one request body into a SimCompletion, an APIError or a Fault."""

    def __init__(self, models: Mapping[str, SimModelSpec], policy: PolicySpec = "auto", *, seed: int = 0,
                 time_scale: float = 0.0, faults: FaultConfig | None = None, cache_blocks: int = 200_000,
                 profile: ServerProfile | str | None = None) -> None:
        self.models = dict(models)
        self.profile = get_profile(profile)
        self.seed = seed
        self.time_scale = time_scale
        self._policy_for = resolve_policy(policy)
        self._faults = FaultInjector(seed, faults, time_scale)
        self._caches = {name: PrefixCache(cache_blocks) for name in self.models}
        self._tokenizer = MessageTokenizer()

    def complete(self, raw: bytes, fault_header: str | None = None) -> SimCompletion | Fault:
        """Serve one chat-completions body; raises api_errors.APIError for error replies."""
        digest = hashlib.blake2b(raw + b"|" + (fault_header or "").encode(), digest_size=16).hexdigest()
        attempt = self._faults.next_attempt(digest)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise api_errors.bad_request(
                f"We could not parse the JSON body of your request. ({exc}) The OpenAI API expects a JSON payload.") from None
        model_name = body.get("model") if isinstance(body, dict) else None
        fault = self._faults.decide(digest, attempt, fault_header)
        if fault is not None:
            log.debug("fault %s on attempt %d", fault.kind, attempt)
            if fault.kind in ("hang", "drop"):
                return fault
            if fault.kind == "429":
                raise rate_limit_error(self.profile, str(model_name), fault.retry_after_s)
            if fault.kind in ("500", "503"):
                raise fault.as_error(str(model_name))
        request, spec = self._parse(body)
        request.seed, request.digest, request.context_window = self.seed, digest, spec.context_window
        ids = self._tokenizer.encode_messages(request.messages)
        request.prompt_tokens = len(ids)
        shape = fault.kind if fault is not None else "normal"
        if len(ids) > spec.context_window:
            if self.profile.overflow == "truncate":
                # Ollama keeps the end of an over-long prompt, fitted to num_ctx, and says nothing.
                ids = ids[-(spec.context_window * 3 // 4):]
                request.messages = [{"role": "user", "content": tokens.decode(ids)}]
                request.prompt_tokens = len(ids)
            elif self.profile.overflow == "llamacpp" and request.stream:
                shape = "silent"   # llama-cpp-python: HTTP 200, then a stream with no events
            else:
                raise overflow_error(self.profile, spec.context_window, len(ids), request.max_tokens)
        cached = self._caches[spec.name].lookup_and_insert(ids) if shape != "silent" else 0
        text = self._reply(request) if shape not in ("silent", "empty") else ""
        limit = min(request.max_tokens or spec.max_output_tokens, spec.max_output_tokens,
                    spec.context_window - len(ids))
        out_ids = tokens.encode(text)
        finish = "stop"
        if len(out_ids) > limit:
            out_ids = out_ids[:limit]
            text = tokens.decode(out_ids)
            finish = "length"
        ident = hashlib.blake2b(f"{self.seed}|{digest}|{attempt}".encode(), digest_size=12).hexdigest()
        return SimCompletion(
            request=request, spec=spec, id=f"chatcmpl-sim{ident}", created=SIM_EPOCH + int(ident[:5], 16),
            text=text, finish_reason=finish, prompt_tokens=len(ids), cached_tokens=cached,
            completion_tokens=len(out_ids), ttft_s=spec.ttft_s(len(ids) - cached, self.time_scale),
            per_token_s=spec.per_token_s(self.time_scale), profile=self.profile,
            shape="normal" if shape == "nousage" else shape, send_usage=shape != "nousage")

    def _parse(self, body: object) -> tuple[ChatRequest, SimModelSpec]:
        """Validate the body; errors take the profile's status and shape."""
        models: Mapping[str, SimModelSpec] = self.models
        if self.profile.any_model and isinstance(body, dict) and isinstance(body.get("model"), str) \
                and body["model"] not in models:
            models = {**models, body["model"]: next(iter(self.models.values()))}
        try:
            return parse_request(body, models)
        except api_errors.APIError as error:
            if error.status != 400:
                raise
            raise validation_error(self.profile, error.message, error.param, error.code) from None

    def _reply(self, request: ChatRequest) -> str:
        policy = self._policy_for(request.model)
        try:
            text = policy(request)
        except PolicyError as exc:
            raise api_errors.server_error(str(exc), retry=False) from None
        except api_errors.APIError:
            raise
        except Exception as exc:  # a broken policy must not kill the server
            log.exception("policy failed")
            raise api_errors.server_error(f"Simulator policy failed: {type(exc).__name__}: {exc}", retry=False) from None
        if not isinstance(text, str):
            raise api_errors.server_error(f"Simulator policy returned {type(text).__name__}, not str", retry=False)
        return text
