"""The compiled objects every stream makes (ChatDecoder and its parts, the
Dechunker) are not tracked by the garbage collector: their fields cannot form
a reference cycle, so the collector need not scan them (at a thousand
streams in flight each tracked object costs scans on every full
collection). These tests check both halves: they are untracked, and using
them, failures included, leaves nothing behind that only the collector could
free (an exception kept with its traceback would be such a cycle)."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from conftest import twin_module

from turbosse._chunked_common import ChunkedError
from turbosse._errors import SSEError


def _objects(twin: str) -> list[object]:
    decoder = twin_module(twin, "decoder").ChatDecoder()
    return [decoder, twin_module(twin, "parser").SSEParser(), twin_module(twin, "shape").Shapes(),
            twin_module(twin, "chunked").Dechunker()]  # fmt: skip


def test_compiled_stream_objects_are_untracked(twin):
    tracked = {type(o).__name__: gc.is_tracked(o) for o in _objects(twin)}
    if twin == "cython":
        assert tracked == dict.fromkeys(tracked, False)
    else:  # plain Python objects: the collector tracks them
        assert all(tracked.values())


def _use(twin: str) -> None:
    dechunker = twin_module(twin, "chunked").Dechunker()
    dechunker.feed(b"5\r\nhel")
    with pytest.raises(ChunkedError):
        dechunker.feed(b"loX")
    with pytest.raises(ChunkedError):
        dechunker.feed(b"")
    decoder = twin_module(twin, "decoder").ChatDecoder()
    decoder.feed(b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' * 3)
    with pytest.raises(SSEError):
        decoder.feed(b"data: {not json\n\n")


def test_failures_leave_no_garbage(twin):
    for _ in range(50):
        _use(twin)  # warm: caches, interned strings
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            _use(twin)
        leaked = tracemalloc.get_traced_memory()[0] - before
        gc.collect()
        after_gc = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    # a cycle through an untracked object outlives the collector: each would
    # hold kilobytes (the error, its traceback and frames)
    assert leaked > 0  # the uses made garbage (exceptions, tracebacks) ...
    assert after_gc < 64 * 1024, after_gc  # ... which the collector freed
