"""The direct route: the SDK makes the request (its auth, base URL, headers,
retries before the stream starts), turbosse reads the body.

``with_streaming_response.create(stream=True, ...)`` is the SDK's public way
to get the raw response of a streaming call; its bytes go to a
:class:`turbosse.ChatDecoder` and a :class:`turbosse.ChatAccumulator`. The
SDK's objects are never built, and the body is read raw unless it has a
Content-Encoding to undo. Errors before the stream are the SDK's (its
``APIStatusError`` subclasses, ``APIConnectionError``); once the body is being
read they are turbosse's, each with ``partial``: :class:`turbosse.StreamError`
for an error the server reports in the stream, :class:`turbosse.MalformedChunk`
/ :class:`turbosse.EventTooLarge` for bad data, and
:class:`turbosse.StreamInterrupted` when reading the body fails or the body
ends before the stream is complete. At the format's end marker the rest of
the body gets END_GRACE seconds, as in the chat clients, then the response is
closed: a server that holds the body open cannot hold the stream. The
handler engine is the one ``turbosse.accumulate`` uses (same callbacks, same
failure story).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ChatDecoder, ChatResult, Delta, SSEError
from .._handler import Callbacks, Engine
from .._http import afinish_body, aiter_body, finish_body, iter_body
from .._stream import AsyncBatches, AsyncDeltaStream, Batches, DeltaStream

__all__ = ["AsyncDirectStream", "DirectStream", "streaming"]


def streaming(create: Callable[..., Any], params: dict[str, Any]) -> Callable[[], Any]:
    """``create(stream=True, **params)``, to be called later; ``stream=True``
    among ``params`` is accepted (it is what is sent), any other value is a
    ValueError now."""
    params = dict(params)
    if params.pop("stream", True) is not True:
        raise ValueError("a direct stream always streams: stream must be True or left out")
    return lambda: create(stream=True, **params)


class _Base:
    _result: ChatResult | None = None

    def __init__(self, open_response: Callable[[], Any], format: str, handler: Callbacks | None = None) -> None:
        self._open = open_response
        self._engine = Engine(handler)
        self._engine.attach(ChatDecoder(format))
        #: The SDK's raw response (``APIResponse``) once the request is made.
        self.response: Any = None

    def _feed(self, chunk: bytes) -> tuple[list[Delta], SSEError | None]:
        """The deltas of ``chunk``, delivered; and the decoder's error, if it
        failed, raised by the caller once those deltas (the ones before the
        error) have been yielded, as the chat clients do."""
        engine = self._engine
        try:
            deltas: list[Delta] = engine.decoder.feed(chunk)
        except SSEError as exc:
            return engine.deliver(getattr(exc, "deltas", None) or []), exc
        if engine.passthrough:  # nobody listens: one decoder call, one accumulator call
            engine.acc.extend(deltas)
            return deltas, None
        return engine.deliver(deltas), None

    def _end(self) -> list[Delta]:
        engine = self._engine
        late = engine.end()
        truncated = engine.incomplete()
        if truncated is not None:
            raise engine.fail(truncated)
        self._result = engine.complete()
        return late


class DirectStream(_Base, DeltaStream):
    """Deltas of one streaming call (from ``turbosse.openai.stream`` or
    ``turbosse.anthropic.stream``). The request is made on first iteration.

    Iterate it for :class:`turbosse.Delta` tuples, or :attr:`text_stream` for
    the text of choice 0; :meth:`result` reads to the end and returns the
    :class:`turbosse.ChatResult`. Use it as a context manager, or call
    :meth:`close`, to release the connection if you stop early.
    """

    def _batches(self, quiet: bool = False) -> Batches:
        with self._open() as response:
            self.response = response
            chunks = iter_body(response.http_response)
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except Exception as exc:  # the body failed: the SDK's transport error
                    raise self._engine.interrupt(exc) from exc
                deltas, error = self._feed(chunk)
                yield deltas
                if error is not None:
                    raise self._engine.fail(error)
                if self._engine.decoder.done:  # the end marker: a body held open cannot hold the stream
                    try:
                        finish_body(response.http_response, chunks)
                    except Exception:  # the SDK's HTTP library failing after the end: complete regardless
                        pass
                    break
            yield self._end()


class AsyncDirectStream(_Base, AsyncDeltaStream):
    """The async twin of :class:`DirectStream`: ``async for``, ``async with``,
    ``await result()``, ``await aclose()``."""

    async def _batches(self, quiet: bool = False) -> AsyncBatches:
        async with self._open() as response:
            self.response = response
            chunks = aiter_body(response.http_response).__aiter__()
            while True:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except Exception as exc:  # the body failed: the SDK's transport error
                    raise self._engine.interrupt(exc) from exc
                deltas, error = self._feed(chunk)
                yield deltas
                if error is not None:
                    raise self._engine.fail(error)
                if self._engine.decoder.done:  # see DirectStream
                    try:
                        await afinish_body(response.http_response, chunks)
                    except Exception:  # see DirectStream
                        pass
                    break
            yield self._end()
