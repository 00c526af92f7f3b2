"""A worker process of ``turbosse batch --workers N``: its own event loop and
client, requests in on stdin, rows out on stdout, one JSON line each.

The first input line is the configuration (the client's and the requests'
options); every further line is a request (``BatchRequest.to_json``). At the
end of its input the worker finishes what is in flight, writes
``{"cpu": seconds}`` and exits. Run as ``python -m turbosse.batch._worker``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

import orjson

from .._loop import new_event_loop
from ._clients import ClientSet
from ._input import parse_line
from ._request import RequestOptions, execute

__all__ = ["LINE_LIMIT", "main"]


#: no limit on a request line: the parent holds it already, and a line the
#: reader refused would end the worker and every rerun at that line
LINE_LIMIT = 1 << 62


class _Rows(asyncio.streams.FlowControlMixin):
    """The rows pipe; :attr:`gone` resolves when the parent's end closes (it
    exited, or was killed: nothing written could be read any more)."""

    def __init__(self) -> None:
        super().__init__()
        self.gone = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.gone.done():
            self.gone.set_result(None)


async def _pipes() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Future[None]]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(_Rows, sys.stdout)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer, protocol.gone


async def serve(
    config: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gone: asyncio.Future[None]
) -> None:
    """Run every request line; with the parent gone (``gone``), stop at once:
    the requests in flight are cancelled and nothing more is written."""
    work = asyncio.ensure_future(_serve(config, reader, writer))
    await asyncio.wait([work, gone], return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
        work.cancel()
    try:
        await work
    except asyncio.CancelledError:
        if not gone.done():
            raise


async def _serve(config: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    opts = RequestOptions(config["retry_interrupted"], config["deadline"], config["model"])
    clients = ClientSet(
        None, config["base_url"], model=config["model"], api_key=config["api_key"],
        concurrency=config["concurrency"], transport=config["transport"], **config["client"],
    )  # fmt: skip
    tasks: set[asyncio.Task[None]] = set()

    async def one(line: bytes, n: int) -> None:
        row = await execute(clients, parse_line(line, n), opts)
        writer.write(orjson.dumps(row) + b"\n")

    try:
        n = 0
        while line := await reader.readline():
            n += 1
            task = asyncio.ensure_future(one(line, n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.wait(set(tasks))
    finally:
        for task in tasks:  # cancelled (the parent is gone): so are they
            task.cancel()
        await clients.aclose()
    writer.write(orjson.dumps({"cpu": time.process_time()}) + b"\n")
    await writer.drain()


async def _main() -> None:
    reader, writer, gone = await _pipes()
    config = orjson.loads(await reader.readline())
    await serve(config, reader, writer, gone)
    writer.close()


def main() -> None:
    # Ctrl-C reaches the whole process group: the parent decides (it stops the
    # batch and kills its workers), a worker must not fail its streams itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop = new_event_loop(sys.argv[1] if len(sys.argv) > 1 else "auto")
    try:
        loop.run_until_complete(_main())
    finally:
        loop.close()


if __name__ == "__main__":
    main()
