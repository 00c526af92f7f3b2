"""The transport contenders of ``turbosse bench``: turbosse's own HTTP/1.1
transport on both loops (through AsyncChatClient iterated, through its
``complete()`` with a handler, and its sink alone), aiohttp
used directly with ``ChatDecoder``, and the bytes-only ``asyncio.Protocol``
that parses nothing: the event loop and kernel floor every asyncio client
adds to. Registered in :data:`.clients.CLIENTS` like every other contender."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from .clients import API_KEY, MESSAGES, MODEL, Tick, async_chat_runner, client, request_body

__all__: list[str] = []


async def _chat(url: str, **options: Any) -> Any:
    from turbosse import AsyncChatClient

    chat = AsyncChatClient(base_url=url, model=MODEL, api_key=API_KEY, max_retries=0, timeout=120, **options)
    return async_chat_runner(chat), chat.aclose


@client("turbosse-transport", "turbosse AsyncChatClient (turbosse transport)", needs=("httptools",), parser="turbosse")
async def turbosse_transport(url: str) -> Any:
    return await _chat(url, transport="turbosse")


@client("turbosse-transport-uvloop", "turbosse AsyncChatClient (turbosse transport, uvloop)",
        needs=("httptools", "uvloop"), uvloop=True, parser="turbosse")  # fmt: skip
async def turbosse_transport_uvloop(url: str) -> Any:
    return await _chat(url, transport="turbosse")


def _counter() -> Any:
    from turbosse import StreamHandler

    class Count(StreamHandler):
        """A handler counting content deltas where they are read (one class for
        every request: a class made per request costs more than the request)."""

        __slots__ = ("n", "tick")

        def __init__(self, tick: Tick) -> None:
            self.n = 0
            self.tick = tick

        def on_deltas(self, deltas: list[Any]) -> None:  # called where the bytes are read
            tick = self.tick
            for d in deltas:
                if d.content is not None:
                    self.n += 1
                    if tick is not None:
                        tick()

    return Count


async def _handler(url: str) -> Any:
    from turbosse import AsyncChatClient

    counter = _counter()
    chat = AsyncChatClient(base_url=url, model=MODEL, api_key=API_KEY, max_retries=0, timeout=120, transport="turbosse")

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        handler = counter(tick)
        result = await chat.complete(MESSAGES, handler=handler, fake=fake)
        return handler.n, result.content or ""

    return one, chat.aclose


@client("turbosse-handler-uvloop", "turbosse AsyncChatClient complete(), handler (turbosse transport, uvloop)",
        needs=("httptools", "uvloop"), uvloop=True, parser="turbosse")  # fmt: skip
async def turbosse_handler_uvloop(url: str) -> Any:
    return await _handler(url)


async def _sink(url: str) -> Any:
    from turbosse import ChatDecoder
    from turbosse._transport.pool import StreamTransport, Timeouts

    pool = StreamTransport(max_connections=2048, max_keepalive=2048)
    timeouts = Timeouts(120, 120, 120)
    headers = {"content-type": "application/json", "authorization": f"Bearer {API_KEY}"}

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        decode = ChatDecoder().feed

        def sink(data: bytes) -> None:  # the deltas are used here: nobody is woken until the end
            for d in decode(data):
                if d.content:
                    parts.append(d.content)
                    if tick is not None:
                        tick()

        response = await pool.request("POST", url + "/chat/completions", headers, orjson.dumps(request_body(fake)), timeouts)
        try:
            response.set_sink(sink)
            while await response.next_batch():
                pass
        finally:
            response.close()
        return len(parts), "".join(parts)

    return one, pool.aclose


@client("transport-sink-uvloop", "turbosse transport, ChatDecoder in data_received, woken at the end (uvloop)",
        needs=("httptools", "uvloop"), uvloop=True, parser="turbosse")  # fmt: skip
async def transport_sink_uvloop(url: str) -> Any:
    return await _sink(url)


async def _aiohttp(url: str) -> Any:
    import aiohttp

    from turbosse import ChatDecoder

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2048), headers={"authorization": f"Bearer {API_KEY}"})

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        decode = ChatDecoder().feed
        async with session.post(url + "/chat/completions", data=orjson.dumps(request_body(fake)),
                                headers={"content-type": "application/json"}) as response:  # fmt: skip
            async for chunk in response.content.iter_any():
                for d in decode(chunk):
                    if d.content:
                        parts.append(d.content)
                        if tick is not None:
                            tick()
        return len(parts), "".join(parts)

    return one, session.close


@client("aiohttp-direct", "aiohttp ClientSession, iter_any() into ChatDecoder", needs=("aiohttp",), parser="turbosse")
async def aiohttp_direct(url: str) -> Any:
    return await _aiohttp(url)


@client("aiohttp-direct-uvloop", "aiohttp ClientSession, iter_any() into ChatDecoder (uvloop)",
        needs=("aiohttp", "uvloop"), uvloop=True, parser="turbosse")  # fmt: skip
async def aiohttp_direct_uvloop(url: str) -> Any:
    return await _aiohttp(url)


class _Counting(asyncio.Protocol):
    """Counts the bytes of one chunked response at a time; parses nothing."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.done: asyncio.Future[None] | None = None
        self.tick: Tick = None
        self.received = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.tick is not None:
            self.tick()  # in lockstep, each read carries one token
        if data.endswith(b"0\r\n\r\n") and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))


async def _floor(url: str) -> Any:
    import urllib.parse

    from turbosse.testing import fake_text

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[_Counting] = []

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        conn = idle.pop() if idle else (await loop.create_connection(_Counting, host, port))[1]
        body = orjson.dumps(request_body(fake))
        conn.done, conn.tick = loop.create_future(), tick
        conn.transport.write(
            b"POST %s/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (parts.path.encode(), host.encode(), len(body), body)
        )
        await conn.done
        idle.append(conn)
        return fake["tokens"], fake_text(fake["tokens"])  # not parsed: nothing to check

    async def close() -> None:
        for conn in idle:
            conn.transport.close()

    return one, close


@client("protocol-floor", "asyncio.Protocol counting bytes, no parsing (floor)", parser="none")
async def protocol_floor(url: str) -> Any:
    return await _floor(url)


@client("protocol-floor-uvloop", "asyncio.Protocol counting bytes, no parsing (floor, uvloop)",
        needs=("uvloop",), uvloop=True, parser="none")  # fmt: skip
async def protocol_floor_uvloop(url: str) -> Any:
    return await _floor(url)
