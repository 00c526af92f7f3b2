"""The exceptions turbosse raises; every one derives from SSEError."""

from __future__ import annotations

from typing import Any


class SSEError(Exception):
    """Base class of every error raised by turbosse."""


def printable(text: str) -> str:
    """``text`` with whitespace runs as one space and other control
    characters escaped (``\\x1b``), for a message that quotes what a server
    or a file sent: one line, and nothing in it can drive a terminal."""
    text = " ".join(text.split())
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class EventTooLarge(SSEError):
    """A line or an event's data grew past ``max_event_bytes``.

    ``limit`` is the limit that was hit, ``what`` says whether a single line or an
    event's accumulated data crossed it, and ``events`` holds the events that
    were completed by the same ``feed()`` call before the limit was hit, so
    nothing already parsed is lost.
    """

    def __init__(self, what: str, limit: int, events: list[Any]) -> None:
        super().__init__(
            f"{what} exceeds max_event_bytes={limit}; raise the limit "
            "(or pass max_event_bytes=None) if such events are expected"
        )
        self.what = what
        self.limit = limit
        self.events = events

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.what, self.limit, self.events))


class StreamError(SSEError):
    """The server reported an error inside the stream: a payload with a
    top-level ``"error"`` object (OpenAI, vLLM, OpenRouter), an ``event: error``
    (Anthropic, Groq) or a Responses API ``response.failed``.

    ``message``, ``type`` and ``code`` are the provider's (None when absent),
    ``error`` the provider's error object as sent. ``deltas`` holds the deltas
    decoded before the error in the same ``feed()`` call, including any the
    error chunk itself carried (OpenRouter sends usage with it); deltas from
    earlier calls were already returned. ``partial`` is the ChatResult so far
    when the error passed through a StreamHandler/accumulating helper, else None.
    """

    def __init__(
        self,
        message: str | None,
        type: str | None = None,
        code: Any = None,
        error: Any = None,
        deltas: list[Any] | None = None,
        partial: Any = None,
    ) -> None:
        detail = printable(message) if message else "the server reported an error"
        tags = ", ".join(f"{k}={v!r}" for k, v in (("type", type), ("code", code)) if v is not None)
        super().__init__(f"{detail} ({tags})" if tags else detail)
        self.message = message
        self.type = type
        self.code = code
        self.error = error
        self.deltas = [] if deltas is None else deltas
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.message, self.type, self.code, self.error, self.deltas, self.partial),
        )


class MalformedChunk(SSEError):
    """An event's data is not a chunk of the expected format: not JSON, not a
    JSON object, or (with ``format="auto"``) no known format.

    ``event_number`` counts the stream's dispatched events from 1, ``snippet``
    is the start of the offending data, ``deltas`` the deltas decoded before
    it in the same ``feed()`` call, ``partial`` as for StreamError. Pass
    ``on_malformed="skip"`` to ChatDecoder to skip and count such events
    instead.
    """

    def __init__(
        self,
        event_number: int,
        snippet: str,
        reason: str = "invalid JSON",
        deltas: list[Any] | None = None,
        partial: Any = None,
    ) -> None:
        super().__init__(f"event {event_number}: {reason}: {snippet!r}")
        self.event_number = event_number
        self.snippet = snippet
        self.reason = reason
        self.deltas = [] if deltas is None else deltas
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.event_number, self.snippet, self.reason, self.deltas, self.partial),
        )


class StreamInterrupted(SSEError):
    """The stream ended before it was complete. Either the byte source failed
    midway (a network error, a timeout, a cancelled read): ``__cause__`` (also
    ``cause``) is the original exception; or the body ended cleanly without
    the format's end marker (``[DONE]``, ``message_stop``,
    ``response.completed``, ...) and without a finish reason on every choice
    that started (a truncated body, an empty 200 response): ``cause`` is None.
    ``partial`` is the ChatResult accumulated so far."""

    def __init__(self, cause: BaseException | None, partial: Any = None, message: str | None = None) -> None:
        super().__init__(message or f"stream interrupted: {type(cause).__name__}: {cause}")
        self.cause = cause
        self.partial = partial
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.cause, self.partial, self.message))


class APIStatusError(SSEError):
    """The server answered with something other than an event stream: an
    error status (429, 503, 401, ...) or a 2xx response whose content type is
    not ``text/event-stream``.

    ``status_code``, ``reason``, ``content_type``; ``url`` the URL requested;
    ``message``, ``type`` and ``code`` the provider's error as its body gave
    them (OpenAI's and Anthropic's ``{"error": {...}}``, FastAPI's
    ``{"detail": ...}``; None when the body had none); ``body`` holds at most
    500 characters of the response body; ``retry_after`` is the delay in
    seconds the server asked for (``retry-after-ms`` or ``Retry-After`` as
    seconds or an HTTP-date), else None; ``request_id`` the ``x-request-id``
    header, if any; ``partial`` the ChatResult so far (empty: nothing had
    arrived) when it passed through a client.
    """

    def __init__(
        self,
        status_code: int,
        body: str,
        *,
        reason: str = "",
        content_type: str = "",
        retry_after: float | None = None,
        request_id: str | None = None,
        url: str | None = None,
        message: str | None = None,
        type: str | None = None,
        code: Any = None,
    ) -> None:
        what = f"HTTP {status_code}" + (f" {reason}" if reason else "")
        if url:
            what += f" from {url}"
        if 200 <= status_code < 300:
            what += f": expected a text/event-stream response, got content-type {content_type!r}"
        tags = ", ".join(f"{k}={v!r}" for k, v in (("type", type), ("code", code)) if v is not None)
        detail = printable(message if message else body)
        if detail and tags:
            detail += f" ({tags})"
        super().__init__(f"{what}: {detail}" if detail else what)
        self.status_code = status_code
        self.body = body
        self.reason = reason
        self.content_type = content_type
        self.retry_after = retry_after
        self.request_id = request_id
        self.url = url
        self.message = message
        self.type = type
        self.code = code
        self.partial: Any = None

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "reason": self.reason,
            "content_type": self.content_type,
            "retry_after": self.retry_after,
            "request_id": self.request_id,
            "url": self.url,
            "message": self.message,
            "type": self.type,
            "code": self.code,
        }
        return (_rebuild, (type(self), (self.status_code, self.body), kwargs))


class IdleTimeout(StreamInterrupted):
    """No byte arrived for ``timeout`` seconds (the client's ``idle_timeout``).

    A StreamInterrupted: ``partial`` is the ChatResult received before the
    silence (empty when the silence came before any content) and ``cause``
    the transport's timeout exception.
    """

    def __init__(self, timeout: float, cause: BaseException, partial: Any = None) -> None:
        super().__init__(cause, partial)
        # the client's idle_timeout, or its read timeout when none was set
        self.args = (f"no bytes received for {timeout:g} s (idle timeout)",)
        self.timeout = timeout

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.timeout, self.cause, self.partial))


class DeadlineExceeded(StreamInterrupted):
    """The response did not end within the client's ``deadline`` seconds
    (counted from sending the request, across the whole body, however
    steadily bytes arrive). ``partial`` is the ChatResult received by then."""

    def __init__(self, deadline: float, partial: Any = None) -> None:
        super().__init__(None, partial, f"the response did not end within deadline={deadline:g} s")
        self.deadline = deadline

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.deadline, self.partial))


class TooManyBytesWithoutEvent(StreamInterrupted):
    """More than ``limit`` bytes of body (after decompression) arrived without
    completing one event: blank lines, comments, or a decompression bomb.
    ``partial`` is the ChatResult received before them."""

    def __init__(self, limit: int, partial: Any = None) -> None:
        super().__init__(
            None, partial,
            f"more than max_bytes_without_event={limit} bytes of body arrived without an event "
            "(blank lines, comments or a decompression bomb)",
        )  # fmt: skip
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.limit, self.partial))


# -- partial JSON ---------------------------------------------------------------


class JSONStreamError(SSEError):
    """JSONStream input that is not JSON, or that crossed a limit.

    Raised as soon as the text so far can no longer begin a valid document.
    ``offset`` is the position of the offending character, counted in
    characters (code points) from the start of the document; ``reason`` says
    what was wrong; ``limit`` is the value of the limit that was hit (None for
    a syntax error); ``events`` holds the events the same ``feed()`` produced
    before the error. The stream's ``value()`` still returns the document up
    to the error.
    """

    def __init__(
        self, reason: str, offset: int, limit: int | None = None, events: list[Any] | None = None
    ) -> None:
        super().__init__(f"{reason} at offset {offset}")
        self.reason = reason
        self.offset = offset
        self.limit = limit
        self.events = [] if events is None else events

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.offset, self.limit, self.events))


def _rebuild(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)
