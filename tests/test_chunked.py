"""Dechunker (both twins): undoing Transfer-Encoding: chunked as bytes arrive.

Valid bodies (extensions, trailers, bytes after the end) cut at every byte;
each framing error and limit with its message and the body kept before it;
and, by hypothesis, random and hostile inputs cut at random points: both
twins give the same bytes, the same state and the same error at the same
byte as the whole input fed at once."""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import pytest
from conftest import c_extensions_required, twin_module
from hypothesis import given, settings
from hypothesis import strategies as st

from turbosse._chunked_common import MAX_CHUNK_SIZE, MAX_LINE, MAX_TRAILERS, ChunkedError


@pytest.fixture(scope="session")
def mod(twin: str) -> ModuleType:
    return twin_module(twin, "chunked")


def encode(chunks: list[bytes], ext: bytes = b"", trailers: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks if c)
    return body + b"0%s\r\n%s\r\n" % (ext, trailers)


def run(mod: ModuleType, pieces: list[bytes], **kw: Any) -> tuple[bytes, bool, int, tuple[str, int | None] | None]:
    """Feed ``pieces`` one by one: (body, done, extra, error) where error is
    (message, limit) of the first ChunkedError, whose ``body`` counts."""
    d = mod.Dechunker(**kw)
    out = []
    for piece in pieces:
        try:
            got = d.feed(piece)
        except ChunkedError as exc:
            out.append(exc.body)
            with pytest.raises(ChunkedError) as again:  # and again on any later call
                d.feed(b"0\r\n\r\n")
            assert str(again.value) == str(exc)
            return b"".join(out), d.done, d.extra, (str(exc), exc.limit)
        assert type(got) is bytes
        out.append(got)
    return b"".join(out), d.done, d.extra, None


def cuts(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


BODY = [b"data: {\"a\": 1}\n\n", b"x", b"\r\n\r\n", b"y" * 300]


@pytest.mark.parametrize(
    "ext, trailers",
    [(b"", b""), (b";name=value", b""), (b" ;a=1;b=\"q\"", b"x-trailer: 1\r\nother: two\r\n"), (b"\t;x", b"t: v\r\n")],
)
def test_valid_bodies_cut_at_every_byte(mod, ext, trailers):
    data = encode(BODY, ext, trailers) + b"after"
    whole = run(mod, [data])
    assert whole == (b"".join(BODY), True, 5, None)
    for i in range(len(data) + 1):
        assert run(mod, [data[:i], data[i:]]) == whole, i
    assert run(mod, [data[i : i + 1] for i in range(len(data))]) == whole


def test_memoryview_input_and_zero_copy(mod):
    d = mod.Dechunker()
    assert d.feed(memoryview(b"5\r\nhello\r\n")) == b"hello"
    assert d.feed(bytearray(b"3\r\nabc")) == b"abc"
    assert d.feed(b"\r\n0\r\n") == b""
    assert not d.done
    assert d.feed(b"\r\n") == b"" and d.done and d.extra == 0


def test_leading_zeros_and_upper_case_hex(mod):
    assert run(mod, [b"000A\r\n0123456789\r\n00\r\n\r\n"]) == (b"0123456789", True, 0, None)


def test_whitespace_after_a_chunk_size_is_tolerated(mod):
    # RFC 9112 allows whitespace before a chunk extension; it is accepted with
    # no extension after it too (llhttp's strict mode rejects that)
    data = b"5 \r\nhello\r\n3\t\t\r\nabc\r\n0 \r\n\r\n"
    for pieces in ([data], [data[i : i + 1] for i in range(len(data))]):
        assert run(mod, pieces) == (b"helloabc", True, 0, None)


@pytest.mark.parametrize(
    "data, message, body",
    [
        (b"zz\r\nhello\r\n", "invalid chunk size: unexpected byte b'z'", b""),
        (b"\r\n", "invalid chunk size: unexpected byte b'\\r'", b""),
        (b";x\r\n", "invalid chunk size: unexpected byte b';'", b""),
        (b"5\nhello", "invalid chunk size: unexpected byte b'\\n'", b""),
        (b"5\r\rhello", "missing LF after a chunk-size line", b""),
        (b"5\r\nhelloX\r\n", "missing CRLF after chunk data", b"hello"),
        (b"5\r\nhello\rX", "missing CRLF after chunk data", b"hello"),
        (b"5;a\x00b\r\n", "invalid byte b'\\x00' in a chunk extension", b""),
        (b"5;a\nb\r\n", "invalid byte b'\\n' in a chunk extension", b""),
        (b"2\r\nab\r\n0\r\nx: 1\n", "a bare LF in the trailer section", b"ab"),
        (b"2\r\nab\r\n0\r\nx: 1\rX", "missing LF in the trailer section", b"ab"),
        (b"0\r\n\rX", "missing LF in the trailer section", b""),
    ],
)
def test_framing_errors(mod, data, message, body):
    for pieces in ([data], [data[i : i + 1] for i in range(len(data))]):
        assert run(mod, pieces) == (body, False, 0, (message, None))


def test_chunk_size_overflow_is_an_error_never_a_wrap(mod):
    top = b"%x" % MAX_CHUNK_SIZE
    d = mod.Dechunker()
    d.feed(top + b"\r\n")  # the largest accepted size: a body that long would follow
    assert not d.done
    for size in (b"%x" % (MAX_CHUNK_SIZE + 1), b"f" * 18, b"1" + b"0" * 16):
        message = f"invalid chunk size: larger than {MAX_CHUNK_SIZE} bytes"
        assert run(mod, [size + b"\r\n"]) == (b"", False, 0, (message, MAX_CHUNK_SIZE))


def test_limits(mod):
    assert MAX_LINE == 16 * 1024 and MAX_TRAILERS == 64 * 1024
    line = b"1;" + b"e" * 8  # ten bytes of chunk-size line
    assert run(mod, [line + b"\r\nx\r\n0\r\n\r\n"], max_line=10)[3] is None
    assert run(mod, [line + b"e\r\nx\r\n"], max_line=10) == (b"", False, 0, ("a chunk-size line exceeds 10 bytes", 10))
    assert run(mod, [b"0" * 11 + b"\r\n"], max_line=10)[3] == ("a chunk-size line exceeds 10 bytes", 10)
    # the line count starts again at each chunk
    assert run(mod, [(line + b"\r\nx\r\n") * 50 + b"0\r\n\r\n"], max_line=10) == (b"x" * 50, True, 0, None)
    trailers = b"t: " + b"v" * 5 + b"\r\n"  # ten bytes, and the final CRLF makes twelve
    assert run(mod, [b"0\r\n" + trailers + b"\r\n"], max_trailers=12)[1:] == (True, 0, None)
    assert run(mod, [b"0\r\n" + trailers + b"\r\n"], max_trailers=11)[3] == ("the trailer section exceeds 11 bytes", 11)
    endless = [b"0\r\n"] + [b"x-h: " + b"v" * 1000 + b"\r\n"] * 100
    assert run(mod, endless)[3] == (f"the trailer section exceeds {MAX_TRAILERS} bytes", MAX_TRAILERS)


def _trace(mod: ModuleType, pieces: list[bytes]) -> list[Any]:
    d = mod.Dechunker(max_line=8, max_trailers=40)
    trace: list[Any] = []
    for piece in pieces:
        try:
            trace.append((d.feed(piece), d.done, d.extra))
        except ChunkedError as exc:
            trace.append(("error", str(exc), exc.limit, exc.body))
            break
    return trace


_ALPHABET = b"0123456789abcdefABCDEFxyz;= \t\r\n\x00"
hostile = st.lists(st.sampled_from([bytes([c]) for c in _ALPHABET] + [b"\r\n", b"5\r\nhello\r\n", b"0\r\n\r\n"]),
                   max_size=60).map(b"".join)  # fmt: skip


@pytest.fixture(scope="module")
def both(request: pytest.FixtureRequest) -> tuple[ModuleType, ModuleType]:
    if not c_extensions_required(request.config):
        pytest.skip("compares the compiled twin with the pure one; this run tests the pure twin only")
    return twin_module("cython", "chunked"), twin_module("python", "chunked")


@settings(max_examples=400)
@given(data=st.one_of(hostile, st.binary(max_size=80)), points=st.lists(st.integers(0, 200), max_size=6))
def test_twins_agree_on_any_input_and_any_cut(both, data, points):
    c_mod, py_mod = both
    pieces = cuts(data, points)
    assert _trace(c_mod, pieces) == _trace(py_mod, pieces)
    # however the input is cut, the body, the state and the error are those of one feed
    whole = run(py_mod, [data], max_line=8, max_trailers=40)
    assert run(c_mod, pieces, max_line=8, max_trailers=40) == whole


@settings(max_examples=200)
@given(
    chunks=st.lists(st.binary(max_size=40), max_size=8),
    ext=st.sampled_from([b"", b";a=1", b" ;q"]),
    trailers=st.sampled_from([b"", b"a: b\r\n"]),
    after=st.binary(max_size=5),
    points=st.lists(st.integers(0, 500), max_size=8),
)
def test_random_valid_bodies(mod, chunks, ext, trailers, after, points):
    data = encode(chunks, ext, trailers) + after
    assert run(mod, cuts(data, points)) == (b"".join(chunks), True, len(after), None)
