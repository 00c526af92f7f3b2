"""A chat stream on the turbosse transport leaves no reference cycle behind:
everything it made is freed by reference counting when the stream ends, not
left for the garbage collector. At batch scale (a thousand streams alive at
once) cyclic garbage makes every full collection walk it all: before these
tests, one stream left about 40 objects in cycles and a 1,024-stream run spent
a tenth of its CPU in the collector.

Each way of reading a stream runs once to warm up (the connection, lazy
imports), then with the collector off and ``DEBUG_SAVEALL`` on; a collection
afterwards must find none of turbosse's objects."""

from __future__ import annotations

import gc

import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop

import turbosse
from turbosse import AsyncChatClient, StreamHandler
from turbosse.testing import fake_text

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


class Counting(StreamHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_token(self, text: str) -> None:
        self.tokens.append(text)


async def iterated(chat: AsyncChatClient) -> str:
    async with chat.stream(MESSAGES, fake={"tokens": 12}) as s:
        parts = [d.content async for d in s if d.content]
        assert (await s.result()).content == "".join(parts)
        return "".join(parts)


async def result_only(chat: AsyncChatClient) -> str:
    async with chat.stream(MESSAGES, fake={"tokens": 12}) as s:
        return (await s.result()).content or ""


async def with_handler(chat: AsyncChatClient) -> str:
    handler = Counting()
    result = await chat.complete(MESSAGES, handler=handler, fake={"tokens": 12})
    assert "".join(handler.tokens) == result.content
    return result.content or ""


async def left_early(chat: AsyncChatClient) -> str:
    async with chat.stream(MESSAGES, fake={"tokens": 200, "tokens_per_second": 400}) as s:
        async for d in s:
            if d.content:
                return fake_text(12)  # what the others read; this one stops at its first token
    raise AssertionError("no content")


async def garbage_of(read, chat: AsyncChatClient) -> list[object]:
    assert await read(chat) == fake_text(12)  # warm: connection, imports, caches
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            assert await read(chat) == fake_text(12)
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


@pytest.mark.parametrize("read", [iterated, result_only, with_handler, left_early])
async def test_a_stream_leaves_no_reference_cycle(server, read):
    chat = AsyncChatClient(base_url=server.base_url, api_key="sk-test", model="gpt-fake", transport="turbosse")
    try:
        garbage = await garbage_of(read, chat)
    finally:
        await chat.aclose()
    ours = [o for o in garbage if _ours(o)]
    kinds = sorted({type(o).__qualname__ for o in ours})
    assert ours == [], f"{len(ours)} objects left in reference cycles: {kinds}"


def _ours(obj: object) -> bool:
    """An object of turbosse's, httptools', or a function or method of
    theirs. (asyncio's own socket transport keeps a bound method of itself:
    a cycle per closed connection on asyncio's loop, not on uvloop, that is
    not this package's to break.)"""
    target = getattr(obj, "__self__", None) if type(obj).__name__ in ("method", "builtin_function_or_method") else obj
    module = getattr(obj, "__module__", None) if callable(obj) and target is obj else type(target).__module__
    return isinstance(module, str) and module.split(".")[0] in ("turbosse", "httptools")


async def _paced_iterated(chat: AsyncChatClient, fake: dict[str, float]) -> None:
    async with chat.stream(MESSAGES, fake=fake) as s:
        async for _ in s:
            pass


async def _paced_handler(chat: AsyncChatClient, fake: dict[str, float]) -> None:
    await chat.complete(MESSAGES, handler=Counting(), fake=fake)


# the most per stream (compiled twin, pure-Python twin)
@pytest.mark.parametrize(("read", "most"), [(_paced_iterated, (41, 53)), (_paced_handler, (45, 56))])
async def test_a_stream_in_flight_holds_few_tracked_objects(server, read, most):
    """What the collector must scan while streams are in flight: every
    object a stream keeps alive for its whole length is scanned again by each
    collection that runs meanwhile, so at a thousand streams the count per
    stream is CPU per token. Measured here on CPython 3.11, the connection,
    the task and the test's own objects included: 38-39 (iterated) and 43
    (with a handler); 48-49 and 55 while the request builder was a closure
    and the body's sink and the read loop kept bound methods. The
    pure-Python twin's decoder objects are tracked too: 49-50 and 53."""
    import asyncio
    from collections import Counter

    streams = 32
    chat = AsyncChatClient(base_url=server.base_url, api_key="sk-test", model="gpt-fake", transport="turbosse")
    try:
        await asyncio.gather(*(read(chat, {"tokens": 2}) for _ in range(streams)))  # the connections, warm
        gc.collect()
        before = Counter(type(o).__qualname__ for o in gc.get_objects())
        tasks = [asyncio.ensure_future(read(chat, {"tokens": 40, "tokens_per_second": 20})) for _ in range(streams)]
        await asyncio.sleep(0.5)  # every stream is mid-body
        gc.collect()
        grown = Counter(type(o).__qualname__ for o in gc.get_objects()) - before
        await asyncio.gather(*tasks)
    finally:
        await chat.aclose()
    per_stream = sum(grown.values()) / streams
    most = most[0] if turbosse.IMPLEMENTATION == "cython" else most[1]
    assert per_stream <= most, f"{per_stream:.1f} tracked objects per stream in flight: {grown.most_common(12)}"
