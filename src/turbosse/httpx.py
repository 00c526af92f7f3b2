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
  ``{"error": {"message": "Invalid API key"}}`` is not hidden. Like httpx-sse's
  ``SSEError`` it is also an ``httpx.TransportError`` (``httpx2``'s for an
  httpx2 client), so an ``except httpx.TransportError`` written for httpx-sse
  still catches it.
- :class:`EventSource` has the parser's ``last_event_id`` and ``retry``
  (what a reconnecting client sends as ``Last-Event-ID`` and waits).
- The parser follows the WHATWG rules exactly (BOM, CR line ends, ``retry``
  validation, invalid UTF-8) and caps an event at ``max_event_bytes``.
- ``connect_sse`` does not modify the ``headers`` you pass.
- Two optional keyword arguments, on ``EventSource`` and the ``connect``
  functions: ``sentinel`` (e.g. ``b"[DONE]"``: that event is swallowed and
  the rest of the body is read and ignored) and ``max_event_bytes``.

It works with httpx and httpx2 clients alike (httpx2 is pydantic's fork of
httpx, on which the openai and anthropic SDKs are built), with any
transport, including httpx-aiohttp's ``AiohttpTransport``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from . import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent, SSEParser
from ._errors import SSEError
from ._http import (
    aclose_body,
    aiter_body,
    aread_snippet,
    close_body,
    is_event_stream,
    iter_body,
    read_snippet,
    status_error,
)
from ._httplib import not_event_stream

__all__ = ["EventSource", "SSEError", "ServerSentEvent", "aconnect_sse", "connect_sse"]

class EventSource:
    """The events of one ``text/event-stream`` response.

    :param response: a streamed httpx (or httpx2) response (from
        ``client.stream(...)``).
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
        self._last_parser: SSEParser | None = None

    @property
    def response(self) -> httpx.Response:
        return self._response

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID so far (``""`` if none): what to send
        as ``Last-Event-ID`` when reconnecting."""
        return self._last_parser.last_event_id if self._last_parser is not None else ""

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds the stream set with
        ``retry:``, or None."""
        return self._last_parser.retry if self._last_parser is not None else None

    def _parser(self) -> SSEParser:
        parser = self._last_parser = SSEParser(max_event_bytes=self._max_event_bytes, sentinel=self._sentinel)
        return parser

    def iter_sse(self) -> Generator[ServerSentEvent, None, None]:
        """Yield events as their blank line arrives.

        Raises :class:`turbosse.APIStatusError` if the response is not an event
        stream, with the status and the start of the body (it is also the
        client library's ``TransportError``)."""
        response = self._response
        if not is_event_stream(response):
            raise not_event_stream(response, status_error(response, read_snippet(response)))
        parser = self._parser()
        feed = parser.feed
        chunks = iter_body(response)
        try:
            for chunk in chunks:
                for event in feed(chunk):  # noqa: UP028 (the twin of aiter_sse's loop)
                    yield event
        finally:
            close_body(chunks)
        parser.close()

    async def aiter_sse(self) -> AsyncGenerator[ServerSentEvent, None]:
        """The async twin of :meth:`iter_sse`."""
        response = self._response
        if not is_event_stream(response):
            raise not_event_stream(response, status_error(response, await aread_snippet(response)))
        parser = self._parser()
        feed = parser.feed
        chunks = aiter_body(response)
        try:
            async for chunk in chunks:
                for event in feed(chunk):
                    yield event
        finally:
            await aclose_body(chunks)
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
