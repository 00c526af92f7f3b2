"""StreamHandler callbacks, the one engine that drives them from decoded
deltas, and accumulate/aaccumulate, which feed an iterable (or async
iterable) of byte chunks through a decoder into that engine.

The helpers own the failure story: whatever goes wrong, the caller gets an
exception carrying ``partial``, the ChatResult accumulated so far.

- the byte source fails (network error, timeout, ...): :class:`StreamInterrupted`
  with ``partial`` and the original exception as ``cause``/``__cause__``;
- the server reports an error in the stream: the decoder's
  :class:`StreamError`, its deltas folded in and ``partial`` set;
- malformed data or an oversized event: :class:`MalformedChunk` /
  :class:`EventTooLarge`, likewise with ``partial``;
- the bytes end before the stream is complete (``ChatDecoder.complete`` is
  false: no end marker, and not every started choice has a finish reason;
  this includes a body cut inside an event and an empty body):
  :class:`StreamInterrupted` with ``cause`` None and ``partial``.

``on_complete`` is called only for a complete stream; ``on_error`` is called with that exception before it is raised. Cancellation
(``asyncio.CancelledError``, ``KeyboardInterrupt``) is not wrapped: it
propagates unchanged, as cancellation must.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from operator import attrgetter
from types import FunctionType
from typing import Any, Protocol

from ._accumulator import ChatAccumulator, ChatResult, ToolCall
from ._delta import Delta
from ._errors import JSONStreamError, SSEError, StreamInterrupted
from ._impl import ChatDecoder, JSONStream
from ._jsonstream_common import JSONEvent

__all__ = ["Callbacks", "Engine", "StreamHandler", "aaccumulate", "accumulate"]


class Callbacks(Protocol):
    """What ``handler=`` takes: the methods of :class:`StreamHandler`. At run
    time every method is optional (any object with some of them works);
    subclassing StreamHandler gives type checkers all of them."""

    def on_start(self) -> None: ...
    def on_deltas(self, deltas: list[Delta]) -> None: ...
    def on_token(self, text: str) -> None: ...
    def on_reasoning(self, text: str) -> None: ...
    def on_tool_call(self, call: ToolCall) -> None: ...
    def on_tool_call_delta(
        self, call_index: int, name: str | None, partial_value: Any, events: list[JSONEvent]
    ) -> None: ...
    def on_json_content(self, partial_value: Any, events: list[JSONEvent]) -> None: ...
    def on_complete(self, result: ChatResult) -> None: ...
    def on_error(self, exc: BaseException) -> None: ...


class StreamHandler:
    """Subclass and override any of these; every method is optional (any
    object with some of them works too).

    - ``on_start()``: the first delta arrived (the response has started);
    - ``on_deltas(deltas)``: every list of :class:`Delta` tuples as it is
      delivered, any choice, before the per-kind methods below: one call per
      read of the body (the turbosse transport calls it where it reads, so a
      timestamp taken here is the arrival time); the list is not to be kept;
    - ``on_token(text)``: answer text of choice 0, as it arrives;
    - ``on_reasoning(text)``: reasoning/thinking text of choice 0;
    - ``on_tool_call(call)``: a :class:`ToolCall` is complete (a later call
      started, its choice finished, or the stream ended), any choice;
    - ``on_tool_call_delta(call_index, name, partial_value, events)``: the
      arguments of tool call ``call_index`` (its position in choice 0's
      ``tool_calls``) grew: ``partial_value`` is what they hold so far and
      ``events`` the :class:`JSONEvent` list of the new fragment, from a
      :class:`JSONStream` per call (defining this method turns it on);
      arguments that stop being JSON are no longer reported;
    - ``on_json_content(partial_value, events)``: choice 0's answer text,
      parsed as JSON while it grows (``response_format`` JSON output),
      likewise; text that is not JSON is no longer reported;
    - ``on_complete(result)``: the final :class:`ChatResult`;
    - ``on_error(exc)``: the stream failed; ``exc.partial`` holds the result
      so far. The exception is raised after this returns.

    Choices other than 0 (n > 1) are in the result and in the deltas.
    """

    def on_start(self) -> None:
        pass

    def on_deltas(self, deltas: list[Delta]) -> None:
        pass

    def on_token(self, text: str) -> None:
        pass

    def on_reasoning(self, text: str) -> None:
        pass

    def on_tool_call(self, call: ToolCall) -> None:
        pass

    def on_tool_call_delta(
        self, call_index: int, name: str | None, partial_value: Any, events: list[JSONEvent]
    ) -> None:
        pass

    def on_json_content(self, partial_value: Any, events: list[JSONEvent]) -> None:
        pass

    def on_complete(self, result: ChatResult) -> None:
        pass

    def on_error(self, exc: BaseException) -> None:
        pass


def _noop(*args: Any) -> None:
    pass


_CALLBACKS = ("on_start", "on_deltas", "on_token", "on_reasoning", "on_tool_call", "on_tool_call_delta",
              "on_json_content", "on_complete", "on_error")
#: handler class -> (its callback attributes when they were looked at, the
#: callbacks its instances have other than StreamHandler's no-ops, or None
#: where an instance alone can say: see _class_defined)
_DEFINED: dict[type, tuple[tuple[Any, ...], tuple[str, ...] | None]] = {}
_callback_attrs = attrgetter(*_CALLBACKS)


def _class_defined(cls: type) -> tuple[str, ...] | None:
    """The callbacks ``cls`` defines as plain functions (not StreamHandler's);
    None if its instances may answer otherwise than their class (a
    ``__getattr__``, a slot, a property or any other descriptor)."""
    if hasattr(cls, "__getattr__"):
        return None
    names = []
    for name in _CALLBACKS:
        attr = getattr(cls, name, None)
        if attr is None or attr is getattr(StreamHandler, name):
            continue
        if not isinstance(attr, FunctionType):
            return None
        names.append(name)
    return tuple(names)


def _defined(handler: Any) -> tuple[str, ...]:
    """The callbacks ``handler`` has, StreamHandler's no-ops left out: found
    once per class, and per object only where the object may hold its own."""
    cls = type(handler)
    try:
        attrs = _callback_attrs(cls)  # what the class has now (it may have been patched since)
    except AttributeError:  # not every callback: looked at each time
        attrs = None
    cached = _DEFINED.get(cls)
    if attrs is not None and cached is not None and cached[0] == attrs:
        names = cached[1]
    else:
        names = _class_defined(cls)
        if attrs is not None and len(_DEFINED) < 1024:
            _DEFINED[cls] = (attrs, names)
    if names is not None:
        own = getattr(handler, "__dict__", None)
        if not own or own.keys().isdisjoint(_CALLBACKS):
            return names
    return tuple(name for name in _CALLBACKS if _callback(handler, name) is not _noop)


def _callback(handler: Any, name: str) -> Callable[..., None]:
    fn = getattr(handler, name, None)
    if fn is None or getattr(fn, "__func__", None) is getattr(StreamHandler, name):
        return _noop  # absent, or StreamHandler's own no-op
    return fn  # type: ignore[no-any-return]


def mark_handler_error(exc: BaseException) -> None:
    """Note that ``exc`` was raised by a handler's callback, so that a client
    that maps its transport's errors (an ``httpx.HTTPError`` becomes
    StreamInterrupted) lets it through unchanged: a handler that forwards
    tokens over httpx may fail with one of its own."""
    try:
        exc.__dict__["_turbosse_handler"] = True
    except (AttributeError, TypeError):  # pragma: no cover - an exception without a __dict__
        pass


def raised_by_handler(exc: BaseException) -> bool:
    """Whether a handler's callback raised ``exc`` (:func:`mark_handler_error`)."""
    return bool(getattr(exc, "_turbosse_handler", False))


def _is_role_only(d: Delta) -> bool:
    """Nothing but a role, or a role's opening usage (Anthropic's
    message_start carries the input tokens): what a retry would send again."""
    _index, role, content, reasoning, refusal, tool_calls, finish_reason, usage = d
    return (content is None and reasoning is None and refusal is None and tool_calls is None
            and finish_reason is None and (role is not None or usage is None))


class Engine:
    """One stream's accumulator and handler: decoded deltas in, the deltas to
    hand on out, the handler's methods called on the way.

    :param handler: a :class:`Callbacks` object (or None); its methods are
        looked up once (which ones a class defines, once per class), absent
        ones skipped.
    :param hold_role_only: hold back leading deltas that carry only a role
        (with or without usage: Anthropic's opening message_start) until a
        delta with content follows (or the stream ends), so a caller
        that retries a failed attempt never sees a duplicate. ``delivered``
        says whether anything went out; until then each :meth:`attach` of a
        new decoder starts the result afresh.

    ``passthrough`` is true once deltas are delivered and nobody listens: a
    caller's hot loop may then fold deltas in with ``acc.add`` itself.
    """

    __slots__ = ("acc", "decoder", "held", "delivered", "started", "passthrough",
                 "on_start", "on_deltas", "on_token", "on_reasoning", "on_tool_call", "on_complete", "on_error",
                 "wants_text", "wants_calls", "on_tool_call_delta", "on_json_content", "content_json")

    def __init__(
        self,
        handler: Callbacks | None = None,
        *,
        hold_role_only: bool = False,
    ) -> None:
        self.on_start = self.on_deltas = self.on_token = self.on_reasoning = _noop
        self.on_tool_call = self.on_tool_call_delta = self.on_json_content = _noop
        self.on_complete = self.on_error = _noop
        if handler is not None:
            for name in _defined(handler):
                setattr(self, name, getattr(handler, name))
        self.acc = self._accumulator()
        self.content_json: Any = None
        self.decoder: Any = None
        self.held: list[Delta] = []
        self.delivered = not hold_role_only
        self.started = False
        # skip the per-delta work nobody listens to
        self.wants_text = (self.on_token is not _noop or self.on_reasoning is not _noop
                           or self.on_json_content is not _noop)
        self.wants_calls = self.on_tool_call is not _noop or self.on_tool_call_delta is not _noop
        if self.on_json_content is not _noop:
            self.content_json = JSONStream(max_size=None)
        self.passthrough = self.delivered and not self._listening()

    def attach(self, decoder: Any) -> None:
        """Decode with ``decoder`` from now on (a new attempt); while nothing
        was delivered, the result starts afresh."""
        again = self.decoder is not None  # the first attempt finds everything fresh
        self.decoder = decoder
        if again and not self.delivered:
            self.acc = self._accumulator()
            self.held = []
            if self.content_json is not None:
                self.content_json = JSONStream(max_size=None)

    def _accumulator(self) -> ChatAccumulator:
        return ChatAccumulator(follow_arguments=self.on_tool_call_delta is not _noop)

    def deliver(self, deltas: list[Delta]) -> list[Delta]:
        """Fold ``deltas`` in, call the handler; return the deltas to hand on."""
        if not self.delivered:
            if all(_is_role_only(d) for d in deltas):
                self.held.extend(deltas)
                return []
            deltas = self._release(deltas)
        if deltas:
            self.acc.extend(deltas)
            self._notify(deltas)
        return deltas

    def _release(self, deltas: list[Delta]) -> list[Delta]:
        self.delivered = True
        self.passthrough = not self._listening()
        held, self.held = self.held, []
        return held + deltas if held else deltas

    def _listening(self) -> bool:
        return (self.wants_text or self.wants_calls or self.on_start is not _noop
                or self.on_deltas is not _noop)  # fmt: skip

    def _notify(self, deltas: list[Delta]) -> None:
        try:
            if not self.started:
                self.started = True
                self.on_start()
            self.on_deltas(deltas)
            if self.wants_text:
                for d in deltas:
                    index, _role, content, reasoning, _refusal, _calls, _finish, _usage = d
                    if index == 0:
                        if content is not None:
                            self.on_token(content)
                            if self.content_json is not None:
                                self._json_content(content)
                        if reasoning is not None:
                            self.on_reasoning(reasoning)
            if self.wants_calls:
                for index, grown, value, events in self.acc._drain_grown():
                    if index == 0:
                        self.on_tool_call_delta(grown.position, grown.name, value, events)
                for _, call in self.acc._drain_completed():
                    self.on_tool_call(call)
        except BaseException as exc:  # the handler's own: whatever its type, it is not the stream's
            mark_handler_error(exc)
            raise

    def _json_content(self, text: str) -> None:
        try:
            events = self.content_json.feed(text)
        except JSONStreamError:
            self.content_json = None  # the answer is not JSON: stop following
            return
        self.on_json_content(self.content_json.value(), events)

    def feed(self, chunk: bytes) -> list[Delta]:
        """Decode a chunk and :meth:`deliver` its deltas; a decoder error is
        raised after the deltas decoded before it are delivered."""
        try:
            deltas = self.decoder.feed(chunk)
        except SSEError as exc:
            self.deliver(getattr(exc, "deltas", None) or [])
            raise
        return self.deliver(deltas)

    def end(self) -> list[Delta]:
        """The body ended: the decoder's last deltas and whatever was held back."""
        deltas: list[Delta] = self.decoder.close()
        if not self.delivered:
            deltas = self._release(deltas)
        if deltas:
            self.acc.extend(deltas)
            self._notify(deltas)
        return deltas

    def result(self) -> ChatResult:
        """The result so far, with the decoder's model and id."""
        acc, decoder = self.acc, self.decoder
        if decoder is not None:
            acc.model = decoder.model or acc.model
            acc.id = decoder.id or acc.id
            acc.stop_reasons = decoder.stop_reasons
        return acc.result()

    def complete(self) -> ChatResult:
        """The stream ended well: the last tool calls, on_complete, the result."""
        if self.wants_calls:
            for _, call in self.acc._drain_completed(final=True):
                self.on_tool_call(call)
        result = self.result()
        self.on_complete(result)
        return result

    def incomplete(self) -> StreamInterrupted | None:
        """After :meth:`end`: the error for a body that ended cleanly before
        the stream was complete, else None: ``ChatDecoder.complete`` (the
        format's end marker was seen, or every choice that started has a
        finish reason, for servers that send no end marker)."""
        decoder = self.decoder
        if decoder.complete:
            return None
        marker = _END_MARKERS.get(decoder.format, "[DONE]")
        return StreamInterrupted(
            None, self.result(), f"the stream ended before it was complete: no {marker} and no finish_reason"
        )

    def fail(self, exc: SSEError) -> SSEError:
        """``exc`` with ``partial`` set, after on_error has seen it."""
        exc.partial = self.result()  # type: ignore[attr-defined]
        self.on_error(exc)
        return exc

    def interrupt(
        self, exc: BaseException, make: Callable[[BaseException, ChatResult], SSEError] = StreamInterrupted
    ) -> SSEError:
        """The error for a failed byte source (``make(exc, partial)``, by
        default a :class:`StreamInterrupted`), after on_error has seen it. The
        maker is passed here, not kept: a stream's bound method kept by its
        own engine would be a reference cycle, left for the garbage collector."""
        err = make(exc, self.result())
        self.on_error(err)
        return err


#: The end marker a format's stream ends with, for error messages.
_END_MARKERS = {
    "anthropic": "message_stop",
    "openai-responses": "response.completed",
    "cohere": "message-end",
    "gemini-interactions": "interaction.completed",
    "replicate": "done event",
    "gemini": "end marker",
    "watsonx": "end marker",
}


def accumulate(
    chunks: Iterable[bytes],
    handler: Callbacks | None = None,
    *,
    format: str = "auto",
    on_malformed: str = "raise",
    decoder: Any = None,
) -> ChatResult:
    """Decode an iterable of byte chunks (e.g. ``response.iter_bytes()``),
    call ``handler``'s methods, and return the :class:`ChatResult`.

    ``format`` and ``on_malformed`` configure the ChatDecoder made here;
    pass ``decoder`` to use your own instead.
    """
    engine = Engine(handler)
    engine.attach(decoder if decoder is not None else ChatDecoder(format, on_malformed=on_malformed))
    it = chunks.__iter__()
    while True:
        try:
            chunk = it.__next__()
        except StopIteration:
            break
        except Exception as exc:  # the byte source failed
            raise engine.interrupt(exc) from exc
        try:
            engine.feed(chunk)
        except SSEError as exc:
            raise engine.fail(exc) from None
    engine.end()
    truncated = engine.incomplete()
    if truncated is not None:
        raise engine.fail(truncated)
    return engine.complete()


async def aaccumulate(
    chunks: AsyncIterable[bytes],
    handler: Callbacks | None = None,
    *,
    format: str = "auto",
    on_malformed: str = "raise",
    decoder: Any = None,
) -> ChatResult:
    """:func:`accumulate` for an async iterable (e.g. ``response.aiter_bytes()``).
    The handler's methods are plain (not async) functions."""
    engine = Engine(handler)
    engine.attach(decoder if decoder is not None else ChatDecoder(format, on_malformed=on_malformed))
    it = chunks.__aiter__()
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:  # the byte source failed
            raise engine.interrupt(exc) from exc
        try:
            engine.feed(chunk)
        except SSEError as exc:
            raise engine.fail(exc) from None
    engine.end()
    truncated = engine.incomplete()
    if truncated is not None:
        raise engine.fail(truncated)
    return engine.complete()
