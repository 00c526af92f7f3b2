"""DeltaBuffer: flush by time, by size, and at the end."""

from __future__ import annotations

import json

import pytest

from turbosse import DeltaBuffer, accumulate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_flush_by_size() -> None:
    buf = DeltaBuffer(interval_ms=1000, min_chars=5, clock=Clock())
    assert [buf.add(t) for t in ("ab", "c", "de", "f")] == [None, None, "abcde", None]
    assert buf.pending == 1 and buf.flush() == "f" and buf.flush() is None


def test_flush_by_time_measured_from_oldest_pending() -> None:
    clock = Clock()
    buf = DeltaBuffer(interval_ms=100, min_chars=None, clock=clock)
    assert buf.add("a") is None
    clock.now = 0.05
    assert buf.add("b") is None and buf.poll() is None
    clock.now = 0.1
    assert buf.poll() == "ab"
    clock.now = 0.15
    assert buf.add("c") is None  # the clock restarts with the next pending text
    clock.now = 0.26
    assert buf.add("d") == "cd"


def test_interval_zero_lets_everything_out() -> None:
    buf = DeltaBuffer(interval_ms=0, clock=Clock())
    assert [buf.add(t) for t in ("a", "", "b")] == ["a", None, "b"]


def test_on_flush_callback_and_final_flush() -> None:
    got: list[str] = []
    buf = DeltaBuffer(interval_ms=1000, min_chars=3, on_flush=got.append, clock=Clock())
    for t in "abcdefg":
        buf.add(t)
    buf.flush()
    assert got == ["abc", "def", "g"] and "".join(got) == "abcdefg"


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        DeltaBuffer(interval_ms=-1)
    with pytest.raises(ValueError):
        DeltaBuffer(min_chars=0)


def test_as_stream_handler_flushes_at_end() -> None:
    got: list[str] = []
    body = [b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": c}}]}).encode() + b"\n\n"
            for c in ("Hel", "lo", " wor", "ld")] + [b"data: [DONE]\n\n"]
    result = accumulate(body, DeltaBuffer(interval_ms=10_000, min_chars=5, on_flush=got.append, clock=Clock()))
    assert got == ["Hello", " world"] and result.content == "Hello world"


def test_real_clock_default() -> None:
    buf = DeltaBuffer()
    assert buf.add("x") is None and buf.flush() == "x"
