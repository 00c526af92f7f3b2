"""Items and AsyncItems (both twins): the items of the lists a generator
yields, one at a time, in order, empty lists skipped; closing closes the
generator; errors and cancellation pass through; and the compiled twin's
awaitable (which hands an item back through ``am_send``, with no exception)
keeps no reference to an item once it is handed on; each ``__anext__()``
is a coroutine (tasks take it) that takes its item when first awaited, as
an async generator's does, refuses to be awaited twice, and takes nothing
(and warns of nothing) if it is never awaited."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterable
from types import ModuleType
from typing import Any

import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every async test on asyncio and uvloop
from conftest import twin_module
from hypothesis import given
from hypothesis import strategies as st

import turbosse
from turbosse import _impl

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="session")
def mod(twin: str) -> ModuleType:
    return twin_module(twin, "items")


def gen(batches: Iterable[Iterable[Any]], log: list[str] | None = None) -> Generator[Iterable[Any]]:
    try:
        yield from batches
    finally:
        if log is not None:
            log.append("closed")


async def agen(batches: Iterable[Iterable[Any]], log: list[str] | None = None) -> AsyncGenerator[Iterable[Any]]:
    try:
        for b in batches:
            await asyncio.sleep(0)  # a real suspension between batches
            yield b
    finally:
        if log is not None:
            log.append("closed")


async def collect(it: Any) -> list[Any]:
    return [x async for x in it]


batch_lists = st.lists(st.lists(st.integers(), max_size=5), max_size=8)


@given(batches=batch_lists)
def test_sync_items_are_the_batches_flattened(mod: ModuleType, batches: list[list[int]]) -> None:
    assert list(mod.Items(gen(batches))) == [x for b in batches for x in b]


@given(batches=batch_lists)
def test_async_items_are_the_batches_flattened(mod: ModuleType, batches: list[list[int]]) -> None:
    assert asyncio.run(collect(mod.AsyncItems(agen(batches)))) == [x for b in batches for x in b]


def test_the_stream_classes_use_the_loaded_twin() -> None:
    assert _impl.Items.__module__ == f"turbosse._items{'_c' if turbosse.IMPLEMENTATION == 'cython' else '_py'}"


async def test_any_iterable_batch_and_the_end_stays_the_end(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([(1, 2), [], iter([3]), "ab"]))
    assert await collect(it) == [1, 2, 3, "a", "b"]
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()
    s = mod.Items(gen([(1,), [], "x"]))
    assert list(s) == [1, "x"]
    with pytest.raises(StopIteration):
        next(s)


def test_close_drops_what_is_left_and_closes_the_generator(mod: ModuleType) -> None:
    log: list[str] = []
    it = mod.Items(gen([[1, 2, 3], [4]], log))
    assert next(it) == 1
    it.close()
    assert log == ["closed"]
    with pytest.raises(StopIteration):
        next(it)
    it.close()  # again: nothing happens
    assert log == ["closed"]


async def test_aclose_drops_what_is_left_and_closes_the_generator(mod: ModuleType) -> None:
    log: list[str] = []
    it = mod.AsyncItems(agen([[1, 2, 3], [4]], log))
    assert await it.__anext__() == 1
    await it.aclose()
    assert log == ["closed"]
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()
    await it.aclose()
    assert log == ["closed"]


async def test_an_error_comes_after_the_items_before_it(mod: ModuleType) -> None:
    async def failing() -> AsyncGenerator[list[int]]:
        yield [1, 2]
        raise ValueError("boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        async for x in mod.AsyncItems(failing()):
            got.append(x)
    assert got == [1, 2]

    def sfailing() -> Generator[list[int]]:
        yield [1]
        raise KeyError("k")

    sgot: list[int] = []
    with pytest.raises(KeyError):
        for x in mod.Items(sfailing()):
            sgot.append(x)
    assert sgot == [1]


async def test_an_anext_takes_its_item_when_awaited(mod: ModuleType) -> None:
    # as an async generator's asend: the first awaited gets the next item
    it = mod.AsyncItems(agen([[1, 2, 3], [4]]))
    assert await it.__anext__() == 1
    a, b = it.__anext__(), it.__anext__()
    assert await b == 2
    assert await a == 3
    a, b = it.__anext__(), it.__anext__()  # the next needs a new batch
    assert await a == 4
    with pytest.raises(StopAsyncIteration):
        await b


async def test_an_anext_never_awaited_takes_nothing_and_warns_nothing(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([[1, 2], [3]]))
    assert await it.__anext__() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        it.__anext__()  # dropped with an item at hand
        await it.__anext__()
        it.__anext__()  # dropped with none at hand
        gc.collect()
    assert [x async for x in it] == [3]  # 2 was taken by the awaited one only


async def test_an_anext_is_a_coroutine_for_tasks(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([[1, 2], [3]]))
    nxt = it.__anext__()
    assert isinstance(nxt, Coroutine) and asyncio.iscoroutine(nxt)
    assert await asyncio.create_task(nxt) == 1
    assert await asyncio.create_task(anext(it)) == 2  # at hand
    assert await asyncio.create_task(anext(it)) == 3  # through the generator
    with pytest.raises(StopAsyncIteration):
        await asyncio.create_task(anext(it))


async def test_thrown_into_or_closed_before_it_began(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([[1, 2]]))
    thrown, closed = it.__anext__(), it.__anext__()
    with pytest.raises(KeyError):
        thrown.throw(KeyError("k"))
    closed.close()
    assert [x async for x in it] == [1, 2]  # neither took anything
    for over in (thrown, closed):  # and each is over
        with pytest.raises(RuntimeError):
            await over


async def test_an_awaitable_is_awaited_once(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([[1, 2]]))
    await it.__anext__()
    ready = it.__anext__()
    assert await ready == 2
    with pytest.raises(RuntimeError):
        await ready


async def test_asyncio_wrapping_the_awaitable(mod: ModuleType) -> None:
    it = mod.AsyncItems(agen([[1, 2, 3], [4]]))
    assert await anext(it) == 1
    assert await asyncio.wait_for(it.__anext__(), 5) == 2  # wrapped in a task
    assert await asyncio.ensure_future(it.__anext__()) == 3
    assert await asyncio.wait_for(it.__anext__(), 5) == 4  # the next batch, through the wrapper


async def test_cancelled_while_waiting_for_a_batch(mod: ModuleType) -> None:
    log: list[str] = []

    async def slow() -> AsyncGenerator[list[int]]:
        try:
            yield [1]
            await asyncio.sleep(30)
            yield [2]
        finally:
            log.append("closed")

    it = mod.AsyncItems(slow())
    assert await it.__anext__() == 1
    task = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["closed"]  # the generator saw the cancellation and ended
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()


class Obj:
    pass


async def test_an_item_handed_on_is_not_kept(mod: ModuleType) -> None:
    objs = [Obj() for _ in range(3)]
    refs = [weakref.ref(o) for o in objs]
    it = mod.AsyncItems(agen([objs]))
    del objs
    first = await it.__anext__()
    second = await it.__anext__()  # handed on from the batch at hand
    assert first is refs[0]() and second is refs[1]()
    await it.aclose()  # the batch is dropped: only the items taken are alive
    del first
    gc.collect()
    assert refs[0]() is None and refs[1]() is second and refs[2]() is None


def test_a_cycle_through_the_generator_is_collected(mod: ModuleType) -> None:
    class Holder:
        items: Any = None

    def batches(h: Holder) -> Generator[list[int]]:
        yield [1]
        yield [2, h.items]  # the generator's frame refers back to the Items

    async def abatches(h: Holder) -> AsyncGenerator[list[int]]:
        yield [1]

    for make in (lambda h: mod.Items(batches(h)), lambda h: mod.AsyncItems(abatches(h))):
        h = Holder()
        h.items = make(h)
        ref = weakref.ref(h)
        del h
        gc.collect()
        assert ref() is None


def test_a_batch_yielded_in_answer_to_a_throw_gives_its_item(mod: ModuleType) -> None:
    async def catching() -> AsyncGenerator[list[int]]:
        try:
            await asyncio.sleep(0)  # suspended here when the exception comes
        except KeyError:
            yield []  # an empty batch: the next one is awaited
            yield [9, 10]

    it = mod.AsyncItems(catching())
    nxt = it.__anext__()
    assert nxt.send(None) is None  # suspended in the generator (sleep(0) yields None)
    with pytest.raises(StopIteration) as stop:
        nxt.throw(KeyError("k"))
    assert stop.value.value == 9
    assert asyncio.run(collect(it)) == [10]
