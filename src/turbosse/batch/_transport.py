"""The client a batch runs on when the caller brings none: an
:class:`turbosse.AsyncChatClient` on the fastest HTTP transport installed
(turbosse's own asyncio HTTP/1.1 transport when httptools is there, else an
aiohttp session, else httpx's own), sized for the concurrency.
"""

from __future__ import annotations

import weakref
from typing import Any

import httpx

from .. import AsyncChatClient

__all__ = ["TRANSPORTS", "aclose_client", "best_transport", "make_client"]

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
    closers: list[Any] = []
    if transport == "turbosse":
        # built here rather than by AsyncChatClient(transport=...): the pool is
        # sized for the concurrency and may coalesce reads
        from .._transport.adapters import TurbosseTransport

        turbo = TurbosseTransport(max_connections=size, max_keepalive=size, coalesce_ms=coalesce_ms)
        http: Any = httpx.AsyncClient(transport=turbo, timeout=timeout)
        closers.append(http.aclose)
    elif transport == "aiohttp":
        import aiohttp

        # an aiohttp session is read directly by the client (no httpx-aiohttp layer)
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=size, limit_per_host=0))
        closers.append(http.close)
    else:
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=size, max_keepalive_connections=size), timeout=timeout)
        closers.append(http.aclose)
    client = AsyncChatClient(base_url=base_url, model=model, api_key=api_key, http_client=http, timeout=timeout, **options)
    _CLOSERS[client] = closers
    return client


async def aclose_client(client: AsyncChatClient) -> None:
    """Close a client from :func:`make_client` and what it was built on."""
    await client.aclose()
    for close in _CLOSERS.pop(client, ()):
        await close()
