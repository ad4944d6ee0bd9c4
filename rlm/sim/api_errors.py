"""Errors in the real OpenAI API's JSON shape, with its status codes.

Clients branch on status, `type` and `code` (e.g. `context_length_exceeded`), so
the simulator reproduces them exactly rather than inventing its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class APIError(Exception):
    """An error reply: HTTP status plus OpenAI's {"error": {...}} body."""

    status: int
    message: str
    type: str | None = "invalid_request_error"
    param: str | None = None
    code: str | int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    style: str = "openai"   # "vllm": vLLM's top-level ErrorResponse {"object": "error", ...}

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def body(self) -> dict:
        fields = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.style == "vllm":
            return {"object": "error", **fields}
        return {"error": fields}


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def context_length_exceeded(window: int, prompt_tokens: int) -> APIError:
    return APIError(
        400,
        f"This model's maximum context length is {window} tokens. However, your messages "
        f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages.",
        param="messages", code="context_length_exceeded",
    )


def model_not_found(model: str) -> APIError:
    return APIError(404, f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found")


def not_found_path(path: str) -> APIError:
    return APIError(404, f"Invalid URL (POST {path})" if path else "Not found", code="unknown_url")


def rate_limited(model: str, retry_after_s: float) -> APIError:
    ms = max(1, round(retry_after_s * 1000))
    return APIError(
        429, f"Rate limit reached for {model} (simulated). Please try again in {ms}ms.",
        type="requests", code="rate_limit_exceeded",
        headers={"Retry-After": f"{retry_after_s:g}", "retry-after-ms": str(ms)},
    )


def server_error(message: str = "The server had an error while processing your request. Sorry about that!",
                 *, retry: bool = True) -> APIError:
    headers = {} if retry else {"x-should-retry": "false"}
    return APIError(500, message, type="server_error", headers=headers)


def overloaded() -> APIError:
    return APIError(503, "The engine is currently overloaded, please try again later.", type="server_error")
