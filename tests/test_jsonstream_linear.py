"""JSONStream costs time linear in its input: a tool-call argument four times
longer, fed in 4-character fragments with every event read, takes about four
times as long, never the sixteen of a parser that re-reads its input.

The compiled twin is timed on a 10 MB argument against a 2.5 MB one; the Python
twin on 400 kB against 100 kB (it is an order of magnitude slower per byte).
The cycle collector is off while timing, and a failing pair is timed again
(the faster runs count), so a busy machine does not decide the outcome; the
bound (8x) sits halfway between linear (4x) and quadratic (16x) growth on a
log scale.
"""

from __future__ import annotations

import gc
import time
from types import ModuleType
from typing import Any

import pytest
from conftest import twin_module

SIZES = {"cython": 10_000_000, "python": 400_000}
UNIT = 'code \\n\\"quoted\\" é → '  # 22 characters of JSON text


@pytest.fixture(scope="module")
def js(twin: str) -> ModuleType:
    return twin_module(twin, "jsonstream")


def argument(size: int) -> tuple[list[str], str]:
    body = UNIT * (size // len(UNIT))
    doc = '{"path": "notes.md", "content": "' + body + '"}'
    return [doc[i : i + 4] for i in range(0, len(doc), 4)], body


def feed_time(js: ModuleType, fragments: list[str]) -> tuple[float, Any]:
    gc.disable()
    try:
        s = js.JSONStream()
        feed = s.feed
        t0 = time.perf_counter()
        for fragment in fragments:
            for _event in feed(fragment):
                pass
        value = s.close()
        return time.perf_counter() - t0, value
    finally:
        gc.enable()


def test_feed_is_linear(twin: str, js: ModuleType) -> None:
    big = SIZES[twin]
    cases = [argument(size) for size in (big // 4, big)]
    times = [float("inf"), float("inf")]
    for _attempt in range(2):
        for k, (fragments, body) in enumerate(cases):
            seconds, value = feed_time(js, fragments)
            assert value["content"] == body.replace('\\"', '"').replace("\\n", "\n")
            times[k] = min(times[k], seconds)
        if times[1] / times[0] < 8:
            break
    growth = times[1] / times[0]
    assert growth < 8, f"4x the input took {growth:.1f}x the time ({times[0]:.2f} s, {times[1]:.2f} s)"
