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
ends before the stream is complete. The handler engine is the one
``turbosse.accumulate`` uses (same callbacks, same failure story).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .. import ChatDecoder, ChatResult, Delta, SSEError
from .._handler import Callbacks, Engine
from .._http import aiter_body, iter_body

__all__ = ["AsyncDirectStream", "DirectStream"]


def _finished(result: ChatResult | None) -> ChatResult:
    if result is None:
        raise SSEError("the stream was closed before its end; .partial has what was read")
    return result


class _Base:
    def __init__(self, open_response: Callable[[], Any], format: str, handler: Callbacks | None) -> None:
        self._open = open_response
        self._engine = Engine(handler)
        self._engine.attach(ChatDecoder(format))
        self._result: ChatResult | None = None
        #: The SDK's raw response (``APIResponse``) once the request is made.
        self.response: Any = None

    @property
    def partial(self) -> ChatResult:
        """The result accumulated so far (the whole result once finished)."""
        return self._result if self._result is not None else self._engine.result()

    def _feed(self, chunk: bytes) -> list[Delta]:
        engine = self._engine
        if engine.passthrough:  # nobody listens: one decoder call, one accumulator call per delta
            try:
                deltas: list[Delta] = engine.decoder.feed(chunk)
            except SSEError as exc:
                engine.deliver(getattr(exc, "deltas", None) or [])
                raise engine.fail(exc) from None
            add = engine.acc.add
            for d in deltas:
                add(d)
            return deltas
        try:
            return engine.feed(chunk)
        except SSEError as exc:
            raise engine.fail(exc) from None

    def _end(self) -> list[Delta]:
        engine = self._engine
        late = engine.end()
        truncated = engine.incomplete()
        if truncated is not None:
            raise engine.fail(truncated)
        self._result = engine.complete()
        return late


class DirectStream(_Base):
    """Deltas of one streaming call (from ``turbosse.openai.stream`` or
    ``turbosse.anthropic.stream``). The request is made on first iteration.

    Iterate it for :class:`turbosse.Delta` tuples, or :attr:`text_stream` for
    the text of choice 0; :meth:`result` reads to the end and returns the
    :class:`turbosse.ChatResult`. Use it as a context manager, or call
    :meth:`close`, to release the connection if you stop early.
    """

    def __init__(self, open_response: Callable[[], Any], format: str, handler: Callbacks | None = None) -> None:
        super().__init__(open_response, format, handler)
        self._gen: Iterator[Delta] | None = None

    def __iter__(self) -> Iterator[Delta]:
        if self._gen is None:
            self._gen = self._deltas()
        return self._gen

    def _deltas(self) -> Iterator[Delta]:
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
                yield from self._feed(chunk)
            yield from self._end()

    @property
    def text_stream(self) -> Iterator[str]:
        """The content fragments of choice 0, as they arrive."""
        for d in self:
            if d[2] is not None and d[0] == 0:
                yield d[2]

    def result(self) -> ChatResult:
        """Read the rest of the stream; the final ChatResult."""
        for _ in self:
            pass
        return _finished(self._result)

    def close(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if self._gen is None:
            self._gen = iter(())
        else:
            self._gen.close()  # type: ignore[attr-defined]

    def __enter__(self) -> DirectStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _empty() -> AsyncIterator[Delta]:
    return
    yield  # pragma: no cover


class AsyncDirectStream(_Base):
    """The async twin of :class:`DirectStream`: ``async for``, ``async with``,
    ``await result()``, ``await aclose()``."""

    def __init__(self, open_response: Callable[[], Any], format: str, handler: Callbacks | None = None) -> None:
        super().__init__(open_response, format, handler)
        self._gen: AsyncIterator[Delta] | None = None

    def __aiter__(self) -> AsyncIterator[Delta]:
        if self._gen is None:
            self._gen = self._deltas()
        return self._gen

    async def _deltas(self) -> AsyncIterator[Delta]:
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
                for d in self._feed(chunk):
                    yield d
            for d in self._end():
                yield d

    async def _text(self) -> AsyncIterator[str]:
        async for d in self:
            if d[2] is not None and d[0] == 0:
                yield d[2]

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
            self._gen = _empty()
        else:
            await self._gen.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncDirectStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
