"""httpx transports over turbosse's StreamTransport and over an aiohttp session.

The chat client speaks httpx's transport API to every transport, so retries,
timeouts, partial results and error semantics are the same code whichever one
carries the bytes. Each transport is called once per request (httpx builds
the request and the response objects); the body is read straight from the
transport's stream, never through httpx's per-chunk machinery:

- :class:`TurbosseTransport`: the body is whatever the connection read since
  the consumer last looked, joined into one chunk per wake-up.
- :class:`AiohttpSessionTransport`: ``response.content.iter_any()`` of an
  ``aiohttp.ClientSession`` (no httpx-aiohttp layer). aiohttp undoes gzip and
  deflate itself (unless the session says ``auto_decompress=False``); its
  exceptions come out as this package's httpx-compatible errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .errors import ConnectFailed, ConnectionLost, ConnectTimedOut, ReadTimedOut
from .pool import StreamTransport, Timeouts
from .protocol import Response

__all__ = ["AiohttpSessionTransport", "DirectClient", "TurbosseTransport"]


def _timeouts(request: httpx.Request) -> Timeouts:
    t = request.extensions.get("timeout") or {}
    return Timeouts(t.get("connect"), t.get("read"), t.get("pool"))


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: Response) -> None:
        self._response = response

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def aclose(self) -> None:
        self._response.close()


class TurbosseTransport(httpx.AsyncBaseTransport):
    """An httpx transport on turbosse's own HTTP/1.1 protocol; keyword
    arguments are :class:`StreamTransport`'s. Off asyncio (trio, through
    anyio) requests go through httpx's own transport instead."""

    def __init__(self, **options: Any) -> None:
        self.pool = StreamTransport(**options)
        self._fallback: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: the protocol needs an asyncio loop
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        response = await self.pool.request(
            request.method, str(request.url), headers, body, _timeouts(request), decode=False
        )
        return httpx.Response(
            response.status_code,
            headers=list(response.headers.items()),
            stream=_Body(response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1")},
        )

    def connections(self) -> tuple[int, int]:
        """(open, busy) connections in the pool."""
        return self.pool.connections()

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()
        await self.pool.aclose()


class DirectClient(httpx.AsyncClient):
    """The httpx client turbosse makes for its own transports: ``send`` hands
    a streamed request straight to the transport, without httpx's auth,
    redirect, cookie and event-hook steps, none of which such a client has
    (about 100 µs of CPU less per request). Anything else goes through
    httpx's ``send``."""

    async def send(self, request: httpx.Request, *, stream: bool = False, **options: Any) -> httpx.Response:
        if not stream or options or self._auth is not None or any(self._event_hooks.values()):
            return await super().send(request, stream=stream, **options)
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.RequestError as exc:  # as httpx's send does: the error names its request
            exc.request = request
            raise
        response.request = request
        return response


class _AiohttpBody(httpx.AsyncByteStream):
    def __init__(self, response: Any, read_timeout: float | None) -> None:
        self._response = response
        self._timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise _read_timeout(self._timeout) from exc
        except aiohttp.ClientError as exc:
            raise ConnectionLost(f"the connection failed while reading the body: {exc!r}") from exc

    async def aclose(self) -> None:
        self._response.release() if self._response.content.at_eof() else self._response.close()


def _read_timeout(timeout: float | None) -> ReadTimedOut:
    seconds = timeout if timeout is not None else float("inf")
    return ReadTimedOut(f"no bytes received for {seconds:g} s (read timeout)", seconds)


class AiohttpSessionTransport(httpx.AsyncBaseTransport):
    """An httpx transport on an ``aiohttp.ClientSession``: the given one (not
    closed by :meth:`aclose`), or one made on first use (closed by it)."""

    def __init__(self, session: Any = None, **connector: Any) -> None:
        self.session = session
        self._own = session is None
        self._connector = connector

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(**self._connector))
        t = _timeouts(request)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.read)
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in ("host", "content-length")]
        try:
            response = await self.session.request(
                request.method, str(request.url), headers=headers, data=body, timeout=timeout
            )
        except aiohttp.ServerTimeoutError as exc:
            raise _read_timeout(t.read) from exc
        except asyncio.TimeoutError as exc:
            raise ConnectTimedOut(f"connecting to {request.url.host} took longer than {t.connect} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(f"cannot connect to {request.url.host}:{request.url.port}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionLost(f"the request failed: {exc!r}") from exc
        decoded = getattr(self.session, "auto_decompress", True)
        skip = ("content-encoding", "content-length", "transfer-encoding") if decoded else ()
        return httpx.Response(
            response.status,
            headers=[(k, v) for k, v in response.headers.items() if k.lower() not in skip],
            stream=_AiohttpBody(response, t.read),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    def connections(self) -> tuple[int, int]:
        """(open, busy) connections of the session's connector."""
        connector: Any = getattr(self.session, "connector", None)
        if connector is None:
            return 0, 0
        busy = len(connector._acquired)
        return busy + sum(len(v) for v in connector._conns.values()), busy

    async def aclose(self) -> None:
        if self._own and self.session is not None:
            await self.session.close()
