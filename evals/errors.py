"""Errors of the harness: each is one clear line for the user, then a non-zero exit."""
from __future__ import annotations

from rlm.errors import RLMError


class EvalError(RLMError):
    """Bad input to a run (config, override, dataset, database); the message says how to fix it."""
