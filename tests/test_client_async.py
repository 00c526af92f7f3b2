"""AsyncChatClient over loopback against the real FakeLLMServer, on asyncio and
on uvloop, on every transport (turbosse's own, httpx's default, an
aiohttp.ClientSession, httpx-aiohttp's): retries, faults with their partial
results, idle timeouts, cancellation, and no leaks."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import httpx
import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every test on asyncio and uvloop
from _transport_helpers import async_assert_no_leak

from turbosse import APIStatusError, AsyncChatClient, IdleTimeout
from turbosse._errors import MalformedChunk, StreamError, StreamInterrupted
from turbosse.testing import FakeLLMServer, fake_text, fake_token

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


def _transports():
    params = [pytest.param("turbosse", id="turbosse"), pytest.param("httpx", id="httpx")]
    try:
        import aiohttp  # noqa: F401

        params.append(pytest.param("aiohttp", id="aiohttp"))
        import httpx_aiohttp  # noqa: F401

        params.append(pytest.param("httpx-aiohttp", id="httpx-aiohttp"))
    except ImportError:  # pragma: no cover
        pass
    return params


@pytest.fixture(params=_transports())
def transport(request):
    return request.param


@asynccontextmanager
async def chat_client(server, transport: str, **kwargs):
    """An AsyncChatClient on ``transport``: chosen by name ("turbosse",
    "httpx"), an aiohttp.ClientSession, or an httpx client on httpx-aiohttp's
    transport; everything it opened is closed on exit."""
    opened = None
    if transport == "aiohttp":
        import aiohttp

        opened = aiohttp.ClientSession()
        kwargs["http_client"] = opened
    elif transport == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        opened = kwargs["http_client"] = httpx.AsyncClient(transport=AiohttpTransport())
    else:
        kwargs["transport"] = transport
    c = AsyncChatClient(base_url=server.base_url, **kwargs)
    try:
        yield c
    finally:
        await c.aclose()
        if opened is not None:
            await opened.close() if transport == "aiohttp" else await opened.aclose()


@pytest.fixture
async def client(server, transport):
    """Fast backoff; after the test nothing may be left open."""
    async with chat_client(server, transport, model="gpt-fake", backoff_initial=0.01, backoff_max=0.05) as c:
        yield c
        await async_assert_no_leak(server, c.http_client)


def key(request) -> str:
    return request.node.nodeid


async def test_stream_and_result(client):
    async with client.stream(MESSAGES, fake={"tokens": 25}) as stream:
        deltas = [d async for d in stream]
    assert deltas[0].role == "assistant"
    result = await stream.result()
    assert result.content == fake_text(25)
    assert result.usage.completion_tokens == 25
    assert result.model == "gpt-fake"


async def test_text_stream_and_complete(client):
    stream = client.stream(MESSAGES, fake={"tokens": 5})
    assert [t async for t in stream.text_stream] == [fake_token(i) for i in range(5)]
    assert (await client.complete(MESSAGES, fake={"tokens": 8, "tool_calls": 1})).tool_calls[0].name == "get_weather"


async def test_default_http_client(server):
    async with AsyncChatClient(base_url=server.base_url, model="m") as c:
        assert (await c.complete(MESSAGES, fake={"tokens": 3})).content == fake_text(3)
        await async_assert_no_leak(server, c.http_client)
    assert c.http_client.is_closed


async def test_status_retry_with_retry_after_ms(request, client):
    start = time.monotonic()
    stream = client.stream(MESSAGES, fake={"tokens": 3, "fail_status": 429, "retry_after_ms": 100, "fail_times": 2, "fail_key": key(request)})
    assert (await stream.result()).content == fake_text(3)
    assert stream.attempts == 3 and stream.retry_delays == [0.1, 0.1]
    assert time.monotonic() - start >= 0.2


async def test_status_not_retried_and_exhausted(client):
    stream = client.stream(MESSAGES, fake={"fail_status": 401})
    with pytest.raises(APIStatusError) as info:
        await stream.result()
    assert info.value.status_code == 401 and stream.attempts == 1
    stream = client.stream(MESSAGES, fake={"fail_status": 503, "retry_after": 0.01})
    with pytest.raises(APIStatusError):
        await stream.result()
    assert stream.attempts == 3


async def test_connection_refused():
    dead = FakeLLMServer(lifetime=30).start()
    url = dead.base_url
    dead.stop()
    async with AsyncChatClient(base_url=url, model="m", max_retries=1, backoff_initial=0.001) as c:
        stream = c.stream(MESSAGES)
        with pytest.raises(StreamInterrupted) as info:
            await stream.result()
    assert isinstance(info.value.cause, httpx.ConnectError)
    assert stream.attempts == 2


async def test_disconnect_before_content_retried_after_content_kept(request, client):
    stream = client.stream(MESSAGES, fake={"tokens": 5, "disconnect_after": 0, "fail_times": 1, "fail_key": key(request)})
    assert (await stream.result()).content == fake_text(5)
    assert stream.attempts == 2
    stream = client.stream(MESSAGES, fake={"tokens": 9, "disconnect_after": 4})
    got = []
    with pytest.raises(StreamInterrupted) as info:
        async for d in stream:
            got.append(d)
    assert info.value.partial.content == fake_text(4)
    assert "".join(d.content for d in got if d.content) == fake_text(4)
    assert stream.attempts == 1


async def test_in_band_errors(request, client):
    stream = client.stream(MESSAGES, fake={"tokens": 4, "error_after": 0, "fail_times": 1, "fail_key": key(request)})
    deltas = [d async for d in stream]
    assert sum(d.role is not None for d in deltas) == 1 and stream.attempts == 2
    assert (await stream.result()).content == fake_text(4)
    stream = client.stream(MESSAGES, fake={"tokens": 4, "error_after": 2})
    with pytest.raises(StreamError) as info:
        await stream.result()
    assert info.value.partial.content == fake_text(2) and stream.attempts == 1


async def test_malformed(client):
    with pytest.raises(MalformedChunk) as info:
        await client.complete(MESSAGES, fake={"tokens": 5, "malformed_after": 3})
    assert info.value.partial.content == fake_text(3)


async def test_idle_timeout(server, transport):
    async with chat_client(server, transport, model="m", idle_timeout=0.2) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 8, "stall_after": 2, "stall": 30})
        start = time.monotonic()
        with pytest.raises(IdleTimeout) as info:
            await stream.result()
        assert 0.15 < time.monotonic() - start < 5
        assert info.value.partial.content == fake_text(2)
        assert stream.attempts == 1
        await async_assert_no_leak(server, c.http_client)


async def test_idle_timeout_before_content_retried(request, server, transport):
    async with chat_client(server, transport, model="m", idle_timeout=0.2, backoff_initial=0.01) as c:
        stream = c.stream(MESSAGES, fake={"tokens": 3, "stall_after": 0, "fail_times": 1, "fail_key": key(request)})
        assert (await stream.result()).content == fake_text(3)
        assert stream.attempts == 2
        await async_assert_no_leak(server, c.http_client)


async def test_break_and_aclose_close_the_connection(server, client):
    async with client.stream(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 500}) as stream:
        i = 0
        async for _ in stream:
            i += 1
            if i == 4:
                break
    await async_assert_no_leak(server, client.http_client)
    # the partial holds what was read: the 3 tokens consumed, and any more that
    # came in the same read (on aiohttp a read can carry several events)
    partial = stream.partial.content
    assert partial.startswith(fake_text(3)) and fake_text(1000).startswith(partial)
    stream = client.stream(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 500})
    it = stream.__aiter__()
    await it.__anext__()
    await stream.aclose()
    await stream.aclose()
    assert [d async for d in stream] == []


async def test_cancelling_the_task_closes_the_connection(server, client):
    got: list = []
    started = asyncio.Event()

    async def consume():
        async with client.stream(MESSAGES, fake={"tokens": 10_000, "tokens_per_second": 200}) as stream:
            async for d in stream:
                got.append(d)
                if len(got) == 3:
                    started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 3 <= len(got) < 100
    await async_assert_no_leak(server, client.http_client)
    assert (await asyncio.to_thread(server.stats))["active_responses"] == 0


async def test_cancelling_without_context_manager(server, client):
    stream = client.stream(MESSAGES, fake={"tokens": 10_000, "tokens_per_second": 200})

    async def consume():
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await async_assert_no_leak(server, client.http_client)
    assert stream.partial.content  # what arrived before the cancel is kept


async def test_timeout_around_the_stream_closes_the_connection(server, client):
    with pytest.raises(asyncio.TimeoutError):  # the builtin TimeoutError only from 3.11 on
        await asyncio.wait_for(client.complete(MESSAGES, fake={"tokens": 1000, "tokens_per_second": 100}), 0.2)
    await async_assert_no_leak(server, client.http_client)


async def test_concurrent_streams(server, client):
    results = await asyncio.gather(*(client.complete(MESSAGES, fake={"tokens": 20 + i, "tokens_per_second": 400}) for i in range(40)))
    assert [r.content for r in results] == [fake_text(20 + i) for i in range(40)]
    await async_assert_no_leak(server, client.http_client)
