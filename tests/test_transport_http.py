"""turbosse's own transport (StreamTransport) against scripted servers on
127.0.0.1, on asyncio and uvloop: every body framing, gzip and deflate, 1xx,
keep-alive reuse and a server closing idle connections, timeouts, the pool
limit, flow control, and hostile responses with their typed errors."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop
from _scripted_server import Exchange, ScriptedServer, sse_response
from hypothesis import given, settings
from hypothesis import strategies as st

from turbosse import SSEError
from turbosse._transport import (
    ConnectFailed,
    ConnectionLost,
    ConnectTimedOut,
    HTTPProtocolError,
    PoolTimedOut,
    ReadTimedOut,
    TotalTimedOut,
    UnsupportedRequest,
)
from turbosse._transport.pool import StreamTransport, Timeouts
from turbosse._transport.protocol import MAX_HEADER_BYTES, MAX_HEADER_LINE, MAX_INTERIM, MAX_QUEUED

pytestmark = pytest.mark.anyio

T = Timeouts(connect=5, read=5, pool=5)
BODY = b"".join(b'data: {"n": %d}\n\n' % i for i in range(40))


async def read_all(transport: StreamTransport, url: str, timeouts: Timeouts = T, **kw) -> tuple[int, bytes]:
    response = await transport.request("POST", url + "/v1/chat", {"content-type": "application/json"}, b"{}", timeouts, **kw)
    try:
        chunks = [c async for c in response.aiter_bytes()]
    finally:
        response.close()
    return response.status_code, b"".join(chunks)


def replying(writes: list[bytes], *, pause: float = 0.0, then_close: bool = False, requests: int = 1):
    async def handler(ex: Exchange) -> None:
        for _ in range(requests):
            if await ex.request() is None:
                return
            await ex.send(*writes, pause=pause)
        if then_close:
            ex.close()
        else:
            await ex.reader.read()  # hold the connection until the client closes it

    return handler


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
async def test_every_framing_split_into_many_writes(framing):
    writes = sse_response(BODY, framing=framing)
    async with ScriptedServer(replying(writes, pause=0.001, then_close=framing == "close")) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY)
        assert t.connections() == ((0, 0) if framing == "close" else (1, 0))
        await t.aclose()


async def test_chunk_extensions_and_trailers():
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    writes = [head, b"5;ext=1\r\nhello\r\n", b"6\r\n world\r\n", b"0\r\nx-trailer: 1\r\n\r\n"]
    async with ScriptedServer(replying(writes)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, b"hello world")
        await t.aclose()


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
        # a member per event, as a server that compresses each flush on its own sends it
        ("gzip", lambda b: b"".join(gzip.compress(e + b"\n\n") for e in b.split(b"\n\n") if e) + b"\x00\x00"),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "gzip-members"],
)
async def test_compressed_bodies(encoding, compress):
    data = compress(BODY * 50)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: %s\r\ncontent-length: %d\r\n\r\n"
    writes = [head % (encoding.encode(), len(data)), data[:7], data[7:]]
    async with ScriptedServer(replying(writes, requests=2)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY * 50)
        raw = await read_all(t, srv.url, decode=False)
        assert raw == (200, data)
        assert srv.requests[0][1]["accept-encoding"] == "gzip, deflate"
        await t.aclose()


@pytest.mark.parametrize(
    ("asked", "sent"),
    [("br, gzip", "gzip"), ("gzip, deflate, br, zstd", "gzip, deflate"), ("br", "identity"), ("*", "identity"),
     ("gzip;q=1.0, br;q=0.9", "gzip;q=1.0")],
)  # fmt: skip
async def test_only_codings_it_can_undo_are_offered(asked, sent):
    # httpx offers br and zstd when brotli or zstandard is installed; a server
    # answering in one of them would end the stream, so they are not offered
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 3\r\n\r\nabc"
    async with ScriptedServer(replying([head])) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url + "/v1/chat", {"accept-encoding": asked}, b"{}", T)
        assert [c async for c in response.aiter_bytes()] == [b"abc"]
        response.close()
        assert srv.requests[0][1]["accept-encoding"] == sent
        await t.aclose()


@settings(max_examples=150)
@given(
    parts=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    padding=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    cuts=st.lists(st.integers(1, 400), min_size=1, max_size=8),
    step=st.sampled_from([1, 7, 4096, 256 * 1024]),
)
def test_gzip_members_however_the_bytes_are_cut(parts, padding, cuts, step):
    # what the connection does with each read of a gzip body: decompress at
    # most ``step`` bytes at a time, then what is left of the read
    from turbosse._transport.protocol import _Gzip

    body = b"".join(gzip.compress(p) + b"\x00" * n for p, n in zip(parts, padding))
    inflate, out, pos, i = _Gzip(), [], 0, 0
    while pos < len(body):
        read = body[pos : pos + cuts[i % len(cuts)]]
        pos, i = pos + len(read), i + 1
        out.append(inflate.decompress(read, step))
        for _ in range(sum(map(len, parts)) + len(body) + 2):  # each round makes progress
            tail = inflate.unconsumed_tail
            if not tail:
                break
            out.append(inflate.decompress(tail, step))
        else:
            raise AssertionError(f"no progress: the tail {tail[:16]!r} comes back")
    assert b"".join(out) == b"".join(parts)


async def test_bytes_after_a_gzip_member_that_start_no_other_are_corrupt():
    data = gzip.compress(BODY) + b"trailing junk"
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(data)
    async with ScriptedServer(replying([head, data])) as srv:
        t = StreamTransport()
        with pytest.raises(HTTPProtocolError, match="gzip body is corrupt: bytes after the end of a gzip member"):
            await read_all(t, srv.url)
        await t.aclose()


async def test_corrupt_gzip_is_a_protocol_error():
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 10\r\n\r\n"
    async with ScriptedServer(replying([head, b"not gzip!!"])) as srv:
        t = StreamTransport()
        with pytest.raises(HTTPProtocolError, match="gzip body is corrupt"):
            await read_all(t, srv.url)
        await t.aclose()


async def test_unsupported_content_encoding_is_named():
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 3\r\n\r\nabc"
    async with ScriptedServer(replying([head])) as srv:
        t = StreamTransport()
        with pytest.raises(UnsupportedRequest, match="'br'"):
            await read_all(t, srv.url)
        await t.aclose()


def _te_response(te: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: %s\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        te, len(body), body,
    )  # fmt: skip


@pytest.mark.parametrize("te", [b"Chunked", b"identity, chunked", b"chunked ,  identity"])
async def test_transfer_encoding_chunked_in_any_spelling(te: bytes):
    async with ScriptedServer(replying([_te_response(te, BODY)])) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY)
        await t.aclose()


@pytest.mark.parametrize("te", [b"gzip, chunked", b"chunked, gzip", b"chunked, chunked", b"deflate"])
async def test_unsupported_transfer_encoding_is_named(te: bytes):
    # any coding but chunked would hand the reader the body still encoded
    async with ScriptedServer(replying([_te_response(te, gzip.compress(BODY))])) as srv:
        t = StreamTransport()
        with pytest.raises(UnsupportedRequest, match=f"transfer-encoding '{te.decode()}' is not supported"):
            await read_all(t, srv.url)
        await t.aclose()


async def test_interim_responses_are_skipped():
    writes = [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"] + sse_response(BODY)
    async with ScriptedServer(replying(writes, pause=0.001)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY)
        await t.aclose()


async def test_keep_alive_reuse_and_request_shape():
    async with ScriptedServer(replying(sse_response(BODY), requests=3)) as srv:
        t = StreamTransport()
        for _ in range(3):
            assert await read_all(t, srv.url) == (200, BODY)
        assert srv.connections == 1
        line, headers, body = srv.requests[0]
        assert line == b"POST /v1/chat HTTP/1.1"
        assert headers["host"] == f"127.0.0.1:{srv.port}"
        assert headers["content-length"] == "2" and body == b"{}"
        await t.aclose()


async def test_server_closing_an_idle_connection_is_retried_once_on_a_new_one():
    async def handler(ex: Exchange) -> None:
        if await ex.request() is not None:
            await ex.send(*sse_response(BODY))
        # keep-alive was announced, but the server drops the connection before
        # reading the next request: the client's next request finds it dead
        await ex.request()
        ex.writer.transport.abort()

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY)
        assert await read_all(t, srv.url) == (200, BODY)
        assert srv.connections == 2
        assert len(srv.requests) == 3  # the second request was sent twice
        await t.aclose()


async def test_a_fresh_connection_that_dies_is_not_retried():
    async def handler(ex: Exchange) -> None:
        await ex.request()
        ex.writer.transport.abort()

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        with pytest.raises(ConnectionLost, match="before the response head"):
            await read_all(t, srv.url)
        assert srv.connections == 1
        await t.aclose()


async def test_body_cut_short():
    writes = sse_response(BODY, framing="length")
    async with ScriptedServer(replying(writes[:-3], then_close=True)) as srv:
        t = StreamTransport()
        with pytest.raises(ConnectionLost, match="before the response body ended") as info:
            await read_all(t, srv.url)
        assert isinstance(info.value, SSEError)
        await t.aclose()


@pytest.mark.parametrize(
    "writes, match",
    [
        ([b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", b"zz\r\nhello\r\n"], "invalid HTTP response: .*chunk size"),
        ([b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", b"ffffffffffffffffff\r\n"], "invalid HTTP response"),
        ([b"SMTP ready\r\n\r\n"], "invalid HTTP response"),
        ([b"HTTP/1.1 200 OK\r\nx-long: " + b"a" * (MAX_HEADER_LINE + 1) + b"\r\n\r\n"], f"header line exceeds {MAX_HEADER_LINE} bytes"),
        ([b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n"], "HTTP 101"),
    ],
    ids=["chunk-size-not-hex", "chunk-size-overflow", "not-http", "header-line-over-limit", "upgrade"],
)
async def test_hostile_responses_raise_typed_errors(writes, match):
    async with ScriptedServer(replying(writes)) as srv:
        t = StreamTransport()
        with pytest.raises(SSEError, match=match):
            await read_all(t, srv.url)
        assert t.connections() == (0, 0)  # the connection was closed, not pooled
        await t.aclose()


_B = b'data: {"n": 1}\n\n'


@pytest.mark.parametrize(
    "head, match",
    [
        (b"HTTP/1.1 200 OK\ncontent-length: 16\n\n", "Missing expected CR"),
        (b"HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 16\r\n\r\n", "whitespace after header value"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\ncontent-length: 16\r\n\r\n", "Duplicate Content-Length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 16, 16\r\n\r\n", "Invalid character in Content-Length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\ntransfer-encoding: chunked\r\n\r\n", "can't be present with"),
        (b"HTTP/1.1 200 OK\r\nx-a: a\x01b\r\ncontent-length: 16\r\n\r\n", "Invalid header value char"),
        (b"HTTP/1.1 200 OK\r\ncontent-length : 16\r\n\r\n", "Invalid header field char"),
    ],
    ids=["bare-lf", "obs-fold", "content-length-twice", "content-length-list", "length-and-chunked", "control-char",
         "space-before-colon"],
)
async def test_heads_llhttp_reads_strictly(head, match):
    # where httpx's h11 is lenient (see the README's limits of this transport)
    async with ScriptedServer(replying([head + _B])) as srv:
        t = StreamTransport()
        with pytest.raises(HTTPProtocolError, match=match):
            await read_all(t, srv.url)
        assert t.connections() == (0, 0)
        await t.aclose()


async def test_endless_headers_hit_the_head_limit():
    async def handler(ex: Exchange) -> None:
        await ex.request()
        ex.writer.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100_000):  # never ends; the client must give up at its limit
            ex.writer.write(b"x-h%d: %s\r\n" % (i, b"v" * 1000))
            await ex.writer.drain()

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        with pytest.raises(HTTPProtocolError, match=f"head exceeds {MAX_HEADER_BYTES} bytes") as info:
            await read_all(t, srv.url)
        assert info.value.limit == MAX_HEADER_BYTES
        await t.aclose()


@pytest.mark.parametrize("first", [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                                   b"HTTP/1.1 204 No Content\r\n\r\n"], ids=["length", "204"])
async def test_a_second_response_in_the_same_read_is_not_the_first_ones_body(first: bytes):
    unasked = b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nINJECTED!"
    async with ScriptedServer(replying([first + unasked])) as srv:
        t = StreamTransport()
        status, body = await read_all(t, srv.url)
        assert status in (200, 204)
        assert body == first.partition(b"\r\n\r\n")[2] and b"INJECTED" not in body
        await asyncio.sleep(0.05)
        assert t.connections() == (0, 0)  # a server that speaks unasked is not trusted again
        await t.aclose()


@pytest.mark.parametrize("cut", [60_000, 1, MAX_HEADER_BYTES - 10])
async def test_a_head_over_the_limit_that_ends_in_the_read_crossing_it(cut: int):
    head = (b"HTTP/1.1 200 OK\r\n" + b"".join(b"x-big-%d: %s\r\n" % (i, b"v" * 10_000) for i in range(7))
            + b"content-length: 2\r\n\r\nok")  # 70 KB
    async with ScriptedServer(replying([head[:cut], head[cut:]], pause=0.02)) as srv:
        await refused_at_limit(srv.url, f"head exceeds {MAX_HEADER_BYTES} bytes", MAX_HEADER_BYTES)


async def refused_at_limit(url: str, match: str, limit: int) -> None:
    """The response is an HTTPProtocolError naming ``limit``."""
    t = StreamTransport()
    with pytest.raises(HTTPProtocolError, match=match) as info:
        await read_all(t, url)
    assert info.value.limit == limit
    await t.aclose()


async def test_a_response_before_the_request_was_written():
    async def handler(ex: Exchange) -> None:
        await ex.send(*sse_response(BODY))  # speaks first, on accept
        await ex.reader.read()

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        await asyncio.sleep(0)
        with pytest.raises(HTTPProtocolError, match="before the request was written"):
            # connection_made and the unsolicited bytes can land before the
            # request is sent; either way the answer is not trusted
            for _ in range(20):
                await read_all(t, srv.url)
                await asyncio.sleep(0.01)
        await t.aclose()


async def test_unsolicited_bytes_on_an_idle_connection_drop_it():
    async def handler(ex: Exchange) -> None:
        await ex.request()
        await ex.send(*sse_response(BODY))
        await asyncio.sleep(0.05)
        await ex.send(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # nobody asked
        await ex.reader.read()

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, BODY)
        await asyncio.sleep(0.2)
        assert t.connections() == (0, 0)
        await t.aclose()


async def test_read_timeout_while_waiting_and_between_reads():
    async def stall(ex: Exchange) -> None:
        await ex.request()
        writes = sse_response(BODY)
        await ex.send(*writes[:3])
        await asyncio.sleep(5)

    async with ScriptedServer(stall) as srv:
        t = StreamTransport()
        with pytest.raises(ReadTimedOut, match=r"no bytes received for 0\.2 s") as info:
            await read_all(t, srv.url, Timeouts(5, 0.2, 5))
        assert info.value.timeout == 0.2
        await t.aclose()

    async def silent(ex: Exchange) -> None:
        await ex.request()
        await asyncio.sleep(5)

    async with ScriptedServer(silent) as srv:
        t = StreamTransport()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ReadTimedOut):
            await read_all(t, srv.url, Timeouts(5, 0.2, 5))
        assert 0.15 < loop.time() - start < 2
        await t.aclose()


async def _answer_then_stall(ex: Exchange, answered: int) -> None:
    """Answer ``answered`` requests on this connection, then stall the next."""
    for _ in range(answered):
        await ex.request()
        await ex.send(*sse_response(BODY))
    await ex.request()
    await asyncio.sleep(5)


async def test_read_timeout_of_a_request_on_a_kept_alive_connection():
    # the read timer belongs to the connection: a later request with a
    # shorter read timeout than the last one's is not left to the longer one
    async with ScriptedServer(lambda ex: _answer_then_stall(ex, 1)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url, Timeouts(5, 30, 5)) == (200, BODY)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ReadTimedOut, match=r"no bytes received for 0\.2 s"):
            await read_all(t, srv.url, Timeouts(5, 0.2, 5))
        assert 0.15 < loop.time() - start < 2 and srv.connections == 1
        await t.aclose()


async def test_read_timer_that_fired_between_requests_is_armed_again():
    async with ScriptedServer(lambda ex: _answer_then_stall(ex, 1)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url, Timeouts(5, 0.2, 5)) == (200, BODY)
        await asyncio.sleep(0.4)  # the timer fires with no response on the connection
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ReadTimedOut):
            await read_all(t, srv.url, Timeouts(5, 0.2, 5))
        assert 0.15 < loop.time() - start < 2 and srv.connections == 1
        await t.aclose()


async def test_read_timer_of_an_earlier_request_does_not_fail_a_later_one():
    # each request takes longer than the read timeout in all, with no gap as
    # long as it: a timer armed for the first must not end the second
    body = b"".join(b'data: {"n": %d}\n\n' % i for i in range(10))

    async def slow(ex: Exchange) -> None:
        while await ex.request() is not None:
            await ex.send(*sse_response(body), pause=0.05)  # 0.6 s in all

    async with ScriptedServer(slow) as srv:
        t = StreamTransport()
        for _ in range(3):
            assert await read_all(t, srv.url, Timeouts(5, 0.3, 5)) == (200, body)
        assert srv.connections == 1
        await t.aclose()


async def test_total_timeout_while_bytes_keep_coming():
    async def trickle(ex: Exchange) -> None:
        await ex.request()
        await ex.send(*sse_response(BODY * 20), pause=0.01)

    async with ScriptedServer(trickle) as srv:
        t = StreamTransport()
        with pytest.raises(TotalTimedOut, match=r"total timeout of 0\.3 s"):
            await read_all(t, srv.url, Timeouts(5, 5, 5, total=0.3))
        assert t.connections() == (0, 0)
        await t.aclose()


async def test_connection_refused():
    t = StreamTransport()
    async with ScriptedServer(replying([])) as srv:
        url = srv.url
    with pytest.raises(ConnectFailed, match=r"cannot connect to 127\.0\.0\.1"):
        await read_all(t, url)
    await t.aclose()


async def test_pool_limit_waits_then_times_out():
    async def slow(ex: Exchange) -> None:
        while await ex.request() is not None:
            await ex.send(*sse_response(BODY), pause=0.05)

    async with ScriptedServer(slow) as srv:
        t = StreamTransport(max_connections=1)
        first = asyncio.ensure_future(read_all(t, srv.url))
        await asyncio.sleep(0.05)
        with pytest.raises(PoolTimedOut, match="all 1 connections stayed busy"):
            await read_all(t, srv.url, Timeouts(5, 5, 0.1))
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TotalTimedOut, match=r"total timeout of 0\.3 s"):  # it cuts the wait for room short
            await read_all(t, srv.url, Timeouts(5, 5, 10, total=0.3))
        assert loop.time() - start < 1
        assert await first == (200, BODY)
        assert await read_all(t, srv.url) == (200, BODY)  # the freed connection serves the next one
        assert srv.connections == 1
        await t.aclose()


@pytest.mark.parametrize("framing", [b"content-length: 1234", b"transfer-encoding: chunked"])
async def test_a_head_request_has_no_body_and_keeps_the_connection(framing: bytes):
    async def handler(ex: Exchange) -> None:
        while (req := await ex.request()) is not None:
            if req[0].startswith(b"HEAD"):
                await ex.send(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n")  # the head a GET would get
            else:
                await ex.send(*sse_response(BODY, framing="length"))

    async with ScriptedServer(handler) as srv:
        t = StreamTransport()
        loop = asyncio.get_running_loop()
        start = loop.time()
        response = await t.request("HEAD", srv.url + "/v1", {}, b"", T)
        assert response.status_code == 200 and [c async for c in response.aiter_bytes()] == []
        response.close()
        assert loop.time() - start < 1  # not the read timeout
        assert await read_all(t, srv.url) == (200, BODY)
        assert srv.connections == 1  # kept alive across the HEAD
        await t.aclose()


async def test_the_head_limit_is_each_heads_and_interim_heads_are_counted():
    def head(status: bytes, n: int) -> bytes:
        return b"HTTP/1.1 " + status + b"\r\n" + b"".join(b"link: <https://cdn/%d>%s\r\n" % (i, b"a" * 180) for i in range(n))

    early, final = head(b"103 Early Hints", 200) + b"\r\n", head(b"200 OK", 150) + b"content-length: 2\r\n\r\nok"
    assert len(early) < MAX_HEADER_BYTES and len(final) < MAX_HEADER_BYTES < len(early) + len(final)
    async with ScriptedServer(replying([early, final], pause=0.02)) as srv:
        t = StreamTransport()
        assert await read_all(t, srv.url) == (200, b"ok")
        await t.aclose()
    flood = [b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"] * (MAX_INTERIM + 1) + [final]
    async with ScriptedServer(replying(flood)) as srv:
        await refused_at_limit(srv.url, f"more than {MAX_INTERIM} interim", MAX_INTERIM)


async def test_the_request_target_is_percent_encoded():
    async with ScriptedServer(replying(sse_response(BODY), requests=3)) as srv:
        t = StreamTransport()
        for path, sent in (("/v1/é", b"/v1/%C3%A9"), ("/v1/€ x", b"/v1/%E2%82%AC%20x"), ("/a?q=ü", b"/a?q=%C3%BC")):
            response = await t.request("POST", srv.url + path, {}, b"{}", T)
            response.close()
            assert srv.requests[-1][0] == b"POST " + sent + b" HTTP/1.1"
        with pytest.raises(UnsupportedRequest, match="is invalid"):
            await t.request("POST", "http://[::1", {}, b"{}", T)
        await t.aclose()


def _refused_url() -> str:
    import socket

    with socket.socket() as s:  # a port nobody listens on any more
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def test_a_failed_connect_makes_room_for_the_requests_waiting():
    t = StreamTransport(max_connections=1)
    url = _refused_url()
    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await asyncio.gather(*(read_all(t, url, Timeouts(5, 5, 3)) for _ in range(3)), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectFailed] * 3  # not PoolTimedOut after 3 s
    assert loop.time() - start < 1.5
    await t.aclose()


async def test_a_request_cancelled_while_connecting_makes_room():
    async def silent(ex: Exchange) -> None:
        await ex.reader.read()  # never answers the TLS handshake

    async with ScriptedServer(silent) as srv:
        t = StreamTransport(max_connections=1, verify=False)
        url = srv.url.replace("http://", "https://")
        first = asyncio.ensure_future(read_all(t, url))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(read_all(t, url, Timeouts(0.2, 5, 3)))
        await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(ConnectTimedOut):  # it got the room and connected, not PoolTimedOut
            await asyncio.wait_for(second, 2)
        await t.aclose()


async def test_the_total_timeout_while_connecting_is_named():
    async def silent(ex: Exchange) -> None:
        await ex.reader.read()

    async with ScriptedServer(silent) as srv:
        t = StreamTransport(verify=False)
        with pytest.raises(TotalTimedOut, match=r"total timeout of 0\.3 s") as info:
            await read_all(t, srv.url.replace("http://", "https://"), Timeouts(None, 5, 5, total=0.3))
        assert info.value.timeout == 0.3
        with pytest.raises(ConnectTimedOut):  # the connect timeout, where it is the shorter
            await read_all(t, srv.url.replace("http://", "https://"), Timeouts(0.2, 5, 5, total=3))
        await t.aclose()


_BIG = b"data: " + b"x" * 1000 + b"\n\n"


def _flood(n: int):
    """A server answering with ``n`` 1 KB events at once, as fast as it can."""

    async def flood(ex: Exchange) -> None:
        await ex.request()
        await ex.send(*sse_response(_BIG * n, framing="length"))
        await ex.reader.read()

    return flood


async def test_flow_control_pauses_reading_for_a_slow_consumer():
    big, n = _BIG, 4000  # about 4 MB, far more than the socket buffers hold
    async with ScriptedServer(_flood(n)) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url, {}, b"", T)
        response.set_sink(lambda data: [data] * len(data))  # one queued item per byte
        await asyncio.sleep(0.3)  # the consumer is busy elsewhere
        assert response._flow_paused
        assert response._queued < MAX_QUEUED + 300_000  # bounded by the limit plus one read
        total = 0
        while batch := await response.next_batch():
            total += len(batch)
        assert total == len(big) * n
        response.close()
        await t.aclose()


async def test_a_reader_behind_is_not_a_read_timeout():
    # reading pauses for a reader that falls behind: the bytes wait in the
    # socket, so the server is not silent, and the read timeout waits too
    big, n = _BIG, 2000  # about 2 MB, more than the socket buffers hold
    async with ScriptedServer(_flood(n)) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url, {}, b"", Timeouts(5, 0.2, 5))
        total = paused = 0
        try:
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                await asyncio.sleep(0.3)  # longer than the read timeout, reading paused
                paused += response._flow_paused
        finally:
            response.close()
        assert total == len(big) * n and paused > 0
        await t.aclose()


async def test_coalescing_delivers_everything():
    async with ScriptedServer(replying(sse_response(BODY), pause=0.001, requests=2)) as srv:
        t = StreamTransport(coalesce_ms=20)
        assert await read_all(t, srv.url) == (200, BODY)
        assert await read_all(t, srv.url) == (200, BODY)
        await t.aclose()


async def test_wake_ups_batch_what_arrived():
    async with ScriptedServer(replying(sse_response(BODY))) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url, {}, b"", T)
        calls = []
        response.set_sink(lambda data: calls.append(data) or [data])
        await asyncio.sleep(0.2)  # every event has arrived meanwhile
        batch = await response.next_batch()
        assert b"".join(batch) == BODY  # one wake-up delivers all of it
        assert await response.next_batch() == []
        response.close()
        await t.aclose()


async def test_a_sink_error_ends_the_stream_and_closes_the_connection():
    async with ScriptedServer(replying(sse_response(BODY))) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url, {}, b"", T)

        def sink(data):
            raise ValueError("bad chunk")

        response.set_sink(sink)
        with pytest.raises(ValueError, match="bad chunk"):
            await response.next_batch()
        response.close()
        await asyncio.sleep(0.05)
        assert t.connections() == (0, 0)
        await t.aclose()


async def test_request_validation():
    t = StreamTransport()
    with pytest.raises(UnsupportedRequest, match="not 'ftp'"):
        await t.request("POST", "ftp://127.0.0.1/x", {}, b"", T)
    with pytest.raises(UnsupportedRequest, match="line break"):
        await t.request("POST", "http://127.0.0.1:1/x", {"x-a": "1\r\nx-b: 2"}, b"", T)
    with pytest.raises(ValueError, match="max_connections"):
        StreamTransport(max_connections=0)
    await t.aclose()


async def test_a_sink_set_after_reading_paused_resumes_it():
    big = b"data: " + b"y" * 1000 + b"\n\n"

    async def flood(ex: Exchange) -> None:
        await ex.request()
        await ex.send(*sse_response(big * 500, framing="length"))
        await ex.reader.read()

    async with ScriptedServer(flood) as srv:
        t = StreamTransport()
        response = await t.request("POST", srv.url, {}, b"", T)
        await asyncio.sleep(0.2)  # more than MAX_QUEUED bytes wait: reading paused
        assert response._flow_paused
        seen = []
        response.set_sink(seen.append)  # consumes everything, queues nothing
        assert await response.next_batch() == []  # the end arrives: reading was resumed
        assert b"".join(seen) == big * 500
        response.close()
        await t.aclose()
