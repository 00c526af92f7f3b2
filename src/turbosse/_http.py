"""Private HTTP helpers over httpx shared by turbosse.httpx and the chat
clients: the event-stream test, reading a body as bytes, the error for a
response that is not an event stream, and the server's Retry-After."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from ._errors import APIStatusError

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


def can_read_raw(response: httpx.Response) -> bool:
    """True when the body can be read raw: no Content-Encoding to undo."""
    encoding = response.headers.get("content-encoding")
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


def close_body(chunks: Iterator[bytes]) -> None:
    """Close a body iterator early (a generator); a plain iterator has nothing to close."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


async def aclose_body(chunks: AsyncIterator[bytes]) -> None:
    """The async twin of close_body."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


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
    chunks = response.iter_bytes()
    try:
        for chunk in chunks:
            buf += chunk
            if len(buf) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:  # the snippet is best effort; the status is what matters
        pass
    finally:
        close_body(chunks)
    return bytes(buf)


async def aread_snippet(response: httpx.Response) -> bytes:
    """The async twin of read_snippet."""
    if response.is_stream_consumed:
        return response.content[:_SNIPPET_BYTES] if hasattr(response, "_content") else b""
    buf = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            buf += chunk
            if len(buf) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:  # the snippet is best effort; the status is what matters
        pass
    finally:
        await aclose_body(chunks)
    return bytes(buf)


def _non_negative(value: float) -> float | None:
    return value if value == value and value >= 0 else None  # NaN is not a delay


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The server's requested delay: ``retry-after-ms`` (OpenAI), else
    ``Retry-After`` as seconds or an HTTP-date (RFC 9110 10.2.3); None when
    absent or unreadable. Never negative."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = _non_negative(float(ms) / 1000.0)
        except ValueError:
            value = None
        if value is not None:
            return value
    ra = headers.get("retry-after")
    if not ra:
        return None
    ra = ra.strip()
    try:
        return _non_negative(float(ra))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):  # not a date (3.10 raises TypeError)
        return None
    return max(0.0, when.timestamp() - time.time())
