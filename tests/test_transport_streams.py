"""The turbosse transport against the fake LLM server: a ChatDecoder of each
twin as the sink inside data_received, every framing the server offers, and
1,000 concurrent streams with random cancellations leaving no file
descriptor, task or connection behind."""

from __future__ import annotations

import asyncio
import os
import random

import httpx
import orjson
import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop

from turbosse._transport.pool import StreamTransport, Timeouts
from turbosse.testing import FakeLLMServer, fake_text

pytestmark = pytest.mark.anyio

T = Timeouts(connect=10, read=10, pool=30)


def body(**fake) -> bytes:
    return orjson.dumps({"model": "gpt-fake", "messages": [], "stream": True, "fake": fake})


async def stream_text(t: StreamTransport, server: FakeLLMServer, decoder_mod, **fake) -> str:
    response = await t.request("POST", server.base_url + "/chat/completions", {"content-type": "application/json"}, body(**fake), T)
    try:
        assert response.status_code == 200
        response.set_sink(decoder_mod.ChatDecoder().feed)
        parts = []
        while batch := await response.next_batch():
            parts.extend(d.content for d in batch if d.content)
        return "".join(parts)
    finally:
        response.close()


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
@pytest.mark.parametrize("gzip", [False, True])
async def test_decoder_sink_on_every_framing(server, decoder_mod, framing, gzip):
    t = StreamTransport()
    for _ in range(2):
        assert await stream_text(t, server, decoder_mod, tokens=30, framing=framing, gzip=gzip) == fake_text(30)
    await t.aclose()


async def test_paced_stream_arrives_in_many_wake_ups(server, decoder_mod):
    t = StreamTransport()
    response = await t.request("POST", server.base_url + "/chat/completions", {}, body(tokens=20, tokens_per_second=200), T)
    response.set_sink(decoder_mod.ChatDecoder().feed)
    batches = []
    while batch := await response.next_batch():
        batches.append(batch)
    response.close()
    assert "".join(d.content or "" for b in batches for d in b) == fake_text(20)
    assert len(batches) > 5  # delivered as they came, not at the end
    await t.aclose()


def _fds() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - no procfs: the pool and server checks remain
        return None


async def _settled(server: FakeLLMServer, t: StreamTransport) -> dict:
    for _ in range(500):
        stats = await asyncio.to_thread(server.stats)
        open_, busy = t.connections()
        if busy == 0 and stats["active_responses"] == 0 and stats["open_connections"] == open_:
            return stats
        await asyncio.sleep(0.01)
    raise AssertionError(f"leak: client open={open_} busy={busy}; server {stats}")


async def test_a_thousand_streams_with_random_cancellations(server, decoder_mod):
    rng = random.Random(7)
    warm = StreamTransport()  # the loop's own lazily opened descriptors are not leaks
    assert await stream_text(warm, server, decoder_mod, tokens=2) == fake_text(2)
    await warm.aclose()
    await _settled(server, warm)
    fds = _fds()
    tasks_before = asyncio.all_tasks()
    t = StreamTransport(max_connections=1000, max_keepalive=100)
    tasks = [asyncio.ensure_future(stream_text(t, server, decoder_mod, tokens=20, tokens_per_second=100)) for _ in range(1000)]
    doomed = rng.sample(tasks, 300)
    loop = asyncio.get_running_loop()
    for task in doomed:
        loop.call_later(rng.uniform(0, 0.3), task.cancel)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 120)
    finished = [r for r in results if isinstance(r, str)]
    unexpected = [r for r in results if not isinstance(r, (str, asyncio.CancelledError))]
    assert not unexpected, unexpected[:3]
    assert len(finished) >= 700 and all(r == fake_text(20) for r in finished)
    await _settled(server, t)
    assert t.connections()[0] <= 100  # at most max_keepalive kept
    await t.aclose()
    await _settled(server, t)
    assert t.connections() == (0, 0)
    assert asyncio.all_tasks() == tasks_before
    if fds is not None:
        assert _fds() == fds


async def test_chat_client_complete_wakes_nobody_per_read(server, monkeypatch, decoder_mod):
    # through AsyncChatClient: iterating wakes the reader for the reads (at
    # most once per loop iteration); complete() with a handler delivers
    # every delta inside data_received and wakes the reader only at the end
    import turbosse._client_settings
    from turbosse import AsyncChatClient, StreamHandler
    from turbosse._transport.protocol import Response

    monkeypatch.setattr(turbosse._client_settings, "ChatDecoder", decoder_mod.ChatDecoder)
    waits = []
    anext_batch = Response.anext_batch  # what a reader awaits (next_batch too)

    async def counted(self, *args):
        waits.append(1)
        return await anext_batch(self, *args)

    monkeypatch.setattr(Response, "anext_batch", counted)

    class Tokens(StreamHandler):
        def __init__(self):
            self.tokens = []

        def on_token(self, text):
            self.tokens.append(text)

    fake = {"tokens": 30, "tokens_per_second": 300}
    async with AsyncChatClient(base_url=server.base_url, model="m", transport="turbosse") as chat:
        handler = Tokens()
        result = await chat.complete([], handler=handler, fake=fake)
        assert result.content == fake_text(30) == "".join(handler.tokens)
        assert len(waits) <= 2, "complete() should not wake its reader per read"
        waits.clear()
        async with chat.stream([], fake=fake) as stream:
            got = [d.content async for d in stream if d.content]
        assert "".join(got) == fake_text(30)
        assert len(waits) >= 10  # paced: the reads come one by one, and so do the wake-ups


async def test_chat_client_request_is_built_when_asked_for(server):
    # turbosse's own client sends no httpx.Request; one is built for whoever
    # asks (the response, a status error's URL), naming what was sent
    from turbosse import APIStatusError, AsyncChatClient

    async with AsyncChatClient(base_url=server.base_url, model="m", api_key="sk-x", transport="turbosse") as chat:
        async with chat.stream([], fake={"tokens": 2}) as stream:
            assert [d async for d in stream]
            assert stream.response.raise_for_status() is stream.response  # as on any httpx response
            request = stream.response.request
        assert str(request.url) == chat.url and request.method == "POST"
        assert request.headers["authorization"] == "Bearer sk-x" and b'"fake"' in request.content
        with pytest.raises(APIStatusError) as info:
            await chat.complete([], fake={"status": 400})
        assert info.value.url == chat.url and info.value.status_code == 400


@pytest.mark.parametrize("gzip", [False, True])
async def test_chat_client_response_headers_are_httpx_headers_built_when_asked_for(server, gzip):
    # the client reads the content type from the transport's own dict; the
    # httpx.Headers a user sees are built on first use, with the same values
    # (without content-encoding and content-length: the transport decompressed)
    from turbosse import AsyncChatClient

    async with AsyncChatClient(base_url=server.base_url, model="m", transport="turbosse") as chat:
        async with chat.stream([], fake={"tokens": 3, "gzip": gzip}) as stream:
            assert (await stream.result()).content == fake_text(3)
            response = stream.response
            assert response._headers is None  # nothing asked for them yet
            headers = response.headers
            assert isinstance(headers, httpx.Headers) and response.headers is headers
            assert headers["Content-Type"] == "text/event-stream; charset=utf-8"
            assert headers["x-request-id"] == "req_fake"
            assert "content-encoding" not in headers and "content-length" not in headers
            response.headers = httpx.Headers({"x": "1"})  # a user may replace them, as on any httpx response
            assert dict(response.headers) == {"x": "1"}


async def test_chat_client_reuses_every_connection_at_its_concurrency(server):
    # a batch that comes back at the same concurrency reconnects nothing
    from turbosse import AsyncChatClient

    async with AsyncChatClient(base_url=server.base_url, model="m", transport="turbosse") as chat:
        async def wave():
            await asyncio.gather(*(chat.complete([], fake={"tokens": 3, "tokens_per_second": 50}) for _ in range(150)))

        await wave()
        before = server.stats()["connections_total"]
        await wave()
        assert server.stats()["connections_total"] == before


@pytest.mark.parametrize("after", [b"zz\r\n", b"5\r\nhelloX"], ids=["bad-chunk-size", "bad-chunk-end"])
async def test_a_broken_body_after_the_end_marker_still_completes(after):
    # the server's framing breaks after data: [DONE]: the stream was whole
    from _scripted_server import Exchange, ScriptedServer

    from turbosse import AsyncChatClient

    chunks = [{"choices": [{"index": 0, "delta": {"content": t}}]} for t in ("Hel", "lo")]
    events = [b"data: %s\n\n" % orjson.dumps(c) for c in chunks] + [b"data: [DONE]\n\n"]
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

    async def handler(ex: Exchange) -> None:
        await ex.request()
        await ex.send(head, *(b"%x\r\n%s\r\n" % (len(e), e) for e in events), after, pause=0.01)
        await ex.reader.read()

    async with ScriptedServer(handler) as srv:
        async with AsyncChatClient(base_url=srv.url, model="m", transport="turbosse", max_retries=0) as chat:
            async with chat.stream([]) as stream:
                got = [d.content async for d in stream if d.content]
            assert "".join(got) == "Hello"
            assert (await stream.result()).content == "Hello"
