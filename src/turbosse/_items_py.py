"""Pure-Python twin of _items_c.pyx: the items of the lists an iterator
yields, one at a time, sync (``Items``) and async (``AsyncItems``).

A delta stream reads and decodes a read's worth of deltas at a time and hands
them on as a list; its reader wants them one by one. A generator looping over
each list costs a Python frame resumption per delta, and an async generator
more (an ``asend`` object and a StopIteration per item); the compiled twin
hands an item on with no frame and, for ``async for``, no exception. Closing
either closes the iterator of lists (a generator's ``finally`` runs).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Generator, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["AsyncItems", "Items"]

_T = TypeVar("_T")

_END = object()


class Items(Generic[_T]):
    """Iterate over the items of each iterable that ``batches`` yields, in
    order; :meth:`close` closes ``batches``."""

    __slots__ = ("_batches", "_items")

    def __init__(self, batches: Generator[Iterable[_T]]) -> None:
        self._batches = batches
        self._items: Iterator[_T] = iter(())

    def __iter__(self) -> Items[_T]:
        return self

    def __next__(self) -> _T:
        while True:
            item = next(self._items, _END)
            if item is not _END:
                return item  # type: ignore[return-value]
            self._items = iter(next(self._batches))

    def close(self) -> None:
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._items = iter(())
        self._batches.close()


class AsyncItems(Generic[_T]):
    """The async twin of :class:`Items`: ``async for`` over the items of each
    iterable that the async generator ``batches`` yields; :meth:`aclose`
    closes ``batches``. An item already at hand is returned without
    suspending."""

    __slots__ = ("_batches", "_items")

    def __init__(self, batches: AsyncGenerator[Iterable[_T]]) -> None:
        self._batches = batches
        self._items: Iterator[_T] = iter(())

    def __aiter__(self) -> AsyncItems[_T]:
        return self

    def __anext__(self) -> Awaitable[_T]:
        item = next(self._items, _END)
        if item is not _END:  # taken now: each __anext__() has its own item
            return _ready(item)  # type: ignore[arg-type]
        return self._refill()

    async def _refill(self) -> _T:
        while True:
            self._items = iter(await self._batches.__anext__())
            item = next(self._items, _END)
            if item is not _END:
                return item  # type: ignore[return-value]

    async def aclose(self) -> None:
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._items = iter(())
        await self._batches.aclose()


async def _ready(item: _T) -> _T:
    return item
