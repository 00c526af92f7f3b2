"""The end-to-end contenders of ``turbosse bench``: each client people use to
read an OpenAI-style stream, written once, registered by name.

A contender is one function decorated with :func:`client`. It receives the
server's base URL and returns ``(one, close)``: ``one(fake, tick=None)`` reads
one stream (the request's ``fake`` options say what the fake server sends)
and returns ``(content tokens, text)``; ``tick``, when given, is called for
each content token received (the lockstep scenario's signal); ``close()``
releases the client. Async contenders are ``async def`` and return an async
``one`` and ``close``; a sync contender (``sync=True``) is plain, and the
harness serves concurrent streams from one thread per stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["API_KEY", "CLIENTS", "MESSAGES", "MODEL", "Client", "client", "request_body"]

MODEL = "gpt-fake"
API_KEY = "sk-fake"
MESSAGES = [{"role": "user", "content": "Write a long story."}]

Tick = Callable[[], None] | None


@dataclass(frozen=True)
class Client:
    name: str  # the --variants name
    label: str  # the report's row label
    make: Callable[[str], Any]  # url -> (one, close), see the module docstring
    needs: tuple[str, ...] = ()  # importable modules it needs
    sync: bool = False  # a sync client (threads), else async
    uvloop: bool = False  # run its event loop on uvloop
    parser: str = "none"  # its parsing pipeline alone, a name in parsing.PIPELINES


#: every contender, in the report's row order
CLIENTS: dict[str, Client] = {}


def client(name: str, label: str, *, needs: tuple[str, ...] = (), sync: bool = False, uvloop: bool = False,
           parser: str = "none") -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register a contender (a decorator; see the module docstring)."""

    def register(make: Callable[[str], Any]) -> Callable[[str], Any]:
        CLIENTS[name] = Client(name, label, make, needs, sync, uvloop, parser)
        return make

    return register


def request_body(fake: dict[str, Any]) -> dict[str, Any]:
    """The chat completions request body every raw-httpx contender posts."""
    return {"model": MODEL, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}, "fake": fake}


def _limits() -> Any:
    import httpx

    return httpx.Limits(max_connections=2048, max_keepalive_connections=100)


def _httpx(headers: bool = True) -> Any:
    import httpx

    auth = {"authorization": f"Bearer {API_KEY}"} if headers else None
    return httpx.AsyncClient(limits=_limits(), timeout=120, headers=auth)


@client("turbosse-sync", "turbosse ChatClient, sync (httpx)", sync=True, parser="turbosse")
def turbosse_sync(url: str) -> Any:
    import httpx

    from turbosse import ChatClient

    http = httpx.Client(limits=_limits(), timeout=120)
    chat = ChatClient(base_url=url, model=MODEL, api_key=API_KEY, http_client=http, max_retries=0)

    def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        n = 0
        with chat.stream(MESSAGES, fake=fake) as stream:
            for d in stream:
                if d.content is not None:
                    n += 1
            return n, stream.result().content or ""

    return one, http.close


async def _turbosse_async(url: str, http: Any) -> Any:
    from turbosse import AsyncChatClient

    chat = AsyncChatClient(base_url=url, model=MODEL, api_key=API_KEY, http_client=http, max_retries=0)
    return async_chat_runner(chat), http.aclose


def async_chat_runner(chat: Any) -> Callable[..., Any]:
    """One paced or unpaced request through a turbosse AsyncChatClient,
    counting the content deltas as they arrive (shared by every contender that
    runs AsyncChatClient, whatever its transport)."""

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        n = 0
        async with chat.stream(MESSAGES, fake=fake) as stream:
            async for d in stream:
                if d.content is not None:
                    n += 1
                    if tick is not None:
                        tick()
            return n, (await stream.result()).content or ""

    return one


@client("turbosse-async", "turbosse AsyncChatClient (httpx)", parser="turbosse")
async def turbosse_async(url: str) -> Any:
    return await _turbosse_async(url, _httpx(headers=False))


@client("turbosse-aiohttp", "turbosse AsyncChatClient (aiohttp, uvloop)", needs=("httpx_aiohttp", "uvloop"),
        uvloop=True, parser="turbosse")
async def turbosse_aiohttp(url: str) -> Any:
    import httpx
    from httpx_aiohttp import AiohttpTransport

    return await _turbosse_async(url, httpx.AsyncClient(transport=AiohttpTransport(limits=_limits()), timeout=120))


def _content(data: str, parts: list[str], tick: Tick) -> None:
    for choice in json.loads(data)["choices"]:
        text = choice["delta"].get("content")
        if text:
            parts.append(text)
            if tick is not None:
                tick()


@client("httpx-sse", "httpx-sse + json (httpx)", needs=("httpx_sse",), parser="httpx-sse")
async def httpx_sse(url: str) -> Any:
    from httpx_sse import aconnect_sse

    http = _httpx()

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        async with aconnect_sse(http, "POST", url + "/chat/completions", json=request_body(fake)) as source:
            async for sse in source.aiter_sse():
                if sse.data != "[DONE]":
                    _content(sse.data, parts, tick)
        return len(parts), "".join(parts)

    return one, http.aclose


@client("openai", "openai SDK AsyncOpenAI", needs=("openai",), parser="openai")
async def openai_sdk(url: str) -> Any:
    from openai import AsyncOpenAI

    sdk = AsyncOpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=120)

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        stream = await sdk.chat.completions.create(  # type: ignore[call-overload]
            model=MODEL, messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}, extra_body={"fake": fake},
        )  # fmt: skip
        async for chunk in stream:
            if chunk.choices:
                text = chunk.choices[0].delta.content
                if text:
                    parts.append(text)
                    if tick is not None:
                        tick()
        return len(parts), "".join(parts)

    return one, sdk.close


@client("httpx-lines", "httpx aiter_lines + json", parser="httpx-lines")
async def httpx_lines(url: str) -> Any:
    http = _httpx()

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        async with http.stream("POST", url + "/chat/completions", json=request_body(fake)) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    _content(line[6:], parts, tick)
        return len(parts), "".join(parts)

    return one, http.aclose


# not a client: reads the bytes and parses nothing, what any parser on httpx's
# default transport adds to
@client("httpx-raw", "httpx aiter_raw, no parsing (floor)", parser="none")
async def httpx_raw(url: str) -> Any:
    from turbosse.testing import fake_text

    http = _httpx()

    async def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        async with http.stream("POST", url + "/chat/completions", json=request_body(fake)) as response:
            async for _ in response.aiter_raw():
                if tick is not None:
                    tick()  # in lockstep, each body chunk carries one token
        return fake["tokens"], fake_text(fake["tokens"])  # not parsed: nothing to check

    return one, http.aclose


# clients written in Rust (f3dx); turbosse's own transport, aiohttp used
# directly and the Protocol floor
from . import rust_clients as _rust_clients  # noqa: E402,F401  (registers them)
from . import transports as _transports  # noqa: E402,F401  (registers them)
