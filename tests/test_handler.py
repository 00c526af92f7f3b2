"""StreamHandler callbacks and the accumulate/aaccumulate drivers, with each
decoder twin; failures keep the partial result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import pytest

import turbosse
from turbosse import (
    ChatResult,
    EventTooLarge,
    MalformedChunk,
    SSEError,
    StreamError,
    StreamHandler,
    StreamInterrupted,
    ToolCall,
    aaccumulate,
    accumulate,
)


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0, **top: Any) -> bytes:
    obj = {"id": "c", "model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}], **top}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


STREAM = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "think"}),
    chunk({"content": "Hel"}) + chunk({"content": "lo"}, index=1),
    chunk({"content": "lo"}),
    chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "[]"}}]}),
    chunk({}, "tool_calls"),
    b'data: {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}\n\n',
    b"data: [DONE]\n\n",
]


class Recorder(StreamHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_start(self) -> None:
        self.calls.append(("start", None))

    def on_token(self, text: str) -> None:
        self.calls.append(("token", text))

    def on_reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def on_tool_call(self, call: ToolCall) -> None:
        self.calls.append(("tool_call", call))

    def on_complete(self, result: ChatResult) -> None:
        self.calls.append(("complete", result))

    def on_error(self, exc: BaseException) -> None:
        self.calls.append(("error", exc))


EXPECTED_CALLS = [
    ("start", None),
    ("reasoning", "think"),
    ("token", "Hel"),  # choice 1's "lo" is not a token of choice 0
    ("token", "lo"),
    ("tool_call", ToolCall("a", "f", "{}")),  # complete when call 1 starts
    ("tool_call", ToolCall("b", "g", "[]")),  # complete at finish_reason
]


def check_result(result: ChatResult) -> None:
    assert result.content == "Hello" and result.reasoning == "think"
    assert result.tool_calls == [ToolCall("a", "f", "{}"), ToolCall("b", "g", "[]")]
    assert result.choices[1].content == "lo"
    assert result.usage == turbosse.Usage(1, 2, 3) and result.model == "m" and result.id == "c"


def test_accumulate_calls_the_handler(decoder_mod: ModuleType) -> None:
    rec = Recorder()
    result = accumulate(iter(STREAM), rec, decoder=decoder_mod.ChatDecoder())
    check_result(result)
    assert rec.calls == EXPECTED_CALLS + [("complete", result)]


def test_aaccumulate_calls_the_handler(decoder_mod: ModuleType) -> None:
    async def source() -> AsyncIterator[bytes]:
        for c in STREAM:
            await asyncio.sleep(0)
            yield c

    rec = Recorder()
    result = asyncio.run(aaccumulate(source(), rec, decoder=decoder_mod.ChatDecoder()))
    check_result(result)
    assert rec.calls == EXPECTED_CALLS + [("complete", result)]


def test_on_deltas_sees_every_delta_once_per_chunk(decoder_mod: ModuleType) -> None:
    class Deltas(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[Any]] = []

        def on_deltas(self, deltas: list[Any]) -> None:
            self.batches.append(list(deltas))
            self.calls.append(("deltas", len(deltas)))

    rec = Deltas()
    result = accumulate(iter(STREAM), rec, decoder=decoder_mod.ChatDecoder())
    check_result(result)
    everything = decoder_mod.ChatDecoder().feed(b"".join(STREAM))
    assert [d for batch in rec.batches for d in batch] == everything  # all of them, any choice, in order
    # one call per chunk that brought deltas ([DONE] brings none), before
    # that chunk's per-kind calls
    assert len(rec.batches) == len(STREAM) - 1
    assert rec.calls[:4] == [("start", None), ("deltas", 1), ("deltas", 1), ("reasoning", "think")]
    assert rec.calls[4:7] == [("deltas", 2), ("token", "Hel"), ("deltas", 1)]


def test_no_handler_and_partial_handlers() -> None:
    check_result(accumulate(STREAM))

    class OnlyTokens:  # any object with some of the methods works
        def __init__(self) -> None:
            self.text = ""

        def on_token(self, text: str) -> None:
            self.text += text

    h = OnlyTokens()
    accumulate(STREAM, h)
    assert h.text == "Hello"


class Tokens(StreamHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_token(self, text: str) -> None:
        self.seen.append(text)


def test_callbacks_set_on_the_object_itself() -> None:
    # which callbacks a class defines is found once per class; one set on an
    # object is still that object's, and does not leak to its class's others
    plain = Tokens()
    accumulate(STREAM, plain)
    own = Tokens()
    reasoning: list[str] = []
    own.on_reasoning = reasoning.append  # type: ignore[method-assign]
    accumulate(STREAM, own)
    again = Tokens()
    accumulate(STREAM, again)
    assert plain.seen == own.seen == again.seen == ["Hel", "lo"]
    assert reasoning == ["think"]

    module = ModuleType("handler_module")  # any object, a module too
    tokens: list[str] = []
    module.on_token = tokens.append  # type: ignore[attr-defined]
    accumulate(STREAM, module)
    assert tokens == ["Hel", "lo"]


def test_callbacks_of_objects_that_answer_for_themselves() -> None:
    class Slotted:
        __slots__ = ("on_token", "on_reasoning")

    tokens: list[str] = []
    slotted = Slotted()
    slotted.on_token = tokens.append  # on_reasoning left unset: absent
    accumulate(STREAM, slotted)
    assert tokens == ["Hel", "lo"]

    class Dynamic:
        def __init__(self) -> None:
            self.calls: list[tuple[str, tuple[Any, ...]]] = []

        def __getattr__(self, name: str) -> Any:
            if name in ("on_token", "on_complete"):
                return lambda *args: self.calls.append((name, args))
            raise AttributeError(name)

    dynamic = Dynamic()
    result = accumulate(STREAM, dynamic)
    assert dynamic.calls == [("on_token", ("Hel",)), ("on_token", ("lo",)), ("on_complete", (result,))]

    class Properties:
        def __init__(self) -> None:
            self.seen: list[str] = []

        @property
        def on_token(self) -> Any:
            return self.seen.append

    props = Properties()
    accumulate(STREAM, props)
    assert props.seen == ["Hel", "lo"]


def test_tool_call_completed_at_end_of_stream() -> None:
    # no finish_reason and no later call: the call completes when the stream ends
    rec = Recorder()
    accumulate([chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
                b"data: [DONE]\n\n"], rec)
    assert ("tool_call", ToolCall("a", "f", "{}")) in rec.calls


def tool_chunk(index: int, args: str, id: str | None = None, name: str | None = None, finish: str | None = None) -> bytes:
    fn: dict[str, Any] = {"arguments": args}
    if name is not None:
        fn["name"] = name
    call: dict[str, Any] = {"index": index, "function": fn}
    if id is not None:
        call["id"] = id
    return chunk({"tool_calls": [call]}, finish)


def test_interleaved_parallel_calls_complete_whole(decoder_mod: ModuleType) -> None:
    # call 0's arguments go on after call 1 began: it is complete only when they are
    events: list[tuple[int, Any]] = []

    class Calls(StreamHandler):
        def on_deltas(self, deltas: list[Any]) -> None:
            events.append((len(events), "read"))

        def on_tool_call(self, call: ToolCall) -> None:
            events.append((len(events), call))

    body = [tool_chunk(0, '{"x": ', "call_a", "f"), tool_chunk(1, '{"y": 2}', "call_b", "g"),
            tool_chunk(0, "1}"), tool_chunk(2, "{}", "call_c", "h"), tool_chunk(2, "", finish="tool_calls"),
            b"data: [DONE]\n\n"]
    result = accumulate(body, Calls(), decoder=decoder_mod.ChatDecoder())
    assert [e for _, e in events] == [
        "read", "read", "read", ToolCall("call_a", "f", '{"x": 1}'),  # whole once its last fragment came
        "read", ToolCall("call_b", "g", '{"y": 2}'),  # whole when call 2 began
        "read", ToolCall("call_c", "h", "{}"),  # the choice finished
    ]
    assert result.tool_calls == [ToolCall("call_a", "f", '{"x": 1}'), ToolCall("call_b", "g", '{"y": 2}'),
                                 ToolCall("call_c", "h", "{}")]


def test_sequential_calls_complete_when_the_next_begins(decoder_mod: ModuleType) -> None:
    seen: list[Any] = []

    class Calls(StreamHandler):
        def on_deltas(self, deltas: list[Any]) -> None:
            seen.append("read")

        def on_tool_call(self, call: ToolCall) -> None:
            seen.append(call)

    body = [tool_chunk(0, '{"x": 1}', "a", "f"), tool_chunk(1, "{", "b", "g"), tool_chunk(1, "}"),
            tool_chunk(1, "", finish="tool_calls"), b"data: [DONE]\n\n"]
    accumulate(body, Calls(), decoder=decoder_mod.ChatDecoder())
    assert seen == ["read", "read", ToolCall("a", "f", '{"x": 1}'), "read", "read", ToolCall("b", "g", "{}")]


def failing_source(fail_after: int, exc: Exception) -> Iterator[bytes]:
    yield from STREAM[:fail_after]
    raise exc


def test_byte_source_failure_is_stream_interrupted(decoder_mod: ModuleType) -> None:
    rec = Recorder()
    cause = ConnectionResetError("peer reset")
    with pytest.raises(StreamInterrupted) as info:
        accumulate(failing_source(4, cause), rec, decoder=decoder_mod.ChatDecoder())
    exc = info.value
    assert isinstance(exc, SSEError) and exc.cause is cause and exc.__cause__ is cause
    assert exc.partial.content == "Hello" and exc.partial.model == "m"
    assert rec.calls[-1] == ("error", exc)
    assert "ConnectionResetError" in str(exc)


def test_async_byte_source_failure(decoder_mod: ModuleType) -> None:
    async def source() -> AsyncIterator[bytes]:
        yield STREAM[0]
        yield STREAM[2]
        raise TimeoutError("read timed out")

    with pytest.raises(StreamInterrupted) as info:
        asyncio.run(aaccumulate(source(), decoder=decoder_mod.ChatDecoder()))
    assert isinstance(info.value.cause, TimeoutError) and info.value.partial.content == "Hel"


def test_cancellation_is_not_wrapped() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield STREAM[0]
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(aaccumulate(source()))


def test_stream_error_keeps_partial(decoder_mod: ModuleType) -> None:
    rec = Recorder()
    err = (b'data: {"error": {"message": "Token limit reached", "code": 400}, "choices": [], '
           b'"usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}}\n\n')
    with pytest.raises(StreamError) as info:
        accumulate([STREAM[0], STREAM[2] + err], rec, decoder=decoder_mod.ChatDecoder())
    exc = info.value
    # deltas of the failing feed (and the usage the error chunk carried) are in the partial
    assert exc.partial.content == "Hel" and exc.partial.usage == turbosse.Usage(4, 5, 9)
    assert exc.code == 400 and rec.calls[-1] == ("error", exc)


def test_malformed_and_too_large_keep_partial(decoder_mod: ModuleType) -> None:
    with pytest.raises(MalformedChunk) as info:
        accumulate([STREAM[3], b"data: {oops\n\n"], decoder=decoder_mod.ChatDecoder())
    assert info.value.partial.content == "lo"
    result = accumulate([STREAM[3], b"data: {oops\n\n", STREAM[-1]], decoder=decoder_mod.ChatDecoder(on_malformed="skip"))
    assert result.content == "lo"
    with pytest.raises(EventTooLarge) as info2:
        accumulate([STREAM[3] + b"data: " + b"x" * 500], decoder=decoder_mod.ChatDecoder(max_event_bytes=300))
    assert info2.value.partial.content == "lo"  # type: ignore[attr-defined]


def test_handler_exceptions_propagate_unchanged() -> None:
    class Boom(StreamHandler):
        def on_token(self, text: str) -> None:
            raise KeyError(text)

    with pytest.raises(KeyError):
        accumulate(STREAM, Boom())


def test_format_and_on_malformed_options() -> None:
    body = [b'data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}\n\n',
            b'data: {"type": "message_stop"}\n\n']
    assert accumulate(body, format="anthropic").content == "hi"
    assert accumulate([b"data: nope\n\n"] + STREAM, on_malformed="skip").content == "Hello"


def test_a_handler_class_patched_after_use_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    class Quiet(StreamHandler):
        pass

    accumulate(STREAM, Quiet())  # the class is looked at once here
    seen: list[str] = []
    monkeypatch.setattr(Quiet, "on_token", lambda self, text: seen.append(text), raising=False)
    accumulate(STREAM, Quiet())
    assert seen == ["Hel", "lo"]
    monkeypatch.undo()  # and taken away again: StreamHandler's no-op
    seen.clear()
    accumulate(STREAM, Quiet())
    assert seen == []
