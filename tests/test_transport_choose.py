"""Choosing a chat client's transport: by name, by the kind of http_client,
the default, and the clear errors for what cannot be combined."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from _scripted_server import ScriptedServer

from turbosse import AsyncChatClient, ChatClient
from turbosse._transport.adapters import AiohttpSessionTransport, TurbosseTransport
from turbosse.testing import FakeLLMServer, fake_text

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer(lifetime=120) as srv:
        yield srv


@pytest.mark.parametrize(
    "transport, kind",
    [(None, TurbosseTransport), ("turbosse", TurbosseTransport), ("aiohttp", AiohttpSessionTransport), ("httpx", httpx.AsyncHTTPTransport)],
)
async def test_transport_by_name(server, transport, kind):
    async with AsyncChatClient(base_url=server.base_url, model="m", transport=transport) as c:
        assert type(c.http_client._transport) is kind
        assert (await c.complete(MESSAGES, fake={"tokens": 4})).content == fake_text(4)
    assert c.http_client.is_closed


async def test_an_aiohttp_session_is_read_directly_and_stays_open(server):
    async with aiohttp.ClientSession() as session:
        async with AsyncChatClient(base_url=server.base_url, model="m", http_client=session) as c:
            assert c.http_client._transport.session is session
            assert (await c.complete(MESSAGES, fake={"tokens": 6, "gzip": True})).content == fake_text(6)
        assert not session.closed  # the caller's session: not closed by the client
        async with AsyncChatClient(base_url=server.base_url, model="m", http_client=session) as c:
            assert (await c.complete(MESSAGES, fake={"tokens": 2})).content == fake_text(2)


async def test_an_httpx_client_is_used_as_given(server):
    async with httpx.AsyncClient() as http:
        async with AsyncChatClient(base_url=server.base_url, model="m", http_client=http) as c:
            assert c.http_client is http
        assert not http.is_closed


def test_what_cannot_be_combined():
    with pytest.raises(ValueError, match="one of 'turbosse', 'aiohttp', 'httpx'"):
        AsyncChatClient(model="m", transport="requests")
    with pytest.raises(ValueError, match="not both"):
        AsyncChatClient(model="m", transport="httpx", http_client=httpx.AsyncClient())
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient, .*aiohttp\.ClientSession, not Client"):
        AsyncChatClient(model="m", http_client=httpx.Client())
    with pytest.raises(ValueError, match="synchronous ChatClient sends through httpx only"):
        ChatClient(model="m", transport="turbosse")
    with pytest.raises(TypeError, match=r"an httpx\.Client.*, not AsyncClient"):
        ChatClient(model="m", http_client=httpx.AsyncClient())
    with ChatClient(model="m", transport="httpx") as c:
        assert isinstance(c.http_client, httpx.Client)


async def test_direct_client_sends_straight_to_the_transport_unless_httpx_features_are_set(server):
    from turbosse._transport.adapters import DirectClient

    url = server.base_url + "/chat/completions"
    body = {"model": "m", "messages": MESSAGES, "stream": True, "fake": {"tokens": 2}}
    seen = []

    async def hook(request):
        seen.append(request.url.path)

    async with DirectClient(transport=TurbosseTransport()) as direct, \
            DirectClient(transport=TurbosseTransport(), event_hooks={"request": [hook]}) as hooked:  # fmt: skip
        for client in (direct, hooked):
            async with client.stream("POST", url, json=body) as response:
                assert response.status_code == 200 and response.request.url == url
                assert b'"content":"Hello"' in await response.aread()
        assert seen == ["/v1/chat/completions"]  # the hook ran: that client went through httpx's send
        refused = httpx.Request("POST", "http://127.0.0.1:9/x")
        with pytest.raises(httpx.ConnectError) as info:
            await direct.send(refused, stream=True)
        assert info.value.request is refused


def _pool(http):
    return http._transport._pool  # the httpcore pool of httpx's default transport


async def test_httpx_clients_turbosse_makes_keep_few_idle_connections(server):
    # httpcore 1.0's pool walks every connection per request: the clients
    # turbosse makes keep at most HTTPX_MAX_KEEPALIVE idle, connections unbounded as before
    from turbosse._client_settings import DEFAULT_LIMITS
    from turbosse._transport.choose import HTTPX_MAX_KEEPALIVE

    assert HTTPX_MAX_KEEPALIVE == 20 < DEFAULT_LIMITS.max_keepalive_connections
    with ChatClient(base_url=server.base_url, api_key="k", model="gpt-fake") as client:
        pool = _pool(client.http_client)
        assert (pool._max_connections, pool._max_keepalive_connections) == (DEFAULT_LIMITS.max_connections, 20)
        assert client.complete(MESSAGES, fake={"tokens": 4}).content == fake_text(4)
    async with AsyncChatClient(base_url=server.base_url, api_key="k", model="gpt-fake", transport="httpx") as aclient:
        pool = _pool(aclient.http_client)
        assert (pool._max_connections, pool._max_keepalive_connections) == (DEFAULT_LIMITS.max_connections, 20)
        assert (await aclient.complete(MESSAGES, fake={"tokens": 4})).content == fake_text(4)


def test_httpx_limits_never_raise_the_keepalive_asked_for():
    from turbosse._transport.choose import httpx_limits

    assert httpx_limits(httpx.Limits(max_connections=5, max_keepalive_connections=3)).max_keepalive_connections == 3
    got = httpx_limits(httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=7))
    assert (got.max_connections, got.max_keepalive_connections, got.keepalive_expiry) == (None, 20, 7)


async def test_the_turbosse_transports_response_is_a_whole_httpx_response(server):
    # built without httpx.Response.__init__ (and its Headers): nothing that
    # initialiser sets may be missing, whatever httpx version is installed
    made = vars(httpx.Response(200, stream=httpx.ByteStream(b"")))
    async with AsyncChatClient(base_url=server.base_url, model="m", transport="turbosse") as c:
        async with c.stream(MESSAGES, fake={"tokens": 3}) as stream:
            assert (await stream.result()).content == fake_text(3)
            response = stream.response
            assert type(response).__mro__[1] is httpx.Response
            assert set(made) - {"headers"} <= set(vars(response))
            assert response.status_code == 200 and response.http_version == "HTTP/1.1"
            assert response.reason_phrase == "OK"
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.request.url == server.base_url + "/chat/completions"
            assert response.raise_for_status() is response
            assert response.num_bytes_downloaded > 0 and response.is_closed
            await response.aclose()  # again: nothing happens


async def test_header_octets_beyond_ascii_read_as_httpx_reads_them():
    # a value or reason phrase may hold any octets (UTF-8, latin-1): every
    # transport hands them to httpx as bytes, which decides the text, so all
    # three agree with httpx's own transport (and nothing raises)
    chunk = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
    body = chunk + b"data: [DONE]\n\n"
    raw = (b"HTTP/1.1 200 OK \xe2\x9c\x93\r\ncontent-type: text/event-stream\r\nx-utf8: \xc3\xa9t\xc3\xa9\r\n"
           b"x-id: req-1\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip

    async def answer(ex):
        while await ex.request() is not None:
            await ex.send(raw)

    seen = {}
    async with ScriptedServer(answer) as srv:
        for transport in ("turbosse", "aiohttp", "httpx"):
            async with AsyncChatClient(base_url=srv.url, model="m", transport=transport, max_retries=0) as c:
                async with c.stream(MESSAGES) as stream:
                    assert (await stream.result()).content == "hi"
                    response = stream.response
                    seen[transport] = (dict(response.headers), response.reason_phrase)
    assert seen["httpx"][0]["x-utf8"] == "été" and seen["httpx"][0]["x-id"] == "req-1"
    drop = ("content-length",)  # turbosse and aiohttp undo the body's framing themselves
    expected = ({k: v for k, v in seen["httpx"][0].items() if k not in drop}, seen["httpx"][1])
    for transport in ("turbosse", "aiohttp"):
        assert ({k: v for k, v in seen[transport][0].items() if k not in drop}, seen[transport][1]) == expected


@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirect_is_the_callers_on_every_transport(status):
    # aiohttp follows redirects unless told not to (a 302 turned the POST
    # into a GET, a 307 loop into TooManyRedirects)
    from turbosse import APIStatusError

    async def answer(ex):
        while await ex.request() is not None:
            await ex.send(b"HTTP/1.1 %d Moved\r\nlocation: /other\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nmoved" % status)

    for transport in ("turbosse", "aiohttp", "httpx"):
        async with ScriptedServer(answer) as srv:
            async with AsyncChatClient(base_url=srv.url, model="m", transport=transport, max_retries=2) as c:
                with pytest.raises(APIStatusError) as info:
                    await c.complete(MESSAGES)
            assert info.value.status_code == status and info.value.body == "moved", transport
            assert [line.split()[:2] for line, _, _ in srv.requests] == [[b"POST", b"/chat/completions"]], transport


async def test_a_connect_timeout_is_one_on_every_transport():
    # a listening socket whose backlog is full: the handshake never completes
    import socket

    from turbosse import StreamInterrupted

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(8):  # fill the backlog (its size is the kernel's)
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(listener.getsockname())
            fillers.append(s)
        host, port = listener.getsockname()
        url = f"http://{host}:{port}/v1"
        for transport in ("turbosse", "aiohttp", "httpx"):
            timeout = httpx.Timeout(30, connect=0.5)
            async with AsyncChatClient(base_url=url, model="m", transport=transport, max_retries=0, timeout=timeout) as c:
                with pytest.raises(StreamInterrupted) as info:
                    await c.complete(MESSAGES)
            assert isinstance(info.value.cause, httpx.ConnectTimeout), (transport, repr(info.value.cause))
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_a_long_error_body_in_small_reads_still_gives_the_providers_message():
    # a validation error echoing the input runs past 2,000 bytes: read in
    # 1 KiB pieces, the fields were parsed from a cut body and lost
    import asyncio
    import json

    from turbosse import APIStatusError

    body = json.dumps({"detail": [{"type": "missing", "loc": ["body", "model"], "msg": "Field required",
                                   "input": {"messages": [{"role": "user", "content": "x" * 3000}]}}]}).encode()  # fmt: skip

    async def answer(ex):
        while await ex.request() is not None:
            head = b"HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            await ex.send(head % len(body))
            for i in range(0, len(body), 1024):
                await ex.send(body[i : i + 1024], pause=0.01)

    async with ScriptedServer(answer) as srv:
        for transport in ("turbosse", "aiohttp", "httpx", "sync"):
            with pytest.raises(APIStatusError) as info:
                if transport == "sync":
                    def call():
                        with ChatClient(base_url=srv.url, model="m", max_retries=0) as c:
                            c.complete(MESSAGES)

                    await asyncio.to_thread(call)
                else:
                    async with AsyncChatClient(base_url=srv.url, model="m", transport=transport, max_retries=0) as c:
                        await c.complete(MESSAGES)
            assert info.value.status_code == 422 and info.value.message == "body.model: Field required", transport


@pytest.mark.parametrize("what", ["comments", "error body"])
async def test_the_deadline_holds_against_bytes_that_keep_coming_on_every_transport(what):
    # keep-alive comments after a token, or an error body one byte at a
    # time: bytes keep the read timeout from firing, so only the deadline,
    # checked after every read, ends the request in time
    import asyncio
    import time

    from turbosse import APIStatusError, DeadlineExceeded

    chunk = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'

    async def answer(ex):
        while await ex.request() is not None:
            if what == "comments":
                await ex.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
                await ex.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                for _ in range(100):
                    await ex.send(b"8\r\n: ping\n\n\r\n", pause=0.1)
            else:
                await ex.send(b"HTTP/1.1 500 Oops\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n")
                for _ in range(100):
                    await ex.send(b"x", pause=0.1)
            return

    expected = DeadlineExceeded if what == "comments" else APIStatusError
    for transport in ("turbosse", "aiohttp", "httpx", "sync"):
        async with ScriptedServer(answer) as srv:
            start = time.monotonic()
            with pytest.raises(expected) as info:
                if transport == "sync":
                    def call():
                        with ChatClient(base_url=srv.url, model="m", max_retries=0, deadline=1) as c:
                            c.complete(MESSAGES)

                    await asyncio.to_thread(call)
                else:
                    async with AsyncChatClient(base_url=srv.url, model="m", transport=transport, max_retries=0, deadline=1) as c:
                        await c.complete(MESSAGES)
            assert time.monotonic() - start < 2.5, transport
            if what == "comments":
                assert info.value.partial.content == "Hi", transport
