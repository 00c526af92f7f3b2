"""turbosse.httpx on httpx and on httpx2 (pydantic's fork of httpx, which the
openai and anthropic SDKs use), against the real FakeLLMServer over
loopback: the same events from either library, the parser's last event ID
and retry on EventSource, and the error for a response that is not an event
stream: a turbosse APIStatusError that is also that library's
TransportError (as httpx-sse's SSEError is httpx's).
"""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from _transport_helpers import chat_body

import turbosse.httpx as tsse
from turbosse import APIStatusError, SSEParser
from turbosse.testing import FakeLLMServer, fake_text

httpx2 = pytest.importorskip("httpx2")

CHAT = "/chat/completions"
LIBS = pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])


def content(events: list[tuple[str, str, str, int | None]]) -> str:
    return "".join(c["delta"].get("content") or "" for _, d, _, _ in events if d != "[DONE]"
                   for c in json.loads(d)["choices"])


@LIBS
@pytest.mark.parametrize("fake", [{"tokens": 30}, {"tokens": 12, "gzip": True}, {"tokens": 8, "crlf": True}])
def test_events_from_either_library(server: FakeLLMServer, lib: ModuleType, fake: dict[str, object]) -> None:
    with lib.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            events = [(e.event, e.data, e.id, e.retry) for e in source.iter_sse()]
            assert isinstance(source.response, lib.Response)
    assert content(events) == fake_text(int(fake["tokens"]))  # type: ignore[call-overload]
    with httpx.Client(base_url=server.base_url) as client:  # the same as httpx gives
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            assert [(e.event, e.data, e.id, e.retry) for e in source.iter_sse()] == events


@LIBS
def test_async_events_from_either_library(server: FakeLLMServer, lib: ModuleType) -> None:
    async def main() -> str:
        async with lib.AsyncClient(base_url=server.base_url) as client:
            async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(tokens=20), sentinel=b"[DONE]") as src:
                return content([(e.event, e.data, e.id, e.retry) async for e in src.aiter_sse()])

    assert asyncio.run(main()) == fake_text(20)


@LIBS
def test_last_event_id_and_retry(tmp_path: Path, lib: ModuleType) -> None:
    stream = tmp_path / "ids.sse"
    stream.write_bytes(b"retry: 2500\nid: 7\ndata: a\n\nid: 8\ndata: b\n\nretry: -5\ndata: c\n\n")
    with FakeLLMServer(lifetime=60, replay=str(stream)) as srv, lib.Client(base_url=srv.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body()) as source:
            assert (source.last_event_id, source.retry) == ("", None)  # nothing read yet
            seen = [(e.data, source.last_event_id, source.retry) for e in source.iter_sse()]
    assert seen == [("a", "7", 2500), ("b", "8", 2500), ("c", "8", 2500)]
    parser = SSEParser()
    parser.feed(stream.read_bytes())
    assert (parser.last_event_id, parser.retry) == ("8", 2500)


@LIBS
@pytest.mark.parametrize("fake", [{"fail_status": 429, "retry_after": 3}, {"content_type": "application/json"}])
def test_not_an_event_stream_is_both_errors(server: FakeLLMServer, lib: ModuleType, fake: dict[str, object]) -> None:
    other = httpx2 if lib is httpx else httpx
    with lib.Client(base_url=server.base_url) as client:
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            with pytest.raises(lib.TransportError) as info:
                list(source.iter_sse())
    err = info.value
    assert isinstance(err, APIStatusError) and not isinstance(err, other.TransportError)
    assert err.request.url == f"{server.base_url}{CHAT}"
    assert (err.status_code, err.retry_after) == ((429, 3.0) if "fail_status" in fake else (200, None))
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == str(err)
    with httpx.Client(base_url=server.base_url) as client:  # the same message as from httpx
        with tsse.connect_sse(client, "POST", CHAT, json=chat_body(**fake)) as source:
            with pytest.raises(APIStatusError) as plain:
                list(source.iter_sse())
    assert str(plain.value) == str(err)


@LIBS
def test_async_not_an_event_stream(server: FakeLLMServer, lib: ModuleType) -> None:
    async def main() -> None:
        async with lib.AsyncClient(base_url=server.base_url) as client:
            async with tsse.aconnect_sse(client, "POST", CHAT, json=chat_body(fail_status=503)) as source:
                async for _ in source.aiter_sse():
                    pass

    with pytest.raises(lib.TransportError, match="HTTP 503") as info:
        asyncio.run(main())
    assert isinstance(info.value, APIStatusError) and info.value.status_code == 503


# -- the chat clients on an httpx2 client -------------------------------------

def outcome_of(fn: object, base_url: str) -> tuple[str, object]:
    try:
        return "ok", fn()  # type: ignore[operator]
    except Exception as exc:
        return type(exc).__name__, str(exc).replace(base_url, "<server>")  # the ports differ


CHAT_CASES = [
    {"tokens": 9},
    {"tokens": 9, "tool_calls": 1},
    {"tokens": 20, "disconnect_after": 4},
    {"tokens": 20, "error_after": 4},
    {"fail_status": 401},
    {"fail_status": 429, "fail_times": 1, "fail_key": "retry-once", "tokens": 5},
    {"tokens": 20, "stall_after": 3, "stall": 2.0},
]


@pytest.mark.parametrize("fake", CHAT_CASES, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
def test_chat_client_on_httpx2_as_on_httpx(fake: dict[str, object]) -> None:
    """The same results and the same turbosse errors (class and message)
    from an httpx2 client as from an httpx one; the caller's client stays
    open."""
    from turbosse import ChatClient

    results = []
    for lib in (httpx, httpx2):
        with FakeLLMServer(lifetime=60) as srv, lib.Client() as http:
            client = ChatClient(base_url=srv.base_url, model="m", http_client=http, idle_timeout=0.5,
                                backoff_initial=0.01)
            got = outcome_of(lambda c=client: c.complete([{"role": "user", "content": "hi"}], fake=fake).to_dict(),
                             srv.base_url)
            client.close()
            assert not http.is_closed
            results.append(got)
    assert results[0] == results[1]
    failing = {"disconnect_after", "error_after", "fail_status", "stall_after"} & set(fake) and "fail_times" not in fake
    assert (results[0][0] == "ok") is (not failing)


@pytest.mark.parametrize("fake", CHAT_CASES[:5], ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
def test_async_chat_client_on_httpx2_as_on_httpx(fake: dict[str, object]) -> None:
    from turbosse import AsyncChatClient

    async def one(lib: ModuleType) -> tuple[str, object]:
        with FakeLLMServer(lifetime=60) as srv:
            async with lib.AsyncClient() as http:
                client = AsyncChatClient(base_url=srv.base_url, model="m", http_client=http)
                try:
                    result = await client.complete([{"role": "user", "content": "hi"}], fake=fake)
                    return "ok", result.to_dict()
                except Exception as exc:
                    return type(exc).__name__, str(exc).replace(srv.base_url, "<server>")
                finally:
                    await client.aclose()

    assert asyncio.run(one(httpx)) == asyncio.run(one(httpx2))


def test_chat_client_wrong_kind_of_httpx2_client() -> None:
    from turbosse import AsyncChatClient, ChatClient

    with httpx2.Client() as sync_client:
        with pytest.raises(TypeError, match=r"an httpx\.AsyncClient, an httpx2\.AsyncClient or an aiohttp"):
            AsyncChatClient(base_url="http://127.0.0.1:1/v1", model="m", http_client=sync_client)

    async def main() -> None:
        async with httpx2.AsyncClient() as async_client:
            with pytest.raises(TypeError, match=r"an httpx\.Client or an httpx2\.Client, not AsyncClient"):
                ChatClient(base_url="http://127.0.0.1:1/v1", model="m", http_client=async_client)

    asyncio.run(main())
