"""How one turbosse-transport connection reads a response, cut at every byte.

llhttp (httptools) reads the head; a chunked body is then undone by the
Dechunker, one pass per read, and handed to the sink once per read however
many chunks the read held. Driven through ``data_received`` with an
in-memory transport, so every cut is exact: the whole response in one read,
in two reads split at every byte, one byte per read. Each gives the same
status, headers, body, end and reuse verdict; a framing error keeps the body
before it and is typed."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop

from turbosse._transport import HTTPProtocolError
from turbosse._transport.protocol import Connection

pytestmark = pytest.mark.anyio


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False
        self.paused = 0

    def write(self, data: Any) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.paused -= 1

    def is_closing(self) -> bool:
        return self.aborted


def chunked(*chunks: bytes, trailers: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailers + b"\r\n"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(12)]
GZ = gzip.compress(b"".join(EVENTS))

RESPONSES = {
    "chunked": (HEAD + chunked(*EVENTS), b"".join(EVENTS), True),
    "interim-heads": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + HEAD + chunked(*EVENTS),
                      b"".join(EVENTS), True),
    "trailers": (HEAD + chunked(b"ab", b"cd", trailers=b"x-t: 1\r\n"), b"abcd", True),
    "gzip-chunked": (HEAD[:-2] + b"content-encoding: gzip\r\n\r\n" + chunked(GZ[:10], GZ[10:]), b"".join(EVENTS), True),
    "length": (b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world", b"hello world", True),
    "close": (b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the end", b"to the end", False),
    "no-body": (b"HTTP/1.1 204 No Content\r\n\r\n", b"", True),
}  # fmt: skip


async def read(raw_pieces: list[bytes]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    released: list[Connection] = []
    conn = Connection(loop, released.append)
    transport = _Transport()
    conn.connection_made(transport)
    response = conn.start(b"POST / HTTP/1.1\r\n\r\n", None)
    sink_calls: list[bytes] = []

    def sink(data: bytes) -> list[bytes]:
        sink_calls.append(data)
        return [data]

    got: list[bytes] = []
    for piece in raw_pieces:
        if response.status_code and response._sink is None:
            response.set_sink(sink)
        if not conn.closed:
            conn.data_received(piece)
    if not conn.closed and not response.done and response.error is None:
        conn.connection_lost(None)  # the end of a close-delimited body
    if response.status_code and response._sink is None:
        response.set_sink(sink)
    error = None
    try:
        while batch := await response.next_batch():
            got.extend(batch)
    except HTTPProtocolError as exc:
        error = (str(exc), exc.limit)
    return {
        "status": response.status_code,
        "headers": response.headers,
        "body": b"".join(got),
        "done": response.done,
        "error": error,
        "reused": conn.reusable and not transport.aborted,
        "sink_calls": len(sink_calls),
        "chunks": response._chunks is not None,
    }


def cut_everywhere(raw: bytes) -> list[list[bytes]]:
    return [[raw]] + [[raw[:i], raw[i:]] for i in range(1, len(raw))] + [[raw[i : i + 1] for i in range(len(raw))]]


@pytest.mark.parametrize("name", RESPONSES)
async def test_every_cut_reads_the_same_response(name):
    raw, body, reused = RESPONSES[name]
    whole = await read([raw])
    assert whole["body"] == body and whole["done"] and whole["error"] is None
    assert whole["reused"] is reused
    assert whole["status"] in (200, 204)
    assert whole["chunks"] is (b"chunked" in raw)  # a chunked body is the Dechunker's
    for pieces in cut_everywhere(raw):
        got = await read(pieces)
        assert {k: got[k] for k in ("status", "headers", "body", "done", "error", "reused")} == {
            k: whole[k] for k in ("status", "headers", "body", "done", "error", "reused")
        }, pieces


async def test_one_sink_call_per_read_whatever_the_chunks():
    raw = HEAD + chunked(*EVENTS)
    head_end = len(HEAD)
    got = await read([raw[:head_end], raw[head_end:]])
    assert got["body"] == b"".join(EVENTS) and got["chunks"]
    assert got["sink_calls"] == 1  # twelve chunks in one read: one call
    got = await read([raw])  # the head and the body in one read: still one
    assert got["sink_calls"] == 1


async def test_bytes_after_a_chunked_response_end_the_connection():
    raw = HEAD + chunked(b"abc") + b"HTTP/1.1 200 OK\r\n"
    for pieces in cut_everywhere(raw):
        got = await read(pieces)
        assert (got["body"], got["done"], got["reused"]) == (b"abc", True, False), pieces


@pytest.mark.parametrize(
    "tail, message, body",
    [
        (b"5\r\nhelloX", "invalid HTTP response: missing CRLF after chunk data", b"hello"),
        (b"3\r\nabc\r\nzz\r\n", "invalid HTTP response: invalid chunk size: unexpected byte b'z'", b"abc"),
        (b"1;" + b"e" * 20000, "invalid HTTP response: a chunk-size line exceeds 16384 bytes", b""),
    ],
)
async def test_framing_errors_keep_the_body_before_them(tail, message, body):
    for pieces in ([HEAD + tail], [HEAD, tail], [HEAD + tail[:3], tail[3:]]):
        got = await read(pieces)
        assert got["body"] == body and not got["done"] and not got["reused"]
        assert got["error"][0] == message
    limited = await read([HEAD + b"1;" + b"e" * 20000])
    assert limited["error"][1] == 16384
