"""Parsing and validating a chat-completions request body.

Validation mirrors the real API (same messages, params and codes) so a client's
error handling is exercised by the simulator exactly as by a real endpoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from rlm.sim import api_errors
from rlm.sim.models import SimModelSpec


@dataclass
class ChatRequest:
    """A parsed chat request, as policies see it.

    `messages` have plain-string content. `prompt_tokens`, `context_window` and
    `seed` are filled in by the engine before the policy runs; `digest` identifies
    the request's bytes (policies seed their randomness from it).
    """

    model: str
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False
    prompt_tokens: int = 0
    context_window: int = 0
    seed: int = 0
    digest: str = ""
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def text(self) -> str:
        """Every message's content, joined by blank lines."""
        return "\n\n".join(m["content"] for m in self.messages)


def _content_text(content: Any, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise api_errors.bad_request(
                    f"Invalid content part in messages[{index}]: only text parts are supported.",
                    param=f"messages.[{index}].content")
        return "".join(parts)
    raise api_errors.bad_request(f"Invalid type for 'messages[{index}].content': expected a string or an array.",
                                 param=f"messages.[{index}].content", code="invalid_type")


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise api_errors.bad_request(f"Invalid type for '{name}': expected an integer, but got {type(value).__name__}.",
                                         param=name, code="invalid_type")
        if value < 1:
            raise api_errors.bad_request(
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
                param=name, code="integer_below_min_value")
        return value
    return None


def parse_request(body: Any, models: Mapping[str, SimModelSpec]) -> tuple[ChatRequest, SimModelSpec]:
    """Validate a decoded JSON body; raise api_errors.APIError as the real API would."""
    if not isinstance(body, dict):
        raise api_errors.bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if model is None:
        raise api_errors.bad_request("you must provide a model parameter", param="model",
                                     code="missing_required_parameter")
    if not isinstance(model, str):
        raise api_errors.bad_request("Invalid type for 'model': expected a string.", param="model", code="invalid_type")
    messages = body.get("messages")
    if messages is None:
        raise api_errors.bad_request("Missing required parameter: 'messages'.", param="messages",
                                     code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise api_errors.bad_request("Invalid 'messages': expected a non-empty array.", param="messages",
                                     code="invalid_value" if isinstance(messages, list) else "invalid_type")
    parsed = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise api_errors.bad_request(f"Missing required parameter: 'messages[{i}].role'.",
                                         param=f"messages.[{i}].role", code="missing_required_parameter")
        parsed.append({"role": message["role"], "content": _content_text(message.get("content"), i)})
    max_tokens = _max_tokens(body)
    spec = models.get(model)
    if spec is None:
        raise api_errors.model_not_found(model)
    stream = bool(body.get("stream"))
    options = body.get("stream_options") or {}
    include_usage = stream and isinstance(options, dict) and bool(options.get("include_usage"))
    return ChatRequest(model=model, messages=parsed, max_tokens=max_tokens, stream=stream,
                       include_usage=include_usage, body=body), spec
