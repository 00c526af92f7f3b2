"""turbosse.httpx against the real FakeLLMServer over loopback: httpx-sse's API
and semantics, raw-byte reading, content-encoding, errors that show the body,
any transport (httpx's own and httpx-aiohttp's), and no leaked connections."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest
from _transport_helpers import assert_no_leak, async_assert_no_leak, chat_body

import turbosse
import turbosse.httpx as tsse
from turbosse import APIStatusError, EventTooLarge, SSEParser
from turbosse._http import body_snippet, retry_after_seconds
from turbosse.testing import FakeLLMServer, fake_text

pytestmark = pytest.mark.anyio

CHAT = "/chat/completions"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def as_tuples(events):
    return [(e.event, e.data, e.id, e.retry) for e in events]


def content_of(events):
    out = []
    for e in events:
        if e.data == "[DONE]":
            continue
        for c in json.loads(e.data).get("choices", []):
            out.append(c["delta"].get("content") or "")
    return "".join(out)


def test_public_names_mirror_httpx_sse():
    httpx_sse = pytest.importorskip("httpx_sse")

    for name in ("EventSource", "ServerSentEvent", "SSEError", "aconnect_sse", "connect_sse"):
        assert hasattr(tsse, name), name
        assert name in httpx_sse.__all__
    assert tsse.SSEError is turbosse.SSEError
    assert tsse.ServerSentEvent is turbosse.ServerSentEvent
    assert issubclass(APIStatusError, turbosse.SSEError)


@pytest.mark.parametrize("fake", [{"tokens": 40}, {"tokens": 40, "crlf": True}, {"tokens": 5, "tool_calls": 2}])
def test_same_events_as_httpx_sse(server, fake):
    httpx_sse = pytest.importorskip("httpx_sse")

    with httpx.Client(base_url=server.base_url) as client:
        with httpx_sse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            theirs = as_tuples(source.iter_sse())
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            ours = as_tuples(source.iter_sse())
        assert ours == theirs
        assert ours[-1][1] == "[DONE]"
        assert_no_leak(server, client)


async def test_async_same_events_as_httpx_sse(server):
    httpx_sse = pytest.importorskip("httpx_sse")

    async with httpx.AsyncClient(base_url=server.base_url) as client:
        async with httpx_sse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=30)) as source:
            theirs = as_tuples([e async for e in source.aiter_sse()])
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=30)) as source:
            assert source.response.status_code == 200
            ours = as_tuples([e async for e in source.aiter_sse()])
        assert ours == theirs
        await async_assert_no_leak(server, client)


def test_sentinel_is_swallowed_and_the_body_drained(server):
    with httpx.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=3), sentinel=b"[DONE]") as source:
            events = list(source.iter_sse())
            assert source.response.is_stream_consumed
        assert all(e.data != "[DONE]" for e in events)
        assert content_of(events) == fake_text(3)
        # the connection went back to the pool: the next request reuses it
        before = server.stats()["connections_total"]
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=3), sentinel=b"[DONE]") as source:
            list(source.iter_sse())
        assert server.stats()["connections_total"] == before
        assert_no_leak(server, client)


def test_request_headers_and_caller_headers_untouched(server):
    server.reset()
    headers = {"Authorization": "Bearer sk-test"}
    with httpx.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=1), headers=headers) as source:
            list(source.iter_sse())
    assert headers == {"Authorization": "Bearer sk-test"}
    sent = server.requests[-1]["headers"]
    assert sent["accept"] == "text/event-stream"
    assert sent["cache-control"] == "no-store"
    assert sent["authorization"] == "Bearer sk-test"


def test_gzip_content_encoding_is_decoded_without_text_decoding(server):
    with httpx.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=25)) as source:
            plain = as_tuples(source.iter_sse())
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=25, gzip=True, tokens_per_second=2000)) as source:
            assert source.response.headers["content-encoding"] == "gzip"
            zipped = as_tuples(source.iter_sse())
    assert zipped == plain


async def test_async_gzip(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=25, gzip=True)) as source:
            events = [e async for e in source.aiter_sse()]
    assert content_of(events) == fake_text(25)


def test_reads_raw_bytes_not_text(server, monkeypatch):
    """No text decoding or line iteration by httpx on the default path."""

    def forbidden(*args, **kwargs):
        raise AssertionError("httpx text/line iteration used")

    monkeypatch.setattr(httpx.Response, "iter_text", forbidden)
    monkeypatch.setattr(httpx.Response, "iter_lines", forbidden)
    monkeypatch.setattr(httpx.Response, "iter_bytes", forbidden)
    with httpx.Client(base_url=server.base_url) as client, tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=3)) as source:
        assert content_of(source.iter_sse()) == fake_text(3)


def test_non_event_stream_raises_with_status_and_body(server):
    with httpx.Client(base_url=server.base_url) as client:
        body = chat_body(tokens=3)
        body["stream"] = False
        with tsse.connect_sse(client, "POST", CHAT, json=body) as source:
            with pytest.raises(APIStatusError) as info:
                list(source.iter_sse())
        err = info.value
        assert err.status_code == 200
        assert err.content_type == "application/json"
        assert '"chat.completion"' in err.body
        assert "text/event-stream" in str(err) and "application/json" in str(err)

        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(fail_status=429, retry_after=3)) as source:
            with pytest.raises(turbosse.SSEError) as info2:
                list(source.iter_sse())
        err = info2.value
        assert isinstance(err, APIStatusError)
        assert err.status_code == 429 and err.retry_after == 3.0
        assert "Rate limit reached" in err.body and "Rate limit reached" in str(err)
        assert_no_leak(server, client)


async def test_async_non_event_stream_raises(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(fail_status=503)) as source:
            with pytest.raises(APIStatusError, match="503") as info:
                async for _ in source.aiter_sse():
                    pass
        assert "overloaded" in info.value.body
        await async_assert_no_leak(server, client)


def test_body_snippet_is_at_most_500_characters():
    assert len(body_snippet(b"x" * 10_000)) == 500
    assert body_snippet(b"\xff ok") == "\ufffd ok"
    long_unicode = "\u00e9" * 1000
    assert len(body_snippet(long_unicode.encode())) == 500


def test_breaking_out_closes_the_connection(server):
    with httpx.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=1000, tokens_per_second=200)) as source:
            for i, _ in enumerate(source.iter_sse()):
                if i == 3:
                    break
        assert_no_leak(server, client)


async def test_async_breaking_out_closes_the_connection(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=1000, tokens_per_second=200)) as source:
            i = 0
            async for _ in source.aiter_sse():
                i += 1
                if i == 3:
                    break
        await async_assert_no_leak(server, client)


async def test_aiohttp_transport(server):
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    async with httpx.AsyncClient(base_url=server.base_url, transport=httpx_aiohttp.AiohttpTransport()) as client:
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=50, events_per_write=7)) as source:
            events = [e async for e in source.aiter_sse()]
        assert content_of(events) == fake_text(50)
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=1000, tokens_per_second=200)) as source:
            async for _ in source.aiter_sse():
                break
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=20, gzip=True)) as source:
            assert content_of([e async for e in source.aiter_sse()]) == fake_text(20)
        await async_assert_no_leak(server, client)


def test_max_event_bytes(server):
    with httpx.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=3), max_event_bytes=100) as source:
            with pytest.raises(EventTooLarge, match="max_event_bytes=100"):
                list(source.iter_sse())
        assert_no_leak(server, client)


def test_disconnect_midway_raises_httpx_error_after_the_events(server):
    got = []
    with httpx.Client(base_url=server.base_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            with tsse.connect_sse(client, "POST", CHAT, json=chat_body(tokens=10, disconnect_after=4)) as source:
                for e in source.iter_sse():
                    got.append(e)
        assert content_of(got) == fake_text(4)
        assert_no_leak(server, client)


def test_corpus_replay_matches_the_parser(server, corpus_files):
    with FakeLLMServer(lifetime=60, corpus_dir=corpus_files[0].parent) as srv, httpx.Client(base_url=srv.base_url) as client:
        for path in corpus_files[:12]:
            with tsse.connect_sse(client, "POST", CHAT, json=chat_body(replay=path.name, events_per_write=2)) as source:
                got = as_tuples(source.iter_sse())
            assert got == as_tuples(SSEParser().feed(path.read_bytes())), path.name


def test_event_source_on_an_already_read_response(server):
    with httpx.Client(base_url=server.base_url) as client:
        r = client.post(CHAT, json=chat_body(tokens=4))
        assert content_of(tsse.EventSource(r).iter_sse()) == fake_text(4)


def test_retry_after_parsing():
    H = httpx.Headers
    assert retry_after_seconds(H({})) is None
    assert retry_after_seconds(H({"retry-after": "7"})) == 7.0
    assert retry_after_seconds(H({"retry-after": "1.5"})) == 1.5
    assert retry_after_seconds(H({"retry-after": "-3"})) is None
    assert retry_after_seconds(H({"retry-after": "soon"})) is None
    assert retry_after_seconds(H({"retry-after": "nan"})) is None
    assert retry_after_seconds(H({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_seconds(H({"retry-after-ms": "x", "retry-after": "9"})) == 9.0
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 < retry_after_seconds(H({"retry-after": date})) <= 20
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert retry_after_seconds(H({"retry-after": past})) == 0.0
