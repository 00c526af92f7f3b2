"""turbosse.aiohttp against the real FakeLLMServer over loopback with a real
aiohttp.ClientSession: the same events as turbosse.httpx, sentinel, request
headers, gzip, errors that show the body, leaving early, disconnects, corpus
replay, on asyncio and uvloop, with nothing left busy in aiohttp's pool."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import httpx
import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop
from _transport_helpers import chat_body

import turbosse.aiohttp as tsa
import turbosse.httpx as tsse
from turbosse import APIStatusError, EventTooLarge, SSEParser
from turbosse.testing import FakeLLMServer, fake_text

pytestmark = pytest.mark.anyio

CHAT = "/chat/completions"


@pytest.fixture
async def session(server):
    async with aiohttp.ClientSession(server.base_url + "/") as s:
        yield s
        await assert_idle(server, s)


async def assert_idle(server: FakeLLMServer, session: aiohttp.ClientSession) -> None:
    """No response in flight on the server, none acquired from the session's pool,
    and the server holds exactly the connections the pool keeps."""
    connector = session.connector
    assert connector is not None
    for _ in range(500):
        busy = len(connector._acquired)
        kept = sum(len(v) for v in connector._conns.values())
        stats = await asyncio.to_thread(server.stats)
        if busy == 0 and stats["active_responses"] == 0 and stats["open_connections"] == kept:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"leak: aiohttp busy={busy} kept={kept}; server {stats}")


def as_tuples(events):
    return [(e.event, e.data, e.id, e.retry) for e in events]


def content_of(events):
    return "".join(
        c["delta"].get("content") or ""
        for e in events
        if e.data != "[DONE]"
        for c in json.loads(e.data).get("choices", [])
    )


@pytest.mark.parametrize("fake", [{"tokens": 40}, {"tokens": 40, "crlf": True}, {"tokens": 5, "tool_calls": 2}, {"tokens": 30, "framing": "close"}])
async def test_same_events_as_turbosse_httpx(server, session, fake):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            expected = as_tuples([e async for e in source.aiter_sse()])
    async with tsa.aconnect_sse(session, "POST", CHAT.lstrip("/"), json=chat_body(**fake)) as source:
        assert source.response.status == 200
        got = as_tuples([e async for e in source.aiter_sse()])
    assert got == expected and got[-1][1] == "[DONE]"


async def test_sentinel_headers_and_reuse(server, session):
    server.reset()
    headers = {"Authorization": "Bearer sk-test"}
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=3), headers=headers, sentinel=b"[DONE]") as source:
        events = [e async for e in source.aiter_sse()]
    assert content_of(events) == fake_text(3) and all(e.data != "[DONE]" for e in events)
    assert headers == {"Authorization": "Bearer sk-test"}
    sent = server.requests[-1]["headers"]
    assert (sent["accept"], sent["cache-control"], sent["authorization"]) == ("text/event-stream", "no-store", "Bearer sk-test")
    before = server.stats()["connections_total"]
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=3)) as source:
        [e async for e in source.aiter_sse()]
    assert server.stats()["connections_total"] == before  # the connection was reused


async def test_gzip(session):
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=25, gzip=True)) as source:
        assert source.response.headers["content-encoding"] == "gzip"
        assert content_of([e async for e in source.aiter_sse()]) == fake_text(25)


async def test_non_event_stream_raises_with_status_and_body(session):
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(fail_status=429, retry_after=3)) as source:
        with pytest.raises(APIStatusError) as info:
            [e async for e in source.aiter_sse()]
    err = info.value
    assert err.status_code == 429 and err.retry_after == 3.0
    assert "Rate limit reached" in err.body and err.reason == "Too Many Requests"
    # the provider's fields, as turbosse.httpx and the chat clients read them
    assert err.message and "Rate limit reached" in err.message and err.type is not None
    assert err.url is not None and err.url.endswith("/chat/completions")


@pytest.mark.parametrize("ctype", ["Text/Event-Stream", "TEXT/EVENT-STREAM; charset=utf-8"])
async def test_the_media_type_is_compared_case_insensitively_as_on_httpx(server, session, ctype):
    body = chat_body(tokens=4, content_type=ctype)
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=body) as source:
        events = [e async for e in source.aiter_sse()]
    async with httpx.AsyncClient(base_url=server.base_url + "/") as client, tsse.aconnect_sse(
        client, "POST", "chat/completions", json=body
    ) as source:
        assert as_tuples(events) == as_tuples([e async for e in source.aiter_sse()])
    assert content_of(events) == fake_text(4)


async def test_breaking_out_closes_the_connection(session):
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=1000, tokens_per_second=200)) as source:
        i = 0
        async for _ in source.aiter_sse():
            i += 1
            if i == 3:
                break


async def test_max_event_bytes(session):
    async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=3), max_event_bytes=100) as source:
        with pytest.raises(EventTooLarge, match="max_event_bytes=100"):
            [e async for e in source.aiter_sse()]


async def test_disconnect_midway_raises_after_the_events(session):
    got = []
    with pytest.raises(aiohttp.ClientPayloadError):
        async with tsa.aconnect_sse(session, "POST", "chat/completions", json=chat_body(tokens=10, disconnect_after=4)) as source:
            async for e in source.aiter_sse():
                got.append(e)
    assert content_of(got) == fake_text(4)


async def test_corpus_replay_matches_the_parser(corpus_files):
    with FakeLLMServer(lifetime=60, corpus_dir=corpus_files[0].parent) as srv:
        async with aiohttp.ClientSession() as session:
            for path in corpus_files[:12]:
                body = chat_body(replay=path.name, events_per_write=2)
                async with tsa.aconnect_sse(session, "POST", srv.base_url + CHAT, json=body) as source:
                    got = as_tuples([e async for e in source.aiter_sse()])
                assert got == as_tuples(SSEParser().feed(path.read_bytes())), path.name
