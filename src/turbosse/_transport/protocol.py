"""One HTTP/1.1 connection as an asyncio protocol, and the response it reads.

:class:`Connection` parses the response with httptools (llhttp) inside
``data_received``: status line, headers, 1xx interim responses (skipped),
``Content-Length``, chunked and close-delimited bodies, gzip and deflate. The
body goes to the :class:`Response`'s *sink* in the same call (what one read
brought as one piece, however many HTTP chunks it held), so for a chat
stream bytes travel socket -> llhttp -> SSE -> JSON -> deltas with no
coroutine in between. What the sink returns is queued, and the one coroutine
waiting on the response is woken at most once per event-loop iteration with
everything queued (a future resolved once; later reads in the same iteration
only extend the queue). A sink that returns nothing wakes nobody until the end.

Flow control: when more than ``MAX_QUEUED`` items (or bytes) wait for the
consumer, reading pauses until it takes them (the read timeout does not run
meanwhile: a reader that falls behind is not a silent server). Timeouts are loop timers, not a
``wait_for`` per read: the read (idle) timer belongs to the connection, not to
one response; it checks the time of the last read when it fires and re-arms
itself while a response is being read, so a read costs one ``loop.time()``
call and a request on a kept-alive connection usually no timer at all. The
timer that ends a body going on after the reader has all it needs
(:meth:`Response.end_within`) is armed only if the body does go on after
the read that brought the end.

Where the loop allocates a buffer per ``recv`` (asyncio's default loop),
:class:`BufferedConnection` reads into one buffer per loop instead.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httptools

from .._chunked_common import ChunkedError
from .._impl import Dechunker
from .errors import (
    ConnectionLost,
    HTTPProtocolError,
    ReadTimedOut,
    TotalTimedOut,
    TransportError,
    UnsupportedRequest,
)

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_LINE", "MAX_QUEUED", "BufferedConnection", "Connection", "Response", "Stale", "read_buffer"]

#: Limits on a response's head: the bytes of each head (a 1xx one too), one header line, headers, 1xx heads.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINE = 16 * 1024
MAX_HEADERS = 256
MAX_INTERIM = 64  # 1xx responses before the real one
#: Queued items (sink results, or body bytes without a sink) before reading pauses.
MAX_QUEUED = 64 * 1024
#: Decompressed bytes handed on per step, so a small compressed read cannot
#: expand into one huge buffer.
_INFLATE_STEP = 256 * 1024
_READ_BUFFER = 256 * 1024

Sink = Callable[[bytes], Any]


class Response:
    """A response being read. ``status_code``, ``reason``, ``headers`` (lower-case
    names; repeated headers joined with ``", "``) are set once the head has
    arrived. Read the body with :meth:`aiter_bytes`, or :meth:`set_sink` and
    :meth:`next_batch`; :meth:`close` when done (a body not read to its end
    closes the connection instead of returning it to the pool)."""

    __slots__ = (
        "_conn", "_loop", "_head", "_waiter", "_queue", "_queued", "_sink", "error", "done",
        "status_code", "reason", "headers", "_names", "_head_bytes", "_interim",
        "_framing", "_inflate", "_flow_paused", "received", "_idle", "_grace",
        "_grace_handle", "_total_handle", "closed", "_decode", "body_bytes", "_pending", "_chunks", "_heads", "_head_tail",
        "_bodiless",
    )  # fmt: skip

    def __init__(self, conn: Connection, idle: float | None, decode: bool = True, bodiless: bool = False) -> None:
        self._decode = decode
        self._bodiless = bodiless  # the answer to a HEAD request: no body, whatever the head says
        self._conn = conn
        self._loop = conn.loop
        self._head: asyncio.Future[None] = self._loop.create_future()
        self._waiter: asyncio.Future[None] | None = None
        self._queue: list[Any] | None = None
        self._queued = 0
        self._pending: list[bytes] | None = None  # body pieces of the read being parsed, not yet delivered
        self._chunks: Any = None  # the Dechunker reading a chunked body (llhttp read the head)
        self._heads = 0  # heads llhttp has parsed (1xx included)
        self._head_tail = b""  # the last bytes of a head that has not ended yet
        self._sink: Sink | None = None
        self.error: BaseException | None = None
        self.done = False
        self.closed = False
        self.status_code = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self._names: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._interim = False
        self._framing = "close"
        self._inflate: Any = None
        self._flow_paused = False
        self.received = 0  # bytes of this response seen so far (head included)
        self.body_bytes = 0  # body bytes as sent (before any decompression)
        self._idle = idle  # the read timeout, watched by the connection's timer
        self._grace: float | None = None  # see end_within
        self._grace_handle: asyncio.TimerHandle | None = None
        self._total_handle: asyncio.TimerHandle | None = None

    # -- timers ------------------------------------------------------------

    def start_timers(self, total_deadline: float | None, total: float | None) -> None:
        if self._idle is not None:
            self._conn.watch_idle(self._conn.last_read + self._idle)
        if total_deadline is not None:
            self._total_handle = self._loop.call_at(total_deadline, self._total_expired, total)

    def _total_expired(self, total: float | None) -> None:
        self._total_handle = None
        assert total is not None
        self.fail(TotalTimedOut.of(total), abort=True)

    def _stop_timers(self) -> None:
        if self._grace_handle is not None:
            self._grace_handle.cancel()
            self._grace_handle = None
        if self._total_handle is not None:
            self._total_handle.cancel()
            self._total_handle = None

    # -- httptools callbacks -----------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > MAX_HEADER_LINE:
            raise HTTPProtocolError(
                f"a response header line exceeds {MAX_HEADER_LINE} bytes ({name[:40]!r}...)", MAX_HEADER_LINE
            )
        if len(self._names) >= MAX_HEADERS:
            raise HTTPProtocolError(f"the response has more than {MAX_HEADERS} headers", MAX_HEADERS)
        self._names.append((name, value))

    def on_headers_complete(self) -> None:
        self._heads += 1
        if self.done:  # another response after the one asked for: the connection is not trusted
            self._conn.abort()
            raise _Unasked  # and llhttp reads no further (its body is nobody's)
        if self._head_bytes > MAX_HEADER_BYTES:  # a head that ended in the read that took it over
            raise HTTPProtocolError(f"the response head exceeds {MAX_HEADER_BYTES} bytes", MAX_HEADER_BYTES)
        status = self._conn.parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                raise UnsupportedRequest("the server switched protocols (HTTP 101); this transport speaks HTTP/1.1 only")
            if self._heads > MAX_INTERIM:
                raise HTTPProtocolError(f"the server sent more than {MAX_INTERIM} interim (1xx) responses", MAX_INTERIM)
            self._interim = True  # 100 Continue, 103 Early Hints: the real response follows
            self._names = []
            self._head_bytes = 0  # the limit is each head's
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in self._names:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._names = []
        self.headers = headers
        self.status_code = status
        te = headers.get("transfer-encoding")
        if te is not None and te != "chunked":
            # "identity" is no coding (RFC 7230 removed it); any other one
            # would reach the reader still encoded, as would a second chunked
            codings = [c for c in (part.strip().lower() for part in te.split(",")) if c and c != "identity"]
            if codings and codings != ["chunked"]:
                raise UnsupportedRequest(
                    f"transfer-encoding {te!r} is not supported by the turbosse transport (chunked is)"
                )
            te = "chunked" if codings else None
        if self._bodiless:
            self._framing = "none"
        elif te is not None:
            self._framing = "chunked"
        elif "content-length" in headers:
            self._framing = "length"
        else:  # 204 and 304 have no body; any other ends with the connection
            self._framing = "none" if status in (204, 304) else "close"
        encoding = headers.get("content-encoding", "").strip().lower() if self._decode else ""
        if encoding in ("gzip", "x-gzip"):
            self._inflate = _Gzip()
        elif encoding == "deflate":
            self._inflate = _Deflate()
        elif encoding not in ("", "identity"):
            raise UnsupportedRequest(
                f"content-encoding {encoding!r} is not supported by the turbosse transport (gzip and deflate are)"
            )
        if not self._head.done():
            self._head.set_result(None)
        if self._bodiless:  # llhttp cannot be told; what it reads next is not this response's
            self.on_message_complete()

    def on_status(self, reason: bytes) -> None:
        self.reason = reason.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if self.error is not None or self.done:  # done: bytes past the response's end are not its body
            return
        self.body_bytes += len(body)
        inflate = self._inflate
        if inflate is None:
            # llhttp calls this once per HTTP chunk, and servers send one event
            # per chunk: the pieces of one read go on as one, after parsing
            # (flush), so the sink and decoder run once per read, not per event
            pending = self._pending
            if pending is None:
                self._pending = [body]
            else:
                pending.append(body)
            return
        try:  # a compressed body is never pending: it goes on a step at a time
            data = inflate.decompress(body, _INFLATE_STEP)
            while True:
                if data:
                    self._deliver(data)
                tail = inflate.unconsumed_tail
                if not tail or self.error is not None:  # the sink may have ended the stream
                    break
                data = inflate.decompress(tail, _INFLATE_STEP)
        except zlib.error as exc:
            raise HTTPProtocolError(f"the {self.headers.get('content-encoding')} body is corrupt: {exc}") from exc

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.done:
            return
        self.flush()
        self.done = True
        self._stop_timers()
        self._conn.message_complete(self)
        self._wake()

    # -- delivery ----------------------------------------------------------

    def flush(self) -> None:
        """Deliver the body pieces parsed since the last flush, joined."""
        pending = self._pending
        if pending:
            self._pending = None
            self._deliver(pending[0] if len(pending) == 1 else b"".join(pending))

    def _deliver(self, data: bytes, replay: bool = False) -> bool:
        """Hand ``data`` to the sink (or queue it); False if the sink failed."""
        if self.error is not None and not replay:  # ended (by the sink, say): nothing more goes on
            return True
        sink = self._sink
        if sink is None:  # raw bytes: queued as they are, counted in bytes
            items: Any = None
            size = len(data)
        else:
            try:
                items = sink(data)
            except BaseException as exc:  # the sink's own error (e.g. the decoder's): the stream ends
                if self.done:  # a body that had all arrived before set_sink replayed it
                    if self.error is None:
                        self.error = exc
                    return False
                self.fail(exc, abort=True)
                return False
            if not items:
                return True
            size = len(items)
        queue = self._queue
        if queue is None:
            self._queue = [data] if items is None else items
            self._queued = size
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return True
        if items is None:
            queue.append(data)
        else:
            queue.extend(items)
        self._queued += size
        if self._queued > MAX_QUEUED and not self._flow_paused:
            self._flow_paused = True  # the consumer is behind: stop reading until it catches up
            self._conn.pause()
        return True

    def end_within(self, seconds: float) -> None:
        """The reader has all it needs (the format's end marker came): if the
        body has not ended by the end of the current read, it gets ``seconds``
        more, then :meth:`end_early`. Called by a sink (idempotent)."""
        if self._grace is None:
            self._grace = seconds

    def _arm_grace(self) -> None:
        """After a read: start end_within's timer if the body goes on."""
        if self._grace_handle is None and not self.done and self.error is None and self._grace is not None:
            self._grace_handle = self._loop.call_later(self._grace, self.end_early)

    def end_early(self) -> None:
        """The reader has all it needs (the format's end marker came) but the
        body goes on: end the response as if complete, and close the
        connection (it cannot be reused mid-body)."""
        self._grace_handle = None
        if self.done or self.error is not None:
            return
        self.done = True
        self._stop_timers()
        self._wake()
        self._conn.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, exc: BaseException, *, abort: bool = False) -> None:
        """End the response with an error (kept if one is already set)."""
        if self.done or self.error is not None:
            return
        self.error = exc
        self._stop_timers()
        if not self._head.done():
            self._head.set_exception(exc)
            self._head.exception()  # retrieved here; wait_head re-raises it
        self._wake()
        if abort:
            self._conn.abort()

    # -- the consumer's side -----------------------------------------------

    async def wait_head(self) -> None:
        await self._head

    def set_sink(self, sink: Sink | None) -> None:
        """Hand each body chunk (decompressed) to ``sink`` as it arrives; what it
        returns, when truthy, is a list whose items :meth:`next_batch` returns.
        Body bytes that arrived with the head go through it now."""
        self._sink = sink
        queue, self._queue, self._queued = self._queue, None, 0
        if self._flow_paused:  # what held reading back is handed on now
            self._flow_paused = False
            self._conn.resume()
        if queue and sink is not None:  # also when an error followed them: they came before it
            for chunk in queue:
                if not self._deliver(chunk, True):
                    break
            if self._grace is not None:
                self._arm_grace()

    async def next_batch(self) -> list[Any]:
        """Everything queued since the last call; waits for more when nothing is
        queued. Returns ``[]`` at the end of the body; raises the error that
        ended it early."""
        try:
            return await self.anext_batch()
        except StopAsyncIteration:
            return []

    async def anext_batch(self, decoder: Any = None) -> list[Any]:
        """:meth:`next_batch` as an async iterator's ``__anext__``: raises
        StopAsyncIteration at the end of the body, and also when a transport
        error comes after ``decoder`` (if given) is done: the stream was
        complete regardless."""
        while True:
            queue = self._queue
            if queue is not None:
                self._queue = None
                self._queued = 0
                if self._flow_paused:
                    self._flow_paused = False
                    self._conn.resume()
                return queue
            error = self.error
            if error is not None:
                if decoder is not None and decoder.done and isinstance(error, TransportError):
                    raise StopAsyncIteration
                raise error
            if self.done:
                raise StopAsyncIteration
            self._waiter = waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes (decompressed unless the request said otherwise),
        one joined chunk per wake-up: :meth:`next_batch` inlined, one frame
        less per read."""
        self._sink = None
        while True:
            queue = self._queue
            if queue is not None:
                self._queue = None
                self._queued = 0
                if self._flow_paused:
                    self._flow_paused = False
                    self._conn.resume()
                yield queue[0] if len(queue) == 1 else b"".join(queue)
            elif self.error is not None:
                raise self.error
            elif self.done:
                return
            else:
                self._waiter = waiter = self._loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None

    async def read(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body (for error messages); never raises."""
        self._sink = None
        buf = bytearray()
        try:
            while len(buf) < limit:
                batch = await self.next_batch()
                if not batch:
                    break
                for chunk in batch:
                    buf += chunk
        except Exception:  # the snippet is best effort; the status is what matters
            pass
        return bytes(buf[:limit])

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read to its
        end, else closed (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._sink = None  # a sink that refers back to this response would be a reference cycle
        self._stop_timers()
        if not self.done:
            if self.error is None:
                self.error = ConnectionLost("the response was closed before its end")
            self._conn.abort()


class Connection(asyncio.Protocol):
    """One connection to an origin; one request at a time."""

    __slots__ = (
        "loop", "_release", "transport", "parser", "keep_alive", "response", "closed", "reusable", "used",
        "last_read", "idle_since", "_idle_handle", "_idle_due", "_paused", "coalescer", "origin", "lost", "_early",
    )  # fmt: skip

    def __init__(self, loop: asyncio.AbstractEventLoop, release: Callable[[Connection], None]) -> None:
        self._early = False
        self.loop = loop
        self._release = release
        self.transport: asyncio.Transport | None = None
        self.parser: Any = None  # llhttp, while it reads the response
        self.keep_alive = False  # the head's verdict, once the parser is dropped
        self.response: Response | None = None
        self.closed = False
        self.reusable = False
        self.used = 0  # requests sent on this connection
        self.last_read = loop.time()
        self.idle_since = self.last_read
        self._idle_handle: asyncio.TimerHandle | None = None  # the read timeout's timer
        self._idle_due = 0.0  # when it fires
        self._paused = 0  # reasons reading is paused (flow control, coalescing)
        self.coalescer: Any = None
        self.origin: Any = None
        self.lost: asyncio.Future[None] = loop.create_future()

    # -- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        self.last_read = self.loop.time()
        if response is None or response.done:
            # Bytes nobody asked for: on an idle connection, or after the end
            # of the last response. The connection cannot be trusted again.
            self.reusable = False
            if response is None and self.used == 0 and data:
                self._early = True
            self.abort()
            return
        response.received += len(data)
        chunks = response._chunks
        if chunks is not None:
            self._feed_chunks(response, chunks, data)
        else:
            in_head = response.status_code == 0
            try:
                if in_head:
                    self._feed_head(response, data)
                else:
                    self.parser.feed_data(data)
            except httptools.HttpParserCallbackError as exc:
                response.flush()  # the body that came before the error still counts
                cause = exc.__context__
                if isinstance(cause, _Unasked):  # the response had ended; the connection is gone
                    return
                response.fail(cause if isinstance(cause, Exception) else HTTPProtocolError(str(exc)), abort=True)
                return
            except httptools.HttpParserError as exc:
                response.flush()
                response.fail(HTTPProtocolError(f"invalid HTTP response: {exc}"), abort=True)
                return
            response.flush()
            if response.status_code == 0 and response._head_bytes > MAX_HEADER_BYTES:
                response.fail(
                    HTTPProtocolError(f"the response head exceeds {MAX_HEADER_BYTES} bytes", MAX_HEADER_BYTES),
                    abort=True,
                )
                return
        if response._grace is not None:
            response._arm_grace()
        if self.coalescer is not None and not response.done and response.error is None:
            self.coalescer.hold(self)

    # -- the read timeout --------------------------------------------------

    def watch_idle(self, due: float) -> None:
        """Fail the response being read if no byte arrives by ``due``, or
        within its read timeout of the last byte after that; time spent
        with reading paused (flow control, coalescing) is not counted. The timer
        outlives the response: a kept-alive connection's next request finds
        it armed and usually keeps it."""
        handle = self._idle_handle
        if handle is None or self._idle_due > due:
            if handle is not None:
                handle.cancel()
            self._idle_due = due
            self._idle_handle = self.loop.call_at(due, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_handle = None
        response = self.response
        if response is None or response.done or response.error is not None or response._idle is None:
            return  # between responses: the next request arms it again
        idle = response._idle
        now = self.loop.time()
        # not reading by our own choice (a reader behind, coalescing) is not
        # the server's silence: the clock restarts when reading resumes
        due = now + idle if self._paused else self.last_read + idle
        if now >= due - 1e-4:
            response.fail(ReadTimedOut(f"no bytes received for {idle:g} s (read timeout)", idle), abort=True)
        else:
            self._idle_due = due
            self._idle_handle = self.loop.call_at(due, self._check_idle)

    def _stop_idle(self) -> None:
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None

    def _feed_head(self, response: Response, data: bytes) -> None:
        """Parse ``data``, which starts inside a response head, with llhttp.
        A chunked body is then undone by a Dechunker instead, in one pass per
        read rather than a callback per chunk: the head is fed up to its last
        byte, then that byte, so that llhttp is seen to end the head exactly
        where its empty line is (else llhttp reads on, as for every other
        body)."""
        parser = self.parser
        while True:
            end = _head_end(response, data)
            if end < 0:
                response._head_bytes += len(data)  # checked against the limit after parsing
                parser.feed_data(data)
                return
            response._head_bytes += end  # checked when the head is complete
            heads = response._heads
            if end > 1:
                parser.feed_data(data[: end - 1])
            if response._heads != heads:  # llhttp ended the head earlier: it reads on
                parser.feed_data(data[end - 1 :])
                return
            parser.feed_data(data[end - 1 : end])
            rest = data[end:]
            if response._heads == heads or response.done or response.error is not None:
                if rest:
                    parser.feed_data(rest)
                return
            if response.status_code == 0:  # a 1xx response: the real head follows
                if not rest:
                    return
                data = rest
                continue
            if response._framing == "chunked" and not response._pending:
                response._chunks = chunks = Dechunker()
                # llhttp's part is done (keep-alive is decided by the head):
                # the parser and its bound callbacks need not live on
                self.keep_alive = bool(parser.should_keep_alive())
                self.parser = None
                if rest:
                    self._feed_chunks(response, chunks, rest)
            elif rest:
                parser.feed_data(rest)
            return

    def _feed_chunks(self, response: Response, chunks: Any, data: bytes) -> None:
        """Hand the body bytes of one read of a chunked body on, joined."""
        try:
            body = chunks.feed(data)
        except ChunkedError as exc:
            try:
                if exc.body:  # the body before the error still counts
                    response.on_body(exc.body)
                response.flush()
            except HTTPProtocolError:
                pass
            response.fail(HTTPProtocolError(f"invalid HTTP response: {exc}", exc.limit), abort=True)
            return
        if body:
            if response._inflate is None:
                response.body_bytes += len(body)
                response._deliver(body)
            else:
                try:
                    response.on_body(body)
                except HTTPProtocolError as exc:  # a corrupt compressed body
                    response.fail(exc, abort=True)
                    return
        if chunks.done and not response.done and response.error is None:
            response.on_message_complete()
            if chunks.extra:
                self.abort()  # bytes after the response: the connection is not trusted

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost decides what it meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._stop_idle()
        if not self.lost.done():
            self.lost.set_result(None)
        response = self.response
        if response is not None and not response.done and response.error is None:
            if exc is None and response._framing == "close" and response.status_code:
                response.on_message_complete()  # a close-delimited body ends with the connection
            elif response.status_code == 0 and response.received == 0 and self.used > 1:
                response.fail(Stale("the server closed the kept-alive connection before answering"))
            else:
                what = "before the response head" if response.status_code == 0 else "before the response body ended"
                detail = f": {exc}" if exc is not None else ""
                response.fail(ConnectionLost(f"the server closed the connection {what}{detail}"))
        # the parser refers to the response, the response to this connection:
        # dropped here so that nothing is left in a reference cycle
        self.response = self.parser = None
        self._release(self)

    # -- the pool's side ---------------------------------------------------

    def start(self, request: bytes, idle: float | None, decode: bool = True, bodiless: bool = False) -> Response:
        """Send one request; the Response fills in as bytes arrive. With
        ``decode`` false the body is handed on still content-encoded;
        ``bodiless`` for a HEAD request, whose response has no body."""
        self.used += 1
        self.reusable = False
        response = Response(self, idle, decode, bodiless)
        self.response = response
        self.parser = httptools.HttpResponseParser(response)
        if self._early:  # the server spoke before it was asked anything
            response.fail(HTTPProtocolError("the server sent a response before the request was written"))
            return response
        self.last_read = self.loop.time()
        assert self.transport is not None
        self.transport.write(request)
        return response

    def message_complete(self, response: Response) -> None:
        alive = self.keep_alive if self.parser is None else bool(self.parser.should_keep_alive())
        self.reusable = alive and response._framing != "close"
        self.parser = None  # it refers to the response, which refers to this connection
        self.idle_since = self.loop.time()
        if self._paused:
            self._paused = 0
            if self.transport is not None and not self.closed:
                self.transport.resume_reading()
        self.response = None
        self._release(self)

    def pause(self) -> None:
        self._paused += 1
        if self._paused == 1 and self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused:
            self._paused -= 1
            if self._paused == 0 and self.transport is not None and not self.closed:
                self.transport.resume_reading()
                self.last_read = self.loop.time()  # the read timeout counts from here (see _check_idle)

    def abort(self) -> None:
        """Close now; the pool forgets the connection at once."""
        self.reusable = False
        self._stop_idle()
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()
            self._release(self)


def _head_end(response: Response, data: bytes) -> int:
    """Where in ``data`` the head being read ends (the index after its empty
    line), or -1 if it goes on; the head may have begun in an earlier read."""
    raw = data if type(data) is bytes else bytes(data)
    tail = response._head_tail
    if tail:
        pos = (tail + raw[:3]).find(b"\r\n\r\n")
        if pos != -1:
            response._head_tail = b""
            return pos + 4 - len(tail)
    pos = raw.find(b"\r\n\r\n")
    if pos != -1:
        response._head_tail = b""
        return pos + 4
    response._head_tail = (tail + raw)[-3:]
    return -1


def read_buffer() -> memoryview:
    """A buffer for :class:`BufferedConnection` reads, shared by every
    connection of one event loop: the loop fills it and calls buffer_updated
    at once, which parses it (the body leaves it as bytes) before any other
    connection reads, so one buffer per loop is enough, whatever the number
    of connections."""
    return memoryview(bytearray(_READ_BUFFER))


class BufferedConnection(Connection, asyncio.BufferedProtocol):
    """A Connection that reads into a reused buffer (no buffer per recv)."""

    __slots__ = ("_view",)

    def __init__(self, loop: asyncio.AbstractEventLoop, release: Callable[[Connection], None], view: memoryview) -> None:
        super().__init__(loop, release)
        self._view = view

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._view[:nbytes])  # type: ignore[arg-type]


class _Unasked(Exception):
    """Raised in llhttp's callback to stop it at a second response head."""


class Stale(ConnectionLost):
    """A kept-alive connection the server had closed: the request is resent once."""


class _Gzip:
    """``Content-Encoding: gzip`` of one member or several: RFC 1952 lets a
    gzip stream be members one after another (a server that compresses each
    flush on its own sends one per flush). Zero bytes after a member are
    padding, skipped as the gzip module skips them; any other byte there that
    starts no member is a corrupt body (``zlib.error``)."""

    def __init__(self) -> None:
        self._obj: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._obj.eof:  # ``data`` is what came after the last member
            data = self._next_member(data)
            if self._obj.eof:
                return b""  # padding only, so far
        obj = self._obj
        out: bytes = obj.decompress(data, max_length)
        while obj.eof and obj.unused_data and len(out) < max_length:
            rest = self._next_member(obj.unused_data)
            if self._obj is obj:
                break  # padding only
            obj = self._obj
            out += obj.decompress(rest, max_length - len(out))
        return out

    def _next_member(self, data: bytes) -> bytes:
        """Start the member ``data`` begins (after any padding); what to feed it."""
        rest = data.lstrip(b"\x00")
        if rest:
            if not b"\x1f\x8b".startswith(rest[:2]):
                raise zlib.error(f"bytes after the end of a gzip member start no other: {rest[:8]!r}")
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return rest

    @property
    def unconsumed_tail(self) -> bytes:
        obj = self._obj
        if obj.eof:  # what follows the member (zlib reports it as both): a next one, not yet begun
            return bytes(obj.unused_data) if obj.unused_data.strip(b"\x00") else b""
        return bytes(obj.unconsumed_tail)


class _Deflate:
    """``Content-Encoding: deflate``: zlib-wrapped as RFC 9110 says, or raw
    deflate as some servers send; decided on the first bytes."""

    def __init__(self) -> None:
        self._obj: Any = None

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._obj is None:
            self._obj = zlib.decompressobj()
            try:
                return bytes(self._obj.decompress(data, max_length))
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._obj.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._obj.unconsumed_tail) if self._obj is not None else b""
