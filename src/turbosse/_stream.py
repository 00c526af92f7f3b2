"""What a stream of deltas offers its reader, sync and async: iteration
(started once), ``text_stream``, ``result()``, ``partial``, closing and the
context manager, over a subclass's ``_batches()`` generator.

The chat clients' streams (``ChatStream``, ``AsyncChatStream``) and the SDK
direct route (``DirectStream``, ``AsyncDirectStream``) differ only in how they
get their bytes; a subclass provides ``_batches(quiet)`` (the generator that
reads and decodes, yielding each read's deltas as a list, which
:class:`turbosse._impl.Items` hands to the reader one at a time; ``quiet``
when only the result is wanted, so the deltas may be delivered to the engine
without being yielded), an ``_engine``
(:class:`turbosse._handler.Engine`) and sets ``_result`` when the stream
completes. ``DeltaStream`` and
``AsyncDeltaStream`` are twins: tests/test_sync_async.py checks that the async
code, with async words replaced by their sync ones, is the sync code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, TypeVar

from ._errors import SSEError
from ._impl import AsyncItems, Items

if TYPE_CHECKING:
    from ._accumulator import ChatResult
    from ._delta import Delta
    from ._handler import Engine

__all__ = ["AsyncBatches", "AsyncDeltaStream", "Batches", "DeltaStream"]

#: what a subclass's ``_batches`` returns: each read's deltas, as a list
Batches = Generator["list[Delta]", None, None]
AsyncBatches = AsyncGenerator["list[Delta]", None]

_S = TypeVar("_S")


class _Surface:
    _engine: Engine
    _result: ChatResult | None = None

    @property
    def partial(self) -> ChatResult:
        """The result accumulated so far (the whole result once finished):
        every delta that arrived, also those of the last read that the
        iteration had not reached when it stopped."""
        return self._result if self._result is not None else self._engine.result()

    def _finished(self) -> ChatResult:
        if self._result is None:
            raise SSEError("the stream was closed or failed before its end; its .partial has what arrived")
        return self._result


class DeltaStream(_Surface):
    """Iterate for :class:`turbosse.Delta` tuples, or :attr:`text_stream` for
    the text of choice 0; :meth:`result` reads to the end and returns the
    :class:`turbosse.ChatResult`. Use it as a context manager, or call
    :meth:`close`, to release the connection if you stop early."""

    _gen: Items[Delta] | None = None

    def _batches(self, quiet: bool = False) -> Batches:
        raise NotImplementedError
        yield  # pragma: no cover

    def __iter__(self) -> Iterator[Delta]:
        if self._gen is None:
            self._gen = Items(self._batches())
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
        if self._gen is None:  # nobody sees the deltas: a transport may deliver them where it reads
            self._gen = Items(self._batches(quiet=True))
        for _ in self:
            pass
        return self._finished()

    def close(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if self._gen is None:
            self._gen = Items(_empty())
        else:
            self._gen.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncDeltaStream(_Surface):
    """The async twin of :class:`DeltaStream`: ``async for``, ``async with``,
    ``await result()``, ``await aclose()``."""

    _gen: AsyncItems[Delta] | None = None

    async def _batches(self, quiet: bool = False) -> AsyncBatches:
        raise NotImplementedError
        yield  # pragma: no cover

    def __aiter__(self) -> AsyncIterator[Delta]:
        if self._gen is None:
            self._gen = AsyncItems(self._batches())
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
        if self._gen is None:  # nobody sees the deltas: a transport may deliver them where it reads
            self._gen = AsyncItems(self._batches(quiet=True))
        async for _ in self:
            pass
        return self._finished()

    async def aclose(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if self._gen is None:
            self._gen = AsyncItems(_aempty())
        else:
            await self._gen.aclose()

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _empty() -> Batches:
    return
    yield  # pragma: no cover


async def _aempty() -> AsyncBatches:
    return
    yield  # pragma: no cover
