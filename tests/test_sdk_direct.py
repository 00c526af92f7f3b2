"""The direct route (turbosse.openai.stream/astream, turbosse.anthropic.stream/
astream): the SDK makes the request, turbosse decodes the body. On every
corpus stream an SDK can read, the result is turbosse's golden result
(tests/golden), sync and async, whole and in random chunks, both twins; an
error the server reports in the stream is a turbosse StreamError carrying
the partial result; errors before the stream are the SDK's own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _sdk_helpers import (
    CASE_IDS,
    CASES,
    anthropic,
    create_args,
    golden,
    httpx2,
    openai,
    random_chunks,
    sdk_client,
    use_twin,
)

import turbosse.anthropic
import turbosse.openai
from turbosse import ChatAccumulator, ChatDecoder, StreamError, StreamInterrupted
from turbosse.testing import fake_text


@pytest.fixture
def twin_sdk(monkeypatch: pytest.MonkeyPatch, parser_mod: ModuleType, decoder_mod: ModuleType) -> None:
    use_twin(monkeypatch, parser_mod, decoder_mod)


def module(kind: str) -> Any:
    return turbosse.anthropic if kind == "messages" else turbosse.openai


def check(record: dict[str, Any], run: Any) -> None:
    """``run()`` gives the golden result, or raises the golden error with the
    golden result as ``partial``."""
    if record["error"] is None:
        assert run().to_dict() == record["result"]
        return
    with pytest.raises(StreamError) as info:
        run()
    assert info.value.message == record["error"]["message"]
    assert info.value.code == record["error"]["code"]
    assert info.value.partial.to_dict() == record["result"]


@pytest.mark.usefixtures("twin_sdk")
@pytest.mark.parametrize(("kind", "path"), CASES, ids=CASE_IDS)
def test_direct_route_gives_golden_results(kind: str, path: Path) -> None:
    record = golden(path.stem)
    _, args = create_args(kind)
    data = path.read_bytes()
    client = sdk_client(kind, [data])
    check(record, lambda: module(kind).stream(client, **args).result())

    async def main() -> Any:
        aclient = sdk_client(kind, random_chunks(data, path.stem), is_async=True)
        return await module(kind).astream(aclient, **args).result()

    check(record, lambda: asyncio.run(main()))


TOOLS = Path(__file__).resolve().parent / "corpus" / "openai__chat-parallel-tool-calls.sse"


@pytest.mark.usefixtures("twin_sdk")
def test_deltas_and_text_stream(decoder_mod: ModuleType) -> None:
    data = TOOLS.read_bytes()
    _, args = create_args("chat")
    want = decoder_mod.ChatDecoder("openai-chat").feed(data)
    with turbosse.openai.stream(sdk_client("chat", random_chunks(data, "x")), **args) as s:
        assert list(s) == want
        assert s.result() == s.partial
        assert s.response is not None and s.response.status_code == 200
    text = "".join(turbosse.openai.stream(sdk_client("chat", [data]), **args).text_stream)
    assert text == "".join(d.content for d in want if d.index == 0 and d.content is not None)


def test_request_made_by_the_sdk() -> None:
    """The SDK builds the request: its URL, auth header and body, with
    stream=True added."""
    requests: list[Any] = []
    from _sdk_helpers import replay_transport

    client = openai.OpenAI(api_key="sk-test", base_url="http://sdk.test/v1",
                           http_client=httpx2.Client(transport=replay_transport([TOOLS.read_bytes()], requests)))
    turbosse.openai.stream(client, model="m", messages=[{"role": "user", "content": "hi"}], temperature=0).result()
    (req,) = requests
    assert str(req.url) == "http://sdk.test/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    import json

    assert json.loads(req.content) == {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                       "temperature": 0, "stream": True}


def test_route_choice_and_unknown_route() -> None:
    requests: list[Any] = []
    from _sdk_helpers import replay_transport

    data = (Path(__file__).resolve().parent / "corpus" / "xai__responses-api-text.sse").read_bytes()
    client = openai.OpenAI(api_key="t", base_url="http://sdk.test/v1",
                           http_client=httpx2.Client(transport=replay_transport([data], requests)))
    result = turbosse.openai.stream(client, model="m", input="hi").result()
    assert requests[-1].url.path == "/v1/responses"
    assert result.to_dict() == golden("xai__responses-api-text")["result"]
    with pytest.raises(ValueError, match="route must be one of chat, responses, completions, not 'embeddings'"):
        turbosse.openai.stream(client, route="embeddings", model="m")


def test_body_failure_is_stream_interrupted_with_partial() -> None:
    data = TOOLS.read_bytes()

    def body() -> Any:
        yield data[: len(data) // 2]
        raise httpx2.ReadError("connection reset")

    transport = httpx2.MockTransport(lambda r: httpx2.Response(200, headers={"content-type": "text/event-stream"},
                                                                content=body()))
    client = openai.OpenAI(api_key="t", base_url="http://sdk.test/v1", http_client=httpx2.Client(transport=transport),
                           max_retries=0)
    _, args = create_args("chat")
    s = turbosse.openai.stream(client, **args)
    with pytest.raises(StreamInterrupted) as info:
        s.result()
    assert isinstance(info.value.__cause__, httpx2.ReadError)
    assert info.value.partial == s.partial
    acc, dec = ChatAccumulator(), ChatDecoder("openai-chat")
    acc.extend(dec.feed(data[: len(data) // 2]))
    acc.model, acc.id = dec.model, dec.id
    assert info.value.partial == acc.result()
    assert info.value.partial.choices[0].tool_calls  # something was read


def test_errors_before_the_stream_are_the_sdks() -> None:
    transport = httpx2.MockTransport(lambda r: httpx2.Response(429, json={"error": {"message": "slow down"}}))
    client = openai.OpenAI(api_key="t", base_url="http://sdk.test/v1", http_client=httpx2.Client(transport=transport),
                           max_retries=0)
    _, args = create_args("chat")
    with pytest.raises(openai.RateLimitError, match="slow down"):
        turbosse.openai.stream(client, **args).result()


def test_closed_early() -> None:
    _, args = create_args("chat")
    s = turbosse.openai.stream(sdk_client("chat", [TOOLS.read_bytes()]), **args)
    next(iter(s))
    s.close()
    s.close()
    assert s.response.is_closed
    with pytest.raises(turbosse.SSEError, match="closed or failed before its end"):
        s.result()


def test_handler_callbacks() -> None:
    data = TOOLS.read_bytes()
    _, args = create_args("chat")
    seen: dict[str, Any] = {"calls": [], "done": None}

    class Handler(turbosse.StreamHandler):
        def on_tool_call(self, call: Any) -> None:
            seen["calls"].append(call)

        def on_complete(self, result: Any) -> None:
            seen["done"] = result

    result = turbosse.openai.stream(sdk_client("chat", [data]), handler=Handler(), **args).result()
    assert seen["done"] == result
    assert seen["calls"] == result.choices[0].tool_calls and len(seen["calls"]) > 1


def test_body_ending_early_is_not_a_result() -> None:
    """A body cut before the end marker and before any finish_reason is an
    error carrying the partial result, never a silently short result."""
    data = (Path(__file__).resolve().parent / "corpus" / "anthropic__messages-text-then-tool-use.sse").read_bytes()
    cut = data[: data.index(b"event: message_delta")]
    _, args = create_args("messages")
    with pytest.raises(StreamInterrupted, match="ended before it was complete: no message_stop") as info:
        turbosse.anthropic.stream(sdk_client("messages", [cut]), **args).result()
    assert info.value.partial.choices[0].content


def sdk_call(server: Any, sdk: str, is_async: bool, fake: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(turbosse's module for ``sdk``, an SDK client on the fake server, the
    create() arguments asking it for ``fake``)."""
    if sdk == "openai":
        base, mod = server.base_url, turbosse.openai
        args: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "extra_body": {"fake": fake}}
    else:
        base, mod = server.base_url.removesuffix("/v1"), turbosse.anthropic
        args = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], "extra_body": {"fake": fake}}
    cls = {("openai", False): openai.OpenAI, ("openai", True): openai.AsyncOpenAI,
           ("anthropic", False): anthropic.Anthropic, ("anthropic", True): anthropic.AsyncAnthropic}[sdk, is_async]
    return mod, cls(api_key="t", base_url=base, max_retries=0, timeout=10), args


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_a_body_held_open_after_the_end_marker_does_not_hold_the_stream(sdk: str, is_async: bool) -> None:
    """As the SDK's own Stream stops at [DONE] and the chat clients give the
    rest of the body END_GRACE: the server holds it open for 30 s."""
    import time

    from turbosse.testing import FakeLLMServer

    with FakeLLMServer(lifetime=60) as server:
        mod, client, args = sdk_call(server, sdk, is_async, {"tokens": 3, "hang_after_done": 30})
        start = time.monotonic()
        if is_async:
            async def main() -> Any:
                return await mod.astream(client, stream=True, **args).result()  # stream=True is accepted

            result = asyncio.run(main())
        else:
            result = mod.stream(client, stream=True, **args).result()
        assert time.monotonic() - start < 3
        assert result.content == fake_text(3) and result.finish_reason is not None


def test_stream_false_is_refused() -> None:
    _, args = create_args("chat")
    with pytest.raises(ValueError, match="a direct stream always streams"):
        turbosse.openai.stream(sdk_client("chat", [TOOLS.read_bytes()]), stream=False, **args)


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_deltas_read_with_an_error_event_are_yielded_before_it(sdk: str, is_async: bool) -> None:
    """A read holding deltas then an in-band error: the caller iterates those
    deltas, then gets the StreamError (as from the chat clients)."""
    from turbosse.testing import FakeLLMServer

    with FakeLLMServer(lifetime=60) as server:
        mod, client, args = sdk_call(server, sdk, is_async, {"error_after": 4, "events_per_write": 3})
        seen: list[str] = []
        with pytest.raises(StreamError) as info:
            if is_async:
                async def main() -> None:
                    async for d in mod.astream(client, **args):
                        seen.append(d.content or "")

                asyncio.run(main())
            else:
                for d in mod.stream(client, **args):
                    seen.append(d.content or "")
        assert "".join(seen) == info.value.partial.content and seen[-1]  # the last read's deltas came first
