"""A recording OpenAI-compatible proxy: any RLM implementation's calls, recorded like our own.

    with RecordingProxy(upstream_url, sink, prices=...) as proxy:
        client = OpenAI(base_url=proxy.base_url, api_key="any",
                        default_headers=tag_headers(run_id=..., query_id=..., role="root"))

`python -m rlm.proxy --upstream URL` serves the same from the command line.
"""
from rlm.proxy._classify import error_kind, usage_from
from rlm.proxy._routing import RoutingSink
from rlm.proxy._server import RecordingProxy
from rlm.proxy._tags import (CALL_ID_HEADER, DEPTH_HEADER, QUERY_HEADER, ROLE_HEADER, RUN_HEADER, role_from_shape,
                             tag_headers)

__all__ = ["RecordingProxy", "RoutingSink", "tag_headers", "role_from_shape", "error_kind", "usage_from",
           "RUN_HEADER", "QUERY_HEADER", "ROLE_HEADER", "DEPTH_HEADER", "CALL_ID_HEADER"]
