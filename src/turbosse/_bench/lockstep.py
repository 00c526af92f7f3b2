"""The lockstep scenario: the paced workload without its clock, served on the
client's own event loop, so that every event is read on its own however busy
the machine is."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from .._loop import new_event_loop
from ..testing._http1 import RequestReader
from ..testing._options import merge_options
from ..testing._render import render_stream
from .clients import CLIENTS, MODEL
from .timing import clock, elapsed

__all__ = ["Lockstep", "run_lockstep"]


def fake_plan(tokens: int, rate: float) -> Any:
    """The fake server's rendered stream for ``tokens`` paced tokens, one event a write."""
    opts = merge_options({"tokens": tokens, "tokens_per_second": rate, "events_per_write": 1})
    return render_stream(opts, api="openai", model=MODEL, prompt_tokens=8, include_usage=True, max_tokens=None,
                         fault=False, corpus_dir=None)


class Lockstep:
    """The lockstep scenario's server, on the client's own event loop.

    It serves every request the same pre-rendered stream (FakeLLMServer's
    bytes for ``tokens`` tokens), one write per token, and sends the next write
    to every stream only once the clients have counted the previous token of
    every stream (``tick``). Each event is then read on its own, whatever the
    machine's load: no pacing, no coalescing, the same work in every run. The
    CPU it spends itself is measured (``cpu``) and left out of the client's."""

    def __init__(self, tokens: int) -> None:
        plan = fake_plan(tokens, 1.0)
        self.head, self.writes = plan.head, [data for _, data in plan.writes]
        self.conns: list[Any] = []
        self.need = self.count = self.target = 0
        self.cpu = 0.0
        self.ready = asyncio.Event()
        self.advance = asyncio.Event()

    def reset(self, streams: int) -> None:
        self.conns, self.need, self.count, self.target, self.cpu = [], streams, 0, 0, 0.0
        self.ready, self.advance = asyncio.Event(), asyncio.Event()

    def tick(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.advance.set()

    def protocol(self) -> asyncio.Protocol:
        server = self

        class Conn(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport, self.reader = transport, RequestReader()

            def data_received(self, data: bytes) -> None:
                c0 = time.process_time()
                for _request in self.reader.feed(data):
                    self.transport.write(server.head)
                    server.conns.append(self.transport)
                    if len(server.conns) == server.need:
                        server.ready.set()
                server.cpu += time.process_time() - c0

        return Conn()

    async def drive(self) -> None:
        await self.ready.wait()
        for data in self.writes:
            self.target += self.need
            self.advance.clear()
            c0 = time.process_time()
            for transport in self.conns:
                transport.write(data)
            self.cpu += time.process_time() - c0
            if self.count < self.target:
                await self.advance.wait()


def run_lockstep(variant: str, streams: int, tokens: int, uvloop: bool = False) -> tuple[list[tuple[int, str]], dict[str, float]]:
    """One lockstep run of an async contender, on uvloop or asyncio's loop:
    its results and times (the lockstep server's own CPU taken out, reported
    as ``server_cpu``)."""
    contender = CLIENTS[variant]
    loop = new_event_loop(uvloop)
    try:

        async def main() -> tuple[list[tuple[int, str]], dict[str, float]]:
            lock = Lockstep(tokens)
            server = await asyncio.get_running_loop().create_server(lock.protocol, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
            one, aclose = await contender.make(url)
            fake = {"tokens": tokens}
            lock.reset(1)
            await asyncio.gather(lock.drive(), one(fake, lock.tick))  # warm: not timed
            lock.reset(streams)
            gc.collect()
            t0 = clock()
            got = await asyncio.gather(lock.drive(), *(one(fake, lock.tick) for _ in range(streams)))
            times = elapsed(t0)
            times["server_cpu"] = lock.cpu
            times["cpu"] -= lock.cpu
            await aclose()
            server.close()
            return list(got[1:]), times

        return loop.run_until_complete(main())
    finally:
        loop.close()
