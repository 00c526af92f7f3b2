"""The client a batch runs on when the caller brings none: an
:class:`turbosse.AsyncChatClient` on the fastest HTTP transport installed
(httpx-aiohttp's when present, else httpx's own), sized for the concurrency.
"""

from __future__ import annotations

from typing import Any

import httpx

from .. import AsyncChatClient

__all__ = ["TRANSPORTS", "aclose_client", "make_client"]

TRANSPORTS = ("auto", "aiohttp", "httpx")


def _aiohttp_available() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def make_client(
    base_url: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    concurrency: int = 64,
    transport: str = "auto",
    **options: Any,
) -> AsyncChatClient:
    """An AsyncChatClient for ``base_url`` with room for ``concurrency``
    connections (close it with :func:`aclose_client`); ``transport`` is ``"auto"``, ``"aiohttp"`` (httpx-aiohttp)
    or ``"httpx"``. Other keywords (``max_retries``, ``idle_timeout``, ...) go
    to the client."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    if transport == "auto":
        transport = "aiohttp" if _aiohttp_available() else "httpx"
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    timeout = options.pop("timeout", 600.0)
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        http = httpx.AsyncClient(transport=AiohttpTransport(limits=limits), timeout=timeout)
    else:
        http = httpx.AsyncClient(limits=limits, timeout=timeout)
    return AsyncChatClient(base_url=base_url, model=model, api_key=api_key, http_client=http, timeout=timeout, **options)


async def aclose_client(client: AsyncChatClient) -> None:
    """Close a client from :func:`make_client` and its httpx client."""
    await client.aclose()
    await client.http_client.aclose()
