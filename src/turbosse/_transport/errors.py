"""The errors of turbosse's own HTTP transport.

Each is a :class:`turbosse.StreamInterrupted` (so an :class:`turbosse.SSEError`)
and also the httpx exception of the same meaning, so code written for httpx,
and the chat clients' retry and error rules, treat every transport alike: a
client wraps them in its StreamInterrupted / IdleTimeout carrying the partial
result, exactly as it wraps httpx's. Every message names what went wrong and,
where a limit was hit, the limit.
"""

from __future__ import annotations

from typing import Any

import httpx

from .._errors import StreamInterrupted


class TransportError(StreamInterrupted):
    """Base of the transport's errors; ``cause`` and ``partial`` are None."""

    _request: httpx.Request | None

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.cause = None  # type: ignore[assignment,unused-ignore]
        self.partial = None
        self.message = message
        self._request = None  # what httpx's RequestError keeps; httpx's client sets it

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[TransportError], args: tuple[Any, ...], state: dict[str, Any]) -> TransportError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc

__all__ = [
    "TransportError",
    "ConnectFailed",
    "ConnectTimedOut",
    "ConnectionLost",
    "HTTPProtocolError",
    "PoolTimedOut",
    "ProxyFailed",
    "ReadTimedOut",
    "TotalTimedOut",
    "UnsupportedRequest",
    "UnsupportedProxy",
]


class HTTPProtocolError(TransportError, httpx.RemoteProtocolError):
    """The server's response broke HTTP/1.1 or one of the transport's limits:
    an invalid status line or chunk size, headers over ``limit`` bytes, a
    response before the request was sent, a body cut short. ``limit`` is the
    limit that was hit (None when the response was simply invalid)."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class ConnectFailed(TransportError, httpx.ConnectError):
    """The TCP connection or the TLS handshake failed (refused, unreachable,
    certificate not trusted)."""


class ConnectTimedOut(TransportError, httpx.ConnectTimeout):
    """Connecting (TCP, proxy tunnel and TLS handshake) took longer than the
    connect timeout."""


class ReadTimedOut(TransportError, httpx.ReadTimeout):
    """No byte arrived for the read (idle) timeout, while waiting for the
    response headers or between two reads of the body."""

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class TotalTimedOut(TransportError, httpx.TimeoutException):
    """The whole request, from the first connection attempt to the end of the
    body, took longer than its total timeout."""

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout

    @classmethod
    def of(cls, total: float) -> TotalTimedOut:
        """The error for a request that ran past its ``total`` seconds."""
        return cls(f"the request took longer than its total timeout of {total:g} s", total)


class PoolTimedOut(TransportError, httpx.PoolTimeout):
    """Every connection the pool may open was busy for the pool timeout."""


class ConnectionLost(TransportError, httpx.ReadError):
    """The connection closed or failed before the response was complete."""


class ProxyFailed(TransportError, httpx.ProxyError):
    """The proxy refused the CONNECT tunnel (its status is in the message) or
    asked for authentication other than basic."""


class UnsupportedRequest(TransportError, httpx.UnsupportedProtocol):
    """The request needs something this transport does not do (a scheme other
    than http/https, an https proxy (see UnsupportedProxy), a content-encoding
    other than gzip or deflate, a protocol upgrade); use ``transport="httpx"``
    for it."""


class UnsupportedProxy(UnsupportedRequest):
    """The request is to go through a proxy this transport cannot speak to
    (``https://``: TLS to the proxy itself); found before anything is sent,
    so the httpx transport (:class:`~turbosse._transport.adapters.TurbosseTransport`)
    sends it through httpx instead. ``proxy`` is the proxy's URL."""

    def __init__(self, message: str, proxy: str) -> None:
        super().__init__(message)
        self.proxy = proxy
