"""What waking the reader costs per read, on asyncio's loop and on uvloop.

One response of turbosse's transport (a real ``Connection`` and ``Response``
over a transport that sends nothing) is fed one chunked event per event-loop
iteration, as a socket read would bring it, and read four ways:

- ``floor``: the loop running the feeding callback alone, nothing fed;
- ``sink``: each read decoded by the sink inside ``data_received`` and used
  there, nobody woken until the end (a handler, ``complete()``);
- ``woken``: the sink queues what it decoded and the coroutine reading the
  response is woken by a future once per read (``next_batch``);
- ``woken + generator``: the same, the reader an async generator that yields
  each item to an ``async for``;
- ``woken + AsyncItems``: the same, an async generator yielding each read's
  list, its items handed to the ``async for`` by ``turbosse._impl.AsyncItems``
  (what ``async for d in stream`` runs).

The difference between the ``woken`` rows and ``sink`` is the price of a
reader coroutine per read on that loop (a future, a loop handle, a task step,
the frames resumed): what a consumer of one token per read pays whatever the
transport does.

    python benchmarks/wake.py --reads 100000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from turbosse._impl import AsyncItems
from turbosse._loop import new_event_loop
from turbosse._transport.protocol import Connection, Response

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENT = b"data: {}\n\n"
READ = b"%x\r\n%s\r\n" % (len(EVENT), EVENT)
END = b"0\r\n\r\n"


class _Quiet(asyncio.Transport):
    """A transport that sends nothing and never pauses."""

    def write(self, data: Any) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _response(loop: asyncio.AbstractEventLoop) -> tuple[Connection, Response]:
    conn = Connection(loop, lambda _conn: None)
    conn.connection_made(_Quiet())
    response = conn.start(b"", None)
    conn.data_received(HEAD)
    return conn, response


def _feed(loop: asyncio.AbstractEventLoop, reads: int, feed: Callable[[bytes], None] | None) -> asyncio.Future[None]:
    """Call ``feed(READ)`` once per loop iteration, ``reads`` times, then ``feed(END)``."""
    done = loop.create_future()
    left = [reads]

    def step() -> None:
        if left[0]:
            left[0] -= 1
            if feed is not None:
                feed(READ)
            loop.call_soon(step)
        else:
            if feed is not None:
                feed(END)
            done.set_result(None)

    loop.call_soon(step)
    return done


async def floor(reads: int) -> int:
    await _feed(asyncio.get_running_loop(), reads, None)
    return reads


async def sink(reads: int) -> int:
    conn, response = _response(asyncio.get_running_loop())
    seen = [0]

    def count(data: bytes) -> None:
        seen[0] += data.count(b"\n\n")

    response.set_sink(count)
    await _feed(asyncio.get_running_loop(), reads, conn.data_received)
    await response.next_batch()
    return seen[0]


async def woken(reads: int) -> int:
    conn, response = _response(asyncio.get_running_loop())
    response.set_sink(lambda data: [data])
    fed = _feed(asyncio.get_running_loop(), reads, conn.data_received)
    n = 0
    while batch := await response.next_batch():
        n += len(batch)
    await fed
    return n


async def _items(response: Response) -> AsyncIterator[bytes]:
    while batch := await response.next_batch():
        for item in batch:
            yield item


async def _count_items(reads: int, items: Callable[[Response], AsyncIterator[bytes]]) -> int:
    conn, response = _response(asyncio.get_running_loop())
    response.set_sink(lambda data: [data])
    fed = _feed(asyncio.get_running_loop(), reads, conn.data_received)
    n = 0
    async for _item in items(response):
        n += 1
    await fed
    return n


async def woken_generator(reads: int) -> int:
    return await _count_items(reads, _items)


async def _batches(response: Response) -> AsyncIterator[list[bytes]]:
    while batch := await response.next_batch():
        yield batch


async def woken_items(reads: int) -> int:
    return await _count_items(reads, lambda response: AsyncItems(_batches(response)))  # type: ignore[arg-type]


ROWS = (("floor", floor), ("sink", sink), ("woken", woken), ("woken + generator", woken_generator),
        ("woken + AsyncItems", woken_items))


def measure(loop_name: str, reads: int, rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` CPU µs per read of every row, rows interleaved."""
    best = {name: float("inf") for name, _ in ROWS}
    for _ in range(rounds):
        for name, row in ROWS:
            loop = new_event_loop(loop_name)
            try:
                start = time.process_time()
                got = loop.run_until_complete(row(reads))
                spent = time.process_time() - start
            finally:
                loop.close()
            if got != reads:
                raise RuntimeError(f"{name}: {got} reads seen, {reads} fed")
            best[name] = min(best[name], spent * 1e6 / reads)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loop", choices=("asyncio", "uvloop", "both"), default="both")
    args = ap.parse_args(argv)
    loops = ("asyncio", "uvloop") if args.loop == "both" else (args.loop,)
    print(f"{args.reads:,} reads of one event each, one per loop iteration; CPU µs per read, best of {args.rounds}")
    for loop_name in loops:
        try:
            best = measure(loop_name, args.reads, args.rounds)
        except ImportError:
            print(f"  {loop_name}: not installed")
            continue
        print(f"  {loop_name}:")
        for name, _ in ROWS:
            extra = "" if name in ("floor", "sink") else f"   (+{best[name] - best['sink']:.2f} over sink)"
            print(f"    {name:<20} {best[name]:6.2f}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
