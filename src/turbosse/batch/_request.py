"""One request of a batch, start to row: open the stream on the client for
the request's API, time every token-bearing delta, reissue a stream that
broke mid-way when asked to, enforce the total deadline, and build the row
(see :mod:`turbosse.batch._rows` for its fields).

Timing follows ``vllm bench serve``: the clock starts when the request is
first sent, so ``ttft`` and ``e2el`` include retries and reissues; ``itl``
and the token counts are those of the attempt that produced the row.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import httpx

from .. import MalformedChunk, SSEError, StreamInterrupted
from ._clients import ClientSet
from ._errors import DeadlineExceeded
from ._input import BatchRequest
from ._rows import error_row, ok_row
from ._transport import bytes_read

__all__ = ["RequestOptions", "execute"]


class RequestOptions:
    """How each request runs.

    :param retry_interrupted: how many times to reissue a request whose
        stream broke after content arrived (connection lost, idle timeout,
        malformed chunk); the client's own retries cover failures before
        content. If every attempt fails, the row keeps the last partial.
    :param deadline: seconds a request may take in all, retries included
        (None: no limit); past it the row's error is ``DeadlineExceeded``.
    :param model: the model for bodies that name none.
    """

    __slots__ = ("retry_interrupted", "deadline", "model")

    def __init__(self, retry_interrupted: int = 0, deadline: float | None = None, model: str | None = None) -> None:
        if retry_interrupted < 0:
            raise ValueError(f"retry_interrupted must be >= 0, not {retry_interrupted}")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be > 0 seconds or None, not {deadline}")
        self.retry_interrupted = retry_interrupted
        self.deadline = deadline
        self.model = model


class _Attempt:
    """What the current attempt has measured, readable after a cancellation;
    also the stream's handler: ``on_deltas`` times every token-bearing delta
    as it is delivered (on the turbosse transport, where the bytes are read,
    and no coroutine is woken per read)."""

    __slots__ = ("stream", "ttft", "itl", "chunks", "attempts", "last", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.stream: Any = None
        self.ttft: float | None = None
        self.itl: list[float] = []
        self.chunks = 0
        self.attempts = 0
        self.last = 0.0

    def on_deltas(self, deltas: list[Any]) -> None:
        now = None
        for d in deltas:
            if d[2] is not None or d[3] is not None or d[5] is not None:
                if now is None:
                    now = time.perf_counter()
                if self.chunks:
                    self.itl.append(now - self.last)
                else:
                    self.ttft = now - self.start
                self.last = now
                self.chunks += 1


def _open(client: Any, req: BatchRequest, model: str | None, handler: _Attempt) -> Any:
    params = dict(req.body)
    key = "input" if req.api == "responses" else "messages"
    messages = params.pop(key, None)
    if messages is None:
        raise SSEError(f"a {req.path} request needs {key}")
    params.pop("stream", None)  # always streamed
    return client.stream(messages, model=params.pop("model", None) or model, handler=handler, **params)


async def _attempts(client: Any, req: BatchRequest, opts: RequestOptions, state: _Attempt) -> Any:
    """The result of the last attempt; raises its error if all failed."""
    reissues = 0
    while True:
        stream = state.stream = _open(client, req, opts.model, state)
        state.ttft, state.itl, state.chunks = None, [], 0
        try:
            try:
                return await stream.result()  # the deltas are timed by state.on_deltas
            finally:
                state.attempts += stream.attempts
        except (StreamInterrupted, MalformedChunk, httpx.TransportError):
            if reissues >= opts.retry_interrupted:
                raise
            reissues += 1
            await asyncio.sleep(min(2.0, 0.05 * 2.0**reissues) * random.uniform(0.75, 1.0))


def _metrics(state: _Attempt, start: float, result: Any) -> dict[str, Any]:
    e2el = time.perf_counter() - start
    usage = getattr(result, "usage", None)
    out = usage.completion_tokens if usage is not None and usage.completion_tokens is not None else state.chunks
    ttft = state.ttft
    tpot = (e2el - ttft) / (out - 1) if ttft is not None and out > 1 else 0.0
    response = getattr(state.stream, "response", None)
    return {
        "ttft": ttft,
        "itl": [round(x, 6) for x in state.itl],
        "tpot": tpot,
        "e2el": e2el,
        "output_tokens": out,
        "prompt_len": None if usage is None else usage.prompt_tokens,
        "attempts": state.attempts,
        "bytes": bytes_read(response),
    }


async def execute(clients: ClientSet, req: BatchRequest, opts: RequestOptions) -> dict[str, Any]:
    """Run one request on the client for its API and return its row; every
    failure becomes an error row."""
    start = time.perf_counter()
    state = _Attempt(start)
    try:
        client = clients.get(req.api)
        if opts.deadline is None:
            result = await _attempts(client, req, opts, state)
        else:
            result = await _with_deadline(_attempts(client, req, opts, state), opts.deadline, state)
    except Exception as exc:
        # an SSEError, or ValueError/TypeError: the client rejected the
        # request's parameters; whatever it is, it ends this request only
        return error_row(req.custom_id, exc, _metrics(state, start, getattr(exc, "partial", None)))
    response = getattr(state.stream, "response", None)
    request_id = response.headers.get("x-request-id") if response is not None else None
    return ok_row(req.custom_id, result, _metrics(state, start, result), request_id)


async def _with_deadline(coro: Any, deadline: float, state: _Attempt) -> Any:
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(deadline):
                return await coro
        return await asyncio.wait_for(coro, deadline)
    except (TimeoutError, asyncio.TimeoutError):
        stream = state.stream
        raise DeadlineExceeded(deadline, None if stream is None else stream.partial) from None

