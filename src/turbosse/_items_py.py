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

from collections.abc import AsyncGenerator, Awaitable, Coroutine, Generator, Iterable, Iterator
from typing import Any, Generic, TypeVar

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
        return _Next(self)

    async def _refill(self) -> _T:
        while True:
            item = next(self._items, _END)  # at hand (another __anext__() read it meanwhile)
            if item is not _END:
                return item  # type: ignore[return-value]
            self._items = iter(await self._batches.__anext__())

    async def aclose(self) -> None:
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._items = iter(())
        await self._batches.aclose()


class _Next(Coroutine[Any, Any, _T]):
    """What ``AsyncItems.__anext__`` returns: a coroutine that takes the next
    item when it is first sent to, as an async generator's ``asend`` does
    (made and dropped unawaited, it takes nothing and warns of nothing); an
    item at hand is returned at once, else it drives ``AsyncItems._refill``.
    Thrown into before it began, it raises and takes nothing."""

    __slots__ = ("_owner", "_steps", "_used")

    def __init__(self, owner: AsyncItems[_T]) -> None:
        self._owner = owner
        self._steps: Generator[Any, Any, _T] | None = None  # for send/throw: one __await__, made on first use
        self._used = False

    def __await__(self) -> Generator[Any, Any, _T]:
        # a generator: this runs when it is first resumed, and takes the item then
        if self._used:
            raise RuntimeError("cannot reuse already awaited __anext__()")
        self._used = True
        item = next(self._owner._items, _END)
        if item is not _END:
            return item  # type: ignore[return-value]
        return (yield from self._owner._refill().__await__())

    def _run(self) -> Generator[Any, Any, _T]:
        if self._steps is None:
            self._steps = self.__await__()
        return self._steps

    def send(self, value: Any) -> Any:
        return self._run().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        steps = self._run()
        try:
            return steps.throw(typ) if val is None and tb is None else steps.throw(typ, val, tb)
        finally:
            self._used = True  # thrown into before it began: it is over all the same

    def close(self) -> None:
        self._run().close()
        self._used = True
