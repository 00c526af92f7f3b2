"""Each end-to-end contender's parsing pipeline alone, with no I/O: the same
stream bytes, cut as the client reads them, so that the rest of a client's CPU
per token can be called transport."""

from __future__ import annotations

import functools
import gc
import importlib.util
import json
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ..testing._http1 import decode_chunked
from .lockstep import fake_plan
from .timing import best_of, calibrate

__all__ = ["PIPELINES", "missing", "parse_costs", "paced_capacity", "stream_reads"]


def missing(modules: Sequence[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def stream_reads(tokens: int, paced: bool) -> list[bytes]:
    """The body of a fake stream cut as a client reads it: one server write
    per read when paced, 64 KiB reads when not."""
    reads = [decode_chunked(data) for _, data in fake_plan(tokens, 50.0).writes]
    if paced:
        return [r for r in reads if r]
    body = b"".join(reads)
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


def paced_capacity(streams: int, tokens: int, rate: float) -> float:
    """The tokens per second a client that keeps up would measure in the paced
    scenario: every stream's tokens over the time from the first request to
    the last stream's last write (streams start spread over one interval)."""
    writes = fake_plan(tokens, rate).writes
    duration = max((due for due, _ in writes), default=0.0) + (1.0 / rate if streams > 1 else 0.0)
    return streams * tokens / duration if duration > 0 else float("inf")


def _turbosse(reads: list[bytes]) -> int:
    from .. import ChatAccumulator, ChatDecoder

    decoder, acc = ChatDecoder(), ChatAccumulator()
    add = acc.add
    n = 0
    for chunk in reads:
        for d in decoder.feed(chunk):
            add(d)
            if d.content is not None:
                n += 1
    acc.result()
    return n


@functools.cache
def _httpx_sse_json() -> Callable[[list[bytes]], tuple[int, int]]:
    from .decoding import httpx_sse_json_run

    return httpx_sse_json_run()[1]


def _httpx_sse(reads: list[bytes]) -> int:
    return _httpx_sse_json()(reads)[0]


def _httpx_lines(reads: list[bytes]) -> int:
    from httpx._decoders import LineDecoder, TextDecoder

    text_decoder, lines = TextDecoder("utf-8"), LineDecoder()
    parts = []
    for chunk in reads:
        for line in lines.decode(text_decoder.decode(chunk)):
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        parts.append(text)
    "".join(parts)
    return len(parts)


def _openai(reads: list[bytes]) -> int:
    # what openai's AsyncStream does per event: its SSEDecoder, then a model
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.types.chat import ChatCompletionChunk

    parts = []
    for sse in SSEDecoder().iter_bytes(iter(reads)):
        if sse.data.startswith("[DONE]"):
            break
        chunk: Any = construct_type(type_=ChatCompletionChunk, value=sse.json())
        if chunk.choices:
            text = chunk.choices[0].delta.content
            if text:
                parts.append(text)
    "".join(parts)
    return len(parts)


#: name -> (pipeline: reads -> content tokens, modules it needs); "none" costs nothing
PIPELINES: dict[str, tuple[Callable[[list[bytes]], int], tuple[str, ...]]] = {
    "none": (lambda reads: -1, ()),
    "turbosse": (_turbosse, ()),
    "httpx-sse": (_httpx_sse, ("httpx_sse",)),
    "openai": (_openai, ("openai",)),
    "httpx-lines": (_httpx_lines, ()),
}


def parse_costs(tokens: int, paced: bool, min_time: float, only: Collection[str] | None = None) -> dict[str, float]:
    """CPU microseconds per token of each parsing pipeline alone (best of
    several timed batches, each repeating the stream enough to take ~20 ms)."""
    reads = stream_reads(tokens, paced)
    costs = {}
    for name, (fn, needs) in PIPELINES.items():
        if (only is not None and name not in only) or missing(needs):
            continue
        if name == "none":
            costs[name] = 0.0
            continue
        got = fn(reads)
        if got != tokens:
            raise RuntimeError(f"the {name} pipeline read {got} tokens of {tokens}")
        once = functools.partial(fn, reads)
        loops = calibrate(once, 0.02, timer=time.process_time)
        gc.collect()
        best = best_of(once, loops, min_time=min_time, min_samples=3)
        costs[name] = best / (loops * tokens) * 1e6
    return costs
