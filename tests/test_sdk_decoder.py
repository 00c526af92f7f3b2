"""turbosse.openai.SSEDecoder / turbosse.anthropic.SSEDecoder: the SDKs'
decoder protocol on turbosse's parser, both twins.

It agrees with the SDK's own decoder on everything the SDK's code relies on
(``event`` None without an ``event:`` field, ``id`` None until one is set,
``[DONE]`` passed through, ``json()`` is ``json.loads``), checked on
random well-formed streams in random chunks. Where the SDK's decoder breaks
the SSE rules, the tests pin both behaviours (a fixed SDK fails here and the
README's list is updated).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from itertools import pairwise
from types import ModuleType
from typing import Any

import pytest
from _sdk_helpers import anthropic, openai, use_twin
from anthropic._streaming import SSEDecoder as AnthropicStockDecoder
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._streaming import SSEDecoder as OpenAIStockDecoder

import turbosse.anthropic
import turbosse.openai
from turbosse import EventTooLarge


@pytest.fixture
def twin_sdk(monkeypatch: pytest.MonkeyPatch, parser_mod: ModuleType, decoder_mod: ModuleType) -> None:
    use_twin(monkeypatch, parser_mod, decoder_mod)


def ours(chunks: list[bytes]) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.id, e.retry) for e in turbosse.openai.SSEDecoder().iter_bytes(iter(chunks))]


def stock(chunks: list[bytes], decoder: Any = OpenAIStockDecoder) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.id, e.retry) for e in decoder().iter_bytes(iter(chunks))]


#: the two SDKs' own decoders (different code, the same rules)
STOCK = pytest.mark.parametrize("stock_cls", [OpenAIStockDecoder, AnthropicStockDecoder], ids=["openai", "anthropic"])


def test_one_decoder_for_both_sdks() -> None:
    assert turbosse.openai.SSEDecoder is turbosse.anthropic.SSEDecoder


@pytest.mark.usefixtures("twin_sdk")
def test_fields_as_the_sdk_reads_them() -> None:
    body = (b'data: {"a": 1}\n\n'
            b'event: message_start\ndata: {"b": 2}\n\n'
            b'id: 7\ndata: x\nretry: 1500\n\n'
            b'data: y\n\n'
            b'data: [DONE]\n\n')
    want = [(None, '{"a": 1}', None, None), ("message_start", '{"b": 2}', None, None), (None, "x", "7", 1500),
            (None, "y", "7", None), (None, "[DONE]", "7", None)]
    assert ours([body]) == want == stock([body]) == stock([body], AnthropicStockDecoder)
    assert ours([body[i:i + 1] for i in range(len(body))]) == want


@pytest.mark.usefixtures("twin_sdk")
def test_async_iter_bytes() -> None:
    body = b'event: ping\ndata: {}\n\ndata: {"x": [1, 2]}\n\n'

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(len(body)):
            yield body[i:i + 1]

    async def main() -> list[Any]:
        return [e async for e in turbosse.anthropic.SSEDecoder().aiter_bytes(chunks())]

    events = asyncio.run(main())
    assert [(e.event, e.data) for e in events] == [("ping", "{}"), (None, '{"x": [1, 2]}')]
    assert events[1].json() == {"x": [1, 2]}
    assert repr(events[0]) == "SDKEvent(event='ping', data='{}', id=None, retry=None)"


@pytest.mark.parametrize("data", ['{"n": NaN}', '{"big": 123456789012345678901234567890}', '"\\ud800"',
                                  '{"a": 1.5e300, "b": [true, null]}', '{"a": 1, "a": 2}', '[-9223372036854775809, 18446744073709551616, 0.1234567890123456789]',
                                  '{"n": 1e400}'])
def test_json_is_json_loads(data: str) -> None:
    (event,) = turbosse.openai.SSEDecoder().iter_bytes(iter([f"data: {data}\n\n".encode()]))
    got, want = event.json(), json.loads(data)
    assert repr(got) == repr(want)


def test_json_errors_as_json_loads() -> None:
    (event,) = turbosse.openai.SSEDecoder().iter_bytes(iter([b"data: {oops\n\n"]))
    with pytest.raises(json.JSONDecodeError):
        event.json()


def test_event_size_cap() -> None:
    with pytest.raises(EventTooLarge, match="max_event_bytes=64"):
        list(turbosse.openai.SSEDecoder(max_event_bytes=64).iter_bytes(iter([b"data: " + b"x" * 100 + b"\n\n"])))
    big = b"data: " + b"x" * 100 + b"\n\n"
    assert ours([big]) == stock([big])


@pytest.mark.usefixtures("twin_sdk")
@pytest.mark.parametrize("split", [False, True])
def test_the_events_before_an_event_over_the_cap_come_first_however_the_body_is_read(split: bool) -> None:
    small = b"".join(b"data: %d\n\n" % i for i in range(3))
    big = b"data: " + b"x" * 100 + b"\n\n"
    chunks = [small, big] if split else [small + big]
    decoder = turbosse.openai.SSEDecoder(max_event_bytes=64)
    got: list[str] = []
    with pytest.raises(EventTooLarge):
        for ev in decoder.iter_bytes(iter(chunks)):
            got.append(ev.data)
    assert got == ["0", "1", "2"]

    async def agen() -> Any:
        for c in chunks:
            yield c

    async def main() -> list[str]:
        out: list[str] = []
        with pytest.raises(EventTooLarge):
            async for ev in decoder.aiter_bytes(agen()):
                out.append(ev.data)
        return out

    assert asyncio.run(main()) == ["0", "1", "2"]


# -- where the SDK's decoder is wrong, and turbosse keeps the SSE rules --------


@pytest.mark.usefixtures("twin_sdk")
@STOCK
def test_bom_the_sdk_loses_the_first_event(stock_cls: Any) -> None:
    body = b'\xef\xbb\xbfdata: {"first": 1}\n\ndata: {"second": 2}\n\n'
    assert ours([body]) == [(None, '{"first": 1}', None, None), (None, '{"second": 2}', None, None)]
    assert stock([body], stock_cls) == [(None, '{"second": 2}', None, None)]


@pytest.mark.usefixtures("twin_sdk")
@STOCK
def test_invalid_utf8_the_sdk_raises(stock_cls: Any) -> None:
    body = b'data: caf\xe9\n\n'
    assert ours([body]) == [(None, "caf\ufffd", None, None)]
    with pytest.raises(UnicodeDecodeError):
        stock([body], stock_cls)


@pytest.mark.usefixtures("twin_sdk")
@STOCK
def test_no_phantom_events_after_an_id(stock_cls: Any) -> None:
    """After any ``id:``, the SDK dispatches an empty event at every blank
    line (and its Stream then fails on ``json.loads("")``); the SSE rules
    dispatch nothing without data. Same for an ``event:`` with no data."""
    body = b"id: 1\ndata: {}\n\n\n\nevent: ping\n\n: keep-alive\n\n"
    assert ours([body]) == [(None, "{}", "1", None)]
    assert stock([body], stock_cls) == [(None, "{}", "1", None), (None, "", "1", None), (None, "", "1", None),
                             ("ping", "", "1", None), (None, "", "1", None)]


@pytest.mark.usefixtures("twin_sdk")
@pytest.mark.parametrize("value", [b"-5", b"+5", b" 5", b"5_000", "\u0665".encode()])
@STOCK
def test_invalid_retry_the_sdk_accepts(value: bytes, stock_cls: Any) -> None:
    body = b"retry: " + value + b"\ndata: x\n\n"
    assert ours([body]) == [(None, "x", None, None)]
    assert stock([body], stock_cls)[0][3] == int(value.decode())


# -- agreement on well-formed streams -----------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00\ufeff"), max_size=20)
_block = st.tuples(
    st.one_of(st.none(), st.sampled_from(["message_start", "ping", "error", "response.output_text.delta"])),
    st.lists(_text, min_size=1, max_size=3),
    st.booleans(),  # a comment line inside
)


def _render(blocks: list[tuple[str | None, list[str], bool]], newline: bytes) -> bytes:
    out = []
    for event, lines, comment in blocks:
        if event is not None:
            out.append(b"event: " + event.encode())
        if comment:
            out.append(b": note")
        out.extend(b"data: " + line.encode() for line in lines)
        out.append(b"")
    return b"".join(line + newline for line in out)


@pytest.mark.usefixtures("twin_sdk")
@settings(max_examples=150)
@given(blocks=st.lists(_block, max_size=8), newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_agrees_with_the_sdk_decoder(blocks: Any, newline: bytes, cuts: list[int]) -> None:
    body = _render(blocks, newline)
    bounds = sorted({0, len(body), *(c for c in cuts if c < len(body))})
    chunks = [body[a:b] for a, b in pairwise(bounds)]
    assert ours(chunks) == stock([body]) == stock(chunks, AnthropicStockDecoder) == ours([body])


@settings(max_examples=100)
@given(body=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=300))
def test_twins_agree_on_any_bytes(body: bytes, cut: int) -> None:
    """Whatever the bytes, the compiled and the Python parser give the same
    events through the decoder, and chunking changes nothing."""
    import turbosse._parser_py as py
    import turbosse._sdk._decoder as dec

    results = []
    for mod in (dec.SSEParser, py.SSEParser):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dec, "SSEParser", mod)
            results.append(ours([body[:cut], body[cut:]]))
            results.append(ours([body]))
    assert all(r == results[0] for r in results)


def test_raw_is_empty_as_for_constructed_events() -> None:
    (event,) = turbosse.anthropic.SSEDecoder().iter_bytes(iter([b"event: ping\ndata: {}\n\n"]))
    assert event.raw == []
    assert openai and anthropic
