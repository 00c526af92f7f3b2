"""ChatClient and AsyncChatClient: streaming chat over httpx, for the OpenAI
chat completions, OpenAI Responses and Anthropic Messages APIs.

One request (the API is chosen by ``format``), read
as raw bytes and decoded by :class:`turbosse.ChatDecoder` into
:class:`turbosse.Delta` tuples, which the handler engine folds into the final
``ChatResult``. The stream is finished when the decoder sees the format's end
marker: the rest of the body is not read and the response is closed.

Failures, and what is retried. A failure is retried only while no content has
reached the caller: no delta carrying text, a tool call, a finish reason or
usage has been delivered (a role-only first chunk, or Anthropic's
message_start with its role and opening usage, is held back until content
follows, so a retry never shows the caller a duplicate). Retried then: HTTP
408, 409, 429 and 5xx; connection, read and protocol errors, idle timeouts;
and an in-band error event of an overload or server-error kind (OpenAI
``server_error``, Anthropic ``overloaded_error``/``api_error``, rate limits).
The delay is the server's ``retry-after-ms`` or ``Retry-After`` (seconds or an
HTTP-date) when it sent one, else exponential backoff with jitter:
``min(backoff_max, backoff_initial * 2**n) * uniform(0.75, 1)``. A requested
delay above ``retry_after_max``, or one that would overrun the ``deadline``, is
not waited for: the error is raised at once. Once content was delivered
nothing is retried; the error carries the partial result in ``.partial``:

- :class:`turbosse.APIStatusError`: a non-2xx status or a response that is not
  an event stream (status, URL, the provider's message/type/code, at most 500
  characters of body, retry_after);
- :class:`turbosse.IdleTimeout` (a StreamInterrupted): no byte for
  ``idle_timeout`` seconds, implemented as httpx's per-read timeout, which
  httpx's own transports and httpx-aiohttp's apply to every socket read;
- :class:`turbosse.DeadlineExceeded` (a StreamInterrupted): the response did not end within
  ``deadline`` seconds of the first request, however steadily bytes came;
- :class:`turbosse.TooManyBytesWithoutEvent` (a StreamInterrupted): more than
  ``max_bytes_without_event`` bytes (decompressed) without a delta, e.g. a
  decompression bomb of blank lines;
- :class:`turbosse.StreamInterrupted`: the connection failed (``cause``), or
  the body ended cleanly before the stream was complete (no end marker and
  not every started choice has a finish reason; ``cause`` None);
- :class:`turbosse.StreamError`, :class:`turbosse.MalformedChunk` and
  :class:`turbosse.EventTooLarge` from the decoder.

``on_error`` sees each of them, and ``on_complete`` is called only for a
complete stream. Leaving a stream early (``break``, ``close()``, leaving the
``with`` block, or cancelling the task) closes the HTTP response; a response
that was not read to its end closes its connection instead of returning it to
the pool.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from ._accumulator import ChatResult
from ._client_settings import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES_WITHOUT_EVENT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Settings,
)
from ._delta import Delta
from ._errors import SSEError
from ._handler import Callbacks, Engine, raised_by_handler
from ._http import (
    Deadline,
    aclose_body,
    adecoded_body,
    aread_snippet,
    close_body,
    decoded_body,
    is_event_stream,
    read_snippet,
    status_error,
)
from ._stream import AsyncBatches, AsyncDeltaStream, Batches, DeltaStream

__all__ = ["AsyncChatClient", "AsyncChatStream", "ChatClient", "ChatStream"]


def _chained(exc: BaseException, cause: BaseException) -> BaseException:
    if exc is not cause:
        exc.__cause__ = cause
    return exc


def _failure(engine: Engine, error: BaseException, make: Callable[[BaseException, ChatResult], SSEError]) -> SSEError:
    """The error to raise: a transport's failure made by ``make`` (a
    StreamInterrupted, even for one that is already an SSEError too),
    turbosse's own with its partial."""
    if isinstance(error, SSEError) and not isinstance(error, httpx.HTTPError):
        return engine.fail(error)
    return engine.interrupt(error, make)


class _StreamBase:
    def __init__(self, settings: Settings, body: bytes, handler: Callbacks | None) -> None:
        self._settings = settings
        self._body = body
        self._engine = Engine(handler, hold_role_only=True)
        self._deadline_at = math.inf  # set when the first request goes out
        #: The httpx response of the current (last) attempt.
        self.response: httpx.Response | None = None
        #: Attempts made so far (1 + retries).
        self.attempts = 0
        #: The delays slept before each retry, in seconds.
        self.retry_delays: list[float] = []

    def _interrupted(self, error: BaseException, partial: ChatResult) -> SSEError:
        return self._settings.interrupted(error, partial, self._deadline_at)

    def _request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        s = self._settings
        timeout = s.request_timeout(self._deadline_at)
        request = client.build_request("POST", s.http_url, content=self._body, headers=s.headers, timeout=timeout)
        total = self._total()
        if total is not None:  # read by the turbosse transport, ignored by others
            request.extensions["timeout"]["total"] = total
        return request

    def _total(self) -> float | None:
        """Seconds left before the deadline (None: none), for a transport
        with a timer for the whole request, which needs no check per read."""
        if self._deadline_at == math.inf:
            return None
        return max(0.001, self._deadline_at - time.monotonic())


# ChatStream and AsyncChatStream are twins: tests/test_sync_async.py checks
# that the async code, with async words replaced by their sync ones, is the
# sync code.


class ChatStream(_StreamBase, DeltaStream):
    """A streaming chat completion (from :meth:`ChatClient.stream`).

    Iterate it for :class:`turbosse.Delta` tuples, or :attr:`text_stream` for
    the text of choice 0; :meth:`result` reads to the end and returns the
    ``ChatResult``. Use it as a context manager, or call :meth:`close`, to
    release the connection if you stop early.
    """

    def __init__(self, client: httpx.Client, settings: Settings, body: bytes, handler: Callbacks | None) -> None:
        super().__init__(settings, body, handler)
        self._client = client

    def _send(self) -> httpx.Response:
        post = getattr(self._client, "post_stream", None)  # turbosse's own client: no httpx.Request
        if post is not None:
            s = self._settings
            return post(s.url, s.headers, self._body, s.request_timeout(self._deadline_at), self._total())  # type: ignore[no-any-return]
        return self._client.send(self._request(self._client), stream=True)

    def _batches(self, quiet: bool = False) -> Batches:
        engine, settings = self._engine, self._settings
        self._deadline_at = deadline_at = settings.deadline_at()
        deadline = Deadline(deadline_at, settings.deadline) if settings.deadline is not None else None
        attempt = 0
        while True:
            engine.attach(settings.decoder())
            self.attempts += 1
            error: BaseException | None = None
            tail: list[Delta] = []
            response = None
            batches = None
            try:
                try:
                    response = self.response = self._send()
                    if not (200 <= response.status_code < 300 and is_event_stream(response)):
                        raise status_error(response, read_snippet(response, deadline))
                    # The hot loop: once content was delivered and no handler
                    # listens, a batch costs one accumulator call and one yield
                    # (no bound methods kept in locals: each is one more object
                    # per stream in flight for the collector to scan).
                    batches = decoded_body(response, engine, settings.max_bytes_without_event, quiet, deadline)
                    for deltas in batches:
                        if engine.passthrough:
                            engine.acc.extend(deltas)  # what arrived is in the result, also if the caller stops mid-batch
                            yield deltas
                        else:
                            yield engine.deliver(deltas)
                        if deadline is not None:
                            deadline.check()
                    tail = engine.end()
                except httpx.HTTPError as exc:
                    if raised_by_handler(exc):
                        raise
                    error = exc
                except SSEError as exc:
                    if raised_by_handler(exc):
                        raise
                    error = exc
                    tail = engine.deliver(getattr(exc, "deltas", None) or [])  # what the failing chunk still carried
            finally:
                # Also on close() and on leaving early: the response is closed,
                # and with it the connection if the body was not read to its end.
                if batches is not None:
                    close_body(batches)
                if response is not None:
                    response.close()
            yield tail
            if error is None:
                error = engine.incomplete()
            if error is None:
                self._result = engine.complete()
                return
            delay = settings.delay(error, engine.delivered, attempt, deadline_at)
            if delay is None:
                raise _chained(_failure(engine, error, self._interrupted), error)
            self.retry_delays.append(delay)
            time.sleep(delay)
            attempt += 1


class AsyncChatStream(_StreamBase, AsyncDeltaStream):
    """The async twin of :class:`ChatStream`: ``async for``, ``async with``,
    ``await result()``, ``await aclose()``. Cancelling the task that reads it
    closes the connection."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, body: bytes, handler: Callbacks | None) -> None:
        super().__init__(settings, body, handler)
        self._client = client

    async def _send(self) -> httpx.Response:
        post = getattr(self._client, "post_stream", None)  # turbosse's own client: no httpx.Request
        if post is not None:
            s = self._settings
            return await post(s.url, s.headers, self._body, s.request_timeout(self._deadline_at), self._total())  # type: ignore[no-any-return]
        return await self._client.send(self._request(self._client), stream=True)

    async def _batches(self, quiet: bool = False) -> AsyncBatches:
        engine, settings = self._engine, self._settings
        self._deadline_at = deadline_at = settings.deadline_at()
        deadline = Deadline(deadline_at, settings.deadline) if settings.deadline is not None else None
        attempt = 0
        while True:
            engine.attach(settings.decoder())
            self.attempts += 1
            error: BaseException | None = None
            tail: list[Delta] = []
            response = None
            batches = None
            try:
                try:
                    response = self.response = await self._send()
                    if not (200 <= response.status_code < 300 and is_event_stream(response)):
                        raise status_error(response, await aread_snippet(response, deadline))
                    # The hot loop: once content was delivered and no handler
                    # listens, a batch costs one accumulator call and one yield
                    # (no bound methods kept in locals: each is one more object
                    # per stream in flight for the collector to scan).
                    batches = adecoded_body(response, engine, settings.max_bytes_without_event, quiet, deadline)
                    async for deltas in batches:
                        if engine.passthrough:
                            engine.acc.extend(deltas)  # what arrived is in the result, also if the caller stops mid-batch
                            yield deltas
                        else:
                            yield engine.deliver(deltas)
                        if deadline is not None:
                            deadline.check()
                    tail = engine.end()
                except httpx.HTTPError as exc:
                    if raised_by_handler(exc):
                        raise
                    error = exc
                except SSEError as exc:
                    if raised_by_handler(exc):
                        raise
                    error = exc
                    tail = engine.deliver(getattr(exc, "deltas", None) or [])  # what the failing chunk still carried
            finally:
                # Also on aclose() and on leaving early: the response is closed,
                # and with it the connection if the body was not read to its end.
                if batches is not None:
                    await aclose_body(batches)
                if response is not None:
                    await response.aclose()
            yield tail
            if error is None:
                error = engine.incomplete()
            if error is None:
                self._result = engine.complete()
                return
            delay = settings.delay(error, engine.delivered, attempt, deadline_at)
            if delay is None:
                raise _chained(_failure(engine, error, self._interrupted), error)
            self.retry_delays.append(delay)
            await anyio.sleep(delay)
            attempt += 1


class _ClientBase:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        idle_timeout: float | None = None,
        deadline: float | None = None,
        max_bytes_without_event: int | None = DEFAULT_MAX_BYTES_WITHOUT_EVENT,
        headers: dict[str, str] | None = None,
        format: str = "auto",
        on_malformed: str = "raise",
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
    ) -> None:
        self._settings = Settings(
            base_url, api_key, model, timeout, max_retries, idle_timeout, deadline, max_bytes_without_event,
            headers, format, on_malformed, backoff_initial, backoff_max, retry_after_max,
        )  # fmt: skip

    @property
    def url(self) -> str:
        """The chat completions endpoint this client posts to."""
        return self._settings.url


_CLIENT_DOC = """

    :param base_url: the API root, e.g. ``https://api.openai.com/v1`` (default:
        ``$OPENAI_BASE_URL``, else OpenAI's; for ``format="anthropic"``
        ``$ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``). Requests
        go to ``{base_url}/chat/completions``, ``{base_url}/responses`` or
        ``{base_url}/v1/messages`` (``/messages`` when base_url ends in ``/v1``).
    :param api_key: sent as ``Authorization: Bearer ...`` (default
        ``$OPENAI_API_KEY``), or for Anthropic as ``x-api-key`` (default
        ``$ANTHROPIC_API_KEY``, with ``anthropic-version``); none if unset.
    :param model: the default model; a call's ``model=`` overrides it.
    :param http_client: an httpx client to use (any transport, e.g.
        httpx-aiohttp's); it is not closed by :meth:`close`. By default the
        client makes its own, with up to 2048 connections.
    :param timeout: httpx timeout (seconds or ``httpx.Timeout``) for connect,
        write, pool and, unless ``idle_timeout`` is set, each read. Default 600.
    :param max_retries: retries before any content arrived (default 2).
    :param idle_timeout: raise :class:`turbosse.IdleTimeout` when no byte
        arrives for this many seconds (also while waiting for the response
        headers). Default None: the read timeout is ``timeout``.
    :param deadline: raise ``DeadlineExceeded`` when the response has not
        ended this many seconds after the first request (retries included).
        Default None: no limit beyond ``idle_timeout``/``timeout``.
    :param max_bytes_without_event: raise ``TooManyBytesWithoutEvent`` when
        this many body bytes (after decompression) bring no delta (default
        32 MiB, four of the decoder's largest events; None: no limit).
    :param headers: extra request headers.
    :param format: the API to speak and decode: ``"auto"`` (default) or
        ``"openai-chat"`` (chat completions), ``"openai-responses"`` or
        ``"anthropic"`` (Messages). Another ChatDecoder format raises
        ValueError (send such requests yourself and use turbosse.accumulate).
    :param on_malformed: ``"raise"`` (default) or ``"skip"`` malformed chunks.
    :param backoff_initial, backoff_max: the exponential backoff (seconds) when
        the server gave no Retry-After: ``min(backoff_max, backoff_initial *
        2**n)`` less up to 25% jitter.
    :param retry_after_max: the longest Retry-After honoured (seconds); a longer
        one raises the error at once.

    Every other keyword of :meth:`stream` and :meth:`complete` (``tools``,
    ``tool_choice``, ``response_format``, ``temperature``, ``max_tokens``,
    ``stream_options`` overrides, vendor extensions) goes into the request body
    unchanged. ``handler=`` takes a :class:`turbosse.StreamHandler` (or any
    object with some of its ``on_*`` methods).
"""


class ChatClient(_ClientBase):
    def __init__(self, *, http_client: Any = None, transport: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from ._transport.choose import client_for

        self.http_client, self._own = client_for(http_client, transport, self._settings.timeout, DEFAULT_LIMITS, httpx.Client)

    def stream(self, messages: Any, *, model: str | None = None, handler: Callbacks | None = None, **params: Any) -> ChatStream:
        """Start a streaming chat completion; see :class:`ChatStream`. The
        request is sent when iteration starts."""
        return ChatStream(self.http_client, self._settings, self._settings.body(messages, model, params), handler)

    def complete(self, messages: Any, *, model: str | None = None, handler: Callbacks | None = None, **params: Any) -> ChatResult:
        """Stream a chat completion to its end and return the ChatResult."""
        s = self.stream(messages, model=model, handler=handler, **params)
        try:  # a with block would hold its exit method (an object) as long as the stream
            return s.result()
        finally:
            s.close()

    def close(self) -> None:
        """Close the httpx client if this ChatClient made it."""
        if self._own:
            self.http_client.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncChatClient(_ClientBase):
    def __init__(self, *, http_client: Any = None, transport: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from ._transport.choose import client_for

        self.http_client, self._own = client_for(http_client, transport, self._settings.timeout, DEFAULT_LIMITS, httpx.AsyncClient)

    def stream(self, messages: Any, *, model: str | None = None, handler: Callbacks | None = None, **params: Any) -> AsyncChatStream:
        """Start a streaming chat completion (``async for`` / ``async with``);
        see :class:`AsyncChatStream`."""
        return AsyncChatStream(self.http_client, self._settings, self._settings.body(messages, model, params), handler)

    async def complete(self, messages: Any, *, model: str | None = None, handler: Callbacks | None = None, **params: Any) -> ChatResult:
        """Stream a chat completion to its end and return the ChatResult."""
        s = self.stream(messages, model=model, handler=handler, **params)
        try:  # a with block would hold its exit method (an object) as long as the stream
            return await s.result()
        finally:
            await s.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self.http_client.aclose()

    async def __aenter__(self) -> AsyncChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


ChatClient.__doc__ = "A synchronous OpenAI-compatible streaming chat client." + _CLIENT_DOC
AsyncChatClient.__doc__ = "The asyncio (and trio, through anyio) twin of :class:`ChatClient`." + _CLIENT_DOC + """
    :param transport: what carries the requests when no ``http_client`` is
        given: ``"turbosse"`` (the default when httptools is installed:
        turbosse's own HTTP/1.1 protocol, HTTP/1.1 only, no redirects or
        cookies; trio falls back to httpx), ``"aiohttp"`` or ``"httpx"``.
        ``http_client`` may also be an ``aiohttp.ClientSession``, read
        directly (not closed by :meth:`aclose`). The synchronous ChatClient
        takes ``transport="httpx"`` only.
"""
