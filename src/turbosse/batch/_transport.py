"""The client a batch runs on when the caller brings none: an
:class:`turbosse.AsyncChatClient` on the fastest HTTP transport installed
(turbosse's own asyncio HTTP/1.1 transport when httptools is there, else an
aiohttp session, else httpx's own), sized for the concurrency, counting the
bytes of every response.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .. import AsyncChatClient

__all__ = ["TRANSPORTS", "CountingTransport", "aclose_client", "best_transport", "bytes_read", "make_client"]

TRANSPORTS = ("auto", "turbosse", "aiohttp", "httpx")

# what make_client built under each client, closed by aclose_client
_CLOSERS: weakref.WeakKeyDictionary[AsyncChatClient, list[Any]] = weakref.WeakKeyDictionary()


def best_transport() -> str:
    """The transport ``"auto"`` stands for on this machine."""
    from .._transport import available

    if available():
        return "turbosse"
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "httpx"
    return "aiohttp"


def make_client(
    base_url: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    concurrency: int = 64,
    transport: str = "auto",
    coalesce_ms: float | None = None,
    **options: Any,
) -> AsyncChatClient:
    """An AsyncChatClient for ``base_url`` with room for ``concurrency``
    connections (close it with :func:`aclose_client`).

    :param transport: ``"auto"`` (:func:`best_transport`), ``"turbosse"``,
        ``"aiohttp"`` or ``"httpx"``.
    :param coalesce_ms: with the turbosse transport, read each connection at
        most once per this many milliseconds: less CPU per token, timing
        metrics coarser by up to that much.

    Other keywords (``max_retries``, ``idle_timeout``, ...) go to the client.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    if transport == "auto":
        transport = best_transport()
    if coalesce_ms is not None and transport != "turbosse":
        raise ValueError(f"coalesce_ms needs the turbosse transport, not {transport!r}")
    size = concurrency + 8
    timeout = options.pop("timeout", 600.0)
    # The transports are built here rather than by AsyncChatClient(transport=...):
    # the pools are sized for the concurrency, reads may be coalesced, and
    # every response body is counted (the rows' ``bytes``): by turbosse's own
    # transport itself (its client decodes where it reads, with no per-chunk
    # layer to count in), by a counting layer on the others.
    inner: httpx.AsyncBaseTransport
    http: httpx.AsyncClient
    if transport == "turbosse":
        from .._transport.adapters import DirectClient, TurbosseTransport

        pool = TurbosseTransport(max_connections=size, max_keepalive=size, coalesce_ms=coalesce_ms)
        http = DirectClient(transport=pool, timeout=timeout)
    else:
        if transport == "aiohttp":
            from .._transport.adapters import AiohttpSessionTransport

            inner = AiohttpSessionTransport(limit=size, limit_per_host=0)
        else:
            inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=size, max_keepalive_connections=size))
        http = httpx.AsyncClient(transport=CountingTransport(inner), timeout=timeout)
    client = AsyncChatClient(base_url=base_url, model=model, api_key=api_key, http_client=http, timeout=timeout, **options)
    _CLOSERS[client] = [http.aclose]
    return client


_EXTENSION = "turbosse.batch.body"


class _CountedBody(httpx.AsyncByteStream):
    """A response body that counts what passes through (``bytes_read``)."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner
        self.bytes_read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.bytes_read += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport so that :func:`bytes_read` can say how many body
    bytes each response has read (as the transport delivered them)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if isinstance(response.stream, httpx.AsyncByteStream):
            # httpx wraps response.stream later; the counter is found through
            # the extensions, which it keeps
            counted = _CountedBody(response.stream)
            response.stream = counted
            response.extensions[_EXTENSION] = counted
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def bytes_read(response: Any) -> int | None:
    """Body bytes a response from a :class:`CountingTransport`, or from the
    turbosse transport, has read."""
    from .._transport.adapters import counts_bytes

    if counts_bytes(response):
        return int(response.num_bytes_downloaded)
    counted = getattr(response, "extensions", {}).get(_EXTENSION)
    return counted.bytes_read if isinstance(counted, _CountedBody) else None


async def aclose_client(client: AsyncChatClient) -> None:
    """Close a client from :func:`make_client` and what it was built on."""
    await client.aclose()
    for close in _CLOSERS.pop(client, ()):
        await close()
