"""Shared pieces of the SDK integration tests (tests/test_sdk_*.py): the
corpus streams each SDK can read, clients that replay recorded bytes through
the SDK's real HTTP stack (httpx2's transport API, whole or in random
chunks), a twin switch for turbosse's SDK modules, and a deep comparison of
SDK objects that sees what ``==`` does not (classes of nested values,
``model_fields_set``, extra fields).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from make_golden import CORPUS_DIR, GOLDEN_DIR

httpx2 = pytest.importorskip("httpx2")
openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

import turbosse._sdk._decoder as sdk_decoder  # noqa: E402
import turbosse._sdk._direct as sdk_direct  # noqa: E402


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _streams(fmt: str) -> list[Path]:
    return [p for p in sorted(CORPUS_DIR.glob("*.sse")) if golden(p.stem)["format"] == fmt]


#: kind -> the corpus streams of that wire format
STREAMS = {"chat": _streams("openai-chat"), "responses": _streams("openai-responses"),
           "messages": _streams("anthropic")}
CASES = [(kind, p) for kind, paths in STREAMS.items() for p in paths]
CASE_IDS = [p.stem for _, p in CASES]


def use_twin(monkeypatch: pytest.MonkeyPatch, parser_mod: ModuleType, decoder_mod: ModuleType) -> None:
    """Point turbosse's SDK modules at one twin's parser and decoder."""
    monkeypatch.setattr(sdk_decoder, "SSEParser", parser_mod.SSEParser)
    monkeypatch.setattr(sdk_direct, "ChatDecoder", decoder_mod.ChatDecoder)


def random_chunks(data: bytes, seed: str) -> list[bytes]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.choice((1, 2, 3, 7, 16, 64, 500))
        out.append(data[i:i + n])
        i += n
    return out


def _headers() -> dict[str, str]:
    return {"content-type": "text/event-stream"}


def replay_transport(chunks: list[bytes], requests: list[Any] | None = None) -> Any:
    def handler(request: Any) -> Any:
        if requests is not None:
            requests.append(request)
        return httpx2.Response(200, headers=_headers(), content=iter(chunks))

    return httpx2.MockTransport(handler)


def areplay_transport(chunks: list[bytes]) -> Any:
    async def body() -> AsyncIterator[bytes]:
        for c in chunks:
            yield c

    async def handler(request: Any) -> Any:
        return httpx2.Response(200, headers=_headers(), content=body())

    return httpx2.MockTransport(handler)


def sdk_client(kind: str, chunks: list[bytes], *, is_async: bool = False, **kwargs: Any) -> Any:
    """An SDK client for ``kind`` whose every request is answered with ``chunks``."""
    if is_async:
        http = httpx2.AsyncClient(transport=areplay_transport(chunks))
    else:
        http = httpx2.Client(transport=replay_transport(chunks))
    if kind == "messages":
        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return cls(api_key="test", base_url="http://sdk.test", http_client=http, max_retries=0, **kwargs)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="test", base_url="http://sdk.test/v1", http_client=http, max_retries=0, **kwargs)


def create_args(kind: str) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """(resource of the client, create() arguments) for ``kind``."""
    if kind == "chat":
        return (lambda c: c.chat.completions), {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    if kind == "responses":
        return (lambda c: c.responses), {"model": "m", "input": "hi"}
    return (lambda c: c.messages), {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


def outcome(fn: Callable[[], Iterator[Any]]) -> tuple[list[Any], BaseException | None]:
    """Items yielded before the end or an exception, and that exception."""
    items: list[Any] = []
    try:
        for item in fn():
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


async def aoutcome(fn: Callable[[], Any]) -> tuple[list[Any], BaseException | None]:
    items: list[Any] = []
    try:
        async for item in await fn():
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


def assert_same_error(a: BaseException | None, b: BaseException | None) -> None:
    assert type(a) is type(b), (a, b)
    if a is not None:
        assert str(a) == str(b)
        assert getattr(a, "body", None) == getattr(b, "body", None)


def assert_same(a: Any, b: Any, path: str = "$") -> None:
    """``a`` and ``b`` are the same value: same classes all the way down, same
    field values, same ``model_fields_set`` and extra fields."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if hasattr(a, "__pydantic_fields_set__"):
        assert a.model_fields_set == b.model_fields_set, f"{path}: fields set"
        assert a.__pydantic_private__ == b.__pydantic_private__, f"{path}: private"
        assert list(a.__dict__) == list(b.__dict__), f"{path}: fields"
        for k, v in a.__dict__.items():
            assert_same(v, b.__dict__[k], f"{path}.{k}")
        ea, eb = a.__pydantic_extra__ or {}, b.__pydantic_extra__ or {}
        assert list(ea) == list(eb), f"{path}: extra fields"
        for k, v in ea.items():
            assert_same(v, eb[k], f"{path}.{k}")
        assert a == b
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys"
        for k, v in a.items():
            assert_same(v, b[k], f"{path}.{k}")
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} != {b!r}"
