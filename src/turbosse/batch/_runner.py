"""The scheduler: requests in, rows out as each request finishes, with at
most ``concurrency`` in flight, each admitted by the arrival schedule and the
rpm/tpm limits (:class:`Admission`). :func:`run` executes requests in this
process; the worker pool plugs its own ``submit`` into :func:`schedule`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Any

from ._clients import ClientSet
from ._input import BatchRequest, aread_requests, read_requests
from ._limits import Admission, estimate_tokens
from ._request import RequestOptions, execute

__all__ = ["Timing", "run", "schedule"]

Submit = Callable[[BatchRequest], Awaitable[dict[str, Any]]]
_END = object()


class Timing:
    """When requests were due and when they started (monotonic seconds):
    the offered rate was held if the starts spanned no longer than the
    schedule did."""

    def __init__(self) -> None:
        self.started = 0
        self.first_start: float | None = None
        self.last_start: float | None = None
        self.first_due: float | None = None
        self.last_due: float | None = None

    def spans(self) -> tuple[float, float] | None:
        """(planned, actual) seconds from the first start to the last."""
        if self.first_due is None or self.last_due is None or self.first_start is None or self.last_start is None:
            return None
        return self.last_due - self.first_due, self.last_start - self.first_start


def _tokens_used(row: dict[str, Any]) -> int | None:
    m = row.get("metrics") or {}
    out = m.get("output_tokens")
    return None if out is None else out + (m.get("prompt_len") or 0)


async def _requests(source: Any) -> AsyncIterator[BatchRequest]:
    if isinstance(source, AsyncIterable):
        async for req in aread_requests(source):
            yield req
    else:
        for req in read_requests(source):
            yield req


async def schedule(
    requests: Any,
    submit: Submit,
    *,
    concurrency: int,
    admission: Admission,
    skip: frozenset[str] | set[str] = frozenset(),
    timing: Timing | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """Rows of ``submit(request)`` for every request not in ``skip``, in
    the order they finish. An error reading the input is raised after the
    rows already in flight have been yielded."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, not {concurrency}")
    timing = timing if timing is not None else Timing()
    slots = asyncio.Semaphore(concurrency)
    done: asyncio.Queue[Any] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()
    failure: list[BaseException] = []

    async def one(req: BatchRequest, estimate: int) -> None:
        try:
            row = await submit(req)
        except Exception as exc:  # the executor itself failed (a worker died): the batch stops
            failure.append(exc)
            return
        finally:
            slots.release()
        admission.settle(estimate, _tokens_used(row))
        done.put_nowait(row)

    async def feed() -> None:
        try:
            async for req in _requests(requests):
                if failure:
                    break
                if req.custom_id in skip:
                    continue
                estimate = estimate_tokens(req.body) if admission.tpm is not None else 0
                await admission.wait(estimate)
                await slots.acquire()
                now = time.monotonic()
                if timing.first_start is None:
                    timing.first_start = now
                timing.last_start = now
                timing.started += 1
                task = asyncio.ensure_future(one(req, estimate))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.wait(set(tasks))
        except Exception as exc:  # reported by the consumer, after the rows in flight
            failure.append(exc)
            while tasks:
                await asyncio.wait(set(tasks))
        finally:
            timing.first_due, timing.last_due = admission.first_due, admission.last_due
            done.put_nowait(_END)

    feeder = asyncio.ensure_future(feed())
    try:
        while True:
            row = await done.get()
            if row is _END:
                break
            yield row
        if failure:
            raise failure[0]
    finally:
        pending = [t for t in (feeder, *tasks) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def run(
    requests: Iterable[Any] | AsyncIterable[Any] | str,
    *,
    client: Any = None,
    base_url: str | None = None,
    model: str | None = None,
    concurrency: int = 64,
    rate: float | None = None,
    arrival: str = "poisson",
    rpm: float | None = None,
    tpm: float | None = None,
    retry_interrupted: int = 0,
    deadline: float | None = None,
    skip: frozenset[str] | set[str] = frozenset(),
    seed: int | None = None,
    timing: Timing | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Run a batch and yield one row (a dict, see :mod:`turbosse.batch`) per
    request as it finishes::

        async for row in turbosse.batch.run(requests, client=client, concurrency=256):
            ...

    :param requests: :class:`BatchRequest` objects, input lines (bytes or
        text, either format) or dicts, sync or async; or a JSONL file path.
    :param client: an :class:`turbosse.AsyncChatClient` (not closed here),
        used for the API its URL names; or a dict of them by API name
        (``"chat.completions"``, ``"responses"``, ``"messages"``). Without
        one, ``base_url`` is required and a client is made for each API the
        requests use (their ``url``), closed at the end.
    :param model: the model for requests whose body names none.
    :param concurrency: requests in flight at most (default 64).
    :param rate: requests per second offered (None: as concurrency allows),
        with ``arrival`` ``"poisson"`` (default) or ``"constant"`` intervals.
    :param rpm, tpm: requests and tokens per minute at most.
    :param retry_interrupted: reissues of a stream broken after content.
    :param deadline: seconds a request may take in all.
    :param skip: custom_ids not to run (already done).
    :param seed: for the Poisson schedule.
    :param timing: a :class:`Timing` to fill in (whether the rate was held).
    """
    opts = RequestOptions(retry_interrupted, deadline, model)
    admission = Admission(rate, arrival, rpm, tpm, seed)
    clients = ClientSet(client, base_url, model=model, concurrency=concurrency)

    async def submit(req: BatchRequest) -> dict[str, Any]:
        return await execute(clients, req, opts)

    try:
        async for row in schedule(requests, submit, concurrency=concurrency, admission=admission, skip=skip, timing=timing):
            yield row
    finally:
        await clients.aclose()
