"""StreamHandler callbacks and the helpers that drive decoder + accumulator +
handler from an iterable (or async iterable) of byte chunks.

The helpers own the failure story: whatever goes wrong, the caller gets an
exception carrying ``partial``, the ChatResult accumulated so far.

- the byte source fails (network error, timeout, ...): :class:`StreamInterrupted`
  with ``partial`` and the original exception as ``cause``/``__cause__``;
- the server reports an error in the stream: the decoder's
  :class:`StreamError`, its deltas folded in and ``partial`` set;
- malformed data or an oversized event: :class:`MalformedChunk` /
  :class:`EventTooLarge`, likewise with ``partial``.

``on_error`` is called with that exception before it is raised. Cancellation
(``asyncio.CancelledError``, ``KeyboardInterrupt``) is not wrapped: it
propagates unchanged, as cancellation must.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from ._accumulator import ChatAccumulator, ChatResult, ToolCall
from ._decoder import ChatDecoder
from ._errors import SSEError, StreamInterrupted

__all__ = ["StreamHandler", "accumulate", "aaccumulate"]


class StreamHandler:
    """Subclass and override any of these; every method is optional (any
    object with some of them works too).

    - ``on_start()``: the first delta arrived (the response has started);
    - ``on_token(text)``: answer text of choice 0, as it arrives;
    - ``on_reasoning(text)``: reasoning/thinking text of choice 0;
    - ``on_tool_call(call)``: a :class:`ToolCall` is complete (a later call
      started, its choice finished, or the stream ended), any choice;
    - ``on_complete(result)``: the final :class:`ChatResult`;
    - ``on_error(exc)``: the stream failed; ``exc.partial`` holds the result
      so far. The exception is raised after this returns.

    Choices other than 0 (n > 1) are in the result and in the deltas.
    """

    def on_start(self) -> None:
        pass

    def on_token(self, text: str) -> None:
        pass

    def on_reasoning(self, text: str) -> None:
        pass

    def on_tool_call(self, call: ToolCall) -> None:
        pass

    def on_complete(self, result: ChatResult) -> None:
        pass

    def on_error(self, exc: BaseException) -> None:
        pass


def _noop(*args: Any) -> None:
    pass


class _Driver:
    """One stream's decoder, accumulator and resolved handler methods."""

    def __init__(self, handler: Any, decoder: Any, format: str, on_malformed: str) -> None:
        self.decoder = decoder if decoder is not None else ChatDecoder(format, on_malformed=on_malformed)
        self.acc = ChatAccumulator()
        self.started = False

        def method(name: str) -> Callable[..., None]:
            fn = getattr(handler, name, None)
            if fn is None or getattr(fn, "__func__", None) is getattr(StreamHandler, name):
                return _noop  # absent, or StreamHandler's own no-op
            return fn  # type: ignore[no-any-return]

        self.on_start = method("on_start")
        self.on_token = method("on_token")
        self.on_reasoning = method("on_reasoning")
        self.on_tool_call = method("on_tool_call")
        self.on_complete = method("on_complete")
        self.on_error = method("on_error")
        # skip the per-delta work nobody listens to
        self.wants_text = self.on_token is not _noop or self.on_reasoning is not _noop
        self.wants_calls = self.on_tool_call is not _noop

    def feed(self, chunk: Any) -> None:
        try:
            deltas = self.decoder.feed(chunk)
        except SSEError as exc:
            self.deltas(getattr(exc, "deltas", None) or [])
            raise
        self.deltas(deltas)

    def deltas(self, deltas: list[Any]) -> None:
        if not deltas:
            return
        if not self.started:
            self.started = True
            self.on_start()
        self.acc.extend(deltas)
        if self.wants_text:
            for d in deltas:
                if d[0] == 0:
                    if d[2] is not None:
                        self.on_token(d[2])
                    if d[3] is not None:
                        self.on_reasoning(d[3])
        if self.wants_calls:
            for _, call in self.acc._drain_completed():
                self.on_tool_call(call)

    def partial(self) -> ChatResult:
        self.acc.model, self.acc.id = self.decoder.model, self.decoder.id
        return self.acc.result()

    def finish(self) -> ChatResult:
        self.deltas(self.decoder.close())
        if self.wants_calls:
            for _, call in self.acc._drain_completed(final=True):
                self.on_tool_call(call)
        result = self.partial()
        self.on_complete(result)
        return result

    def fail(self, exc: Exception) -> SSEError:
        """The exception to raise for a failure, with ``partial`` set."""
        if isinstance(exc, SSEError) and not isinstance(exc, StreamInterrupted):
            err: SSEError = exc
            err.partial = self.partial()  # type: ignore[attr-defined]
        else:
            err = StreamInterrupted(exc, self.partial())
        self.on_error(err)
        return err


def accumulate(
    chunks: Iterable[bytes],
    handler: Any = None,
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
    drv = _Driver(handler, decoder, format, on_malformed)
    it = iter(chunks)
    while True:
        try:
            chunk = next(it)
        except StopIteration:
            break
        except Exception as exc:  # the byte source failed
            raise drv.fail(exc) from exc
        try:
            drv.feed(chunk)
        except SSEError as exc:
            raise drv.fail(exc) from None
    return drv.finish()


async def aaccumulate(
    chunks: AsyncIterable[bytes],
    handler: Any = None,
    *,
    format: str = "auto",
    on_malformed: str = "raise",
    decoder: Any = None,
) -> ChatResult:
    """:func:`accumulate` for an async iterable (e.g. ``response.aiter_bytes()``).
    The handler's methods are plain (not async) functions."""
    drv = _Driver(handler, decoder, format, on_malformed)
    it = chunks.__aiter__()
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:  # the byte source failed
            raise drv.fail(exc) from exc
        try:
            drv.feed(chunk)
        except SSEError as exc:
            raise drv.fail(exc) from None
    return drv.finish()
