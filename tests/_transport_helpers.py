"""Helpers for the transport tests (turbosse.httpx, the chat clients, the fake
server): leak checks that look at both ends of the loopback connection.

A leak is a response the server is still sending, or a pooled client
connection still busy with a request, after the code under test said it was
done. The server side is read from FakeLLMServer.stats(); the client side from
httpcore's pool (default transport) or aiohttp's connector (AiohttpTransport).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from turbosse.testing import FakeLLMServer


def client_connections(client: httpx.Client | httpx.AsyncClient) -> tuple[int, int]:
    """(open, busy) connections in the client's pool."""
    transport: Any = client._transport
    pool = getattr(transport, "_pool", None)
    if pool is not None:  # httpx's default transport: an httpcore pool
        conns = pool.connections
        open_ = [c for c in conns if not c.is_closed()]
        busy = [c for c in open_ if not c.is_idle()]
        return len(open_), len(busy)
    session = getattr(transport, "client", None)  # httpx-aiohttp's AiohttpTransport
    connector = getattr(session, "connector", None) if session is not None else None
    if connector is not None:
        busy_n = len(connector._acquired)
        idle_n = sum(len(v) for v in connector._conns.values())
        return busy_n + idle_n, busy_n
    connections = getattr(transport, "connections", None)  # turbosse's transports
    if connections is not None:
        open_n, busy_n = connections()
        return open_n, busy_n
    raise TypeError(f"cannot inspect the pool of {transport!r}")


def assert_no_leak(server: FakeLLMServer, client: httpx.Client | httpx.AsyncClient, timeout: float = 5.0) -> None:
    """No response in flight on the server, no busy connection in the client's
    pool, and the server holds exactly the connections the pool keeps open."""
    deadline = time.monotonic() + timeout
    while True:
        open_, busy = client_connections(client)
        stats = server.stats()
        if busy == 0 and stats["active_responses"] == 0 and stats["open_connections"] == open_:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"leak: client pool open={open_} busy={busy}; server {stats}")
        time.sleep(0.01)


async def async_assert_no_leak(server: FakeLLMServer, client: httpx.AsyncClient, timeout: float = 5.0) -> None:
    """assert_no_leak without blocking the event loop (the aiohttp transport
    finishes releasing connections in callbacks)."""
    deadline = time.monotonic() + timeout
    while True:
        open_, busy = client_connections(client)
        stats = await asyncio.to_thread(server.stats)
        if busy == 0 and stats["active_responses"] == 0 and stats["open_connections"] == open_:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"leak: client pool open={open_} busy={busy}; server {stats}")
        await asyncio.sleep(0.01)


def chat_body(**fake: Any) -> dict[str, Any]:
    """A streaming chat request body with fake-server options."""
    return {
        "model": "gpt-fake",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "fake": fake,
    }
