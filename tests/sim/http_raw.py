"""Raw HTTP to the simulator, for byte-level checks the openai client hides."""
from __future__ import annotations

import http.client
import json


def raw_post(port: int, body: bytes | dict, headers: dict | None = None, path: str = "/v1/chat/completions"):
    """POST over plain http.client: (status, headers, body bytes)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, payload, {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
