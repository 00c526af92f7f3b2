"""FakeLLMServer, over real loopback HTTP with plain httpx (no turbosse client),
so that a bug in the clients cannot hide a bug in the server."""

from __future__ import annotations

import email.utils
import gzip
import json
import time

import httpx
import pytest
from _transport_helpers import assert_no_leak, chat_body

from turbosse import SSEParser
from turbosse.testing import (
    OPTIONS,
    FakeLLMServer,
    fake_llm_server,  # noqa: F401  (the fixture, used below)
    fake_text,
    tool_arguments,
)
from turbosse.testing._http1 import decode_chunked
from turbosse.testing._options import OptionError, merge_options
from turbosse.testing._render import render_stream


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c
    server.wait_until(lambda s: s["open_connections"] == 0)


def events(body: bytes) -> list:
    parser = SSEParser()
    return parser.feed(body)


def openai_payloads(body: bytes) -> list:
    return [json.loads(e.data) for e in events(body) if e.data != "[DONE]"]


def text_of(payloads: list) -> str:
    return "".join(
        c["delta"].get("content") or "" for p in payloads for c in p.get("choices", []) if "delta" in c
    )


def test_stream_is_an_openai_chat_completion_stream(client):
    r = client.post("/chat/completions", json=chat_body(tokens=30))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    evs = events(r.content)
    assert evs[-1].data == "[DONE]"
    payloads = openai_payloads(r.content)
    assert payloads[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(p["object"] == "chat.completion.chunk" and p["model"] == "gpt-fake" for p in payloads)
    assert text_of(payloads) == fake_text(30)
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"
    usage = payloads[-1]["usage"]
    assert payloads[-1]["choices"] == []
    assert usage["completion_tokens"] == 30
    assert usage["total_tokens"] == usage["prompt_tokens"] + 30


def test_usage_follows_stream_options_unless_overridden(client):
    body = chat_body(tokens=3)
    del body["stream_options"]
    payloads = openai_payloads(client.post("/chat/completions", json=body).content)
    assert all("usage" not in p for p in payloads)
    body["fake"]["usage"] = True
    payloads = openai_payloads(client.post("/chat/completions", json=body).content)
    assert payloads[-1]["usage"]["completion_tokens"] == 3


def test_max_tokens_sets_the_length_and_the_text_is_deterministic(client):
    body = chat_body()
    del body["fake"]
    body["max_tokens"] = 7
    assert text_of(openai_payloads(client.post("/chat/completions", json=body).content)) == fake_text(7)
    body.pop("max_tokens")
    assert text_of(openai_payloads(client.post("/chat/completions", json=body).content)) == fake_text(32)


def test_fake_text_exercises_json_escapes_and_unicode():
    text = fake_text(24)
    for piece in ('"quoted"', "\t", "\n", "\\", "\u00e9", "\U0001f680"):
        assert piece in text


def test_non_streaming_completion(client):
    r = client.post("/chat/completions", json={"model": "m", "messages": [], "fake": {"tokens": 5, "tool_calls": 2}})
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    msg = body["choices"][0]["message"]
    assert msg["content"] == fake_text(5)
    assert [tc["function"]["arguments"] for tc in msg["tool_calls"]] == [tool_arguments(0), tool_arguments(1)]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_calls_stream(client):
    payloads = openai_payloads(client.post("/chat/completions", json=chat_body(tokens=2, tool_calls=3, tool_arg_chunks=5)).content)
    calls: dict[int, dict] = {}
    for p in payloads:
        for c in p["choices"]:
            for tc in c["delta"].get("tool_calls") or []:
                call = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                call["id"] = tc.get("id") or call["id"]
                call["name"] = (tc.get("function") or {}).get("name") or call["name"]
                call["arguments"] += (tc.get("function") or {}).get("arguments") or ""
    assert calls == {
        i: {"id": f"call_fake{i}", "name": "get_weather", "arguments": tool_arguments(i)} for i in range(3)
    }
    assert payloads[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert payloads[-1]["usage"]["completion_tokens"] == 2 + 3 * 6


def test_anthropic_messages_stream(client):
    r = client.post("/messages", json={"model": "claude-fake", "stream": True, "messages": [], "fake": {"tokens": 4, "tool_calls": 1}})
    evs = events(r.content)
    types = [e.event for e in evs]
    assert types[:3] == ["message_start", "content_block_start", "ping"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(json.loads(e.data)["delta"].get("text", "") for e in evs if e.event == "content_block_delta")
    assert text == fake_text(4)
    args = "".join(json.loads(e.data)["delta"].get("partial_json", "") for e in evs if e.event == "content_block_delta")
    assert args == tool_arguments(0)
    assert json.loads(evs[-2].data)["delta"]["stop_reason"] == "tool_use"


def test_anthropic_messages_non_streaming(client):
    r = client.post("/messages", json={"model": "claude-fake", "messages": [], "fake": {"tokens": 3}})
    assert r.json()["content"][0]["text"] == fake_text(3)


def test_crlf_line_endings(client):
    r = client.post("/chat/completions", json=chat_body(tokens=3, crlf=True))
    assert b"\r\n\r\n" in r.content and b"\n\n" not in r.content.replace(b"\r\n", b"")
    assert text_of(openai_payloads(r.content)) == fake_text(3)


def test_gzip_is_flushed_per_write_and_decodes_to_the_same_stream(client):
    plain = client.post("/chat/completions", json=chat_body(tokens=9)).content
    with client.stream("POST", "/chat/completions", json=chat_body(tokens=9, gzip=True)) as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert gzip.decompress(raw) == plain


def test_pacing_and_time_to_first_token(client):
    start = time.monotonic()
    arrivals = []
    with client.stream("POST", "/chat/completions", json=chat_body(tokens=11, tokens_per_second=100, ttft=0.1)) as r:
        parser = SSEParser()
        for chunk in r.iter_raw():
            for _ in parser.feed(chunk):
                arrivals.append(time.monotonic() - start)
    assert arrivals[0] >= 0.09  # the first event waits for ttft
    assert arrivals[-1] - arrivals[0] >= 0.09  # 11 tokens at 100/s: 10 intervals (less client jitter)
    assert arrivals[-1] < 2.0


def test_events_per_write_groups_events_into_chunks():
    opts = merge_options({"tokens": 10, "events_per_write": 4, "tokens_per_second": 10})
    plan = render_stream(opts, api="openai", model="m", prompt_tokens=1, include_usage=True, max_tokens=None, fault=False, corpus_dir=None)
    # role+4 tokens, 4 tokens, 2 tokens+finish+usage+[DONE] and the end chunk
    assert [round(t, 3) for t, _ in plan.writes] == [0.3, 0.7, 0.9]
    assert plan.writes[-1][1].endswith(b"0\r\n\r\n")
    assert not plan.close


def test_replay_serves_a_corpus_file_verbatim(corpus_files):
    path = corpus_files[0]
    with FakeLLMServer(lifetime=60, corpus_dir=path.parent) as srv, httpx.Client() as c:
        r = c.post(srv.base_url + "/chat/completions", json=chat_body(replay=path.name, events_per_write=3))
        assert r.content == path.read_bytes()
        r = c.post(srv.base_url + "/chat/completions", json=chat_body(replay="no-such-file.sse"))
        assert r.status_code == 400


def test_status_fault_then_success_with_retry_after(client):
    body = chat_body(tokens=2, fail_status=429, retry_after=2, fail_times=2, fail_key="status-then-ok")
    first = client.post("/chat/completions", json=body)
    second = client.post("/chat/completions", json=body)
    third = client.post("/chat/completions", json=body)
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["retry-after"] == "2"
    assert first.json()["error"]["type"] == "rate_limit_error"
    assert text_of(openai_payloads(third.content)) == fake_text(2)


def test_status_fault_retry_after_date_and_ms(client):
    r = client.post("/chat/completions", json=chat_body(fail_status=503, retry_after="date:30", retry_after_ms=1500))
    assert r.status_code == 503
    when = email.utils.parsedate_to_datetime(r.headers["retry-after"]).timestamp()
    assert 20 < when - time.time() <= 31
    assert r.headers["retry-after-ms"] == "1500"


def test_disconnect_fault(client):
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat_body(tokens=10, disconnect_after=3))
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), client.stream("POST", "/chat/completions", json=chat_body(tokens=10, disconnect_after=3)) as r:
        for chunk in r.iter_raw():
            received += chunk
    assert text_of(openai_payloads(bytes(received))) == fake_text(3)


def test_malformed_and_error_faults(client):
    body = client.post("/chat/completions", json=chat_body(tokens=4, malformed_after=1, error_after=2)).content
    datas = [e.data for e in events(body)]
    assert '"broken' in datas[2]  # role, token 1, the broken event
    assert json.loads(datas[-1])["error"]["type"] == "server_error"
    assert "[DONE]" not in datas
    body = client.post("/messages", json={"stream": True, "fake": {"tokens": 4, "error_after": 0}}).content
    last = events(body)[-1]
    assert last.event == "error" and json.loads(last.data)["error"]["type"] == "overloaded_error"


def test_stall_fault_stops_sending(server, client):
    with pytest.raises(httpx.ReadTimeout), client.stream(
        "POST", "/chat/completions", json=chat_body(tokens=5, stall_after=2, stall=30), timeout=httpx.Timeout(10, read=0.2)
    ) as r:
        for _ in r.iter_raw():
            pass
    assert_no_leak(server, client)


def test_fault_counters_are_per_key(client):
    a = chat_body(tokens=1, fail_status=503, fail_times=1, fail_key="k-a")
    b = chat_body(tokens=1, fail_status=503, fail_times=1, fail_key="k-b")
    codes = [client.post("/chat/completions", json=x).status_code for x in (a, b, a, b)]
    assert codes == [503, 503, 200, 200]


def test_options_from_header_override_the_body(client):
    r = client.post("/chat/completions", json=chat_body(tokens=2), headers={"x-fake": json.dumps({"tokens": 5})})
    assert text_of(openai_payloads(r.content)) == fake_text(5)


def test_bad_requests(client):
    assert client.post("/chat/completions", json=chat_body(tokenz=1)).status_code == 400
    assert "tokenz" in client.post("/chat/completions", json=chat_body(tokenz=1)).text
    assert client.post("/chat/completions", content=b"{not json").status_code == 400
    assert client.post("/nowhere", json={}).status_code == 404
    assert client.get("/chat/completions").status_code == 405
    assert client.get("/health").json() == {"status": "ok"}


def test_keep_alive_reuses_one_connection(server, client):
    before = server.stats()["connections_total"]
    for _ in range(5):
        client.post("/chat/completions", json=chat_body(tokens=2))
    assert server.stats()["connections_total"] - before == 1
    assert server.stats()["open_connections"] == 1


def test_chunked_request_body(client):
    payload = json.dumps(chat_body(tokens=3)).encode()
    r = client.post("/chat/completions", content=iter([payload[:10], payload[10:]]))
    assert text_of(openai_payloads(r.content)) == fake_text(3)


def test_requests_are_recorded(server, client):
    server.reset()
    client.post("/chat/completions", json=chat_body(tokens=1), headers={"authorization": "Bearer sk-test"})
    (req,) = server.requests
    assert req["headers"]["authorization"] == "Bearer sk-test"
    assert req["json"]["model"] == "gpt-fake"


def test_server_defaults_and_validation():
    with pytest.raises(TypeError, match="tokenz"):
        FakeLLMServer(tokenz=3)
    with pytest.raises(ValueError, match="loopback"):
        FakeLLMServer(host="0.0.0.0")
    assert OPTIONS["tokens_per_second"] == 0.0
    with FakeLLMServer(lifetime=30, tokens=4) as srv, httpx.Client() as c:
        body = chat_body()
        del body["fake"]
        assert text_of(openai_payloads(c.post(srv.base_url + "/chat/completions", json=body).content)) == fake_text(4)


def test_lifetime_stops_the_server():
    srv = FakeLLMServer(lifetime=0.3).start()
    try:
        httpx.get(srv.url + "/health", timeout=5).raise_for_status()
        time.sleep(0.6)
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.url + "/health", timeout=5)
    finally:
        srv.stop()


def test_stop_drops_open_streams():
    srv = FakeLLMServer(lifetime=30).start()
    with httpx.Client(timeout=10) as c, c.stream("POST", srv.base_url + "/chat/completions", json=chat_body(tokens=100, tokens_per_second=10)) as r:
        it = r.iter_raw()
        next(it)
        srv.stop()
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in it:
                pass


def test_process_mode():
    with FakeLLMServer(process=True, lifetime=60) as srv:
        proc = srv._proc
        assert proc is not None and proc.poll() is None and srv.pid == proc.pid
        with httpx.Client() as c:
            r = c.post(srv.base_url + "/chat/completions", json=chat_body(tokens=6))
            assert text_of(openai_payloads(r.content)) == fake_text(6)
            assert srv.stats()["requests_total"] == 1
            assert srv.stats()["open_connections"] == 1  # the client's idle keep-alive connection
    assert proc.wait(5) == 0


def test_pytest_fixture(fake_llm_server):  # noqa: F811  (the imported fixture)
    assert isinstance(fake_llm_server, FakeLLMServer)
    r = httpx.post(fake_llm_server.base_url + "/chat/completions", json=chat_body(tokens=2))
    assert text_of(openai_payloads(r.content)) == fake_text(2)


@pytest.mark.parametrize("path", ["/chat/completions", "/messages"])
def test_reasoning_tokens_decode_as_reasoning(client, path):
    import turbosse

    body = client.post(path, json={"model": "m", "stream": True, "fake": {"tokens": 3, "reasoning_tokens": 4}}).content
    result = turbosse.accumulate([body])
    assert result.reasoning == fake_text(4)
    assert result.content == fake_text(3)


def raw_exchange(server: FakeLLMServer, data: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the server sends until it closes."""
    import socket

    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(data)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def test_pipelined_requests_are_answered_in_order_then_a_bad_one_closes(server):
    ok = json.dumps({"model": "m", "messages": [], "fake": {"tokens": 2}}).encode()
    one = b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(ok), ok)
    got = raw_exchange(server, one + one + b"NONSENSE\r\n\r\n")
    assert got.count(b"HTTP/1.1 200 OK") == 2 and got.count(fake_text(2).encode()) == 2
    assert got.rindex(b"HTTP/1.1 400 Bad Request") > got.rindex(b"HTTP/1.1 200 OK")
    assert b"bad request line" in got


def test_oversized_request_head_gets_431(server):
    got = raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nx-big: " + b"a" * 70000)
    assert got.startswith(b"HTTP/1.1 431 ") and b"request head over 65536 bytes" in got


def test_render_stream_defaults_describe_a_plain_openai_request():
    plan = render_stream(merge_options({"tokens": 3}))
    assert plan.head.startswith(b"HTTP/1.1 200 OK\r\n")
    body = b"".join(decode_chunked(data) for _, data in plan.writes)
    assert text_of(openai_payloads(body)) == fake_text(3)
    assert openai_payloads(body)[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        ({"tokens": -5}, "fake option tokens must be a finite number >= 0, not -5"),
        ({"ttft": float("inf")}, "fake option ttft must be a finite number >= 0, not inf"),
        ({"tokens_per_second": float("nan")}, "fake option tokens_per_second must be a finite number >= 0, not nan"),
        ({"tokens_per_second": -5}, "fake option tokens_per_second must be a finite number >= 0, not -5"),
        ({"stall": -1}, "fake option stall must be a finite number >= 0, not -1"),
        ({"reasoning_tokens": "3"}, "fake option reasoning_tokens must be a finite number >= 0, not '3'"),
    ],
)  # fmt: skip
def test_a_number_option_out_of_range_is_refused(fake, message):
    with pytest.raises(OptionError, match=f"^{message}$"):
        merge_options(fake)
    with pytest.raises(OptionError, match=f"^{message}$"):
        FakeLLMServer(lifetime=5, **fake).start()  # the server's defaults, checked as a request's


def test_a_request_with_a_bad_number_gets_a_400_with_the_reason(client):
    r = client.post("/chat/completions", content=json.dumps(chat_body(ttft=-1)))
    assert r.status_code == 400 and r.json()["error"]["message"] == "fake option ttft must be a finite number >= 0, not -1"
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        body = {**chat_body(), name: -1}
        r = client.post("/chat/completions", json=body)
        assert r.status_code == 400 and r.json()["error"]["message"] == f"{name} must be >= 0, not -1"
        r = client.post("/chat/completions", json={**body, "stream": False})
        assert r.status_code == 400
    assert client.post("/chat/completions", json={**chat_body(), "max_tokens": 0}).status_code == 200


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_a_port_out_of_range_is_refused(port):
    with pytest.raises(ValueError, match=f"^port must be from 0 to 65535, not {port}$"):
        FakeLLMServer(port=port, lifetime=5).start()
