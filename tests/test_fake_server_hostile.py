"""FakeLLMServer's hostile options (framings, endings, trickling, gzip bombs,
odd bodies and heads, 100-continue, idle closes), checked on the wire: raw
sockets where the HTTP client would hide the bytes, plain httpx elsewhere."""

from __future__ import annotations

import gzip
import json
import socket
import time

import httpx
import pytest
from _transport_helpers import chat_body

from turbosse import SSEParser
from turbosse.testing import FakeLLMServer, fake_text
from turbosse.testing._http1 import decode_chunked


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c


def text_of(body: bytes) -> str:
    out = []
    for e in SSEParser().feed(body):
        if e.data != "[DONE]":
            for c in json.loads(e.data).get("choices", []):
                out.append(c["delta"].get("content") or "")
    return "".join(out)


def finish_reasons(body: bytes) -> list:
    return [c["finish_reason"] for e in SSEParser().feed(body) if e.data != "[DONE]" for c in json.loads(e.data)["choices"] if c["finish_reason"]]


def request_bytes(fake: dict, *, path: str = "/v1/chat/completions", extra: bytes = b"", body: dict | None = None) -> bytes:
    payload = json.dumps(body if body is not None else chat_body(**fake)).encode()
    return b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n%s\r\n%s" % (path.encode(), len(payload), extra, payload)


def recv_until(sock: socket.socket, *, closed: bool = True, limit: int = 1 << 20, timeout: float = 5.0) -> bytes:
    """What arrives until the server closes (or, with closed=False, until `timeout` passes quietly)."""
    sock.settimeout(timeout)
    got = bytearray()
    try:
        while len(got) < limit and (chunk := sock.recv(65536)):
            got += chunk
    except TimeoutError:
        assert not closed, f"the server did not close within {timeout} s"
        return bytes(got)
    assert closed or len(got) >= limit, "the server closed the connection"
    return bytes(got)


def connect(server: FakeLLMServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


# -- how the body is framed and how it ends ---------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_every_framing_carries_the_same_stream(client, framing):
    plain = client.post("/chat/completions", json=chat_body(tokens=9)).content
    r = client.post("/chat/completions", json=chat_body(tokens=9, framing=framing))
    assert r.content == plain
    assert ("transfer-encoding" in r.headers) == (framing == "chunked")
    assert r.headers.get("content-length") == (str(len(plain)) if framing == "content-length" else None)
    assert (r.headers.get("connection") == "close") == (framing == "close")


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_end_after_ends_the_body_cleanly_without_end_marker(client, framing):
    r = client.post("/chat/completions", json=chat_body(tokens=9, end_after=4, framing=framing))
    assert r.status_code == 200
    assert text_of(r.content) == fake_text(4)
    assert b"[DONE]" not in r.content and finish_reasons(r.content) == []


def test_disconnect_with_content_length_leaves_the_body_short(client):
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat_body(tokens=9, disconnect_after=2, framing="content-length"))


def test_hang_after_done_keeps_the_body_open(server, client):
    received = bytearray()
    with pytest.raises(httpx.ReadTimeout), client.stream(
        "POST", "/chat/completions", json=chat_body(tokens=3, hang_after_done=True), timeout=httpx.Timeout(10, read=0.3)
    ) as r:
        for chunk in r.iter_raw():
            received += chunk
    assert received.endswith(b"data: [DONE]\n\n") and text_of(bytes(received)) == fake_text(3)
    start = time.monotonic()
    r = client.post("/chat/completions", json=chat_body(tokens=3, hang_after_done=0.3))
    assert time.monotonic() - start >= 0.25 and text_of(r.content) == fake_text(3)


def test_hang_after_done_on_anthropic_holds_after_message_stop(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({}, path="/v1/messages", body={"stream": True, "fake": {"tokens": 2, "hang_after_done": True}}))
        got = recv_until(sock, closed=False, timeout=0.5)
    assert got.rstrip().endswith(b'data: {"type":"message_stop"}') and not got.endswith(b"0\r\n\r\n")


def test_trickle_sends_one_byte_per_write_then_the_rest(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({"tokens": 2, "trickle_ms": 20, "trickle_bytes": 5}))
        got = recv_until(sock, closed=False, timeout=0.5)
    body = got.partition(b"\r\n\r\n")[2]
    # five one-byte chunks ("data:"), then the rest of the stream in one
    assert body.startswith(b"".join(b"1\r\n%c\r\n" % c for c in b"data:"))
    assert decode_chunked(body) == client_plain(server, tokens=2)
    assert body.endswith(b"0\r\n\r\n")


def client_plain(server: FakeLLMServer, **fake) -> bytes:
    return httpx.post(server.base_url + "/chat/completions", json=chat_body(**fake), timeout=10).content


def test_trickle_is_paced(client):
    start = time.monotonic()
    r = client.post("/chat/completions", json=chat_body(tokens=1, trickle_ms=10, trickle_bytes=20))
    assert time.monotonic() - start >= 0.18 and text_of(r.content) == fake_text(1)


def test_trickle_forever_never_ends(client):
    start = time.monotonic()
    received = bytearray()
    with pytest.raises(httpx.ReadTimeout):  # a total deadline is the only way out
        with client.stream("POST", "/chat/completions", json=chat_body(tokens=1, trickle_ms=1)) as r:
            for chunk in r.iter_raw():
                received += chunk
                if time.monotonic() - start > 1.5:
                    raise httpx.ReadTimeout("total deadline")
    assert b"data: [DONE]\n\n\n\n" in received  # the stream, then blank lines


# -- encodings, content types and bodies -------------------------------------------


def test_gzip_bomb_is_small_on_the_wire_and_large_decoded(client):
    with client.stream("POST", "/chat/completions", json=chat_body(tokens=3, gzip_bomb=8)) as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    body = gzip.decompress(raw)
    assert len(raw) < 64 * 1024 and len(body) >= 8 * 1024 * 1024
    assert body.startswith(b"\n" * 1000) and text_of(body) == fake_text(3)
    with client.stream("POST", "/chat/completions", json=chat_body(tokens=1, gzip_bomb=1, gzip_bomb_fill=": ping\n")) as r:
        assert gzip.decompress(b"".join(r.iter_raw())).startswith(b": ping\n: ping\n")


def test_content_type_is_sent_as_given(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({"tokens": 1, "content_type": "Text/Event-Stream"}, extra=b"connection: close\r\n"))
        got = recv_until(sock)
    assert b"\r\ncontent-type: Text/Event-Stream\r\n" in got


def test_response_body_is_a_200_that_is_not_an_event_stream(client):
    r = client.post("/chat/completions", json=chat_body(response_body={"id": "x", "object": "chat.completion"}))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json" and r.json()["id"] == "x"
    r = client.post("/chat/completions", json=chat_body(response_body="<html><body>gateway</body></html>"))
    assert r.headers["content-type"].startswith("text/html") and r.text == "<html><body>gateway</body></html>"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (None, {"error": {"message": "Rate limit reached for requests", "type": "rate_limit_error", "param": None, "code": None}}),
        ("anthropic", {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}}),
        ("detail", {"detail": "Rate limit reached for requests"}),
    ],
)
def test_error_shapes(client, shape, expected):
    r = client.post("/chat/completions", json=chat_body(fail_status=429, error_shape=shape))
    assert r.status_code == 429 and r.json() == expected


def test_error_type_names_the_error_and_bad_choices_are_refused(client):
    r = client.post("/messages", json={"stream": True, "fake": {"fail_status": 529, "error_shape": "anthropic"}})
    assert r.json()["error"]["type"] == "overloaded_error"
    r = client.post("/chat/completions", json=chat_body(fail_status=400, error_type="context_length_exceeded"))
    assert r.json()["error"]["type"] == "context_length_exceeded"
    r = client.post("/chat/completions", json=chat_body(framing="carrier-pigeon"))
    assert r.status_code == 400 and "framing" in r.text and "carrier-pigeon" in r.text


# -- lower-level HTTP ---------------------------------------------------------------


def test_invalid_chunk_size(client, server):
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat_body(tokens=5, invalid_chunk_after=2))
    with connect(server) as sock:
        sock.sendall(request_bytes({"tokens": 5, "invalid_chunk_after": 2}))
        got = recv_until(sock)
    body = got.partition(b"\r\n\r\n")[2]
    assert body.endswith(b"zz\r\nnot a chunk\r\n")
    assert text_of(decode_chunked(body[: body.index(b"zz\r\n")])) == fake_text(2)  # the events before it are whole
    assert client.post("/chat/completions", json=chat_body(invalid_chunk_after=1, framing="close")).status_code == 400


def test_endless_headers(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({"endless_headers": True}))
        got = recv_until(sock, closed=False, limit=256 * 1024)
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\n\r\n" not in got and len(got) >= 256 * 1024


def test_header_line_bytes(client):
    r = client.post("/chat/completions", json=chat_body(tokens=2, header_line_bytes=10_000))
    assert len("x-long-header: ") + len(r.headers["x-long-header"]) + 2 == 10_000
    assert text_of(r.content) == fake_text(2)


def test_respond_before_body(server):
    with connect(server) as sock:
        fake = json.dumps({"respond_before_body": True, "fail_status": 413}).encode()
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\nx-fake: %s\r\n\r\n{" % fake)
        got = recv_until(sock)
    assert got.startswith(b"HTTP/1.1 413 ") and got.endswith(b"}")


def test_expect_100_continue(server):
    payload = json.dumps(chat_body(tokens=2)).encode()
    with connect(server) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(payload))
        sock.settimeout(5)
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(payload)
        got = recv_until(sock)
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and b"[DONE]" in got


def test_idle_close_ms_closes_an_idle_keep_alive_connection(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({"tokens": 1, "idle_close_ms": 150}))
        start = time.monotonic()
        got = recv_until(sock, timeout=5)
        waited = time.monotonic() - start
    assert got.endswith(b"0\r\n\r\n") and 0.1 <= waited < 3
    with FakeLLMServer(lifetime=30, idle_close_ms=100) as srv, httpx.Client(timeout=10) as c:
        c.post(srv.base_url + "/chat/completions", json=chat_body(tokens=1))
        srv.wait_until(lambda s: s["open_connections"] == 0, timeout=3)


def test_respond_before_body_also_when_the_body_came_with_the_head(server):
    with connect(server) as sock:
        sock.sendall(request_bytes({}, extra=b'x-fake: {"respond_before_body": true, "tokens": 2}\r\n'))
        got = recv_until(sock)
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"0\r\n\r\n") and b"[DONE]" in got


def test_options_that_cannot_work_are_refused(client):
    r = client.post("/chat/completions", json=chat_body(respond_before_body=True))
    assert r.status_code == 400 and "x-fake header" in r.text
    for fake in ({"gzip_bomb": 5000}, {"header_line_bytes": -1}, {"trickle_bytes": "lots"}):
        r = client.post("/chat/completions", json=chat_body(**fake))
        assert r.status_code == 400 and next(iter(fake)) in r.text
    r = client.post("/chat/completions", json=chat_body(trickle_ms=1, gzip=True))
    assert r.status_code == 400 and "trickle_bytes" in r.text


def test_new_faults_count_with_fail_times_like_the_others(client):
    body = chat_body(tokens=4, end_after=1, fail_times=1, fail_key="end-once")
    first, second = (client.post("/chat/completions", json=body).content for _ in range(2))
    assert text_of(first) == fake_text(1) and b"[DONE]" not in first
    assert text_of(second) == fake_text(4) and second.endswith(b"data: [DONE]\n\n")
    body = chat_body(tokens=2, hang_after_done=True, trickle_ms=5, fail_times=0)  # never applies
    assert text_of(client.post("/chat/completions", json=body).content) == fake_text(2)


def test_pid_is_the_server_process_only_in_process_mode(server):
    assert server.pid is None
