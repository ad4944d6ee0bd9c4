"""The default "auto" policy: deterministic per (seed, request).

RLM root conversations (a system message holding rlm.prompts.REPL_MARKER) get
code-writing turns from rlm.sim.policy_rlm; every other prompt is read plainly
by rlm.sim.policy_plain. No language understanding is involved anywhere.
"""
from __future__ import annotations

from rlm.prompts import REPL_MARKER
from rlm.sim.policy_official import is_official_root, official_reply
from rlm.sim.policy_plain import plain_reply
from rlm.sim.policy_rlm import rlm_reply
from rlm.sim.request import ChatRequest


def is_rlm_root(request: ChatRequest) -> bool:
    return any(m["role"] == "system" and REPL_MARKER in m["content"] for m in request.messages)


class AutoPolicy:
    """Dispatches a request to the RLM-root or the plain-prompt policy."""

    def __call__(self, request: ChatRequest) -> str:
        if is_official_root(request):
            return official_reply(request)
        if is_rlm_root(request):
            return rlm_reply(request)
        return plain_reply(request)
