"""aiohttp integration with the API of :mod:`turbosse.httpx` (httpx-sse's).

::

    import aiohttp
    from turbosse.aiohttp import aconnect_sse

    async with aiohttp.ClientSession() as session:
        async with aconnect_sse(session, "POST", url, json=body, sentinel=b"[DONE]") as source:
            async for sse in source.aiter_sse():
                print(sse.event, sse.data)

The body is read with ``response.content.iter_any()``: whatever aiohttp has
read, in one piece per wake-up, fed straight to :class:`turbosse.SSEParser`
(no line splitting, no text decoding; aiohttp undoes gzip and deflate). A
response that is not ``text/event-stream`` raises
:class:`turbosse.APIStatusError` with the status, the provider's error
message, type and code, and the first 500 characters of the body. ``sentinel`` and ``max_event_bytes`` are as in
:mod:`turbosse.httpx`; aiohttp's own exceptions (``aiohttp.ClientError``,
timeouts) pass through unchanged, as httpx's do there.

To stream chat completions over an aiohttp session, pass the session to
``AsyncChatClient(http_client=session)``. aiohttp is imported only by the
caller: this module does not need it at import time.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from . import DEFAULT_MAX_EVENT_BYTES, APIStatusError, ServerSentEvent, SSEError, SSEParser
from ._http import ERROR_BODY_BYTES, is_event_stream_type, status_error_of

__all__ = ["EventSource", "SSEError", "ServerSentEvent", "aconnect_sse"]


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """httpx-sse's test, on aiohttp's headers."""
    return is_event_stream_type(headers.get("content-type", ""))


async def status_error(response: Any) -> APIStatusError:
    """The APIStatusError for a response that is not a usable event stream:
    the provider's message, type and code read from up to ERROR_BODY_BYTES
    of its body, and at most 500 characters of the body."""
    buf = bytearray()
    try:
        async for chunk in response.content.iter_any():
            buf += chunk
            if len(buf) >= ERROR_BODY_BYTES:
                break
    except Exception:  # the snippet is best effort; the status is what matters
        pass
    return status_error_of(response.status, response.reason or "", response.headers, bytes(buf), str(response.url))


class EventSource:
    """The events of one ``text/event-stream`` aiohttp response.

    :param response: an ``aiohttp.ClientResponse`` whose body is unread.
    :param max_event_bytes: cap on a line and on one event's data, as for
        :class:`turbosse.SSEParser` (default 8 MiB; None for no cap).
    :param sentinel: a payload such as ``b"[DONE]"``: that event is not
        yielded and what follows it is read and ignored.
    """

    def __init__(
        self,
        response: Any,
        *,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        sentinel: bytes | str | None = None,
    ) -> None:
        self._response = response
        self._max_event_bytes = max_event_bytes
        self._sentinel = sentinel

    @property
    def response(self) -> Any:
        return self._response

    async def aiter_sse(self) -> AsyncGenerator[ServerSentEvent, None]:
        """Yield events as their blank line arrives. Raises
        :class:`turbosse.APIStatusError` if the response is not an event stream."""
        response = self._response
        if not is_event_stream(response.headers):
            raise await status_error(response)
        parser = SSEParser(max_event_bytes=self._max_event_bytes, sentinel=self._sentinel)
        feed = parser.feed
        async for chunk in response.content.iter_any():
            for event in feed(chunk):
                yield event
        parser.close()

    def __repr__(self) -> str:
        return f"<EventSource {self._response!r}>"


@asynccontextmanager
async def aconnect_sse(session: Any, method: str, url: str, **kwargs: Any) -> AsyncIterator[EventSource]:
    """``session.request(method, url, **kwargs)`` with SSE request headers
    (``Accept: text/event-stream``, ``Cache-Control: no-store``; the caller's
    ``headers`` are copied, not modified), yielding an :class:`EventSource`;
    the response is released on exit (closed if its body was not read to the
    end, so the connection is not reused mid-stream)."""
    options = {k: kwargs.pop(k) for k in ("max_event_bytes", "sentinel") if k in kwargs}
    headers = dict(kwargs.pop("headers", None) or {})
    headers["Accept"] = "text/event-stream"
    headers["Cache-Control"] = "no-store"
    response = await session.request(method, url, headers=headers, **kwargs)
    try:
        yield EventSource(response, **options)
    finally:
        if response.content.at_eof():
            response.release()
        else:
            response.close()
