"""httpx integration with httpx-sse's API: switching is one import.

``connect_sse``, ``aconnect_sse``, ``EventSource`` (``iter_sse()``,
``aiter_sse()``, ``.response``), ``ServerSentEvent`` and ``SSEError`` have the
names and behaviour of httpx-sse's, so ::

    from httpx_sse import connect_sse

becomes ::

    from turbosse.httpx import connect_sse

What differs, on purpose:

- The body is read as bytes and fed straight to :class:`turbosse.SSEParser`:
  httpx does no text decoding and no line splitting. When the response has no
  ``Content-Encoding`` (the usual case for event streams) the raw bytes are
  read (``iter_raw``); when it has one (gzip, deflate, br, zstd) httpx's
  ``iter_bytes`` undoes the compression, still without text decoding. On
  httpx's default transport, an HTTP/1.1 chunked body is read directly off
  httpcore's connection, a whole read at a time, rather than chunk by chunk
  through h11 and httpx's generator layers (same timeouts, errors and
  connection reuse; see "the direct path" below).
- A response that is not ``text/event-stream`` raises
  :class:`turbosse.APIStatusError` (a :class:`turbosse.SSEError`) carrying the
  HTTP status, the content type and the first 500 characters of the body, so
  ``{"error": {"message": "Invalid API key"}}`` is not hidden. httpx-sse's
  ``SSEError`` derives from ``httpx.TransportError``; ours is turbosse's base
  error.
- The parser follows the WHATWG rules exactly (BOM, CR line ends, ``retry``
  validation, invalid UTF-8) and caps an event at ``max_event_bytes``.
- ``connect_sse`` does not modify the ``headers`` you pass.
- Two optional keyword arguments, on ``EventSource`` and the ``connect``
  functions: ``sentinel`` (e.g. ``b"[DONE]"``: that event is swallowed and
  the rest of the body is read and ignored) and ``max_event_bytes``.

It works with any httpx transport, including httpx-aiohttp's
``AiohttpTransport``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from ._errors import APIStatusError, SSEError
from ._parser import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent, SSEParser

__all__ = ["EventSource", "SSEError", "ServerSentEvent", "aconnect_sse", "connect_sse"]

#: The most characters of a body an error message quotes.
BODY_SNIPPET_CHARS = 500
_SNIPPET_BYTES = 4 * BODY_SNIPPET_CHARS  # enough bytes for 500 UTF-8 characters


def is_event_stream(response: httpx.Response) -> bool:
    """httpx-sse's test: the media type contains ``text/event-stream``."""
    return "text/event-stream" in response.headers.get("content-type", "").partition(";")[0]


def body_snippet(data: bytes) -> str:
    """At most BODY_SNIPPET_CHARS characters of a body, for error messages."""
    text = data[:_SNIPPET_BYTES].decode("utf-8", "replace")
    if len(text) > BODY_SNIPPET_CHARS:
        text = text[: BODY_SNIPPET_CHARS - 3] + "..."
    return text


def raw_or_decoded(response: httpx.Response) -> bool:
    """True when the body can be read raw: no Content-Encoding to undo."""
    encoding = response.headers.get("content-encoding")
    return (encoding is None or encoding.strip().lower() in ("", "identity")) and not response.is_stream_consumed


def iter_body(response: httpx.Response) -> Iterator[bytes]:
    """The body's bytes as they arrive, content-encoding undone, never
    text-decoded; as ``response.iter_raw()`` does (the response is marked
    consumed and closed at the end of the body), read directly off the
    connection where that is possible (see :func:`owned_body`)."""
    if raw_or_decoded(response):
        conn = None if response.is_closed else _http11_connection(response, False)
        return response.iter_raw() if conn is None else _consume_direct(response, conn)
    return response.iter_bytes()


def aiter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of iter_body."""
    if raw_or_decoded(response):
        conn = None if response.is_closed else _http11_connection(response, True)
        return response.aiter_raw() if conn is None else _aconsume_direct(response, conn)
    return response.aiter_bytes()


def owned_body(response: httpx.Response) -> Iterator[bytes]:
    """Like iter_body, for a response the caller closes itself (closing it
    releases the connection): httpx neither marks it consumed nor closes it at
    the end. On httpx's default transport with an HTTP/1.1 chunked body the
    body is read directly off the connection (see below); otherwise the
    transport's byte stream is iterated directly (one generator layer less per
    read than ``iter_raw``)."""
    if raw_or_decoded(response):
        conn = _http11_connection(response, False)
        if conn is not None:
            return _direct_body(conn, response.request)
        if isinstance(response.stream, httpx.SyncByteStream):
            return iter(response.stream)
    return iter_body(response)


def aowned_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of owned_body."""
    if raw_or_decoded(response):
        conn = _http11_connection(response, True)
        if conn is not None:
            return _adirect_body(conn, response.request)
        if isinstance(response.stream, httpx.AsyncByteStream):
            return response.stream.__aiter__()
    return aiter_body(response)


# -- the direct path: an HTTP/1.1 chunked body off httpcore's network stream -------
#
# On httpx's default transport every HTTP chunk of a body (an SSE server sends
# one event per chunk) goes through h11's state machine, five generator layers
# (httpx's BoundAsyncStream and AsyncResponseStream, httpcore's PoolByteStream,
# HTTP11ConnectionByteStream and _receive_response_body) and an anyio cancel
# scope for the read timeout before the caller sees it: 60-70 us of CPU per
# chunk on a small VM, twenty times the cost of decoding the event. So the
# body is read here from the network stream httpcore itself reads, the chunked
# framing is undone here (:class:`_Dechunker`), and each read's payload is
# handed over in one piece, however many chunks it holds.
#
# What keeps this within httpx's semantics:
# - It is used only when every layer is exactly httpx's and httpcore's own
#   HTTP/1.1 classes (no subclass, no other transport, no HTTP/2, no "trace"
#   extension; httpcore 1.x, h11 0.x), on a chunked body without
#   Content-Encoding; anything else takes the ordinary path.
# - h11 stays the authority on the connection: what it buffered with the
#   headers is drained through it first, direct reads start at a chunk
#   boundary with its buffer empty, and the last chunk and the trailer section
#   are fed to it, so that it sees a complete message (state DONE) and closing
#   the response returns the connection to the pool exactly as after an
#   ordinary read. A response closed early (or failing) is not DONE, and
#   httpcore closes the connection, as before.
# - The request's read timeout applies to every read: httpcore's own
#   ``read(n, timeout)``, or, on asyncio (Python 3.11+) with httpcore's anyio
#   stream, anyio's ``receive`` under :class:`_ReadWatchdog`.
# - Errors are httpx's: httpcore's (ReadTimeout, ReadError, ...) go through
#   httpx's own mapping and carry the request, framing errors raise
#   httpx.RemoteProtocolError with h11's messages, and a connection closed
#   mid-body raises h11's "incomplete chunked read".

_CHUNK_HEADER = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\n]*)?[ \t]*")  # h11's rule, without the CRLF
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_MAX_CHUNK_HEADER = 100 * 1024  # httpcore's max_incomplete_event_size for h11
_READ_BYTES = 64 * 1024  # httpcore's READ_NUM_BYTES
_direct_types: dict[bool, tuple[Any, ...] | None] = {}


def _load_direct_types(is_async: bool) -> tuple[Any, ...] | None:
    """The exact classes a response must come through for the direct path, or
    None where the installed httpx, httpcore or h11 are not the ones known."""
    try:
        import h11
        import httpcore
        from h11._readers import ChunkedReader

        if is_async:
            from httpcore._async.connection_pool import PoolByteStream
            from httpcore._async.http11 import AsyncHTTP11Connection as Conn
            from httpcore._async.http11 import HTTP11ConnectionByteStream
            from httpx._client import BoundAsyncStream as Bound
            from httpx._transports.default import AsyncResponseStream as Resp
        else:
            from httpcore._sync.connection_pool import PoolByteStream  # type: ignore[assignment]
            from httpcore._sync.http11 import HTTP11Connection as Conn  # type: ignore[assignment]
            from httpcore._sync.http11 import HTTP11ConnectionByteStream  # type: ignore[assignment]
            from httpx._client import BoundSyncStream as Bound  # type: ignore[assignment]
            from httpx._transports.default import ResponseStream as Resp  # type: ignore[assignment]
        from httpx._transports.default import map_httpcore_exceptions  # noqa: F401 - used by the readers
    except ImportError:  # pragma: no cover - another httpx, httpcore or h11
        return None
    if not (httpcore.__version__.startswith("1.") and str(getattr(h11, "__version__", "")).startswith("0.")):  # pragma: no cover
        return None
    # the private attributes the readers use, checked once on fresh objects
    reader, state = ChunkedReader(), h11.Connection(h11.CLIENT)
    if not (
        all(hasattr(reader, a) for a in ("_bytes_in_chunk", "_bytes_to_discard", "_reading_trailer"))
        and all(hasattr(state, a) for a in ("_reader", "_receive_buffer"))
    ):  # pragma: no cover - a changed h11
        return None
    return (Bound, Resp, PoolByteStream, HTTP11ConnectionByteStream, Conn, ChunkedReader, h11.Connection, h11.SEND_BODY)


def _http11_connection(response: httpx.Response, is_async: bool) -> Any:
    """httpcore's HTTP/1.1 connection carrying this response's chunked body, when
    the response came through httpx's default transport unchanged; else None."""
    if is_async not in _direct_types:
        _direct_types[is_async] = _load_direct_types(is_async)
    types = _direct_types[is_async]
    if types is None:
        return None
    bound, resp, pool_stream, conn_stream, conn_type, chunked, h11_conn, send_body = types
    try:
        s: Any = response.stream
        if type(s) is not bound:
            return None
        s = s._stream
        if type(s) is not resp:
            return None
        s = s._httpcore_stream
        if type(s) is not pool_stream or s._closed:
            return None
        s = s._stream
        if type(s) is not conn_stream or s._closed or "trace" in s._request.extensions:
            return None
        conn = s._connection
        state = conn._h11_state
        if type(conn) is not conn_type or type(state) is not h11_conn or state.their_state is not send_body:
            return None
        if type(state._reader) is not chunked:
            return None
    except AttributeError:  # pragma: no cover - a changed httpx or httpcore
        return None
    return conn


class _Dechunker:
    """Undoes HTTP/1.1 chunked framing (RFC 9112 7.1), as h11 would.

    ``feed(data)`` returns ``(payload, end)``: the chunk data the bytes carried
    (possibly b""), and, once the last chunk's line arrived, the bytes from it
    on (the last chunk and the trailer section, for h11), else None."""

    __slots__ = ("left", "footer", "head")

    def __init__(self) -> None:
        self.left = 0  # bytes of chunk data still to come
        self.footer = b""  # the part of the CRLF after chunk data still to come
        self.head = b""  # an incomplete chunk-size line

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        if not (self.left or self.footer or self.head):
            # the usual read: exactly one whole chunk (a server's write) with a
            # plain size line; anything else takes the general path
            eol = data.find(b"\r\n")
            if 0 < eol <= 16:
                head = data[:eol]
                if not head.translate(None, _HEX_DIGITS):
                    size = int(head, 16)
                    end = eol + 2 + size
                    if size and len(data) == end + 2 and data[end:] == b"\r\n":
                        return data[eol + 2 : end], None
        return self._feed(data)

    def _feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        if self.head:
            data = self.head + data
            self.head = b""
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            if self.left:
                end = pos + self.left
                if end > n:
                    out.append(data[pos:])
                    self.left = end - n
                    break
                out.append(data[pos:end])
                self.left = 0
                pos = end
                self.footer = b"\r\n"
            if self.footer:
                footer = self.footer
                got = data[pos : pos + len(footer)]
                if got != footer[: len(got)]:
                    raise _protocol_error(f"malformed chunk footer: {got!r} (expected {footer!r})")
                self.footer = footer[len(got) :]
                pos += len(got)
                if self.footer or pos == n:
                    break
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                if n - pos > _MAX_CHUNK_HEADER:
                    raise _protocol_error("chunk header too long")
                self.head = data[pos:]
                break
            match = _CHUNK_HEADER.fullmatch(data, pos, eol)
            if match is None:
                raise _protocol_error(f"illegal chunk header: {data[pos : eol + 2]!r}")
            size = int(match.group(1), 16)
            if size == 0:
                return (out[0] if len(out) == 1 else b"".join(out)), data[pos:]
            pos = eol + 2
            self.left = size
        if len(out) == 1:
            return out[0], None
        return b"".join(out), None


def _protocol_error(message: str) -> Exception:
    import httpcore

    return httpcore.RemoteProtocolError(message)


def _h11_event(h11_state: Any) -> Any:
    """h11's next event, its protocol errors as httpcore's (as httpcore does)."""
    import h11
    import httpcore

    try:
        return h11_state.next_event()
    except h11.RemoteProtocolError as exc:
        raise httpcore.RemoteProtocolError(exc) from exc


def _at_chunk_boundary(h11_state: Any) -> bool:
    reader = h11_state._reader
    return not h11_state._receive_buffer and not reader._bytes_in_chunk and not reader._bytes_to_discard and not reader._reading_trailer


def _direct_body(conn: Any, request: httpx.Request) -> Iterator[bytes]:
    import h11
    import httpcore
    from httpx._transports.default import map_httpcore_exceptions

    h11_state, stream = conn._h11_state, conn._network_stream
    timeout = request.extensions.get("timeout", {}).get("read")
    read = stream.read
    try:
        with map_httpcore_exceptions():
            while True:  # what h11 holds, until the next chunk starts with h11's buffer empty
                event = _h11_event(h11_state)
                if event is h11.NEED_DATA:
                    if _at_chunk_boundary(h11_state):
                        break
                    h11_state.receive_data(read(_READ_BYTES, timeout=timeout))
                elif type(event) is h11.Data:
                    yield bytes(event.data)
                else:  # EndOfMessage (or PAUSED)
                    return
            dechunk = _Dechunker().feed
            end: bytes | None = None
            while True:
                data = read(_READ_BYTES, timeout=timeout)
                if not data:
                    break
                payload, end = dechunk(data)
                if payload:
                    yield payload
                if end is not None:
                    break
            if end is None:  # the peer closed mid-body: h11's "incomplete chunked read"
                h11_state.receive_data(b"")
                _h11_event(h11_state)
                raise httpcore.RemoteProtocolError("incomplete chunked read")  # pragma: no cover - h11 raised
            h11_state.receive_data(end)  # the last chunk and the trailers: h11 sees the message end
            while _h11_event(h11_state) is h11.NEED_DATA:
                h11_state.receive_data(read(_READ_BYTES, timeout=timeout))
    except httpx.RequestError as exc:
        exc.request = request
        raise


def _consume_direct(response: httpx.Response, conn: Any) -> Iterator[bytes]:
    """``response.iter_raw()`` on the direct path."""
    response.is_stream_consumed = True
    response._num_bytes_downloaded = 0
    for chunk in _direct_body(conn, response.request):
        response._num_bytes_downloaded += len(chunk)
        yield chunk
    response.close()


class _ReadWatchdog:
    """httpx's read timeout for reads awaited on an anyio stream under asyncio,
    at a fraction of the cost of httpcore's anyio ``fail_after`` around every
    read (a cancel scope per read costs more CPU than the read itself on a
    small machine).

    A read records when it started (``since``); one timer per stream, re-armed
    only when it fires, cancels the reading task once a read has waited
    ``timeout`` seconds, and that read raises ReadTimeout. The task is never
    cancelled outside one of these reads (``since`` is None there: time the
    caller spends between reads does not count, as with httpx), and a
    cancellation from elsewhere is never taken for a timeout (``uncancel()``,
    as ``asyncio.timeout`` does; hence Python 3.11+)."""

    __slots__ = ("loop", "timeout", "since", "task", "handle", "fired")

    def __init__(self, loop: Any, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.since: float | None = None
        self.task: Any = None
        self.handle: Any = None
        self.fired = False

    def arm(self) -> None:
        assert self.since is not None
        self.handle = self.loop.call_at(self.since + self.timeout, self._check)

    def _check(self) -> None:
        self.handle = None
        since = self.since
        if since is None:  # not reading: the next read arms it again
            return
        if since + self.timeout > self.loop.time():
            self.arm()
        elif not self.fired:
            self.fired = True
            self.task.cancel()

    def timed_out(self) -> bool:
        """In the except clause for CancelledError: was it ours alone?"""
        if not self.fired:
            return False
        self.fired = False
        return self.task.uncancel() == 0  # type: ignore[no-any-return]

    def close(self) -> None:
        self.since = None
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


def _anyio_receive(stream: Any, timeout: float | None) -> tuple[Any, _ReadWatchdog | None] | None:
    """(anyio's receive, a watchdog or None) to read httpcore's anyio stream
    under asyncio on Python 3.11+; None: use httpcore's own ``read``."""
    import asyncio

    try:
        from httpcore._backends.anyio import AnyIOStream
    except ImportError:  # pragma: no cover
        return None
    if type(stream) is not AnyIOStream or not hasattr(asyncio.Task, "uncancel"):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): httpcore's read
        return None
    receive = getattr(getattr(stream, "_stream", None), "receive", None)
    if receive is None:  # pragma: no cover
        return None
    return receive, (None if timeout is None else _ReadWatchdog(loop, timeout))


def _current_task_getter() -> Callable[[], Any]:
    """asyncio.current_task for the running loop. Before Python 3.12 that is
    Python code costing a microsecond or two per call on a small machine; its
    C table is asked directly where it exists."""
    import asyncio
    import functools
    import sys

    if sys.version_info < (3, 12):
        table = getattr(asyncio.tasks, "_current_tasks", None)
        if type(table) is dict:
            return functools.partial(table.get, asyncio.get_running_loop())
    return asyncio.current_task


async def _adirect_body(conn: Any, request: httpx.Request) -> AsyncIterator[bytes]:
    import asyncio

    import anyio
    import h11
    import httpcore
    from httpx._transports.default import map_httpcore_exceptions

    h11_state, stream = conn._h11_state, conn._network_stream
    timeout = request.extensions.get("timeout", {}).get("read")
    read = stream.read
    try:
        with map_httpcore_exceptions():
            while True:  # what h11 holds, until the next chunk starts with h11's buffer empty
                event = _h11_event(h11_state)
                if event is h11.NEED_DATA:
                    if _at_chunk_boundary(h11_state):
                        break
                    h11_state.receive_data(await read(_READ_BYTES, timeout=timeout))
                elif type(event) is h11.Data:
                    yield bytes(event.data)
                else:  # EndOfMessage (or PAUSED)
                    return
            dechunk = _Dechunker().feed
            end: bytes | None = None
            fast = _anyio_receive(stream, timeout)
            if fast is None:
                while True:
                    data = await read(_READ_BYTES, timeout=timeout)
                    if not data:
                        break
                    payload, end = dechunk(data)
                    if payload:
                        yield payload
                    if end is not None:
                        break
            else:
                receive, dog = fast
                current_task, now = _current_task_getter(), asyncio.get_running_loop().time
                read_errors = (anyio.BrokenResourceError, anyio.ClosedResourceError)
                try:
                    while True:
                        if dog is not None:
                            dog.since = now()
                            dog.task = current_task()
                            if dog.handle is None:
                                dog.arm()
                        try:
                            data = await receive(_READ_BYTES)
                        except anyio.EndOfStream:
                            data = b""
                        except read_errors as exc:
                            raise httpcore.ReadError(exc) from exc
                        except asyncio.CancelledError:
                            if dog is not None and dog.timed_out():
                                raise httpcore.ReadTimeout("") from None
                            raise
                        finally:
                            if dog is not None:
                                dog.since = None
                        if not data:
                            break
                        payload, end = dechunk(data)
                        if payload:
                            yield payload
                        if end is not None:
                            break
                finally:
                    if dog is not None:
                        dog.close()
            if end is None:  # the peer closed mid-body: h11's "incomplete chunked read"
                h11_state.receive_data(b"")
                _h11_event(h11_state)
                raise httpcore.RemoteProtocolError("incomplete chunked read")  # pragma: no cover - h11 raised
            h11_state.receive_data(end)  # the last chunk and the trailers: h11 sees the message end
            while _h11_event(h11_state) is h11.NEED_DATA:
                h11_state.receive_data(await read(_READ_BYTES, timeout=timeout))
    except httpx.RequestError as exc:
        exc.request = request
        raise


async def _aconsume_direct(response: httpx.Response, conn: Any) -> AsyncIterator[bytes]:
    """``response.aiter_raw()`` on the direct path."""
    response.is_stream_consumed = True
    response._num_bytes_downloaded = 0
    body = _adirect_body(conn, response.request)
    try:
        async for chunk in body:
            response._num_bytes_downloaded += len(chunk)
            yield chunk
    finally:
        await body.aclose()  # type: ignore[attr-defined]
    await response.aclose()


def status_error(response: httpx.Response, body: bytes) -> APIStatusError:
    """The APIStatusError for a response that is not a usable event stream."""
    return APIStatusError(
        response.status_code,
        body_snippet(body),
        reason=response.reason_phrase,
        content_type=response.headers.get("content-type", ""),
        retry_after=retry_after_seconds(response.headers),
        request_id=response.headers.get("x-request-id"),
    )


def read_snippet(response: httpx.Response) -> bytes:
    """Up to _SNIPPET_BYTES bytes of a streamed body (decompressed)."""
    if response.is_stream_consumed:
        return response.content[:_SNIPPET_BYTES] if hasattr(response, "_content") else b""
    buf = bytearray()
    try:
        for chunk in response.iter_bytes():
            buf += chunk
            if len(buf) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:  # the snippet is best effort; the status is what matters
        pass
    return bytes(buf)


async def aread_snippet(response: httpx.Response) -> bytes:
    if response.is_stream_consumed:
        return response.content[:_SNIPPET_BYTES] if hasattr(response, "_content") else b""
    buf = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            buf += chunk
            if len(buf) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        pass
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    return bytes(buf)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The server's requested delay: ``retry-after-ms`` (OpenAI), else
    ``Retry-After`` as seconds or an HTTP-date (RFC 9110 10.2.3); None when
    absent or unreadable. Never negative."""
    import email.utils
    import time

    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
            if value == value and value >= 0:  # not NaN
                return value
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    ra = ra.strip()
    try:
        value = float(ra)
        return value if value == value and value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):  # not a date (3.10 raises TypeError)
        return None
    return max(0.0, when.timestamp() - time.time())


class EventSource:
    """The events of one ``text/event-stream`` response.

    :param response: a streamed httpx response (from ``client.stream(...)``).
    :param max_event_bytes: cap on a line and on one event's data, as for
        :class:`turbosse.SSEParser` (default 8 MiB; None for no cap).
    :param sentinel: a payload such as ``b"[DONE]"``; that event is not
        yielded and what follows it is read and ignored.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        sentinel: bytes | str | None = None,
    ) -> None:
        self._response = response
        self._max_event_bytes = max_event_bytes
        self._sentinel = sentinel

    @property
    def response(self) -> httpx.Response:
        return self._response

    def _parser(self) -> SSEParser:
        return SSEParser(max_event_bytes=self._max_event_bytes, sentinel=self._sentinel)

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        """Yield events as their blank line arrives.

        Raises :class:`turbosse.APIStatusError` if the response is not an event
        stream, with the status and the start of the body."""
        response = self._response
        if not is_event_stream(response):
            raise status_error(response, read_snippet(response))
        parser = self._parser()
        feed = parser.feed
        for chunk in iter_body(response):
            events = feed(chunk)
            if events:
                yield from events
        parser.close()

    async def aiter_sse(self) -> AsyncGenerator[ServerSentEvent, None]:
        """The async twin of :meth:`iter_sse`."""
        response = self._response
        if not is_event_stream(response):
            raise status_error(response, await aread_snippet(response))
        parser = self._parser()
        feed = parser.feed
        chunks = aiter_body(response)
        try:
            async for chunk in chunks:
                for event in feed(chunk):
                    yield event
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        parser.close()

    def __repr__(self) -> str:
        return f"<EventSource {self._response!r}>"


def _sse_headers(kwargs: dict[str, Any]) -> httpx.Headers:
    headers = httpx.Headers(kwargs.pop("headers", None))  # a copy: the caller's is untouched
    headers["Accept"] = "text/event-stream"
    headers["Cache-Control"] = "no-store"
    return headers


def _source_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.pop(k) for k in ("max_event_bytes", "sentinel") if k in kwargs}


@contextmanager
def connect_sse(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Iterator[EventSource]:
    """``client.stream(method, url, **kwargs)`` with SSE request headers,
    yielding an :class:`EventSource`; the response is closed on exit.

    >>> import httpx, turbosse.httpx, turbosse.testing
    >>> with turbosse.testing.FakeLLMServer(lifetime=30) as server, httpx.Client() as client:
    ...     body = {"model": "m", "stream": True, "fake": {"tokens": 2}}
    ...     with turbosse.httpx.connect_sse(client, "POST", server.base_url + "/chat/completions",
    ...                                     json=body, sentinel=b"[DONE]") as source:
    ...         [sse.json()["choices"][0]["delta"] for sse in source.iter_sse()]
    [{'role': 'assistant', 'content': '', 'refusal': None}, {'content': 'Hello'}, {'content': ','}, {}]
    """
    options = _source_options(kwargs)
    headers = _sse_headers(kwargs)
    with client.stream(method, url, headers=headers, **kwargs) as response:
        yield EventSource(response, **options)


@asynccontextmanager
async def aconnect_sse(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> AsyncIterator[EventSource]:
    """The async twin of :func:`connect_sse`."""
    options = _source_options(kwargs)
    headers = _sse_headers(kwargs)
    async with client.stream(method, url, headers=headers, **kwargs) as response:
        yield EventSource(response, **options)
