"""The one plug point for models, and how a model *name* becomes a client.

Anything with `name`, `config` and `complete()` is a `ModelClient`: `LM`, the reply cache
(`CachedLM`) and any user client. A plain name ("gpt-5-mini") resolves the way the openai
SDK does (OPENAI_BASE_URL, OPENAI_API_KEY) plus a table of known models' windows and prices.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rlm.errors import ConfigError
from rlm.lm import LM, Completion, LMConfig, Message
from rlm.usage import Price

# The window told to a root model about a sub-model whose window nobody stated.
DEFAULT_WINDOW = 128_000


@runtime_checkable
class ModelClient(Protocol):
    """A model the RLM can call. `config` carries its window and price (None = unknown)."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> LMConfig: ...

    def complete(self, messages: list[Message] | str, *, max_tokens: int | None = None) -> Completion: ...


@dataclass(frozen=True)
class KnownModel:
    """Public facts of a model: input window in tokens and USD per 1M tokens."""

    context_window: int
    price: Price | None


# Windows and list prices as published by their providers (input window; USD per 1M tokens),
# and the simulator's models under their own names (the same as rlm/sim/models.py, checked by a
# test; not imported from there, since importing rlm.sim starts loading the whole simulator).
KNOWN_MODELS: dict[str, KnownModel] = {
    "gpt-5": KnownModel(272_000, Price(input=1.25, cached_input=0.125, output=10.0)),
    "gpt-5-mini": KnownModel(272_000, Price(input=0.25, cached_input=0.025, output=2.0)),
    "gpt-5-nano": KnownModel(272_000, Price(input=0.05, cached_input=0.005, output=0.40)),
    "gpt-4.1": KnownModel(1_047_576, Price(input=2.0, cached_input=0.50, output=8.0)),
    "gpt-4.1-mini": KnownModel(1_047_576, Price(input=0.40, cached_input=0.10, output=1.60)),
    "gpt-4o": KnownModel(128_000, Price(input=2.50, cached_input=1.25, output=10.0)),
    "gpt-4o-mini": KnownModel(128_000, Price(input=0.15, cached_input=0.075, output=0.60)),
    "sim-large": KnownModel(131_072, Price(input=1.25, cached_input=0.125, output=10.0)),
    "sim-small": KnownModel(65_536, Price(input=0.25, cached_input=0.025, output=2.0)),
}

RIGHT_FORM = ('pass a model name (model="gpt-5-mini", resolved with OPENAI_BASE_URL / OPENAI_API_KEY), '
              'an LMConfig (LMConfig(model="gpt-5-mini", base_url=...)) or a client such as LM(LMConfig(...))')

ModelSpec = ModelClient | LMConfig | str


def config_for_name(name: str) -> LMConfig:
    """An LMConfig for a bare model name, read from the environment like the openai SDK.

    With OPENAI_BASE_URL set (a local server, the simulator) no key is required; without
    it the model is OpenAI's and OPENAI_API_KEY must be set.
    """
    known = KNOWN_MODELS.get(name)
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    return LMConfig(model=name, base_url=base_url, api_key_env=None if base_url else "OPENAI_API_KEY",
                    price=known.price if known else None,
                    context_window=known.context_window if known else None)


def resolve_model(spec: object, *, what: str = "model") -> ModelClient:
    """A client from a name, an LMConfig or a client; anything else is a ConfigError."""
    if isinstance(spec, str):
        if not spec.strip():
            raise ConfigError(f"{what} is an empty name: {RIGHT_FORM}")
        return LM(config_for_name(spec))
    if isinstance(spec, LMConfig):
        return LM(spec)
    if isinstance(spec, ModelClient):
        return spec
    raise ConfigError(f"{what} must be a model name, an LMConfig or a model client, "
                      f"not {type(spec).__name__}: {RIGHT_FORM}")


def window_of(client: ModelClient | None) -> int | None:
    """The client's input window as told to a parent RLM; DEFAULT_WINDOW when unstated."""
    if client is None:
        return None
    return client.config.context_window or DEFAULT_WINDOW
