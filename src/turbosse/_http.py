"""Private HTTP helpers over httpx shared by turbosse.httpx and the chat
clients: the event-stream test, reading a body as bytes or as decoded
deltas, the error for a response that is not an event stream, and the
server's Retry-After."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import orjson

from ._deadlines import call_later
from ._errors import APIStatusError, DeadlineExceeded, TooManyBytesWithoutEvent

#: The most characters of a body an error message quotes.
BODY_SNIPPET_CHARS = 500
_SNIPPET_BYTES = 4 * BODY_SNIPPET_CHARS  # enough bytes for 500 UTF-8 characters
#: what is read of an error body: enough for the provider's message however
#: long the body (a validation error echoing the input), read in any pieces
ERROR_BODY_BYTES = 64 * 1024


def header(response: httpx.Response, name: str) -> str | None:
    """A response header by its lower-case name: from the transport's own
    dict where the response has one (the turbosse transport's, which builds
    httpx.Headers only when asked for them), else from ``headers``."""
    own: dict[str, str] | None = getattr(response, "own_headers", None)
    return own.get(name) if own is not None else response.headers.get(name)


def is_event_stream(response: httpx.Response) -> bool:
    """httpx-sse's test (:func:`is_event_stream_type`) on a response."""
    return is_event_stream_type(header(response, "content-type") or "")


def is_event_stream_type(content_type: str) -> bool:
    """httpx-sse's test: the media type contains ``text/event-stream``
    (compared case-insensitively: RFC 9110 8.3.1)."""
    return "text/event-stream" in content_type.partition(";")[0].lower()


def body_snippet(data: bytes) -> str:
    """At most BODY_SNIPPET_CHARS characters of a body, for error messages."""
    text = data[:_SNIPPET_BYTES].decode("utf-8", "replace")
    if len(text) > BODY_SNIPPET_CHARS:
        text = text[: BODY_SNIPPET_CHARS - 3] + "..."
    return text


def can_read_raw(response: httpx.Response) -> bool:
    """True when the body can be read raw: no Content-Encoding to undo."""
    encoding = header(response, "content-encoding")
    return (encoding is None or encoding.strip().lower() in ("", "identity")) and not response.is_stream_consumed


def iter_body(response: httpx.Response) -> Iterator[bytes]:
    """The body's bytes as they arrive, content-encoding undone, never text-decoded."""
    return response.iter_raw() if can_read_raw(response) else response.iter_bytes()


def aiter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of iter_body."""
    return response.aiter_raw() if can_read_raw(response) else response.aiter_bytes()


def owned_body(response: httpx.Response) -> Iterator[bytes]:
    """Like iter_body, for a response the caller closes itself: iterates the
    transport's byte stream directly (one generator layer less per read than
    ``iter_raw``), so httpx neither marks it consumed nor closes it at the end."""
    if can_read_raw(response) and isinstance(response.stream, httpx.SyncByteStream):
        return response.stream.__iter__()
    return iter_body(response)


def aowned_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of owned_body."""
    if can_read_raw(response) and isinstance(response.stream, httpx.AsyncByteStream):
        return response.stream.__aiter__()
    return aiter_body(response)


def close_body(chunks: Iterator[Any]) -> None:
    """Close a body iterator early (a generator); a plain iterator has nothing to close."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


async def aclose_body(chunks: AsyncIterator[Any]) -> None:
    """The async twin of close_body."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


#: How long a client reads on after the format's end marker (for the chunked
#: terminator, normally already on its way) so that the connection goes back
#: to the pool; a server that keeps the body open is cut off then.
END_GRACE = 0.25


def finish_body(response: httpx.Response, chunks: Iterator[bytes]) -> None:
    """Read the rest of a body whose stream has ended, for up to END_GRACE
    seconds: a timer shuts the socket down if the server keeps it open (the
    caller then closes the response, and with it the connection)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not isinstance(sock, socket.socket):
        return  # a transport without a socket to cut: the caller closes the response
    lock = threading.Lock()
    finished = False

    def cut() -> None:
        with lock:
            if not finished:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    timer = call_later(END_GRACE, cut)  # one thread serves every stream's deadline
    try:
        for _ in chunks:
            pass
    except httpx.HTTPError:
        pass  # cut off, or the server failed after the end: the stream is complete regardless
    finally:
        with lock:
            finished = True
        timer.cancel()


async def afinish_body(response: httpx.Response, chunks: AsyncIterator[bytes]) -> None:
    """The async counterpart of finish_body: a cancel scope bounds the wait."""
    with anyio.move_on_after(END_GRACE):
        try:
            async for _ in chunks:
                pass
        except httpx.HTTPError:
            pass  # the server failed after the end: the stream is complete regardless


def decoded_body(
    response: httpx.Response, engine: Any, max_quiet: int, quiet: bool = False, deadline: Deadline | None = None
) -> Iterator[list[Any]]:
    """The body of ``response`` as lists of deltas from ``engine.decoder``,
    read until the format's end marker (then :func:`finish_body`). Raises
    TooManyBytesWithoutEvent after ``max_quiet`` bytes without a delta.

    A transport whose body stream decodes where it reads (``decoded``, the
    turbosse transport's) does it there; with ``quiet`` (the caller wants the
    result, not the deltas) the engine delivers them there too and nothing is
    yielded, so the reader is not woken per read. Elsewhere ``deadline``
    (if given) is checked after every read: bytes that bring no delta
    (keep-alive comments) cannot carry a stream past it."""
    decoded = getattr(response.stream, "decoded", None)
    if decoded is not None and can_read_raw(response):
        return decoded(engine, max_quiet, quiet)  # type: ignore[no-any-return]
    return _decoded(response, owned_body(response), engine.decoder, max_quiet, deadline)


def adecoded_body(
    response: httpx.Response, engine: Any, max_quiet: int, quiet: bool = False, deadline: Deadline | None = None
) -> AsyncIterator[list[Any]]:
    """The async twin of decoded_body."""
    decoded = getattr(response.stream, "decoded", None)
    if decoded is not None and can_read_raw(response):
        return decoded(engine, max_quiet, quiet)  # type: ignore[no-any-return]
    return _adecoded(response, aowned_body(response), engine.decoder, max_quiet, deadline)


def _decoded(
    response: httpx.Response, chunks: Iterator[bytes], decoder: Any, max_quiet: int,
    deadline: Deadline | None,
) -> Iterator[list[Any]]:
    decode = decoder.feed
    quiet = 0
    try:
        for chunk in chunks:
            deltas = decode(chunk)
            if deltas:
                quiet = 0
                yield deltas
            else:
                quiet += len(chunk)
                if quiet > max_quiet:
                    raise TooManyBytesWithoutEvent(max_quiet)
            if deadline is not None:
                deadline.check()
            if decoder.done:  # the end marker: the stream is complete
                finish_body(response, chunks)
                return
    finally:
        close_body(chunks)


async def _adecoded(
    response: httpx.Response, chunks: AsyncIterator[bytes], decoder: Any, max_quiet: int,
    deadline: Deadline | None,
) -> AsyncIterator[list[Any]]:
    decode = decoder.feed
    quiet = 0
    try:
        async for chunk in chunks:
            deltas = decode(chunk)
            if deltas:
                quiet = 0
                yield deltas
            else:
                quiet += len(chunk)
                if quiet > max_quiet:
                    raise TooManyBytesWithoutEvent(max_quiet)
            if deadline is not None:
                deadline.check()
            if decoder.done:  # the end marker: the stream is complete
                await afinish_body(response, chunks)
                return
    finally:
        await aclose_body(chunks)


def status_error(response: httpx.Response, body: bytes) -> APIStatusError:
    """The APIStatusError for a response that is not a usable event stream."""
    try:
        url: str | None = str(response.request.url)
    except RuntimeError:  # a response built without a request
        url = None
    return status_error_of(response.status_code, response.reason_phrase, response.headers, body, url)


def status_error_of(status: int, reason: str, headers: Any, body: bytes, url: str | None) -> APIStatusError:
    """:func:`status_error` from the parts of any HTTP library's response
    (``headers``: a case-insensitive mapping, httpx's or aiohttp's)."""
    message, type_, code = error_fields(body)
    return APIStatusError(
        status,
        body_snippet(body),
        reason=reason,
        content_type=headers.get("content-type", ""),
        retry_after=retry_after_seconds(headers),
        request_id=headers.get("x-request-id") or headers.get("request-id"),
        url=url,
        message=message,
        type=type_,
        code=code,
    )


def error_fields(body: bytes) -> tuple[str | None, str | None, Any]:
    """``(message, type, code)`` from the usual JSON error bodies: OpenAI's
    ``{"error": {"message", "type", "code"}}``, Anthropic's ``{"type":
    "error", "error": {"type", "message"}}``, ``{"error": "text"}``
    (Ollama, llama.cpp), FastAPI's ``{"detail": "text" | [{"msg", "type"}]}``
    and a top-level ``{"message"}``; all None for anything else."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, None
    if not isinstance(obj, dict):
        return None, None, None
    err = obj.get("error")
    if isinstance(err, dict):
        return _str(err.get("message")), _str(err.get("type")), err.get("code")
    if isinstance(err, str):
        return err, _str(obj.get("type")) if obj.get("type") != "error" else None, obj.get("code")
    detail = obj.get("detail")
    if isinstance(detail, str):
        return detail, None, None
    if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        parts = []
        for d in detail:
            loc = d.get("loc")
            where = ".".join(str(x) for x in loc) if isinstance(loc, list) else ""
            parts.append(f"{where}: {d.get('msg')}" if where else str(d.get("msg")))
        return "; ".join(parts), _str(detail[0].get("type")), None
    if isinstance(obj.get("message"), str):
        return obj["message"], _str(obj.get("type")), obj.get("code")
    return None, None, None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Deadline:
    """When a response must have ended (monotonic seconds) and the
    ``deadline=`` it came from, for the checks made between reads."""

    __slots__ = ("at", "seconds")

    def __init__(self, at: float, seconds: float) -> None:
        self.at = at
        self.seconds = seconds

    def passed(self) -> bool:
        return time.monotonic() > self.at

    def check(self) -> None:
        if self.passed():
            raise DeadlineExceeded(self.seconds)


def read_snippet(response: httpx.Response, deadline: Deadline | None = None) -> bytes:
    """Up to ERROR_BODY_BYTES bytes of a streamed body (decompressed): what
    :func:`status_error` reads the error fields from; what came before
    ``deadline`` (if given) passed, when it passes while the body trickles."""
    if response.is_stream_consumed:
        return response.content[:ERROR_BODY_BYTES] if hasattr(response, "_content") else b""
    buf = bytearray()
    chunks = response.iter_bytes()
    try:
        for chunk in chunks:
            buf += chunk
            if len(buf) >= ERROR_BODY_BYTES or (deadline is not None and deadline.passed()):
                break
    except httpx.HTTPError:  # the snippet is best effort; the status is what matters
        pass
    finally:
        close_body(chunks)
    return bytes(buf)


async def aread_snippet(response: httpx.Response, deadline: Deadline | None = None) -> bytes:
    """The async twin of read_snippet."""
    if response.is_stream_consumed:
        return response.content[:ERROR_BODY_BYTES] if hasattr(response, "_content") else b""
    buf = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            buf += chunk
            if len(buf) >= ERROR_BODY_BYTES or (deadline is not None and deadline.passed()):
                break
    except httpx.HTTPError:  # the snippet is best effort; the status is what matters
        pass
    finally:
        await aclose_body(chunks)
    return bytes(buf)


def _non_negative(value: float) -> float | None:
    # NaN is not a delay; inf is (longer than any retry_after_max)
    return value if value == value and value >= 0 else None


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The server's requested delay: ``retry-after-ms`` (OpenAI), else
    ``Retry-After`` as seconds or an HTTP-date (RFC 9110 10.2.3); None when
    absent or unreadable. Never negative."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = _non_negative(float(ms) / 1000.0)
        except (ValueError, OverflowError):
            value = None
        if value is not None:
            return value
    ra = headers.get("retry-after")
    if not ra:
        return None
    ra = ra.strip()
    try:
        return _non_negative(float(ra))
    except (ValueError, OverflowError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
        return max(0.0, when.timestamp() - time.time())
    # not a date (3.10 raises TypeError), or a year, day, hour or offset out
    # of range (ValueError, OverflowError)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
