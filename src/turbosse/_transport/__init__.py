"""turbosse's own asyncio HTTP/1.1 transport for streaming responses.

An ``asyncio.Protocol`` per connection parses responses with httptools and
hands body bytes to a sink (the chat decoder) inside ``data_received``; a pool
per origin reuses connections; TLS and HTTP proxies are supported. What it does
not do: HTTP/2, redirects (a 3xx is returned as it is), cookies, proxy
authentication other than basic, content-encodings other than gzip and
deflate. Those requests need ``transport="httpx"``; a request for an
``https://`` proxy (TLS to the proxy itself) is sent through httpx by
:class:`.adapters.TurbosseTransport`.

httptools is optional (``pip install turbosse[fast]``); :func:`available` says
whether this transport can be used.
"""

from __future__ import annotations

from .errors import (
    ConnectFailed,
    ConnectionLost,
    ConnectTimedOut,
    HTTPProtocolError,
    PoolTimedOut,
    ProxyFailed,
    ReadTimedOut,
    TotalTimedOut,
    TransportError,
    UnsupportedRequest,
)

__all__ = [
    "ConnectFailed",
    "ConnectTimedOut",
    "ConnectionLost",
    "HTTPProtocolError",
    "PoolTimedOut",
    "ProxyFailed",
    "ReadTimedOut",
    "TotalTimedOut",
    "TransportError",
    "UnsupportedRequest",
    "available",
]


def available() -> bool:
    """True when httptools is installed."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return False
    return True
