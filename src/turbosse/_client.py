"""ChatClient and AsyncChatClient: OpenAI-compatible streaming chat over httpx.

One request, ``POST {base_url}/chat/completions`` with ``stream: true`` and
``stream_options: {"include_usage": true}``, read as raw bytes and decoded by
:class:`turbosse.ChatDecoder` into :class:`turbosse.Delta` tuples, which a
:class:`turbosse.ChatAccumulator` folds into the final ``ChatResult``.

Failures, and what is retried. A failure is retried only while no content has
reached the caller: no delta carrying text, a tool call, a finish reason or
usage has been delivered (a role-only first chunk is held back until content
follows, so a retry never shows the caller a duplicate). Retried then: HTTP
408, 409, 429 and 5xx; connection, read and protocol errors, idle timeouts;
and an in-band error event of an overload or server-error kind (OpenAI
``server_error``, Anthropic ``overloaded_error``/``api_error``, rate limits).
The delay is the server's ``retry-after-ms`` or ``Retry-After`` (seconds or an
HTTP-date) when it sent one, else exponential backoff with jitter:
``min(backoff_max, backoff_initial * 2**n) * uniform(0.75, 1)``. A requested
delay above ``retry_after_max`` is not waited for: the error is raised at once.
Once content was delivered nothing is retried; the error carries the partial
result:

- :class:`turbosse.APIStatusError`: a non-2xx status or a response that is not
  an event stream (status, at most 500 characters of body, retry_after);
- :class:`turbosse.IdleTimeout` (a StreamInterrupted): no byte for
  ``idle_timeout`` seconds, implemented as httpx's per-read timeout, which
  httpx's own transports and httpx-aiohttp's apply to every socket read;
- :class:`turbosse.StreamInterrupted`: the connection failed; ``.partial`` is
  the ChatResult so far (empty if it failed before any content);
- :class:`turbosse.StreamError` / :class:`turbosse.MalformedChunk` from the
  decoder, with ``.partial`` set.

Leaving a stream early (``break``, ``close()``, leaving the ``with`` block, or
cancelling the task) closes the HTTP response; a response that was not read to
its end closes its connection instead of returning it to the pool.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import orjson

from ._accumulator import ChatResult
from ._delta import Delta
from ._errors import (
    APIStatusError,
    IdleTimeout,
    MalformedChunk,
    SSEError,
    StreamError,
    StreamInterrupted,
)
from ._handler import Callbacks, Engine
from ._http import (
    aclose_body,
    aowned_body,
    aread_snippet,
    close_body,
    is_event_stream,
    owned_body,
    read_snippet,
    status_error,
)
from ._impl import ChatDecoder
from ._version import __version__

__all__ = ["AsyncChatClient", "AsyncChatStream", "ChatClient", "ChatStream"]

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
RETRY_STATUSES = frozenset({408, 409, 429})
# An in-band error whose type or code contains one of these is transient.
_TRANSIENT_MARKERS = ("overload", "server_error", "rate_limit", "internal", "unavailable", "timeout", "api_error", "capacity")
# Transport failures worth another attempt (not ProxyError, UnsupportedProtocol, ...).
_RETRY_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def is_transient_stream_error(exc: StreamError) -> bool:
    text = f"{exc.type or ''} {exc.code or ''}".lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


class _Settings:
    """What a client knows: where to send, how to retry."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        idle_timeout: float | None,
        headers: dict[str, str] | None,
        format: str,
        on_malformed: str,
        backoff_initial: float,
        backoff_max: float,
        retry_after_max: float,
    ) -> None:
        import os

        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be > 0 or None, not {idle_timeout}")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.url = base_url.rstrip("/") + "/chat/completions"
        api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.model = model
        self.max_retries = max_retries
        self.idle_timeout = idle_timeout
        self.format = format
        self.on_malformed = on_malformed
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        base = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # idle_timeout is the read timeout: httpx applies it to every read.
        self.timeout = base if idle_timeout is None else httpx.Timeout(
            connect=base.connect, read=idle_timeout, write=base.write, pool=base.pool
        )
        hdrs = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "user-agent": f"turbosse/{__version__}",
        }
        if api_key:
            hdrs["authorization"] = f"Bearer {api_key}"
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        self.headers = hdrs

    def body(self, messages: Any, model: str | None, params: dict[str, Any]) -> bytes:
        model = model or self.model
        if not model:
            raise ValueError("no model: pass model= to the client or to the call")
        if params.get("stream", True) is not True:
            raise ValueError("ChatClient always streams; use .complete() for a single result")
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        options = {"include_usage": True}
        options.update(params.pop("stream_options", None) or {})
        body["stream_options"] = options
        params.pop("stream", None)
        body.update(params)
        return orjson.dumps(body)

    def delay(self, error: BaseException, delivered: bool, attempt: int) -> float | None:
        """Seconds to wait before another attempt, or None: do not retry."""
        if delivered or attempt >= self.max_retries:
            return None
        requested: float | None = None
        if isinstance(error, APIStatusError):
            if error.status_code not in RETRY_STATUSES and not 500 <= error.status_code < 600:
                return None
            requested = error.retry_after
        elif isinstance(error, StreamError):
            if not is_transient_stream_error(error):
                return None
        elif not isinstance(error, _RETRY_TRANSPORT):
            return None
        if requested is not None:
            wait = float(requested)
            return wait if wait <= self.retry_after_max else None
        return min(self.backoff_max, self.backoff_initial * 2.0**attempt) * (1.0 - 0.25 * random.random())

    def interrupted(self, error: BaseException, partial: ChatResult) -> SSEError:
        """The error for a failed transport, carrying the partial result."""
        if isinstance(error, httpx.ReadTimeout):
            read = self.timeout.read
            return IdleTimeout(read if read is not None else float("inf"), error, partial)
        return StreamInterrupted(error, partial)

    def engine(self, handler: Callbacks | None) -> Engine:
        """The engine of one stream across its attempts."""
        return Engine(handler, hold_role_only=True, interrupted=self.interrupted)

    def decoder(self) -> Any:
        return ChatDecoder(self.format, on_malformed=self.on_malformed)


def _chained(exc: BaseException, cause: BaseException) -> BaseException:
    if exc is not cause:
        exc.__cause__ = cause
    return exc


def _finished(result: ChatResult | None) -> ChatResult:
    if result is None:
        raise SSEError("the stream was closed or failed before its end; its .partial has what arrived")
    return result


class _StreamBase:
    def __init__(self, settings: _Settings, body: bytes, handler: Callbacks | None) -> None:
        self._settings = settings
        self._body = body
        self._engine = settings.engine(handler)
        self._result: ChatResult | None = None
        #: The httpx response of the current (last) attempt.
        self.response: httpx.Response | None = None
        #: Attempts made so far (1 + retries).
        self.attempts = 0
        #: The delays slept before each retry, in seconds.
        self.retry_delays: list[float] = []

    @property
    def partial(self) -> ChatResult:
        """The result accumulated so far (the whole result once finished)."""
        return self._result if self._result is not None else self._engine.result()

    def _request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        s = self._settings
        return client.build_request("POST", s.url, content=self._body, headers=s.headers, timeout=s.timeout)


# ChatStream and AsyncChatStream are twins: tests/test_sync_async.py checks
# that the async code, with async words replaced by their sync ones, is the
# sync code.


class ChatStream(_StreamBase):
    """A streaming chat completion (from :meth:`ChatClient.stream`).

    Iterate it for :class:`turbosse.Delta` tuples, or :attr:`text_stream` for
    the text of choice 0; :meth:`result` reads to the end and returns the
    ``ChatResult``. Use it as a context manager, or call :meth:`close`, to
    release the connection if you stop early.
    """

    def __init__(self, client: httpx.Client, settings: _Settings, body: bytes, handler: Callbacks | None) -> None:
        super().__init__(settings, body, handler)
        self._client = client
        self._gen: Iterator[Delta] | None = None

    def __iter__(self) -> Iterator[Delta]:
        if self._gen is None:
            self._gen = self._deltas()
        return self._gen

    def _text(self) -> Iterator[str]:
        for d in self:
            if d.content is not None and d.index == 0:
                yield d.content

    @property
    def text_stream(self) -> Iterator[str]:
        """The content fragments of choice 0, as they arrive."""
        return self._text()

    def result(self) -> ChatResult:
        """Read the rest of the stream; the final ChatResult."""
        for _ in self:
            pass
        return _finished(self._result)

    def close(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if self._gen is None:
            self._gen = _empty()
        else:
            self._gen.close()  # type: ignore[attr-defined]

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _deltas(self) -> Iterator[Delta]:
        engine, settings = self._engine, self._settings
        attempt = 0
        while True:
            engine.attach(settings.decoder())
            self.attempts += 1
            error: BaseException | None = None
            tail: list[Delta] = []
            response = None
            chunks = None
            try:
                try:
                    response = self.response = self._client.send(self._request(self._client), stream=True)
                    if not (200 <= response.status_code < 300 and is_event_stream(response)):
                        raise status_error(response, read_snippet(response))
                    # The hot loop: once content was delivered and no handler
                    # listens, a delta costs one accumulator call and one yield.
                    decode, add, deliver = engine.decoder.feed, engine.acc.add, engine.deliver
                    chunks = owned_body(response)
                    for chunk in chunks:
                        deltas = decode(chunk)
                        if deltas:
                            if engine.passthrough:
                                for d in deltas:
                                    add(d)
                                    yield d
                            else:
                                for d in deliver(deltas):
                                    yield d
                    tail = engine.end()
                except (httpx.HTTPError, APIStatusError) as exc:
                    error = exc
                except (StreamError, MalformedChunk) as exc:
                    error = exc
                    tail = engine.deliver(exc.deltas)  # what the failing chunk still carried
            finally:
                # Also on close() and on leaving early: the response is closed,
                # and with it the connection if the body was not read to its end.
                if chunks is not None:
                    close_body(chunks)
                if response is not None:
                    response.close()
            for d in tail:
                yield d
            if error is None:
                self._result = engine.complete()
                return
            delay = settings.delay(error, engine.delivered, attempt)
            if delay is None:
                raise _chained(engine.fail(error), error)
            self.retry_delays.append(delay)
            time.sleep(delay)
            attempt += 1


class AsyncChatStream(_StreamBase):
    """The async twin of :class:`ChatStream`: ``async for``, ``async with``,
    ``await result()``, ``await aclose()``. Cancelling the task that reads it
    closes the connection."""

    def __init__(self, client: httpx.AsyncClient, settings: _Settings, body: bytes, handler: Callbacks | None) -> None:
        super().__init__(settings, body, handler)
        self._client = client
        self._gen: AsyncIterator[Delta] | None = None

    def __aiter__(self) -> AsyncIterator[Delta]:
        if self._gen is None:
            self._gen = self._deltas()
        return self._gen

    async def _text(self) -> AsyncIterator[str]:
        async for d in self:
            if d.content is not None and d.index == 0:
                yield d.content

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The content fragments of choice 0, as they arrive."""
        return self._text()

    async def result(self) -> ChatResult:
        """Read the rest of the stream; the final ChatResult."""
        async for _ in self:
            pass
        return _finished(self._result)

    async def aclose(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if self._gen is None:
            self._gen = _aempty()
        else:
            await self._gen.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _deltas(self) -> AsyncIterator[Delta]:
        engine, settings = self._engine, self._settings
        attempt = 0
        while True:
            engine.attach(settings.decoder())
            self.attempts += 1
            error: BaseException | None = None
            tail: list[Delta] = []
            response = None
            chunks = None
            try:
                try:
                    response = self.response = await self._client.send(self._request(self._client), stream=True)
                    if not (200 <= response.status_code < 300 and is_event_stream(response)):
                        raise status_error(response, await aread_snippet(response))
                    # The hot loop: once content was delivered and no handler
                    # listens, a delta costs one accumulator call and one yield.
                    decode, add, deliver = engine.decoder.feed, engine.acc.add, engine.deliver
                    chunks = aowned_body(response)
                    async for chunk in chunks:
                        deltas = decode(chunk)
                        if deltas:
                            if engine.passthrough:
                                for d in deltas:
                                    add(d)
                                    yield d
                            else:
                                for d in deliver(deltas):
                                    yield d
                    tail = engine.end()
                except (httpx.HTTPError, APIStatusError) as exc:
                    error = exc
                except (StreamError, MalformedChunk) as exc:
                    error = exc
                    tail = engine.deliver(exc.deltas)  # what the failing chunk still carried
            finally:
                # Also on aclose() and on leaving early: the response is closed,
                # and with it the connection if the body was not read to its end.
                if chunks is not None:
                    await aclose_body(chunks)
                if response is not None:
                    await response.aclose()
            for d in tail:
                yield d
            if error is None:
                self._result = engine.complete()
                return
            delay = settings.delay(error, engine.delivered, attempt)
            if delay is None:
                raise _chained(engine.fail(error), error)
            self.retry_delays.append(delay)
            await anyio.sleep(delay)
            attempt += 1


def _empty() -> Iterator[Delta]:
    return
    yield  # pragma: no cover


async def _aempty() -> AsyncIterator[Delta]:
    return
    yield  # pragma: no cover


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
        headers: dict[str, str] | None = None,
        format: str = "auto",
        on_malformed: str = "raise",
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
    ) -> None:
        self._settings = _Settings(
            base_url, api_key, model, timeout, max_retries, idle_timeout, headers, format,
            on_malformed, backoff_initial, backoff_max, retry_after_max,
        )  # fmt: skip

    @property
    def url(self) -> str:
        """The chat completions endpoint this client posts to."""
        return self._settings.url


_CLIENT_DOC = """

    :param base_url: the API root, e.g. ``https://api.openai.com/v1`` (default:
        ``$OPENAI_BASE_URL``, else OpenAI's); requests go to
        ``{base_url}/chat/completions``.
    :param api_key: sent as ``Authorization: Bearer ...`` (default
        ``$OPENAI_API_KEY``; none if unset).
    :param model: the default model; a call's ``model=`` overrides it.
    :param http_client: an httpx client to use (any transport, e.g.
        httpx-aiohttp's); it is not closed by :meth:`close`. By default the
        client makes its own, with up to 1000 connections.
    :param timeout: httpx timeout (seconds or ``httpx.Timeout``) for connect,
        write, pool and, unless ``idle_timeout`` is set, each read. Default 600.
    :param max_retries: retries before any content arrived (default 2).
    :param idle_timeout: raise :class:`turbosse.IdleTimeout` when no byte
        arrives for this many seconds (also while waiting for the response
        headers). Default None: the read timeout is ``timeout``.
    :param headers: extra request headers.
    :param format: the ChatDecoder format (default ``"auto"``).
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
        with self.stream(messages, model=model, handler=handler, **params) as s:
            return s.result()

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
        async with self.stream(messages, model=model, handler=handler, **params) as s:
            return await s.result()

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
