"""ChatClient over loopback against the real FakeLLMServer: the happy path,
every retry and fault path (each asserting the partial result and that no
connection leaks), and the request it sends."""

from __future__ import annotations

import gc
import time

import httpx
import pytest
from _transport_helpers import assert_no_leak

from turbosse import APIStatusError, AsyncChatClient, ChatClient, IdleTimeout, SSEError
from turbosse._delta import Delta
from turbosse._errors import MalformedChunk, StreamError, StreamInterrupted
from turbosse.testing import FakeLLMServer, fake_text, fake_token, tool_arguments

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(server):
    """A client with fast backoff; after each test nothing may be left open."""
    c = ChatClient(base_url=server.base_url, model="gpt-fake", api_key="sk-test", backoff_initial=0.01, backoff_max=0.05)
    yield c
    assert_no_leak(server, c.http_client)
    c.close()


def key(request) -> str:
    return request.node.nodeid  # a fault counter of its own per test


def test_stream_deltas_and_result(server, client):
    with client.stream(MESSAGES, fake={"tokens": 20}) as stream:
        deltas = list(stream)
    assert deltas[0] == Delta(0, role="assistant")
    assert "".join(d.content for d in deltas if d.content) == fake_text(20)
    result = stream.result()
    assert result.content == fake_text(20)
    assert result.finish_reason == "stop"
    assert result.choices[0].role == "assistant"
    assert result.usage.completion_tokens == 20
    assert result.model == "gpt-fake" and result.id == "chatcmpl-fake"
    assert stream.attempts == 1 and stream.retry_delays == []
    assert stream.response.status_code == 200


def test_text_stream_and_complete(client):
    assert list(client.stream(MESSAGES, fake={"tokens": 6}).text_stream) == [fake_token(i) for i in range(6)]
    result = client.complete(MESSAGES, fake={"tokens": 9})
    assert result.content == fake_text(9)


def test_result_after_partial_iteration_reads_the_rest(client):
    with client.stream(MESSAGES, fake={"tokens": 30}) as stream:
        it = iter(stream)
        first = [next(it) for _ in range(3)]
        assert first[1].content == "Hello"
        assert stream.result().content == fake_text(30)


def test_tool_calls(client):
    result = client.complete(MESSAGES, fake={"tokens": 0, "tool_calls": 2}, tools=[{"type": "function", "function": {"name": "get_weather"}}])
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_fake0", "get_weather", tool_arguments(0)),
        ("call_fake1", "get_weather", tool_arguments(1)),
    ]
    assert result.tool_calls[1].json()["call"] == 1


def test_request_body_and_headers(server, client):
    server.reset()
    client.complete(
        MESSAGES,
        fake={"tokens": 1},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        tool_choice="auto",
        response_format={"type": "json_object"},
        temperature=0.2,
        max_tokens=5,
        stream_options={"include_obfuscation": False},
    )
    (req,) = server.requests
    body = req["json"]
    assert req["path"] == "/v1/chat/completions"
    assert body["model"] == "gpt-fake" and body["messages"] == MESSAGES
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert body["tools"][0]["function"]["name"] == "f"
    assert body["tool_choice"] == "auto"
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0.2 and body["max_tokens"] == 5
    headers = req["headers"]
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "text/event-stream"
    assert headers["user-agent"].startswith("turbosse/")


def test_model_per_call_extra_headers_and_no_key(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.reset()
    with ChatClient(base_url=server.base_url + "/", headers={"X-Trace": "1"}) as c:
        assert c.url == server.base_url + "/chat/completions"
        with pytest.raises(ValueError, match="model"):
            c.stream(MESSAGES)
        with pytest.raises(ValueError, match="streams"):
            c.stream(MESSAGES, model="m", stream=False)
        c.complete(MESSAGES, model="other-model", fake={"tokens": 1})
    (req,) = server.requests
    assert req["json"]["model"] == "other-model"
    assert "authorization" not in req["headers"]
    assert req["headers"]["x-trace"] == "1"


def test_constructor_validation():
    with pytest.raises(ValueError):
        ChatClient(base_url="http://127.0.0.1:9", max_retries=-1)
    with pytest.raises(ValueError):
        ChatClient(base_url="http://127.0.0.1:9", idle_timeout=0)


@pytest.mark.parametrize("client", [ChatClient, AsyncChatClient])
@pytest.mark.parametrize("name", ["idle_timeout", "deadline", "timeout", "max_bytes_without_event"])
def test_a_limit_of_nan_is_refused_and_infinity_is_no_limit(client, name):
    url = "http://127.0.0.1:9"
    with pytest.raises(ValueError, match=f"^{name} must be > 0 or None, not nan$"):
        client(base_url=url, **{name: float("nan")})
    with pytest.raises(ValueError, match=f"^{name} must be > 0 or None, not -inf$"):
        client(base_url=url, **{name: -float("inf")})
    settings = client(base_url=url, **{name: float("inf")})._settings
    none = client(base_url=url, **{name: None})._settings
    assert (settings.timeout, settings.deadline, settings.idle_timeout, settings.max_bytes_without_event) == (
        none.timeout, none.deadline, none.idle_timeout, none.max_bytes_without_event)


@pytest.mark.parametrize("client", [ChatClient, AsyncChatClient])
def test_a_timeout_as_httpx_takes_it(client):
    url = "http://127.0.0.1:9"
    assert client(base_url=url, timeout=(5, 60, 5, 5))._settings.timeout == httpx.Timeout(connect=5, read=60, write=5, pool=5)
    assert client(base_url=url, timeout=httpx.Timeout(5, read=float("inf")))._settings.timeout == httpx.Timeout(5, read=None)
    with pytest.raises(ValueError, match=r"^timeout\.read must be > 0 or None, not nan$"):
        client(base_url=url, timeout=httpx.Timeout(5, read=float("nan")))


@pytest.mark.parametrize("client", [ChatClient, AsyncChatClient])
def test_a_base_url_that_is_not_a_url_is_refused_at_once(client):
    with pytest.raises(ValueError, match=r"^base_url: 'http://\[::1/chat/completions' is not a valid URL: "):
        client(base_url="http://[::1")


@pytest.mark.parametrize("client", [ChatClient, AsyncChatClient])
def test_header_text_an_http_header_cannot_carry(client, monkeypatch):
    # said at once, naming the character, instead of a bare UnicodeEncodeError
    # from inside the transport at the first request
    url = "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="api_key \\(or \\$OPENAI_API_KEY\\) holds '\u201c' at position 0"):
        client(base_url=url, api_key="\u201csk-abc\u201d")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant\xa0")
    with pytest.raises(ValueError, match=r"\$ANTHROPIC_API_KEY\) holds '\\xa0' at position 6"):
        client(base_url=url, format="anthropic")
    with pytest.raises(ValueError, match="header 'x-user' holds '\u65e5'"):
        client(base_url=url, headers={"X-User": "\u65e5\u672c"})
    with pytest.raises(ValueError, match="header 'x-trace' holds a line break"):
        client(base_url=url, headers={"x-trace": "1\r\nx-evil: 1"})
    with pytest.raises(TypeError, match="header 'x-n' must be a str, not int"):
        client(base_url=url, headers={"x-n": 5})


class Recorder:
    def __init__(self):
        self.calls = []

    def on_start(self):
        self.calls.append(("start",))

    def on_token(self, text):
        self.calls.append(("token", text))

    def on_reasoning(self, text):
        self.calls.append(("reasoning", text))

    def on_tool_call(self, call):
        self.calls.append(("tool", call.id))

    def on_complete(self, result):
        self.calls.append(("complete", result.content))

    def on_error(self, exc):
        self.calls.append(("error", type(exc).__name__))


def test_handler(client):
    rec = Recorder()
    result = client.complete(MESSAGES, handler=rec, fake={"tokens": 3, "tool_calls": 2})
    assert rec.calls == [
        ("start",),
        ("token", "Hello"), ("token", ","), ("token", " world"),
        ("tool", "call_fake0"), ("tool", "call_fake1"),
        ("complete", result.content),
    ]  # fmt: skip


def test_handler_reasoning_and_streamhandler_subclass(client):
    from turbosse import StreamHandler

    rec = Recorder()
    client.complete(MESSAGES, handler=rec, fake={"tokens": 1, "reasoning_tokens": 2})
    assert rec.calls[:4] == [("start",), ("reasoning", "Hello"), ("reasoning", ","), ("token", "Hello")]

    class Tokens(StreamHandler):
        def __init__(self):
            self.text = []

        def on_token(self, text):
            self.text.append(text)

    h = Tokens()
    assert client.complete(MESSAGES, handler=h, fake={"tokens": 4}).content == "".join(h.text) == fake_text(4)


def test_handler_on_error(client):
    rec = Recorder()
    with pytest.raises(StreamInterrupted):
        client.complete(MESSAGES, handler=rec, fake={"tokens": 5, "disconnect_after": 2})
    assert rec.calls[-1] == ("error", "StreamInterrupted")
    assert [c for c in rec.calls if c[0] == "token"] == [("token", "Hello"), ("token", ",")]


# -- retries -------------------------------------------------------------------


def test_429_retry_after_ms_honoured(request, client):
    start = time.monotonic()
    stream = client.stream(MESSAGES, fake={"tokens": 4, "fail_status": 429, "retry_after_ms": 150, "fail_times": 2, "fail_key": key(request)})
    result = stream.result()
    assert result.content == fake_text(4)
    assert stream.attempts == 3
    assert stream.retry_delays == [0.15, 0.15]
    assert time.monotonic() - start >= 0.3


def test_503_retry_after_seconds_and_http_date(request, client):
    stream = client.stream(MESSAGES, fake={"tokens": 2, "fail_status": 503, "retry_after": 0.1, "fail_times": 1, "fail_key": key(request) + "s"})
    assert stream.result().content == fake_text(2)
    assert stream.retry_delays == [0.1]
    stream = client.stream(MESSAGES, fake={"tokens": 2, "fail_status": 503, "retry_after": "date:1", "fail_times": 1, "fail_key": key(request) + "d"})
    assert stream.result().content == fake_text(2)
    (delay,) = stream.retry_delays
    assert 0 <= delay <= 1.0  # an HTTP-date has whole seconds


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses(request, client, status):
    stream = client.stream(MESSAGES, fake={"tokens": 3, "fail_status": status, "fail_times": 1, "fail_key": key(request)})
    assert stream.result().content == fake_text(3)
    assert stream.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(client, status):
    stream = client.stream(MESSAGES, fake={"tokens": 3, "fail_status": status})
    with pytest.raises(APIStatusError) as info:
        stream.result()
    assert info.value.status_code == status
    assert f"fake error {status}" in info.value.body
    assert stream.attempts == 1


def test_retries_exhausted_raise_the_last_status(server):
    with ChatClient(base_url=server.base_url, model="m", max_retries=3, backoff_initial=0.001) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 3, "fail_status": 503})
        with pytest.raises(APIStatusError, match="503") as info:
            list(stream)
        assert stream.attempts == 4 and len(stream.retry_delays) == 3
        assert info.value.retry_after is None
        assert stream.partial.content is None
        assert_no_leak(server, c.http_client)


def test_retry_after_above_the_cap_is_not_waited_for(client):
    client._settings.retry_after_max = 5
    stream = client.stream(MESSAGES, fake={"tokens": 3, "fail_status": 429, "retry_after": 3600})
    start = time.monotonic()
    with pytest.raises(APIStatusError) as info:
        stream.result()
    assert time.monotonic() - start < 1
    assert info.value.retry_after == 3600 and stream.attempts == 1


def test_exponential_backoff_with_jitter_and_cap(server):
    with ChatClient(base_url=server.base_url, model="m", max_retries=5, backoff_initial=0.004, backoff_max=0.02) as c:
        stream = c.stream(MESSAGES, fake={"fail_status": 500})
        with pytest.raises(APIStatusError):
            stream.result()
    nominal = [0.004, 0.008, 0.016, 0.02, 0.02]
    assert len(stream.retry_delays) == 5
    for got, want in zip(stream.retry_delays, nominal):
        assert 0.75 * want <= got <= want


def test_connection_refused_is_retried_then_raised():
    dead = FakeLLMServer(lifetime=30).start()
    url = dead.base_url
    dead.stop()
    with ChatClient(base_url=url, model="m", max_retries=2, backoff_initial=0.001) as c:
        stream = c.stream(MESSAGES)
        with pytest.raises(StreamInterrupted) as info:
            stream.result()
    assert isinstance(info.value.cause, httpx.ConnectError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert stream.attempts == 3
    assert info.value.partial.choices == []


def test_disconnect_before_content_is_retried(request, client):
    stream = client.stream(MESSAGES, fake={"tokens": 5, "disconnect_after": 0, "fail_times": 1, "fail_key": key(request)})
    deltas = list(stream)
    assert stream.attempts == 2
    assert sum(d.role is not None for d in deltas) == 1  # the role chunk of the failed attempt was held back
    assert stream.result().content == fake_text(5)


def test_disconnect_after_content_keeps_the_partial(client):
    stream = client.stream(MESSAGES, fake={"tokens": 10, "disconnect_after": 4, "fail_times": 5})
    got = []
    with pytest.raises(StreamInterrupted) as info:
        for d in stream:
            got.append(d)
    err = info.value
    assert isinstance(err.cause, httpx.RemoteProtocolError)
    assert err.partial.content == fake_text(4)
    assert "".join(d.content for d in got if d.content) == fake_text(4)
    assert stream.attempts == 1  # nothing is retried after content
    assert stream.partial.content == fake_text(4)
    with pytest.raises(SSEError, match="partial"):
        stream.result()


def test_in_band_overload_before_the_first_token_is_retried(request, client):
    stream = client.stream(MESSAGES, fake={"tokens": 4, "error_after": 0, "fail_times": 2, "fail_key": key(request)})
    deltas = list(stream)
    assert stream.attempts == 3
    assert sum(d.role is not None for d in deltas) == 1
    assert stream.result().content == fake_text(4)


def test_an_anthropic_overload_right_after_message_start_is_retried(request, server):
    # message_start carries the role and the input tokens' usage: no token
    # has reached the caller, so the overload is retried as the README says
    with ChatClient(base_url=server.base_url, model="m", format="anthropic", backoff_initial=0.01) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 4, "error_after": 0, "error_type": "overloaded_error",
                                          "fail_times": 1, "fail_key": key(request)})  # fmt: skip
        deltas = list(stream)
        assert stream.attempts == 2
        assert sum(d.role is not None for d in deltas) == 1  # the first attempt's start was held back
        result = stream.result()
    assert result.content == fake_text(4) and result.usage is not None


def test_in_band_error_after_content_is_raised_with_the_partial(client):
    stream = client.stream(MESSAGES, fake={"tokens": 6, "error_after": 3})
    with pytest.raises(StreamError) as info:
        list(stream)
    assert info.value.type == "server_error"
    assert info.value.partial.content == fake_text(3)
    assert stream.attempts == 1


def test_in_band_non_transient_error_is_not_retried(client):
    stream = client.stream(MESSAGES, fake={"tokens": 6, "error_after": 0, "error_type": "invalid_request_error"})
    with pytest.raises(StreamError) as info:
        stream.result()
    assert stream.attempts == 1
    assert info.value.partial.content is None


def test_malformed_chunk_raises_with_the_partial_or_is_skipped(server):
    with ChatClient(base_url=server.base_url, model="m") as c:
        with pytest.raises(MalformedChunk) as info:
            c.complete(MESSAGES, fake={"tokens": 5, "malformed_after": 2})
        assert info.value.partial.content == fake_text(2)
        assert_no_leak(server, c.http_client)
    with ChatClient(base_url=server.base_url, model="m", on_malformed="skip") as c:
        assert c.complete(MESSAGES, fake={"tokens": 5, "malformed_after": 2}).content == fake_text(5)
        assert_no_leak(server, c.http_client)


def test_idle_timeout_after_content(server):
    with ChatClient(base_url=server.base_url, model="m", idle_timeout=0.2) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 10, "stall_after": 3, "stall": 30})
        start = time.monotonic()
        with pytest.raises(IdleTimeout) as info:
            stream.result()
        assert 0.15 < time.monotonic() - start < 5
        err = info.value
        assert isinstance(err, StreamInterrupted) and isinstance(err.cause, httpx.ReadTimeout)
        assert err.timeout == 0.2 and "0.2" in str(err)
        assert err.partial.content == fake_text(3)
        assert stream.attempts == 1
        assert_no_leak(server, c.http_client)


def test_idle_timeout_before_content_is_retried(request, server):
    with ChatClient(base_url=server.base_url, model="m", idle_timeout=0.2, backoff_initial=0.01) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 3, "stall_after": 0, "stall": 30, "fail_times": 1, "fail_key": key(request)})
        assert stream.result().content == fake_text(3)
        assert stream.attempts == 2
        assert_no_leak(server, c.http_client)


def test_idle_timeout_does_not_fire_on_a_slow_but_steady_stream(server):
    with ChatClient(base_url=server.base_url, model="m", idle_timeout=0.3) as c:
        assert c.complete(MESSAGES, fake={"tokens": 6, "tokens_per_second": 10}).content == fake_text(6)


def test_non_event_stream_200_is_an_api_status_error(client):
    stream = client.stream(MESSAGES, fake={"tokens": 3, "content_type": "text/html"})
    with pytest.raises(APIStatusError, match="text/html") as info:
        stream.result()
    assert info.value.status_code == 200 and stream.attempts == 1


def test_gzip_stream(client):
    assert client.complete(MESSAGES, fake={"tokens": 30, "gzip": True}).content == fake_text(30)


# -- closing -----------------------------------------------------------------------


def test_break_with_context_manager_closes_the_connection(server, client):
    with client.stream(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 500}) as stream:
        for i, _ in enumerate(stream):
            if i == 5:
                break
    assert_no_leak(server, client.http_client)
    assert stream.partial.content == fake_text(5)


def test_close_midway(server, client):
    stream = client.stream(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 500})
    it = iter(stream)
    next(it), next(it)
    stream.close()
    stream.close()
    assert list(stream) == []
    assert_no_leak(server, client.http_client)


def test_break_without_context_manager_closes_on_release(server, client):
    for i, _ in enumerate(client.stream(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 500})):
        if i == 2:
            break
    gc.collect()
    assert_no_leak(server, client.http_client)


def test_closing_a_stream_that_never_started_sends_nothing(server, client):
    before = server.stats()["requests_total"]
    stream = client.stream(MESSAGES)
    stream.close()
    assert list(stream) == []
    assert server.stats()["requests_total"] == before


def test_given_http_client_is_used_and_not_closed(server):
    with httpx.Client() as http:
        c = ChatClient(base_url=server.base_url, model="m", http_client=http)
        assert c.complete(MESSAGES, fake={"tokens": 2}).content == fake_text(2)
        c.close()
        assert not http.is_closed
        assert_no_leak(server, http)


def test_many_sequential_streams_reuse_one_connection(server, client):
    before = server.stats()["connections_total"]
    for _ in range(20):
        assert client.complete(MESSAGES, fake={"tokens": 3}).content == fake_text(3)
    assert server.stats()["connections_total"] - before <= 1
