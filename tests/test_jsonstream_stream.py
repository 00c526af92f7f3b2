"""Partial JSON wired into the stream: StreamHandler.on_tool_call_delta and
on_json_content, ChatAccumulator(follow_arguments=True), ToolCall.partial();
on recorded real streams, and through ChatClient against the fake server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from conftest import CORPUS_DIR
from test_jsonstream import jiter_partial

from turbosse import (
    ChatAccumulator,
    ChatClient,
    Delta,
    JSONStreamError,
    StreamHandler,
    ToolCall,
    ToolCallDelta,
    accumulate,
)
from turbosse.testing import tool_arguments


class Recorder(StreamHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[int, str | None, Any, list[tuple[Any, ...]]]] = []
        self.json: list[tuple[Any, list[tuple[Any, ...]]]] = []
        self.tokens: list[str] = []

    def on_token(self, text: str) -> None:
        self.tokens.append(text)

    def on_tool_call_delta(self, call_index: int, name: str | None, partial_value: Any, events: list[Any]) -> None:
        self.calls.append((call_index, name, partial_value, [tuple(e) for e in events]))

    def on_json_content(self, partial_value: Any, events: list[Any]) -> None:
        self.json.append((partial_value, [tuple(e) for e in events]))


def replay(name: str, handler: Any) -> Any:
    data = (CORPUS_DIR / name).read_bytes()
    # in small chunks, as a network delivers them
    return accumulate([data[i : i + 50] for i in range(0, len(data), 50)], handler)


def test_tool_call_deltas_on_a_real_stream() -> None:
    h = Recorder()
    result = replay("openai__chat-parallel-tool-calls.sse", h)
    assert [c.name for c in result.tool_calls] == ["GetWeatherArgs", "get_stock_price"]
    for position, call in enumerate(result.tool_calls):
        mine = [c for c in h.calls if c[0] == position]
        assert {c[1] for c in mine} == {call.name}
        # one report per argument fragment; each value is what jiter shows
        # for the text so far, and the last is the whole document
        text = ""
        fragments = [
            tc.arguments
            for d in _deltas("openai__chat-parallel-tool-calls.sse")
            for tc in d.tool_calls or ()
            if tc.index == position and tc.arguments
        ]
        assert len(mine) == len(fragments)
        for fragment, (_, _, value, _) in zip(fragments, mine):
            text += fragment
            assert value == jiter_partial(text)
        assert mine[-1][2] == call.json()
        events = [e for c in mine for e in c[3]]
        assert events[0] == ("object", (), None) and events[-1] == ("value", (), call.json())
    assert h.calls[2][3] == [("string", ("city",), "Edinb")]


def _deltas(name: str) -> list[Delta]:
    from turbosse import ChatDecoder

    return ChatDecoder().feed((CORPUS_DIR / name).read_bytes())


@pytest.mark.parametrize(
    "name", ["openai__chat-n3-multiple-choices.sse", "openai__chat-json-response-format-long.sse"]
)
def test_json_content_on_a_real_stream(name: str) -> None:
    h = Recorder()
    result = replay(name, h)
    assert len(h.json) == len(h.tokens) > 5  # one report per content fragment of choice 0
    text = ""
    for token, (value, _) in zip(h.tokens, h.json):
        text += token
        assert value == jiter_partial(text)
    assert h.json[-1][0] == orjson.loads(result.content)
    assert h.json[-1][1][-1] == ("value", (), h.json[-1][0])


def test_content_that_is_not_json_is_no_longer_followed() -> None:
    h = Recorder()
    result = replay("openai__chat-text-only.sse", h)
    assert result.content and len(h.tokens) > 3
    assert h.json == []  # plain text: not JSON from its first character


def test_arguments_that_stop_being_json() -> None:
    acc = ChatAccumulator(follow_arguments=True)
    acc.add(Delta(0, tool_calls=(ToolCallDelta(0, "c1", "f", '{"a": 1'),)))
    acc.add(Delta(0, tool_calls=(ToolCallDelta(0, None, None, "} oops"),)))
    acc.add(Delta(0, tool_calls=(ToolCallDelta(0, None, None, " more"),)))
    grown = acc._drain_grown()
    assert [(i, c.position, v) for i, c, v, _ in grown] == [(0, 0, {"a": 1})]
    call = acc.result().tool_calls[0]
    assert call.arguments == '{"a": 1} oops more'  # the text is kept in full
    with pytest.raises(JSONStreamError, match="only whitespace after the document at offset 9"):
        call.partial()


def test_not_following_by_default() -> None:
    acc = ChatAccumulator()
    acc.add(Delta(0, tool_calls=(ToolCallDelta(0, "c1", "f", '{"a": 1'),)))
    assert acc._drain_grown() == []


def test_tool_call_partial() -> None:
    assert ToolCall("c", "f", '{"path": "a.py", "content": "print(1)\\npri').partial() == {
        "path": "a.py",
        "content": "print(1)\npri",
    }
    assert ToolCall("c", "f", "").partial() == {}
    assert ToolCall("c", "f", '{"n": [1, 2]}').partial() == {"n": [1, 2]}


def test_through_the_chat_client(server: Any) -> None:
    h = Recorder()
    with ChatClient(base_url=server.base_url, model="gpt-fake", api_key="sk-test") as client:
        result = client.complete(
            [{"role": "user", "content": "hi"}],
            handler=h,
            fake={"tokens": 3, "tool_calls": 2, "tool_arg_chunks": 6},
        )
    assert [c.arguments for c in result.tool_calls] == [tool_arguments(0), tool_arguments(1)]
    for position in (0, 1):
        mine = [c for c in h.calls if c[0] == position]
        assert 2 <= len(mine) <= 6
        assert mine[-1][2] == result.tool_calls[position].json()
        assert all(isinstance(v, dict) for _, _, v, _ in mine)
