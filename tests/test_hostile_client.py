"""What the accumulating helpers and the chat clients survive: hostile servers
and truncated input, each with the typed error it gets (or the tolerance it is
allowed), in both twins, sync and async. Every client case runs against the
real fake server on loopback.

Sections:

1. Truncated bodies: the completeness rule of ``accumulate``/``aaccumulate``
2. Truncated bodies through the clients, per HTTP framing
3. A body held open after the end marker
4. An oversized event mid-stream
5. A trickling server and a total deadline
6. Decompression bombs: bytes that bring no event
7. Media types are case-insensitive
8. ``Retry-After`` values that overflow
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from _client_helpers import Complete, complete_fixture

import turbosse.httpx as tsse
from turbosse import (
    APIStatusError,
    ChatResult,
    DeadlineExceeded,
    EventTooLarge,
    SSEError,
    StreamHandler,
    StreamInterrupted,
    TooManyBytesWithoutEvent,
    aaccumulate,
    accumulate,
)
from turbosse._http import retry_after_seconds
from turbosse.testing import FakeLLMServer, fake_text

TRUNCATED = "the stream ended before it was complete: no [DONE] and no finish_reason"


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
    obj = {"id": "c", "model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


class Recorder(StreamHandler):
    def __init__(self) -> None:
        self.completed: list[ChatResult] = []
        self.errors: list[BaseException] = []

    def on_complete(self, result: ChatResult) -> None:
        self.completed.append(result)

    def on_error(self, exc: BaseException) -> None:
        self.errors.append(exc)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(lifetime=300) as srv:
        yield srv


complete = complete_fixture()


# -- 1. Truncated bodies: the completeness rule of accumulate/aaccumulate ----------------------


def run_accumulate(mode: str, body: list[bytes], decoder: Any, handler: Any = None) -> ChatResult:
    if mode == "sync":
        return accumulate(iter(body), handler, decoder=decoder)

    async def source() -> AsyncIterator[bytes]:
        for c in body:
            yield c

    return asyncio.run(aaccumulate(source(), handler, decoder=decoder))


HELLO = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}), chunk({"content": ", wor"})]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("body", "content"),
    [
        pytest.param(HELLO, "Hello, wor", id="clean-end-no-marker"),
        pytest.param(HELLO + [b'data: {"choices": [{"index": 0, "delta": {"content": "ld'], "Hello, wor", id="mid-event"),
        pytest.param([], None, id="empty-body"),
        pytest.param(HELLO[:1], None, id="role-only"),
        pytest.param(HELLO + [b": keep-alive\n\n", b"\n\n"], "Hello, wor", id="comments-then-end"),
    ],
)
def test_a_body_ending_before_the_stream_is_complete_raises(mode: str, body: list[bytes], content: str | None,
                                                           decoder_mod: ModuleType) -> None:
    rec = Recorder()
    with pytest.raises(StreamInterrupted) as info:
        run_accumulate(mode, body, decoder_mod.ChatDecoder(), rec)
    exc = info.value
    assert str(exc) == TRUNCATED and exc.cause is None
    assert exc.partial.content == content
    assert rec.completed == [] and rec.errors == [exc]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_started_choice_finished_is_complete_without_an_end_marker(mode: str, decoder_mod: ModuleType) -> None:
    # llama.cpp without --send-done, TGI, Gemini: the finish reasons are the end
    body = [chunk({"content": "a"}), chunk({"content": "b"}, index=1), chunk({}, "stop"), chunk({}, "length", index=1)]
    rec = Recorder()
    result = run_accumulate(mode, body, decoder_mod.ChatDecoder(), rec)
    assert [c.finish_reason for c in result.choices] == ["stop", "length"] and rec.completed == [result]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_unfinished_choice_of_two_is_truncated(mode: str, decoder_mod: ModuleType) -> None:
    body = [chunk({"content": "a"}), chunk({"content": "b"}, index=1), chunk({}, "stop")]
    with pytest.raises(StreamInterrupted, match="no finish_reason") as info:
        run_accumulate(mode, body, decoder_mod.ChatDecoder())
    assert info.value.partial.choices[1].content == "b" and info.value.partial.choices[1].finish_reason is None


def test_anthropic_without_message_stop_names_its_end_marker(decoder_mod: ModuleType) -> None:
    body = [b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
            b'"delta": {"type": "text_delta", "text": "hi"}}\n\n']
    with pytest.raises(StreamInterrupted, match="no message_stop and no finish_reason") as info:
        accumulate(body, decoder=decoder_mod.ChatDecoder("anthropic"))
    assert info.value.partial.content == "hi"


# -- 2. Truncated bodies through the clients, per HTTP framing ---------------------------------


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_client_clean_end_without_end_marker(complete: Complete, framing: str) -> None:
    rec = Recorder()
    with pytest.raises(StreamInterrupted) as info:
        complete(rec, fake={"tokens": 8, "end_after": 3, "framing": framing})
    assert str(info.value) == TRUNCATED and info.value.cause is None
    assert info.value.partial.content == fake_text(3)
    assert rec.completed == [] and rec.errors == [info.value]


def test_client_empty_200_stream(complete: Complete) -> None:
    with pytest.raises(StreamInterrupted, match="before it was complete") as info:
        complete(fake={"tokens": 8, "end_after": 0})
    assert info.value.partial.content is None


# -- 3. A body held open after the end marker -------------------------------------------------


def test_client_returns_at_the_end_marker_of_a_body_held_open(complete: Complete) -> None:
    start = time.monotonic()
    result = complete(fake={"tokens": 4, "hang_after_done": True}, client={"idle_timeout": 30})
    assert result.content == fake_text(4) and result.finish_reason == "stop"
    assert time.monotonic() - start < 5  # not the idle timeout: it returned at [DONE]


# -- 4. An oversized event mid-stream ----------------------------------------------------------


def test_client_keeps_the_partial_of_an_oversized_event(complete: Complete, tmp_path: Path) -> None:
    big = tmp_path / "big.sse"
    big.write_bytes(chunk({"role": "assistant", "content": "before"}) + b"data: " + b"x" * (9 << 20) + b"\n\n")
    rec = Recorder()
    with pytest.raises(EventTooLarge) as info:
        complete(rec, fake={"replay": str(big)})
    assert info.value.partial.content == "before"  # type: ignore[attr-defined]
    assert rec.errors == [info.value]


# -- 5. A trickling server and a total deadline ------------------------------------------------


def test_client_deadline_ends_a_trickling_stream(complete: Complete) -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"deadline=0\.5 s") as info:
        complete(fake={"tokens": 50, "trickle_ms": 5}, client={"deadline": 0.5, "idle_timeout": 5})
    assert 0.4 < time.monotonic() - start < 4
    assert isinstance(info.value, StreamInterrupted) and info.value.partial is not None


def test_client_deadline_while_waiting_for_the_first_event(complete: Complete) -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        complete(fake={"tokens": 2, "ttft": 5}, client={"deadline": 0.3})
    assert time.monotonic() - start < 3


# -- 6. Decompression bombs: bytes that bring no event -----------------------------------------


@pytest.mark.parametrize("fill", ["\n", ": ping\n"])
def test_client_gzip_bomb_is_cut_off(complete: Complete, fill: str) -> None:
    start = time.monotonic()
    with pytest.raises(TooManyBytesWithoutEvent, match="max_bytes_without_event=1048576") as info:
        complete(fake={"tokens": 3, "gzip_bomb": 8, "gzip_bomb_fill": fill},
                 client={"max_bytes_without_event": 1 << 20})
    assert time.monotonic() - start < 10 and info.value.partial.content is None


def test_client_under_the_byte_limit_is_unaffected(complete: Complete) -> None:
    result = complete(fake={"tokens": 3, "gzip_bomb": 1}, client={"max_bytes_without_event": 4 << 20})
    assert result.content == fake_text(3)


# -- 7. Media types are case-insensitive -------------------------------------------------------


def test_media_type_is_case_insensitive(complete: Complete, server: FakeLLMServer) -> None:
    fake = {"tokens": 3, "content_type": "Text/Event-Stream; charset=UTF-8"}
    assert complete(fake=fake).content == fake_text(3)
    with httpx.Client() as http, tsse.connect_sse(http, "POST", server.base_url + "/chat/completions",
                                                   json={"model": "m", "stream": True, "fake": fake}) as source:
        assert sum(1 for _ in source.iter_sse()) > 3


# -- 8. Retry-After values that overflow -------------------------------------------------------

OVERFLOWING = [
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Mon, 99999999999999999999 Jan 2026 00:00:00 GMT",
    "Mon, 01 Jan 2026 99999999999999999999:00:00 GMT",
    "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
]


@pytest.mark.parametrize("value", OVERFLOWING)
def test_retry_after_overflow_is_unreadable(value: str) -> None:
    assert retry_after_seconds(httpx.Headers({"retry-after": value})) is None


@pytest.mark.parametrize("value", OVERFLOWING[:1])
def test_retry_after_overflow_through_the_clients(complete: Complete, server: FakeLLMServer, value: str) -> None:
    with pytest.raises(APIStatusError) as info:
        complete(fake={"fail_status": 503, "retry_after": value})
    assert info.value.status_code == 503 and info.value.retry_after is None
    body = {"model": "m", "fake": {"fail_status": 429, "retry_after": value}}
    with httpx.Client() as http, tsse.connect_sse(http, "POST", server.base_url + "/chat/completions",
                                                   json=body) as source, pytest.raises(APIStatusError) as info2:
        list(source.iter_sse())
    assert info2.value.retry_after is None


@pytest.mark.parametrize("make", [lambda: httpx.ConnectError("webhook unreachable"), lambda: SSEError("handler's own")],
                         ids=["httpx-error", "sse-error"])
def test_a_handlers_own_error_is_not_the_streams(complete: Complete, make: Callable[[], BaseException]) -> None:
    # a handler forwarding tokens over httpx fails with an httpx error of its
    # own: it comes out as raised, not as the stream being interrupted
    raised: list[BaseException] = []
    errors: list[BaseException] = []

    class Forwarder(StreamHandler):
        def on_token(self, text: str) -> None:
            raised.append(make())
            raise raised[-1]

        def on_error(self, exc: BaseException) -> None:
            errors.append(exc)

    with pytest.raises(BaseException) as info:
        complete(Forwarder(), client={"max_retries": 2}, max_tokens=3)
    assert info.value is raised[0] and len(raised) == 1  # not retried
    assert errors == []
