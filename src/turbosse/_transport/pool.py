"""StreamTransport: requests over a keep-alive connection pool per origin.

The pool opens at most ``max_connections`` connections in all (a request
beyond that waits up to the pool timeout for one to free up) and keeps at most
``max_keepalive`` idle ones, each for up to ``keepalive_expiry`` seconds. A
connection goes back to the pool only when its response was read to the end
and both sides agreed to keep it alive; a response left early closes it. A
request sent on a kept-alive connection that the server had closed while it
was idle (no byte of an answer came back) is sent once more on a new one.

With ``coalesce_ms`` set, a connection stops reading after each read and all
such connections resume together on one timer tick: fewer, larger reads for
throughput-bound work (batches), at the price of up to that much latency.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.parse
from collections import deque
from typing import Any

import httpx

from .connect import Origin, Proxy, open_connection, proxy_for, ssl_context
from .errors import ConnectTimedOut, PoolTimedOut, TotalTimedOut, UnsupportedRequest
from .protocol import BufferedConnection, Connection, Response, Stale, read_buffer

__all__ = ["StreamTransport", "Timeouts"]


class Timeouts:
    """Seconds (None: no limit): ``connect`` (TCP, proxy tunnel, TLS), ``read``
    (between two reads, and for the response head), ``pool`` (waiting for a
    free connection), ``total`` (the whole request)."""

    __slots__ = ("connect", "read", "pool", "total")

    def __init__(
        self, connect: float | None = None, read: float | None = None, pool: float | None = None, total: float | None = None
    ) -> None:
        self.connect, self.read, self.pool, self.total = connect, read, pool, total


def _decodable(accept_encoding: str) -> str:
    """An Accept-Encoding value without the codings this transport cannot
    undo (httpx offers br and zstd when brotli or zstandard is installed):
    a server never answers in one it was not offered."""
    kept = [c for c in accept_encoding.split(",") if c.strip().split(";")[0].strip().lower() in _DECODABLE]
    return ",".join(kept).strip() or "identity"


_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "identity"})  # not "*": that admits br


class _Coalescer:
    """Resumes every held connection on one timer tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self.loop, self.delay = loop, delay
        self.held: list[Connection] = []
        self.handle: asyncio.TimerHandle | None = None

    def hold(self, conn: Connection) -> None:
        conn.pause()
        self.held.append(conn)
        if self.handle is None:
            self.handle = self.loop.call_later(self.delay, self.release)

    def release(self) -> None:
        self.handle = None
        held, self.held = self.held, []
        for conn in held:
            conn.resume()


def _bounded(limit: float | None, deadline: float | None, loop: asyncio.AbstractEventLoop) -> tuple[float | None, bool]:
    """A step's timeout (``limit``) cut to the time left before the request's
    ``deadline`` (its total timeout); and whether the deadline is what bounds it."""
    if deadline is None:
        return limit, False
    left = max(0.0, deadline - loop.time())
    if limit is None or left < limit:
        return left, True
    return limit, False


class StreamTransport:
    """An asyncio HTTP/1.1 client for streaming responses; bound to the event
    loop of its first request.

    :param max_connections: connections open at once, over all origins (1000).
    :param max_keepalive: idle connections kept for reuse (100).
    :param keepalive_expiry: seconds an idle connection is kept (5).
    :param verify: True, False, a CA bundle file or directory (a path that names neither is a FileNotFoundError) or an ``ssl.SSLContext``.
    :param proxy: an ``http://[user:pass@]host:port`` proxy for every request;
        None (default) reads the environment when ``trust_env`` is true.
    :param coalesce_ms: opt-in read coalescing (see the module docstring).
    :param buffered: read into one buffer shared by all connections; default:
        on asyncio's own loops, off on uvloop (which already reuses its buffer).
    """

    def __init__(
        self,
        *,
        max_connections: int = 1000,
        max_keepalive: int = 100,
        keepalive_expiry: float = 5.0,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        proxy: str | None = None,
        trust_env: bool = True,
        coalesce_ms: float | None = None,
        buffered: bool | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, not {max_connections}")
        if coalesce_ms is not None and coalesce_ms <= 0:
            raise ValueError(f"coalesce_ms must be > 0 or None, not {coalesce_ms}")
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self.keepalive_expiry = keepalive_expiry
        self._verify = verify
        self._trust_env = trust_env
        self._proxy = proxy
        self._coalesce_ms = coalesce_ms
        self._buffered = buffered
        self._ssl: ssl.SSLContext | None = None
        self._buffer: memoryview | None = None  # the read buffer all connections share
        self._loop: asyncio.AbstractEventLoop | None = None
        self._coalescer: _Coalescer | None = None
        # idle connections per origin, oldest first (a dict: O(1) removal)
        self._idle: dict[Origin, dict[Connection, None]] = {}
        self._busy: set[Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._proxies: dict[Origin, Proxy | None] = {}
        self._prepared: dict[tuple[Any, ...], tuple[Origin, Proxy | None, bytes]] = {}
        self._closed = False

    # -- introspection -----------------------------------------------------

    def connections(self) -> tuple[int, int]:
        """(open, busy) connections."""
        idle = sum(len(v) for v in self._idle.values())
        return idle + len(self._busy), len(self._busy)

    # -- requests ----------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: bytes,
        timeouts: Timeouts,
        *,
        decode: bool = True,
    ) -> Response:
        """Send the request; return the Response once its head (status and
        headers) arrived. The caller reads the body and closes the Response.
        With ``decode`` false, a gzip or deflate body is handed on as sent."""
        loop = self._bind()
        key = (method, url, *(headers.items() if isinstance(headers, dict) else headers))
        prepared = self._prepared.get(key)
        if prepared is None:
            if len(self._prepared) >= 256:
                self._prepared.clear()
            prepared = self._prepared[key] = self._prepare(method, url, headers)
        origin, proxy, head = prepared
        request = b"%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)
        deadline = None if timeouts.total is None else loop.time() + timeouts.total
        for attempt in (0, 1):
            conn = await self._acquire(loop, origin, proxy, timeouts, deadline)
            response = conn.start(request, timeouts.read, decode, method == "HEAD")
            response.start_timers(deadline, timeouts.total)
            try:
                await response.wait_head()
            except Stale:
                response.close()
                if attempt == 0:
                    continue
                raise
            except BaseException:
                response.close()
                raise
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _prepare(
        self, method: str, url: str, headers: dict[str, str] | list[tuple[str, str]]
    ) -> tuple[Origin, Proxy | None, bytes]:
        """(origin, proxy, the request head up to its content-length) for a
        request line and headers; made once for each (a client sends the
        same ones again and again). The URL is normalised as httpx does:
        path and query percent-encoded, the host name in its IDNA form."""
        try:
            parts = urllib.parse.urlsplit(str(httpx.URL(url)))
        except httpx.InvalidURL as exc:
            raise UnsupportedRequest(f"the URL {url!r} is invalid: {exc}") from None
        origin = Origin.of(parts)
        proxy = self._proxy_for(origin)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if proxy is not None and origin.scheme == "http":  # absolute form, for the proxy
            target = f"http://{origin.authority}{target}"
        head = [f"{method} {target} HTTP/1.1", f"host: {origin.authority}"]
        if proxy is not None and origin.scheme == "http" and proxy.authorization:
            head.append(f"proxy-authorization: {proxy.authorization}")
        pairs = list(headers.items()) if isinstance(headers, dict) else headers
        for name, value in pairs:
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise UnsupportedRequest(f"the request header {name!r} holds a line break")
            lower = name.lower()
            if lower == "accept-encoding":
                value = _decodable(value)
            if lower not in ("host", "content-length", "transfer-encoding", "connection"):
                head.append(f"{name}: {value}")
        if not any(name.lower() == "accept-encoding" for name, _ in pairs):
            head.append("accept-encoding: gzip, deflate")
        return origin, proxy, ("\r\n".join(head) + "\r\n").encode("latin-1")

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS settings of this transport's https connections."""
        if self._ssl is None:
            self._ssl = ssl_context(self._verify, self._trust_env)
        return self._ssl

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            if self._closed:
                raise RuntimeError("this StreamTransport was closed")
            self._loop = loop
            if self._coalesce_ms is not None:
                self._coalescer = _Coalescer(loop, self._coalesce_ms / 1000.0)
            if self._buffered is None:
                self._buffered = type(loop).__module__.startswith("asyncio")
        elif self._loop is not loop:
            raise RuntimeError("a StreamTransport is bound to the event loop of its first request")
        return loop

    def _proxy_for(self, origin: Origin) -> Proxy | None:
        try:
            return self._proxies[origin]
        except KeyError:
            proxy = self._proxies[origin] = proxy_for(origin, self._proxy, self._trust_env)
            return proxy

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, proxy: Proxy | None, timeouts: Timeouts, deadline: float | None
    ) -> Connection:
        while True:
            idle = self._idle.get(origin)
            now = loop.time()
            while idle:
                conn = idle.popitem()[0]  # the most recently used
                if conn.closed or now - conn.idle_since > self.keepalive_expiry:
                    conn.abort()
                    continue
                self._busy.add(conn)
                return conn
            if len(self._busy) + self._opening + sum(len(v) for v in self._idle.values()) < self.max_connections:
                break
            if self._evict_idle():
                continue
            waiter = loop.create_future()
            self._waiters.append(waiter)
            wait, by_total = _bounded(timeouts.pool, deadline, loop)
            try:
                await asyncio.wait_for(waiter, wait)
            except (asyncio.TimeoutError, TimeoutError):
                if by_total:
                    assert timeouts.total is not None
                    raise TotalTimedOut.of(timeouts.total) from None
                raise PoolTimedOut(
                    f"all {self.max_connections} connections stayed busy for the pool timeout of {timeouts.pool:g} s"
                ) from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken but leaving (cancelled): the room goes to the next
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._opening += 1
        connect, by_total = _bounded(timeouts.connect, deadline, loop)
        try:
            ctx = self.ssl_context() if origin.scheme == "https" else None
            conn = await open_connection(loop, origin, proxy, ctx, self._factory(loop, origin), connect)
        except BaseException as exc:  # failed, timed out or cancelled: the room it held is free again
            self._opening -= 1
            self._wake_one()
            if by_total and isinstance(exc, ConnectTimedOut):
                assert timeouts.total is not None
                raise TotalTimedOut.of(timeouts.total) from None
            raise
        self._opening -= 1
        self._busy.add(conn)
        return conn

    def _factory(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> Any:
        if self._buffered and self._buffer is None:
            self._buffer = read_buffer()
        view = self._buffer

        def make() -> Connection:
            conn = Connection(loop, self._release) if view is None else BufferedConnection(loop, self._release, view)
            conn.origin = origin
            conn.coalescer = self._coalescer
            return conn

        return make

    def _evict_idle(self) -> bool:
        """Close one idle connection (to another origin) to make room."""
        for conns in self._idle.values():
            if conns:
                oldest = next(iter(conns))
                del conns[oldest]
                oldest.abort()
                return True
        return False

    def _release(self, conn: Connection) -> None:
        """A connection finished its response or closed."""
        self._busy.discard(conn)
        origin: Origin = conn.origin
        idle = self._idle.setdefault(origin, {})
        idle.pop(conn, None)
        if conn.reusable and not conn.closed and not self._closed:
            if sum(len(v) for v in self._idle.values()) < self.max_keepalive:
                idle[conn] = None
            else:
                conn.abort()
        elif not conn.closed:
            conn.abort()
        self._wake_one()

    def _wake_one(self) -> None:
        """Room for one more connection: the longest waiting request may go on."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    async def aclose(self) -> None:
        """Close every connection; the transport cannot be used again."""
        self._closed = True
        conns = [c for v in self._idle.values() for c in v] + list(self._busy)
        self._idle.clear()
        for conn in conns:
            conn.abort()
        for conn in conns:
            try:
                await asyncio.wait_for(asyncio.shield(conn.lost), 1.0)
            except (asyncio.TimeoutError, TimeoutError):  # pragma: no cover - the loop closes it regardless
                pass
        self._loop = None
