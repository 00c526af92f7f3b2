"""Threads: one parser per stream is the documented use; sharing one is refused.

Both twins run these tests (the ``parser_mod`` fixture). The compiled module
declares itself free-threading compatible, so on a free-threaded CPython
(3.14t, tested by cibuildwheel) these tests run with truly parallel threads;
under the GIL they still interleave the pure-Python twin at bytecode
boundaries, helped by a tiny switch interval.

What is promised:
- Any number of threads, each with its own parser, get exactly the events a
  single-threaded parse gives.
- Two threads calling ``feed()`` on one parser never corrupt it: every call
  either returns the right events or raises ``SSEError`` saying the parser is
  already in use; the parser keeps working afterwards.
"""

from __future__ import annotations

import importlib
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import c_extensions_required

import turbosse
from turbosse import SSEError

N_THREADS = 8
ROUNDS = 3


@pytest.fixture(autouse=True)
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def make_stream(seed: int, n_events: int = 150) -> bytes:
    """An OpenAI-like stream with ids, event types, multi-line data, comments,
    CRLF and CR line ends and a retry field, varied by ``seed``."""
    parts = [b"\xef\xbb\xbf: keep-alive\n\n"]
    for i in range(n_events):
        end = (b"\n", b"\r\n", b"\r")[(i + seed) % 3]
        block = [b"id: " + f"{seed}-{i}".encode()]
        if i % 7 == 0:
            block.append(b"event: ping")
        if i % 11 == 0:
            block.append(b"retry: " + str(1000 + i).encode())
        payload = '{"choices":[{"delta":{"content":"tok ' + f"{seed}-{i}" + ' \u00e9\u4e16"}}]}'
        block.append(b"data: " + payload.encode())
        if i % 5 == 0:
            block.append(b"data: second line")
        parts.append(end.join(block) + end + end)
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def chunked(data: bytes, seed: int) -> list[bytes]:
    """Split at varying, deterministic points, including 1-byte pieces."""
    sizes = (1, 3, 17, 64, 251, 1024)
    out, pos, k = [], 0, seed
    while pos < len(data):
        size = sizes[k % len(sizes)]
        out.append(data[pos : pos + size])
        pos += size
        k += 1
    return out


def parse(parser_mod: ModuleType, chunks: list[bytes]) -> tuple[list[Any], str, int | None]:
    parser = parser_mod.SSEParser()
    events: list[Any] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return events, parser.last_event_id, parser.retry


def run_threads(target: Callable[[int], None], n: int) -> None:
    """Start ``n`` threads together; re-raise the first failure in the caller."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a worker thread hung"
    if errors:
        raise errors[0]


def test_one_parser_per_thread(parser_mod: ModuleType) -> None:
    streams = {i: chunked(make_stream(i), i) for i in range(N_THREADS)}
    expected = {i: parse(parser_mod, chunks) for i, chunks in streams.items()}
    assert all(len(events) == 151 for events, _, _ in expected.values())  # + [DONE]
    results: dict[tuple[int, int], tuple[list[Any], str, int | None]] = {}

    def work(index: int) -> None:
        for r in range(ROUNDS):
            results[index, r] = parse(parser_mod, streams[index])

    run_threads(work, N_THREADS)
    for (index, _), got in results.items():
        assert got == expected[index]
    assert len(results) == N_THREADS * ROUNDS


def test_shared_parser_is_never_corrupted(parser_mod: ModuleType) -> None:
    """Two threads feed one parser. Each call carries one complete block, so a
    call that is let in must return exactly that block's event; a call that
    finds the parser busy must raise SSEError naming the problem."""
    parser = parser_mod.SSEParser()
    calls = 400
    filler = "data: x\n" * 20
    outcomes: dict[int, list[tuple[str, Any]]] = {0: [], 1: []}

    def work(index: int) -> None:
        for k in range(calls):
            ident = f"t{index}-{k}"
            # Long enough that a thread switch often lands inside feed().
            block = f"id: {ident}\nevent: e{index}\ndata: {ident} \u00e9\n{filler}\n".encode()
            try:
                events = parser.feed(block)
            except SSEError as exc:
                outcomes[index].append(("busy", str(exc)))
            else:
                outcomes[index].append(("ok", (ident, events)))

    run_threads(work, 2)

    fed_ids = set()
    for index, results in outcomes.items():
        assert len(results) == calls
        for kind, value in results:
            if kind == "busy":
                assert "another call was running on the same parser" in value
                assert "one parser per stream" in value
                continue
            ident, events = value
            assert len(events) == 1, (ident, events)
            (event,) = events
            assert (event.event, event.id) == (f"e{index}", ident)
            assert event.data == f"{ident} \u00e9" + "\nx" * 20
            fed_ids.add(ident)
    assert fed_ids, "no call got through"
    assert parser.last_event_id in fed_ids
    # Still a working parser afterwards, with no leftover state.
    (after,) = parser.feed(b"data: after\n\n")
    assert (after.event, after.data, after.id) == ("message", "after", parser.last_event_id)
    assert parser.close() == []


def test_shared_parser_partial_chunks_stay_consistent(parser_mod: ModuleType) -> None:
    """Two threads feed one stream's chunks, taking turns under a lock as the
    documentation asks of anyone who must share a parser: the result is the
    single-threaded one."""
    chunks = chunked(make_stream(3), 3)
    expected, expected_id, expected_retry = parse(parser_mod, chunks)
    parser = parser_mod.SSEParser()
    lock = threading.Lock()
    position = 0
    events: list[Any] = []

    def work(index: int) -> None:
        nonlocal position
        while True:
            with lock:
                if position == len(chunks):
                    return
                events.extend(parser.feed(chunks[position]))
                position += 1

    run_threads(work, 2)
    events += parser.close()
    assert events == expected
    assert (parser.last_event_id, parser.retry) == (expected_id, expected_retry)


def test_reentrant_feed_is_refused(parser_mod: ModuleType) -> None:
    """The busy guard, deterministically: a buffer whose conversion calls back
    into the same parser. The Python twin converts with bytes(), which runs
    ``__bytes__`` while feed() is active, so the inner call must be refused;
    the compiled twin reads the buffer directly and never calls back."""
    parser = parser_mod.SSEParser()
    seen: list[BaseException | list[Any]] = []

    class Sneaky(bytearray):
        def __bytes__(self) -> bytes:
            try:
                seen.append(parser.feed(b"data: inner\n\n"))
            except SSEError as exc:
                seen.append(exc)
            return bytes(memoryview(self))

    (outer,) = parser.feed(Sneaky(b"data: outer\n\n"))
    assert outer.data == "outer"
    if seen:
        (inner,) = seen
        assert isinstance(inner, SSEError), inner
        assert "one parser per stream" in str(inner)
    (later,) = parser.feed(b"data: later\n\n")
    assert later.data == "later"


def test_free_threaded_build_keeps_the_gil_off(request: pytest.FixtureRequest) -> None:
    """On a free-threaded CPython (3.14t, 3.15t) importing the compiled modules
    must not switch the GIL back on: each declares itself compatible (Cython's
    freethreading_compatible, set in setup.py)."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        pytest.skip("not a free-threaded CPython")
    if os.environ.get("PYTHON_GIL") == "1" or getattr(sys.flags, "gil", None) == 1:
        pytest.skip("the GIL was forced on (PYTHON_GIL=1 or -X gil=1)")
    if not c_extensions_required(request.config):
        pytest.skip("compiled twin not required (pure-Python leg)")
    package_dir = Path(turbosse.__file__).parent
    names = sorted(
        {p.name.split(".")[0] for p in package_dir.glob("_*_c.*") if p.suffix in (".so", ".pyd")}
    )
    assert names, f"no compiled module in {package_dir}"
    for name in names:
        importlib.import_module(f"turbosse.{name}")
    assert not sys._is_gil_enabled(), f"importing {names} re-enabled the GIL"
