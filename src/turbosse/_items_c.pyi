"""Signatures and docs of the compiled Items and AsyncItems (_items_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_items_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from collections.abc import AsyncGenerator, Awaitable, Generator, Iterable
from typing import Generic, TypeVar

_T = TypeVar("_T")

class Items(Generic[_T]):
    """Iterate over the items of each iterable that ``batches`` yields, in
    order; :meth:`close` closes ``batches``."""

    def __init__(self, batches: Generator[Iterable[_T]]) -> None: ...
    def __iter__(self) -> Items[_T]: ...
    def __next__(self) -> _T: ...
    def close(self) -> None:
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""

class AsyncItems(Generic[_T]):
    """The async twin of :class:`Items`: ``async for`` over the items of each
    iterable that the async generator ``batches`` yields; :meth:`aclose`
    closes ``batches``. An item already at hand is returned without
    suspending."""

    def __init__(self, batches: AsyncGenerator[Iterable[_T]]) -> None: ...
    def __aiter__(self) -> AsyncItems[_T]: ...
    def __anext__(self) -> Awaitable[_T]: ...
    async def aclose(self) -> None:
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
