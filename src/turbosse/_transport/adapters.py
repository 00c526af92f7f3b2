"""httpx transports over turbosse's StreamTransport and over an aiohttp session.

The chat client speaks httpx's transport API to every transport, so retries,
timeouts, partial results and error semantics are the same code whichever one
carries the bytes. Each transport is called once per request (httpx builds
the request and the response objects); the body is read straight from the
transport's stream, never through httpx's per-chunk machinery:

- :class:`TurbosseTransport`: the body is whatever the connection read since
  the consumer last looked, joined into one chunk per wake-up; or, for the
  chat client, decoded into deltas where it is read (``_Body.decoded``). A
  ``"total"`` seconds entry in the request's timeout extension bounds the
  whole request.
- :class:`AiohttpSessionTransport`: ``response.content.iter_any()`` of an
  ``aiohttp.ClientSession`` (no httpx-aiohttp layer). aiohttp undoes gzip and
  deflate itself (unless the session says ``auto_decompress=False``); its
  exceptions come out as this package's httpx-compatible errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from .._errors import TooManyBytesWithoutEvent
from .._http import END_GRACE
from .errors import ConnectFailed, ConnectionLost, ConnectTimedOut, ReadTimedOut, UnsupportedProxy
from .pool import StreamTransport, Timeouts
from .protocol import Response

__all__ = ["AiohttpSessionTransport", "DirectClient", "TurbosseTransport"]


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else (443 if url.scheme == "https" else 80)


def _timeouts(request: httpx.Request) -> Timeouts:
    t = request.extensions.get("timeout") or {}
    return Timeouts(t.get("connect"), t.get("read"), t.get("pool"), t.get("total"))


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: Response) -> None:
        self._response = response

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    def decoded(self, engine: Any, max_quiet: int, quiet: bool) -> _DecodingSink:
        """The body decoded inside ``data_received`` by ``engine.decoder``
        (see :func:`turbosse._http.adecoded_body`), as an async iterator of
        lists of deltas: each wake-up of the reader brings every delta since
        the last one. With ``quiet`` the engine delivers them there too
        (accumulator and handler) and the reader is woken only at the end.
        After the format's end marker the rest of the body is awaited for
        END_GRACE seconds (:meth:`Response.end_within`), then the connection
        is closed."""
        sink = _DecodingSink(self._response, engine, max_quiet, quiet)
        self._response.set_sink(sink.take)
        return sink

    async def aclose(self) -> None:
        self._response.close()


class _DecodingSink:
    """A body decoded where it is read (:meth:`_Body.decoded`): the sink the
    response calls with each read (:meth:`take`), and the async iterator of
    the batches of deltas it queues, whose ``__anext__`` is the response's
    own (no generator in between: one frame less per wake-up). One object
    per stream, where a closure would hold a cell per variable (objects the
    collector scans while streams are in flight)."""

    # the engine and decoder, not bound methods of theirs: a bound method is
    # one more object per stream for the collector to scan
    __slots__ = ("response", "decoder", "engine", "max_quiet", "quiet_bytes", "ended")

    def __init__(self, response: Response, engine: Any, max_quiet: int, quiet: bool) -> None:
        self.response = response
        self.decoder = engine.decoder
        self.engine = engine if quiet else None
        self.max_quiet = max_quiet
        self.quiet_bytes = 0  # body bytes since the last delta
        self.ended = False  # the decoder saw the end marker

    def take(self, data: bytes) -> Any:
        deltas = self.decoder.feed(data)  # a decoder error ends the response: the reader raises it
        if deltas:
            self.quiet_bytes = 0
            if self.engine is not None:
                self.engine.deliver(deltas)
                deltas = None
        else:
            self.quiet_bytes += len(data)
            if self.quiet_bytes > self.max_quiet:
                raise TooManyBytesWithoutEvent(self.max_quiet)
        if not self.ended and self.decoder.done:
            self.ended = True
            self.response.end_within(END_GRACE)
        return deltas

    def __aiter__(self) -> _DecodingSink:
        return self

    def __anext__(self) -> Awaitable[list[Any]]:
        return self.response.anext_batch(self.decoder)


class _Streamed(httpx.Response):
    """An httpx.Response whose ``request`` is built only if something asks
    for it (an error message, a user): building an httpx.Request costs more
    CPU than the turbosse transport's whole request. Likewise its
    ``headers``, from the transport's own dict."""

    _make_request: Callable[[], httpx.Request] | None = None
    #: the transport's own header dict (lower-case names); httpx.Headers are
    #: built from it only if something asks for ``headers``
    own_headers: dict[str, str] | None = None
    _headers: httpx.Headers | None = None

    def __init__(
        self, status_code: int, stream: httpx.AsyncByteStream, headers: dict[str, str], reason: bytes,
        make_request: Callable[[], httpx.Request] | None,
    ) -> None:  # fmt: skip
        # what httpx.Response.__init__ sets for a streamed response
        # (tests/test_transport_choose.py checks that nothing is missing)
        self.status_code = status_code
        self.own_headers = headers
        self._request = None
        self.next_request = None
        self.extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
        self.history = []
        self.is_closed = False
        self.is_stream_consumed = False
        self.default_encoding = "utf-8"
        self.stream = stream
        self._num_bytes_downloaded = 0
        self._make_request = make_request

    async def aclose(self) -> None:
        """httpx's ``aclose`` less its error mapping: closing the turbosse
        transport's stream raises nothing to map."""
        if not self.is_closed:
            self.is_closed = True
            stream = self.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            await stream.aclose()

    @property
    def headers(self) -> httpx.Headers:
        if self._headers is None:  # as bytes: a value may be any octets (see on_headers_complete)
            own = self.own_headers or {}
            self._headers = httpx.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in own.items()])
        return self._headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:  # replaced: the dict no longer says
        self._headers = value
        self.own_headers = None

    @property
    def request(self) -> httpx.Request:
        if self._request is None and self._make_request is not None:
            self._request = self._make_request()
        return super().request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value

    def raise_for_status(self) -> httpx.Response:
        self.request  # noqa: B018 - httpx reads _request itself here: build it first
        return super().raise_for_status()

    @property
    def num_bytes_downloaded(self) -> int:
        """Body bytes received so far, as sent (however the body is read)."""
        stream = self.stream
        return stream._response.body_bytes if isinstance(stream, _Body) else self._num_bytes_downloaded


_DECODED_SKIP = ("content-encoding", "content-length")


def counts_bytes(response: Any) -> bool:
    """Whether ``response.num_bytes_downloaded`` counts the body however it
    is read (a response of the turbosse transport)."""
    return isinstance(response, _Streamed) and isinstance(response.stream, _Body)


def _response(response: Response, make_request: Callable[[], httpx.Request] | None = None, decoded: bool = False) -> _Streamed:
    """The httpx.Response for ``response``; ``decoded``: the transport undoes
    the content-encoding itself (so the headers no longer name it)."""
    headers = response.headers
    if decoded and ("content-encoding" in headers or "content-length" in headers):
        headers = {k: v for k, v in headers.items() if k not in _DECODED_SKIP}
    return _Streamed(response.status_code, _Body(response), headers, response.reason.encode("latin-1"), make_request)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # trio, through anyio: the protocol needs an asyncio loop
        return False
    return True


class TurbosseTransport(httpx.AsyncBaseTransport):
    """An httpx transport on turbosse's own HTTP/1.1 protocol; keyword
    arguments are :class:`StreamTransport`'s. Off asyncio (trio, through
    anyio), and through an ``https://`` proxy, requests go through httpx's
    own transport instead."""

    def __init__(self, **options: Any) -> None:
        self.pool = StreamTransport(**options)
        self._fallbacks: dict[str | None, httpx.AsyncHTTPTransport] = {}

    def _httpx(self, proxy: str | None = None) -> httpx.AsyncHTTPTransport:
        """httpx's own transport (through ``proxy``), for what this one does not speak."""
        fallback = self._fallbacks.get(proxy)
        if fallback is None:
            if proxy is None:
                fallback = httpx.AsyncHTTPTransport()
            else:  # this transport's TLS settings, to the proxy and through it
                ctx = self.pool.ssl_context()
                fallback = httpx.AsyncHTTPTransport(proxy=httpx.Proxy(proxy, ssl_context=ctx), verify=ctx)
            self._fallbacks[proxy] = fallback
        return fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not _on_asyncio():
            return await self._httpx().handle_async_request(request)
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            response = await self.pool.request(
                request.method, str(request.url), headers, body, _timeouts(request), decode=False
            )
        except UnsupportedProxy as exc:  # nothing was sent: httpx speaks to that proxy
            return await self._httpx(exc.proxy).handle_async_request(request)
        return _response(response)

    async def post_stream(
        self, url: str, headers: list[tuple[str, str]], body: bytes, timeouts: Timeouts,
        make_request: Callable[[], httpx.Request],
    ) -> httpx.Response:  # fmt: skip
        """A streamed POST with no httpx.Request (``make_request`` builds one
        if the response or an error is asked for it), its body decompressed
        by the transport; on asyncio only."""
        try:
            response = await self.pool.request("POST", url, headers, body, timeouts)
        except UnsupportedProxy as exc:  # nothing was sent: httpx speaks to that proxy
            request = make_request()
            streamed = await self._httpx(exc.proxy).handle_async_request(request)
            streamed.request = request
            return streamed
        except httpx.RequestError as exc:  # as httpx's send does: the error names its request
            exc.request = make_request()
            raise
        # decompressed here, in steps of 256 KiB: a compressed body reaches the
        # decoder (and max_bytes_without_event) a step at a time
        return _response(response, make_request, decoded=True)

    def connections(self) -> tuple[int, int]:
        """(open, busy) connections in the pool."""
        return self.pool.connections()

    async def aclose(self) -> None:
        for fallback in self._fallbacks.values():
            await fallback.aclose()
        await self.pool.aclose()


class DirectClient(httpx.AsyncClient):
    """The httpx client turbosse makes for its own transports: ``send`` hands
    a streamed request straight to the transport, without httpx's auth,
    redirect, cookie and event-hook steps, none of which such a client has
    (about 100 µs of CPU less per request). Anything else goes through
    httpx's ``send``. :meth:`post_stream` goes further on turbosse's own
    transport: no httpx.Request at all."""

    _headers_for: dict[tuple[Any, ...], list[tuple[str, str]]] | None = None

    async def post_stream(
        self, url: str, headers: dict[str, str], body: bytes, timeout: httpx.Timeout, total: float | None
    ) -> httpx.Response:
        """A streamed POST of ``body``, with ``total`` seconds for all of it
        (None: no limit beyond ``timeout``)."""
        make_request = _RequestMaker(self, url, headers, body, timeout, total)
        transport = self._transport
        plain = self._auth is None and not any(self._event_hooks.values())
        if isinstance(transport, TurbosseTransport) and plain and _on_asyncio():
            timeouts = Timeouts(timeout.connect, timeout.read, timeout.pool, total)
            return await transport.post_stream(url, self._merged(headers), body, timeouts, make_request)
        return await self.send(make_request(), stream=True)

    def _merged(self, headers: dict[str, str]) -> list[tuple[str, str]]:
        """The client's default headers (user-agent, accept...) updated with
        ``headers``, as a list; made once per set of headers."""
        cache = self._headers_for
        if cache is None:
            cache = self._headers_for = {}
        key = (*self.headers.raw, *headers.items())
        merged = cache.get(key)
        if merged is None:
            if len(cache) >= 64:
                cache.clear()
            both = httpx.Headers(self.headers)
            both.update(headers)
            merged = cache[key] = list(both.items())
        return merged

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


class _RequestMaker:
    """Builds the httpx.Request of a :meth:`DirectClient.post_stream`, if
    anything asks for it. One object per request where a closure would be
    eight (a function, its cells and their tuple), each one more for the
    collector to scan while the stream is in flight."""

    __slots__ = ("client", "url", "headers", "body", "timeout", "total")

    def __init__(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes, timeout: httpx.Timeout,
        total: float | None,
    ) -> None:  # fmt: skip
        self.client, self.url, self.headers, self.body, self.timeout, self.total = client, url, headers, body, timeout, total

    def __call__(self) -> httpx.Request:
        request = self.client.build_request("POST", self.url, content=self.body, headers=self.headers, timeout=self.timeout)
        if self.total is not None:  # read by the turbosse transport, ignored by others
            request.extensions["timeout"]["total"] = self.total
        return request


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


def _octets(text: str) -> bytes:
    """The bytes aiohttp decoded ``text`` from (as UTF-8, undecodable bytes
    kept as surrogates; latin-1 where that is all it holds)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


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

        # aiohttp's connect timeout (3.10+); older ones raise asyncio.TimeoutError, handled below
        connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", asyncio.TimeoutError)

        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(**self._connector))
        t = _timeouts(request)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.read)
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in ("host", "content-length")]
        try:
            response = await self.session.request(
                # a redirect is the caller's to see (an APIStatusError), as on every transport:
                # aiohttp would follow it, turning the POST into a GET
                request.method, str(request.url), headers=headers, data=body, timeout=timeout, allow_redirects=False,
            )
        except connect_timeout as exc:  # before ServerTimeoutError, which it subclasses in aiohttp >= 3.10
            raise ConnectTimedOut(f"connecting to {request.url.host} took longer than {t.connect} s") from exc
        except aiohttp.ServerTimeoutError as exc:
            raise _read_timeout(t.read) from exc
        except asyncio.TimeoutError as exc:
            raise ConnectTimedOut(f"connecting to {request.url.host} took longer than {t.connect} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(f"cannot connect to {request.url.host}:{_port(request.url)}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionLost(f"the request failed: {exc!r}") from exc
        decoded = getattr(self.session, "auto_decompress", True)
        skip = (b"content-encoding", b"content-length", b"transfer-encoding") if decoded else ()
        return httpx.Response(
            response.status,
            # the bytes as sent: a value may be any octets, not only ASCII
            headers=[(k, v) for k, v in response.raw_headers if k.lower() not in skip],
            stream=_AiohttpBody(response, t.read),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": _octets(response.reason or "")},
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
