"""The upstream side: one keep-alive HTTP connection per client connection, and the key.

A client connection is served by one thread, so giving it its own upstream connection
passes the client's concurrency straight through. The API key is read from the
environment once, sent only upstream, and never shown (repr, logs).
"""
from __future__ import annotations

import http.client
import os
import ssl
from typing import Any, Mapping
from urllib.parse import urlsplit

from rlm.errors import ConfigError, MissingAPIKeyError

# Headers that describe one hop, not the message (RFC 9110 section 7.6.1), plus the ones we set.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})
CLIENT_KEY_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})


class Upstream:
    """Where requests go: `Upstream("https://api.openai.com/v1", api_key_env="OPENAI_API_KEY")`."""

    def __init__(self, base_url: str, *, api_key_env: str | None = None, timeout_s: float = 600.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"upstream must be an http(s) base URL such as http://127.0.0.1:8000/v1, "
                              f"got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.api_key_env = api_key_env
        self._authorization: str | None = None
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise MissingAPIKeyError(
                    f"the proxy's upstream needs an API key: set the environment variable {api_key_env}")
            self._authorization = f"Bearer {key}"
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None

    def __repr__(self) -> str:
        return f"Upstream({self.base_url!r}, api_key_env={self.api_key_env!r})"

    def connect(self) -> http.client.HTTPConnection:
        if self._ssl is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s, context=self._ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)

    def path_for(self, client_path: str) -> str:
        """The client's base URL is the proxy's `/v1`; the rest of the path goes after the upstream's base."""
        path = client_path[3:] if client_path == "/v1" or client_path.startswith(("/v1/", "/v1?")) else client_path
        return self.base_path + path

    def headers_for(self, client_headers: Mapping[str, str] | Any, drop: frozenset[str],
                    length: int | None) -> dict[str, str]:
        """The client's headers less hop-by-hop, keys and tags; the upstream's own key; no compression."""
        headers = {name: value for name, value in client_headers.items()
                   if name.lower() not in HOP_BY_HOP and name.lower() not in CLIENT_KEY_HEADERS
                   and name.lower() not in drop and name.lower() != "accept-encoding"}
        headers["Host"] = self.host if self.port in (80, 443) else f"{self.host}:{self.port}"
        headers["Accept-Encoding"] = "identity"  # the stream is read as it passes, so it must stay plain
        if length is not None:
            headers["Content-Length"] = str(length)
        if self._authorization:
            headers["Authorization"] = self._authorization
        return headers
