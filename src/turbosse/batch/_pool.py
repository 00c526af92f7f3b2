"""``--workers N``: N worker processes (:mod:`turbosse.batch._worker`), each
with its own event loop and client, behind one scheduler in this process.

This process reads the input, applies the concurrency, the arrival schedule
and the rpm/tpm limits for all workers at once (so limits are shared, not
multiplied), hands each admitted request to the worker with the fewest in
flight, and receives every row back for the one writer. A worker that exits
early fails the batch with :class:`turbosse.SSEError`; what was written stays,
and a rerun resumes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from .. import SSEError
from ._input import BatchRequest
from ._limits import Admission
from ._runner import Timing, schedule
from ._worker import LINE_LIMIT

__all__ = ["WorkerPool"]


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.cpu: float | None = None
        self.reader: asyncio.Task[None] | None = None
        self.drain_lock = asyncio.Lock()  # one drain() at a time on the pipe

    async def read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = orjson.loads(line)
            if "cpu" in msg and "custom_id" not in msg:
                self.cpu = msg["cpu"]
                continue
            future = self.waiting.pop(msg["custom_id"], None)
            if future is not None and not future.done():
                future.set_result(msg)
        rc = await self.proc.wait()
        error = SSEError(f"batch worker {self.proc.pid} exited with status {rc} with requests in flight")
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(error)
        self.waiting.clear()


class WorkerPool:
    """N worker processes sharing one schedule.

    :param workers: processes to start.
    :param config: what each worker needs (see :mod:`._worker`).
    :param loop: ``"auto"``, ``"uvloop"`` or ``"asyncio"`` for the workers.
    """

    def __init__(self, workers: int, config: dict[str, Any], loop: str = "auto") -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.n = workers
        self.config = config
        self.loop = loop
        self.workers: list[_Worker] = []

    async def start(self) -> None:
        env = dict(os.environ)
        # the workers must import this same turbosse, wherever it came from
        pkg_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
        config = orjson.dumps(self.config) + b"\n"
        for _ in range(self.n):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "turbosse.batch._worker", self.loop,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, limit=LINE_LIMIT,
            )  # fmt: skip
            assert proc.stdin is not None
            proc.stdin.write(config)
            worker = _Worker(proc)
            worker.reader = asyncio.ensure_future(worker.read())
            self.workers.append(worker)

    async def submit(self, req: BatchRequest) -> dict[str, Any]:
        worker = min(self.workers, key=lambda w: len(w.waiting))
        if worker.reader is not None and worker.reader.done():
            raise SSEError(f"batch worker {worker.proc.pid} is gone (status {worker.proc.returncode})")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        worker.waiting[req.custom_id] = future
        assert worker.proc.stdin is not None
        worker.proc.stdin.write(req.to_json() + b"\n")
        async with worker.drain_lock:
            await worker.proc.stdin.drain()
        return await future

    async def close(self) -> float:
        """Let the workers finish and exit; their CPU seconds in all."""
        for w in self.workers:
            if w.proc.stdin is not None and not w.proc.stdin.is_closing():
                w.proc.stdin.close()
        for w in self.workers:
            try:
                if w.reader is not None:
                    await asyncio.wait_for(asyncio.shield(w.reader), 30)
            except (asyncio.TimeoutError, TimeoutError):
                w.proc.kill()
                await w.proc.wait()
        return sum(w.cpu or 0.0 for w in self.workers)

    def kill(self) -> None:
        for w in self.workers:
            if w.proc.returncode is None:
                w.proc.kill()

    async def run(
        self,
        requests: Any,
        *,
        concurrency: int,
        admission: Admission,
        skip: frozenset[str] | set[str] = frozenset(),
        timing: Timing | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Rows, as :func:`turbosse.batch.run` yields them."""
        async for row in schedule(requests, self.submit, concurrency=concurrency, admission=admission, skip=skip, timing=timing):
            yield row
