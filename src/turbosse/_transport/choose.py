"""Which transport carries a chat client's requests.

``transport="turbosse"`` (the default when httptools is installed),
``"aiohttp"`` or ``"httpx"``; or an ``http_client`` of a supported kind: an
``httpx.AsyncClient`` (used as it is), an ``httpx2.AsyncClient`` (sent
through, see :mod:`turbosse._httplib`) or an ``aiohttp.ClientSession`` (read
directly, see :mod:`turbosse._transport.adapters`). Whatever is chosen, the
client sees an ``httpx.AsyncClient``, so its retry, timeout and error rules
are one piece of code for every transport.
"""

from __future__ import annotations

from typing import Any

import httpx

from .._httplib import httpx_client_for, library
from . import available

__all__ = ["HTTPX_MAX_KEEPALIVE", "TRANSPORTS", "client_for", "httpx_limits"]

TRANSPORTS = ("turbosse", "aiohttp", "httpx")


# httpcore 1.0.x's pool walks every connection it holds on each request, so
# idle keep-alive connections make every request dearer. Measured with
# benchmarks/httpx_limits.py (100 concurrent streams x 20 tokens, httpx 0.28.1,
# httpcore 1.0.9): keeping 100 idle connections cost 10.0 ms of client CPU per
# request, 50 cost 0.85x that, 20 cost 0.45x (reconnects included). So a client
# turbosse makes keeps at most this many idle; max_connections is unchanged.
HTTPX_MAX_KEEPALIVE = 20


def httpx_limits(limits: httpx.Limits) -> httpx.Limits:
    """The pool limits for an httpx client turbosse makes itself."""
    keep = limits.max_keepalive_connections
    return httpx.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=HTTPX_MAX_KEEPALIVE if keep is None else min(keep, HTTPX_MAX_KEEPALIVE),
        keepalive_expiry=limits.keepalive_expiry,
    )


def _is_aiohttp_session(obj: Any) -> bool:
    return any(c.__module__.startswith("aiohttp") and c.__name__ == "ClientSession" for c in type(obj).__mro__)


def client_for(
    http_client: Any, transport: str | None, timeout: httpx.Timeout, limits: httpx.Limits, kind: type[Any]
) -> tuple[Any, bool]:
    """(the httpx client of ``kind``, httpx.AsyncClient or httpx.Client, to send
    with; whether the chat client owns it). The sync client speaks httpx only."""
    if http_client is not None:
        if transport is not None:
            raise ValueError("pass http_client= or transport=, not both")
        if isinstance(http_client, kind):
            return http_client, False
        if library(http_client) is not httpx:  # an httpx2 client, driven through an httpx one
            wrapped = httpx_client_for(http_client, kind, timeout)
            if wrapped is not None:
                return wrapped, True  # the wrapper is ours to close; the httpx2 client stays the caller's
        if kind is httpx.AsyncClient and _is_aiohttp_session(http_client):
            from .adapters import AiohttpSessionTransport, DirectClient

            # the wrapper is ours to close; the session stays the caller's
            return DirectClient(transport=AiohttpSessionTransport(http_client), timeout=timeout), True
        kinds = ("an httpx.AsyncClient, an httpx2.AsyncClient or an aiohttp.ClientSession"
                 if kind is httpx.AsyncClient else "an httpx.Client or an httpx2.Client")
        raise TypeError(f"http_client must be {kinds}, not {type(http_client).__name__}")
    if kind is not httpx.AsyncClient:
        if transport not in (None, "httpx"):
            raise ValueError(f"the synchronous ChatClient sends through httpx only, not transport={transport!r}")
        return httpx.Client(timeout=timeout, limits=httpx_limits(limits)), True
    if transport is None:
        transport = "turbosse" if available() else "httpx"
    if transport == "turbosse":
        if not available():
            raise ImportError("transport='turbosse' needs httptools: pip install 'turbosse[fast]'")
        from .adapters import DirectClient, TurbosseTransport

        # Unlike httpcore's, this pool costs the same per request however many
        # connections it keeps idle (about 5 KB each), and a batch that comes
        # back at the same concurrency reuses them all instead of reconnecting.
        most = limits.max_connections or 2048
        pool = TurbosseTransport(max_connections=most, max_keepalive=most)
        return DirectClient(transport=pool, timeout=timeout), True
    if transport == "aiohttp":
        from .adapters import AiohttpSessionTransport, DirectClient

        connector = {"limit": limits.max_connections or 0, "limit_per_host": 0}
        return DirectClient(transport=AiohttpSessionTransport(**connector), timeout=timeout), True
    if transport == "httpx":
        return httpx.AsyncClient(timeout=timeout, limits=httpx_limits(limits)), True
    raise ValueError(f"transport must be one of {', '.join(map(repr, TRANSPORTS))}, not {transport!r}")
