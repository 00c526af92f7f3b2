"""turbosse.openai.accelerate / turbosse.anthropic.accelerate against the
stock SDKs, on every corpus stream an SDK can read.

For each stream the stock SDK's outcome (the objects its stream yields, and
the exception it ends with, if any) is computed once; the accelerated client
must give the same outcome, sync and async, on the whole body and on random
chunks, with either twin. "The same" is :func:`assert_same`: equal and of
the same classes all the way down, with the same ``model_fields_set`` and
extra fields. Where the stock SDK raises (an in-stream error, or a crash of
its accumulator, pinned in test_golden_sdk.py), the accelerated SDK raises
the same exception: it is a drop-in, not a fix.
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
    aoutcome,
    assert_same,
    assert_same_error,
    create_args,
    openai,
    outcome,
    random_chunks,
    sdk_client,
    use_twin,
)

import turbosse.anthropic
import turbosse.openai

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic, on some servers' extra shapes


def accelerate(client: Any) -> Any:
    module = turbosse.anthropic if isinstance(client, (anthropic.Anthropic, anthropic.AsyncAnthropic)) else turbosse.openai
    module.accelerate(client)
    return client


@pytest.fixture
def twin_sdk(monkeypatch: pytest.MonkeyPatch, parser_mod: ModuleType, decoder_mod: ModuleType) -> None:
    use_twin(monkeypatch, parser_mod, decoder_mod)


_STOCK: dict[str, tuple[list[Any], BaseException | None]] = {}


def stock(kind: str, path: Path) -> tuple[list[Any], BaseException | None]:
    if path.stem not in _STOCK:
        resource, args = create_args(kind)
        client = sdk_client(kind, [path.read_bytes()])
        _STOCK[path.stem] = outcome(lambda: resource(client).create(stream=True, **args))
    return _STOCK[path.stem]


def accelerated(kind: str, chunks: list[bytes]) -> tuple[list[Any], BaseException | None]:
    resource, args = create_args(kind)
    client = accelerate(sdk_client(kind, chunks))
    return outcome(lambda: resource(client).create(stream=True, **args))


def aaccelerated(kind: str, chunks: list[bytes]) -> tuple[list[Any], BaseException | None]:
    resource, args = create_args(kind)

    async def main() -> tuple[list[Any], BaseException | None]:
        client = accelerate(sdk_client(kind, chunks, is_async=True))
        return await aoutcome(lambda: resource(client).create(stream=True, **args))

    return asyncio.run(main())


@pytest.mark.usefixtures("twin_sdk")
@pytest.mark.parametrize(("kind", "path"), CASES, ids=CASE_IDS)
def test_stream_objects_equal_stock(kind: str, path: Path) -> None:
    want, want_error = stock(kind, path)
    data = path.read_bytes()
    for run in (accelerated, aaccelerated):
        for chunks in ([data], random_chunks(data, path.stem)):
            got, error = run(kind, chunks)
            assert_same_error(error, want_error)
            assert len(got) == len(want)
            assert_same(got, want)
    assert want or want_error is not None


# -- the SDKs' stream helpers ---------------------------------------------------


def final(kind: str, client: Any) -> Any:
    _, args = create_args(kind)
    if kind == "chat":
        with client.chat.completions.stream(**args) as s:
            return s.get_final_completion()
    if kind == "responses":
        with client.responses.stream(**args) as s:
            return s.get_final_response()
    with client.messages.stream(**args) as s:
        return s.get_final_message()


async def afinal(kind: str, client: Any) -> Any:
    _, args = create_args(kind)
    if kind == "chat":
        async with client.chat.completions.stream(**args) as s:
            return await s.get_final_completion()
    if kind == "responses":
        async with client.responses.stream(**args) as s:
            return await s.get_final_response()
    async with client.messages.stream(**args) as s:
        return await s.get_final_message()


def final_outcome(kind: str, chunks: list[bytes], *, accel: bool, is_async: bool) -> tuple[Any, BaseException | None]:
    client = sdk_client(kind, chunks, is_async=is_async)
    if accel:
        accelerate(client)
    try:
        if is_async:
            return asyncio.run(afinal(kind, client)), None
        return final(kind, client), None
    except Exception as exc:
        return None, exc


_STOCK_FINAL: dict[str, tuple[Any, BaseException | None]] = {}


@pytest.mark.usefixtures("twin_sdk")
@pytest.mark.parametrize(("kind", "path"), CASES, ids=CASE_IDS)
def test_stream_helper_final_result_equal_stock(kind: str, path: Path) -> None:
    data = path.read_bytes()
    if path.stem not in _STOCK_FINAL:
        _STOCK_FINAL[path.stem] = final_outcome(kind, [data], accel=False, is_async=False)
    want, want_error = _STOCK_FINAL[path.stem]
    got, error = final_outcome(kind, [data], accel=True, is_async=False)
    assert_same_error(error, want_error)
    assert_same(got, want)
    got, error = final_outcome(kind, random_chunks(data, path.stem), accel=True, is_async=True)
    assert_same_error(error, want_error)
    assert_same(got, want)


# -- switching it on and off ----------------------------------------------------

CHAT = next(p for k, p in CASES if p.stem == "openai__chat-parallel-tool-calls")


def test_accelerate_undo_and_context_manager() -> None:
    client = sdk_client("chat", [CHAT.read_bytes()])
    assert not turbosse.openai.is_accelerated(client)
    turbosse.openai.accelerate(client)
    turbosse.openai.accelerate(client)  # twice is once
    assert turbosse.openai.is_accelerated(client)
    assert isinstance(client._make_sse_decoder(), turbosse.openai.SSEDecoder)
    turbosse.openai.accelerate(client, False)
    assert not turbosse.openai.is_accelerated(client)
    assert "_process_response_data" not in vars(client) and "_make_sse_decoder" not in vars(client)
    with turbosse.openai.accelerate(client) as same:
        assert same is client and turbosse.openai.is_accelerated(client)
    assert not turbosse.openai.is_accelerated(client)
    turbosse.openai.accelerate(client)
    with turbosse.openai.accelerate(client):  # already on: stays on after the block
        pass
    assert turbosse.openai.is_accelerated(client)
    with turbosse.openai.accelerate(client, False):  # off for the block, on again after it
        assert not turbosse.openai.is_accelerated(client)
        assert not isinstance(client._make_sse_decoder(), turbosse.openai.SSEDecoder)
    assert turbosse.openai.is_accelerated(client)
    assert isinstance(client._make_sse_decoder(), turbosse.openai.SSEDecoder)
    assert list(client.chat.completions.create(model="m", messages=[], stream=True))  # and it still streams
    assert not turbosse.openai.is_accelerated(client.with_options(timeout=5))  # a copy starts stock


def test_accelerate_anthropic_undo() -> None:
    client = sdk_client("messages", [b""])
    with turbosse.anthropic.accelerate(client):
        assert turbosse.anthropic.is_accelerated(client)
    assert not turbosse.anthropic.is_accelerated(client)
    turbosse.anthropic.accelerate(client)
    with turbosse.anthropic.accelerate(client, False):
        assert not turbosse.anthropic.is_accelerated(client)
    assert turbosse.anthropic.is_accelerated(client)


def test_accelerate_rejects_other_clients() -> None:
    with pytest.raises(TypeError, match="OpenAI or AsyncOpenAI client, not Anthropic"):
        turbosse.openai.accelerate(sdk_client("messages", [b""]))
    with pytest.raises(TypeError, match="Anthropic or AsyncAnthropic client, not OpenAI"):
        turbosse.anthropic.accelerate(sdk_client("chat", [b""]))


def test_non_stream_and_strict_calls_use_the_sdk() -> None:
    """Only stream event types take the fast path: a plain response, and any
    client with strict validation, are the SDK's own work."""
    body = (b'{"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, '
            b'"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}')
    import httpx2

    def client(**kw: Any) -> Any:
        transport = httpx2.MockTransport(lambda r: httpx2.Response(200, content=body, headers={"content-type": "application/json"}))
        return openai.OpenAI(api_key="t", base_url="http://sdk.test/v1", http_client=httpx2.Client(transport=transport), **kw)

    _, args = create_args("chat")
    plain = client().chat.completions.create(**args)
    fast = accelerate(client()).chat.completions.create(**args)
    assert_same(fast, plain)
    strict = accelerate(sdk_client("chat", [CHAT.read_bytes()], _strict_response_validation=True))
    want = list(sdk_client("chat", [CHAT.read_bytes()], _strict_response_validation=True).chat.completions.create(stream=True, **args))
    assert_same(list(strict.chat.completions.create(stream=True, **args)), want)


def test_sdks_are_imported_lazily() -> None:
    """``import turbosse.openai`` / ``turbosse.anthropic`` import neither SDK
    (nor httpx2): they are not dependencies."""
    import subprocess
    import sys

    code = ("import sys, turbosse.openai, turbosse.anthropic; "
            "print(sorted(m for m in ('openai', 'anthropic', 'httpx2', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
