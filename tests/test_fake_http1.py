"""The fake server's HTTP/1.1 codec (turbosse.testing._http1) and its runner's
child processes (turbosse.testing._runner.ChildProcess), on their own."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turbosse.testing._http1 import (
    LAST_CHUNK,
    RequestReader,
    decode_chunked,
    encode_chunk,
    json_response,
    status_line,
)
from turbosse.testing._runner import ChildProcess


def raw_request(body: bytes, *, chunked: bool = False, extra: str = "") -> bytes:
    if chunked:
        framed = b"".join(encode_chunk(body[i : i + 7]) for i in range(0, len(body), 7)) + LAST_CHUNK
        head = "transfer-encoding: chunked\r\n"
    else:
        framed, head = body, f"content-length: {len(body)}\r\n"
    return f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{head}{extra}\r\n".encode() + framed


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@given(
    bodies=st.lists(st.tuples(st.binary(max_size=60), st.booleans()), min_size=1, max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
def test_pipelined_requests_survive_any_chunking(bodies, cuts):
    wire = b"".join(raw_request(b, chunked=c) for b, c in bodies)
    reader = RequestReader()
    got = [r for piece in split(wire, cuts) for r in reader.feed(piece)]
    assert [r.body for r in got] == [b for b, _ in bodies]
    assert all(r.method == "POST" and r.target == "/v1/chat/completions" and r.version == "HTTP/1.1" for r in got)
    assert reader.error is None and reader.buffered == 0


def test_headers_are_lower_cased_and_keep_alive_follows_connection():
    (req,) = RequestReader().feed(raw_request(b"{}", extra="X-Fake: {\"tokens\": 2}\r\nConnection: close\r\n"))
    assert req.headers["x-fake"] == '{"tokens": 2}' and req.headers["host"] == "x"
    assert not req.keep_alive
    (req,) = RequestReader().feed(raw_request(b""))
    assert req.keep_alive and req.body == b""


def test_an_incomplete_request_waits_for_more():
    reader = RequestReader()
    wire = raw_request(b'{"a": 1}')
    assert reader.feed(wire[:-1]) == [] and reader.buffered == len(wire) - 1
    (req,) = reader.feed(wire[-1:])
    assert req.body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("wire", "status", "words"),
    [
        (b"GARBAGE\r\n\r\n", 400, "request line"),
        (b"POST / HTTP/1.1\r\ncontent-length: ten\r\n\r\n", 400, "Content-Length"),
        (b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", 400, "chunk size"),
        (b"POST / HTTP/1.1\r\ncontent-length: 100\r\n\r\n", 413, "over 10 bytes"),
        (b"POST / HTTP/1.1\r\nx: " + b"a" * 300, 431, "over 256 bytes"),
    ],
)
def test_bad_requests_stop_the_reader_with_a_status(wire, status, words):
    reader = RequestReader(max_head=256, max_body=10)
    good = raw_request(b"ok")
    assert [r.body for r in reader.feed(good + wire)] == [b"ok"]  # the request before it is kept
    assert reader.error is not None and reader.error.status == status and words in reader.error.message
    assert reader.feed(good) == []  # nothing more is read


@given(payloads=st.lists(st.binary(min_size=1, max_size=40), max_size=6), end=st.booleans())
def test_decode_chunked_inverts_encode_chunk(payloads, end):
    data = b"".join(map(encode_chunk, payloads)) + (LAST_CHUNK + b"ignored" if end else b"")
    assert decode_chunked(data) == b"".join(payloads)


def test_decode_chunked_rejects_bad_framing():
    assert encode_chunk(b"") == b""  # an empty chunk would end the body
    with pytest.raises(ValueError, match="chunk size"):
        decode_chunked(b"xyz\r\nabc\r\n")
    with pytest.raises(ValueError, match="cut short"):
        decode_chunked(encode_chunk(b"hello")[:-3])
    with pytest.raises(ValueError, match="CRLF"):
        decode_chunked(b"3\r\nabcdef\r\n")


def test_json_response():
    raw = json_response(429, {"error": "x"}, {"retry-after": "2"})
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(status_line(429)[:-2]) and b"HTTP/1.1 429 Too Many Requests" in head
    assert b"content-length: 13" in head and b"retry-after: 2" in head
    assert json.loads(body) == {"error": "x"}


def test_child_process_announces_itself_and_stops_at_end_of_input():
    config = {"host": "127.0.0.1", "port": 0, "defaults": {}, "corpus_dir": None, "lifetime": 60, "uvloop": False}
    child = ChildProcess("turbosse.testing", json.dumps(config))
    try:
        line = child.readline(20)
        assert line.startswith("PORT ") and int(line.split()[1]) > 0
        assert child.poll() is None
    finally:
        child.close()
    assert child.wait(5) == 0


def test_child_process_readline_times_out_and_send_reaches_it():
    child = ChildProcess("json.tool")  # answers only at the end of its input
    try:
        assert child.readline(0.2) == ""
        child.send('{"a": 1}')
        assert child.poll() is None
    finally:
        child.close()
    assert child.wait(5) == 0


def test_child_process_stderr_tail_survives_close():
    child = ChildProcess("turbosse.testing", "{not json", capture_stderr=True)
    assert child.readline(20) == ""  # it exited without a line
    child.close()
    assert child.wait(5) != 0
    assert "JSONDecodeError" in child.stderr_tail()
