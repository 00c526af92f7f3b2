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
  ``iter_bytes`` undoes the compression, still without text decoding.
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

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
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
    """The body's bytes as they arrive, content-encoding undone, never text-decoded."""
    return response.iter_raw() if raw_or_decoded(response) else response.iter_bytes()


def aiter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    return response.aiter_raw() if raw_or_decoded(response) else response.aiter_bytes()


def owned_body(response: httpx.Response) -> Iterator[bytes]:
    """Like iter_body, for a response the caller closes itself: iterates the
    transport's byte stream directly (one generator layer less per read than
    ``iter_raw``), so httpx neither marks it consumed nor closes it at the end."""
    if raw_or_decoded(response) and isinstance(response.stream, httpx.SyncByteStream):
        return iter(response.stream)
    return iter_body(response)


def aowned_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of owned_body."""
    if raw_or_decoded(response) and isinstance(response.stream, httpx.AsyncByteStream):
        return response.stream.__aiter__()
    return aiter_body(response)


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
