"""The SDKs against the real FakeLLMServer over loopback: stock and
accelerated clients get the same objects, the same final results from the
SDK helpers and the same exceptions (an in-band error event, a dropped
connection); the direct route gets the server's text, and its errors as
turbosse errors with the partial result. Fake-server options travel in
``extra_body={"fake": ...}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _sdk_helpers import anthropic, assert_same, assert_same_error, openai

import turbosse.anthropic
import turbosse.openai
from turbosse import StreamError, StreamInterrupted
from turbosse.testing import FakeLLMServer, fake_text

KINDS = ["chat", "responses", "messages"]
MESSAGES = [{"role": "user", "content": "hi"}]


def make(kind: str, server: FakeLLMServer, *, is_async: bool = False, accel: bool = False) -> Any:
    if kind == "messages":
        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        client = cls(api_key="test", base_url=server.url, max_retries=0)
        module: Any = turbosse.anthropic
    else:
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        client = cls(api_key="test", base_url=server.base_url, max_retries=0)
        module = turbosse.openai
    if accel:
        module.accelerate(client)
    return client


def params(kind: str, **fake: Any) -> dict[str, Any]:
    extra = {"extra_body": {"fake": fake}}
    if kind == "chat":
        return {"model": "gpt-fake", "messages": MESSAGES, "stream_options": {"include_usage": True}, **extra}
    if kind == "responses":
        return {"model": "gpt-fake", "input": "hi", **extra}
    return {"model": "claude-fake", "max_tokens": 64, "messages": MESSAGES, **extra}


def resource(kind: str, client: Any) -> Any:
    return client.chat.completions if kind == "chat" else client.responses if kind == "responses" else client.messages


def run(kind: str, server: FakeLLMServer, accel: bool, **fake: Any) -> tuple[list[Any], BaseException | None]:
    items: list[Any] = []
    with make(kind, server, accel=accel) as client:
        try:
            for item in resource(kind, client).create(stream=True, **params(kind, **fake)):
                items.append(item)
        except Exception as exc:
            return items, exc
    return items, None


def arun(kind: str, server: FakeLLMServer, accel: bool, **fake: Any) -> tuple[list[Any], BaseException | None]:
    async def main() -> tuple[list[Any], BaseException | None]:
        items: list[Any] = []
        async with make(kind, server, is_async=True, accel=accel) as client:
            try:
                async for item in await resource(kind, client).create(stream=True, **params(kind, **fake)):
                    items.append(item)
            except Exception as exc:
                return items, exc
        return items, None

    return asyncio.run(main())


FAKES = [{"tokens": 40}, {"tokens": 6, "tool_calls": 2}, {"tokens": 5, "reasoning_tokens": 4},
         {"tokens": 30, "error_after": 10}, {"tokens": 30, "disconnect_after": 12}]


@pytest.mark.parametrize("fake", FAKES, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
@pytest.mark.parametrize("kind", KINDS)
def test_accelerated_equals_stock_over_loopback(server: FakeLLMServer, kind: str, fake: dict[str, Any]) -> None:
    want, want_error = run(kind, server, False, **fake)
    for runner in (run, arun):
        got, error = runner(kind, server, True, **fake)
        assert_same_error(error, want_error)
        assert_same(got, want)
    if kind == "responses" and "error_after" in fake:
        # the SDK yields a Responses error event as an event, not an exception
        assert want_error is None and want[-1].type in ("error", "response.failed")
    elif "error_after" in fake or "disconnect_after" in fake:
        assert want_error is not None and want
    else:
        assert want_error is None and want


@pytest.mark.parametrize("kind", KINDS)
def test_helpers_final_result_over_loopback(server: FakeLLMServer, kind: str) -> None:
    def final(client: Any) -> Any:
        p = params(kind, tokens=20, tool_calls=1)
        if kind == "chat":
            with client.chat.completions.stream(**p) as s:
                return s.get_final_completion()
        if kind == "responses":
            with client.responses.stream(**p) as s:
                return s.get_final_response()
        with client.messages.stream(**p) as s:
            return s.get_final_message()

    with make(kind, server, accel=True) as fast, make(kind, server) as stock:
        assert_same(final(fast), final(stock))


@pytest.mark.parametrize("kind", KINDS)
def test_direct_route_over_loopback(server: FakeLLMServer, kind: str) -> None:
    module: Any = turbosse.anthropic if kind == "messages" else turbosse.openai
    with make(kind, server) as client:
        result = module.stream(client, **params(kind, tokens=25)).result()
        assert result.choices[0].content == fake_text(25)
        zipped = module.stream(client, **params(kind, tokens=25, gzip=True)).result()  # decoded, not raw
        assert zipped.to_dict() == result.to_dict()
        with pytest.raises(StreamError) as info:
            module.stream(client, **params(kind, tokens=30, error_after=10)).result()
        text = info.value.partial.choices[0].content
        assert text and fake_text(30).startswith(text)
        with pytest.raises(StreamInterrupted) as cut:
            module.stream(client, **params(kind, tokens=30, disconnect_after=12)).result()
        text = cut.value.partial.choices[0].content
        assert text and fake_text(30).startswith(text)

    async def main() -> Any:
        async with make(kind, server, is_async=True) as aclient:
            return await module.astream(aclient, **params(kind, tokens=25)).result()

    assert asyncio.run(main()).to_dict() == result.to_dict()
