"""A batch from an input file to an output file, as ``turbosse batch`` runs
it: resume from what the output already holds, run in this process or in a
worker pool, write each row as it finishes, show progress, and summarize.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ._clients import ClientSet
from ._input import read_requests
from ._limits import Admission
from ._pool import WorkerPool
from ._progress import Progress
from ._request import RequestOptions, execute
from ._runner import Timing, schedule
from ._summary import Summary
from ._writer import OutputWriter

__all__ = ["BatchJob", "count_lines"]


def count_lines(path: str | os.PathLike[str]) -> int | None:
    """Non-blank lines of a file (the progress bar's total); None for what
    is not a regular file (a pipe, ``-``: reading it would consume it)."""
    if path == "-" or not os.path.isfile(path):
        return None
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            n += bool(line.strip())
    return n


@dataclass
class BatchJob:
    """Everything one ``turbosse batch`` run needs; :meth:`run` does it and
    returns the summary dict (see :class:`Summary`)."""

    input: str
    output: str
    base_url: str
    model: str | None = None
    api_key: str | None = None
    concurrency: int = 64
    rate: float | None = None
    arrival: str = "poisson"
    rpm: float | None = None
    tpm: float | None = None
    seed: int | None = None
    retry_interrupted: int = 0
    deadline: float | None = None
    client_options: dict[str, Any] = field(default_factory=dict)
    transport: str = "auto"
    workers: int = 1
    loop: str = "auto"
    resume: bool = True
    retry_failed: bool = False
    fsync: bool = False
    slo: dict[str, float] = field(default_factory=dict)
    progress: bool | None = None

    async def run(self) -> dict[str, Any]:
        admission = Admission(self.rate, self.arrival, self.rpm, self.tpm, self.seed)
        summary, timing = Summary(self.slo), Timing()
        with OutputWriter(self.output, resume=self.resume, fsync=self.fsync, retry_failed=self.retry_failed) as writer:
            skipped = len(writer.done)
            shown = sys.stderr.isatty() if self.progress is None else self.progress
            lines = count_lines(self.input) if shown else None
            progress = Progress(None if lines is None else max(0, lines - skipped), enabled=shown)
            start, cpu0 = time.perf_counter(), time.process_time()
            pool: WorkerPool | None = None
            clients: ClientSet | None = None
            worker_cpu = 0.0
            try:
                if self.workers > 1:
                    pool = WorkerPool(self.workers, self._worker_config(), self.loop)
                    await pool.start()
                    submit = pool.submit
                else:
                    clients = ClientSet(
                        None, self.base_url, model=self.model, api_key=self.api_key, concurrency=self.concurrency,
                        transport=self.transport, **self.client_options,
                    )  # fmt: skip
                    opts = RequestOptions(self.retry_interrupted, self.deadline, self.model)

                    async def submit(req: Any) -> dict[str, Any]:
                        assert clients is not None
                        return await execute(clients, req, opts)

                rows = schedule(
                    read_requests(sys.stdin.buffer if self.input == "-" else self.input), submit, concurrency=self.concurrency, admission=admission,
                    skip=writer.done, timing=timing,
                )  # fmt: skip
                async with contextlib.aclosing(rows):  # requests in flight are cancelled on the way out
                    async for row in rows:
                        writer.write(row)
                        summary.add(row)
                        progress.update(row)
            except BaseException:  # cancelled (a signal) or failed: stop the workers now, not after their streams
                if pool is not None:
                    pool.kill()
                raise
            finally:
                progress.close()
                if pool is not None:
                    try:
                        worker_cpu = await pool.close()
                    finally:
                        pool.kill()
                if clients is not None:
                    await clients.aclose()
            duration = time.perf_counter() - start
            cpu = time.process_time() - cpu0 + worker_cpu
        result = summary.result(duration, cpu, self.rate, timing.spans())
        result["skipped"] = skipped
        result["failed_rows_redone"] = writer.dropped
        result["workers"] = self.workers
        result["coalesce_ms"] = self.client_options.get("coalesce_ms")
        # the loop that ran this process, as the loop reports it (not the one asked for)
        result["loop"] = "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
        return result

    def _worker_config(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url, "model": self.model, "api_key": self.api_key,
            "concurrency": self.concurrency, "transport": self.transport, "client": self.client_options,
            "retry_interrupted": self.retry_interrupted, "deadline": self.deadline,
        }  # fmt: skip
