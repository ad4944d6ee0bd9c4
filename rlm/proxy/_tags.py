"""How a request says whose it is: tag headers a method sets per client, or the request's shape.

Many RLM implementations let a client carry fixed headers (`default_headers`) but nothing
per call, so the tags are per client: one client for the root model, one for sub-calls.
The proxy strips these headers before forwarding; the upstream never sees them.
"""
from __future__ import annotations

from typing import Any, Mapping

from rlm.events import Role

RUN_HEADER = "X-RLM-Run-Id"
QUERY_HEADER = "X-RLM-Query-Id"
ROLE_HEADER = "X-RLM-Role"
DEPTH_HEADER = "X-RLM-Depth"
CALL_ID_HEADER = "X-RLM-Call-Id"     # sent back to the client: the id of the recorded call
TAG_HEADERS = frozenset(h.lower() for h in (RUN_HEADER, QUERY_HEADER, ROLE_HEADER, DEPTH_HEADER))
ROLES: frozenset[str] = frozenset({"root", "sub", "baseline"})


def tag_headers(*, run_id: str | None = None, query_id: str | None = None, role: Role | None = None,
                depth: int | None = None) -> dict[str, str]:
    """The headers a client sends so its calls are recorded under this run, sample and role."""
    headers = {RUN_HEADER: run_id, QUERY_HEADER: query_id, ROLE_HEADER: role,
               DEPTH_HEADER: None if depth is None else str(depth)}
    return {name: value for name, value in headers.items() if value is not None}


def role_from_shape(body: Mapping[str, Any] | None) -> Role:
    """Without a role header: a conversation with a system message is a root turn, else a sub-call.

    RLM roots carry their protocol in a system prompt; sub-calls are a single user prompt.
    """
    messages = body.get("messages") if isinstance(body, Mapping) else None
    if isinstance(messages, list) and any(isinstance(m, Mapping) and m.get("role") in ("system", "developer")
                                          for m in messages):
        return "root"
    return "sub"


def resolve_role(header: str | None, body: Mapping[str, Any] | None) -> Role:
    if header and header.strip().lower() in ROLES:
        return header.strip().lower()  # type: ignore[return-value]
    return role_from_shape(body)


def resolve_depth(header: str | None, role: Role) -> int:
    if header:
        try:
            return max(0, int(header))
        except ValueError:
            pass
    return 1 if role == "sub" else 0
