"""ChatDecoder behaviour, run against both twins (``decoder_mod``)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from turbosse._delta import Delta, ToolCallDelta, Usage
from turbosse._errors import EventTooLarge, MalformedChunk, SSEError, StreamError


def sse(*payloads: Any, event: str | None = None) -> bytes:
    """An SSE body: one event per payload (dicts become JSON)."""
    out = []
    for p in payloads:
        data = p if isinstance(p, str) else json.dumps(p)
        head = f"event: {event}\n" if event else ""
        out.append(f"{head}data: {data}\n\n")
    return "".join(out).encode()


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": list(choices), **top}


def feed_all(mod: ModuleType, body: bytes, step: int = 0, **kw: Any) -> list[Delta]:
    dec = mod.ChatDecoder(**kw)
    out: list[Delta] = []
    if step:
        for i in range(0, len(body), step):
            out += dec.feed(body[i : i + step])
    else:
        out += dec.feed(body)
    out += dec.close()
    return out


OPENAI_STREAM = sse(
    chunk({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}),
    chunk({"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}, usage=None),
    chunk({"index": 0, "delta": {"content": "lo \u00e9\u4e16 \\n\""}, "finish_reason": None}),
    chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
    chunk(usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
    "[DONE]",
)
OPENAI_DELTAS = [
    Delta(0, role="assistant"),
    Delta(0, content="Hel"),
    Delta(0, content="lo \u00e9\u4e16 \\n\""),
    Delta(0, finish_reason="stop"),
    Delta(0, usage=Usage(3, 2, 5)),
]


def test_openai_chat_stream(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder()
    assert dec.format == "auto" and not dec.done
    assert dec.feed(OPENAI_STREAM) == OPENAI_DELTAS
    assert dec.done and dec.format == "openai-chat"
    assert dec.model == "m" and dec.id == "c1"
    assert dec.events == 5  # [DONE] is the parser's sentinel, not an event
    assert dec.feed(b"data: {}\n\n") == []  # after [DONE] input is ignored
    assert dec.close() == []


@pytest.mark.parametrize("step", [1, 2, 7, 64])
def test_chunking_never_changes_deltas(decoder_mod: ModuleType, step: int) -> None:
    assert feed_all(decoder_mod, OPENAI_STREAM, step) == OPENAI_DELTAS


def test_input_types(decoder_mod: ModuleType) -> None:
    for data in (bytearray(OPENAI_STREAM), memoryview(OPENAI_STREAM)):
        assert decoder_mod.ChatDecoder().feed(data) == OPENAI_DELTAS
    with pytest.raises(TypeError):
        decoder_mod.ChatDecoder().feed("data: {}\n\n")


def test_deltas_are_the_shared_types(decoder_mod: ModuleType) -> None:
    (d,) = decoder_mod.ChatDecoder().feed(
        sse(chunk({"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]}},
                  usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}))
    )
    assert type(d) is Delta and type(d.tool_calls[0]) is ToolCallDelta and type(d.usage) is Usage
    assert d.tool_calls == (ToolCallDelta(0, "a", "f", "{"),)
    assert d.index == d[0] == 0 and d.usage.total_tokens == 2


def test_noise_emits_nothing(decoder_mod: ModuleType) -> None:
    body = sse(
        # Azure: prompt filter results with empty choices, created 0
        {"choices": [], "created": 0, "id": "", "model": "", "object": "",
         "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
        # usage: null placeholders, empty content, null role
        chunk({"index": 0, "delta": {"content": "", "role": None}, "finish_reason": None}, usage=None),
        # Azure async filter annotations after the finish chunk
        chunk({"index": 0, "delta": {}, "content_filter_offsets": {"start_offset": 0}, "finish_reason": None}),
        chunk(usage={}),
        {"object": "chat.completion.chunk", "choices": None},
    )
    assert feed_all(decoder_mod, body) == []


def test_usage_on_finish_chunk_and_x_groq(decoder_mod: ModuleType) -> None:
    u = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    body = sse(
        chunk({"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}, usage=u),
        chunk({"index": 0, "delta": {}, "finish_reason": "stop"}, x_groq={"id": "g", "usage": u}),
        chunk(x_groq={"id": "g"}),
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, content="x", finish_reason="stop", usage=Usage(1, 2, 3)),
        Delta(0, finish_reason="stop", usage=Usage(1, 2, 3)),
    ]


def test_partial_usage_fields(decoder_mod: ModuleType) -> None:
    body = sse(chunk(usage={"prompt_tokens": 4, "completion_tokens": "x"}))
    assert feed_all(decoder_mod, body) == [Delta(0, usage=Usage(4, None, None))]


def test_legacy_completions_text(decoder_mod: ModuleType) -> None:
    body = sse(
        {"object": "text_completion", "model": "m", "choices": [{"index": 0, "text": " Hi", "finish_reason": None}]},
        {"object": "text_completion", "model": "m", "choices": [{"index": 0, "text": "", "finish_reason": "length"}]},
    )
    for fmt in ("auto", "openai-completions", "openai-chat"):
        assert feed_all(decoder_mod, body, format=fmt) == [
            Delta(0, content=" Hi"), Delta(0, finish_reason="length")]


def test_delta_preferred_over_text_and_message(decoder_mod: ModuleType) -> None:
    # Together sends choices[].text beside delta; Writer/Perplexity send message too
    body = sse(chunk({"index": 0, "text": "x", "message": {"content": "all"}, "delta": {"content": "x"}}))
    assert feed_all(decoder_mod, body) == [Delta(0, content="x")]


def test_mistral_content_arrays(decoder_mod: ModuleType) -> None:
    body = sse(
        chunk({"index": 0, "delta": {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}]}}),
        chunk({"index": 0, "delta": {"content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}}),
        chunk({"index": 0, "delta": {"content": "C"}}),
        chunk({"index": 0, "delta": {"content": [{"type": "image_url", "image_url": "u"}]}}),
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, reasoning="hmm"), Delta(0, content="AB"), Delta(0, content="C")]


def test_reasoning_fields(decoder_mod: ModuleType) -> None:
    body = sse(
        chunk({"index": 0, "delta": {"reasoning_content": "a", "content": None}}),
        chunk({"index": 0, "delta": {"reasoning": "b", "reasoning_details": [{"type": "reasoning.text", "text": "b"}]}}),
        chunk({"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text", "text": "c"},
                                                           {"type": "reasoning.encrypted", "data": "zz"}]}}),
        chunk({"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.summary", "summary": "d"}]}}),
        chunk({"index": 0, "delta": {"reasoning": None, "reasoning_content": "", "refusal": "no"}}),
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, reasoning="a"), Delta(0, reasoning="b"), Delta(0, reasoning="c"),
        Delta(0, reasoning="d"), Delta(0, refusal="no")]


def test_tool_call_fragments(decoder_mod: ModuleType) -> None:
    body = sse(
        chunk({"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}}),
        chunk({"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "{\"a\":"}}]}}),
        # no index (Gemini via OpenAI layer / Mistral), arguments as an object
        chunk({"index": 0, "delta": {"tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": {"k": 1}}}]}}),
        chunk({"index": 0, "delta": {"tool_calls": [{"index": 2, "id": "", "function": {"name": ""}}]}}),
        # deprecated functions API
        chunk({"index": 0, "delta": {"function_call": {"name": "h", "arguments": "{}"}}}),
        chunk({"index": 0, "delta": {"tool_calls": []}}),
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, tool_calls=(ToolCallDelta(1, "call_1", "f", ""),)),
        Delta(0, tool_calls=(ToolCallDelta(1, None, None, "{\"a\":"),)),
        Delta(0, tool_calls=(ToolCallDelta(None, "c2", "g", '{"k":1}'),)),
        Delta(0, tool_calls=(ToolCallDelta(2, None, None, None),)),
        Delta(0, tool_calls=(ToolCallDelta(0, None, "h", "{}"),)),
    ]


def test_n_choices_and_missing_index(decoder_mod: ModuleType) -> None:
    body = sse(
        chunk({"index": 1, "delta": {"content": "b"}}, {"index": 0, "delta": {"content": "a"}}),
        chunk({"delta": {"content": "x"}}, {"delta": {"content": "y"}}, usage={"prompt_tokens": 1}),
    )
    assert feed_all(decoder_mod, body) == [
        Delta(1, content="b"), Delta(0, content="a"), Delta(0, content="x"),
        Delta(1, content="y", usage=Usage(1, None, None))]


# -- errors ------------------------------------------------------------------


def test_stream_error_top_level(decoder_mod: ModuleType) -> None:
    body = OPENAI_STREAM.split(b"data: [DONE]")[0] + sse(
        {"error": {"message": "Token limit reached", "code": 400, "type": "limit"},
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": None}],
         "usage": {"prompt_tokens": 43, "completion_tokens": 10, "total_tokens": 53}},
        chunk({"index": 0, "delta": {"content": "after"}}),
    )
    dec = decoder_mod.ChatDecoder()
    with pytest.raises(StreamError) as info:
        dec.feed(body)
    exc = info.value
    assert isinstance(exc, SSEError)
    assert (exc.message, exc.type, exc.code) == ("Token limit reached", "limit", 400)
    # everything decoded before it in the same feed, plus the usage the error chunk carried
    assert exc.deltas == OPENAI_DELTAS + [Delta(0, usage=Usage(43, 10, 53))]
    assert "Token limit reached" in str(exc) and "400" in str(exc)
    with pytest.raises(SSEError, match="failed earlier"):
        dec.feed(b"data: {}\n\n")


def test_stream_error_event_error(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder()
    assert dec.feed(sse(chunk({"index": 0, "delta": {"reasoning": "r"}}))) == [Delta(0, reasoning="r")]
    body = sse({"error": {"message": "bad", "type": "invalid_request_error", "code": "tool_use_failed"}},
               event="error")
    with pytest.raises(StreamError) as info:
        dec.feed(body[:10])
        dec.feed(body[10:])
    assert info.value.code == "tool_use_failed" and info.value.deltas == []


def test_stream_error_first_event_anthropic(decoder_mod: ModuleType) -> None:
    body = sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, event="error")
    with pytest.raises(StreamError) as info:
        feed_all(decoder_mod, body)
    assert (info.value.type, info.value.message, info.value.code) == ("overloaded_error", "Overloaded", None)


def test_stream_error_responses_failed(decoder_mod: ModuleType) -> None:
    body = sse(
        {"type": "response.output_text.delta", "delta": "par", "output_index": 0},
        {"type": "response.failed", "response": {"id": "r", "model": "m", "status": "failed",
                                                 "error": {"code": "server_error", "message": "boom"}}},
    )
    with pytest.raises(StreamError) as info:
        feed_all(decoder_mod, body)
    assert info.value.code == "server_error" and info.value.message == "boom"
    assert info.value.deltas == [Delta(0, content="par")]
    body = sse({"type": "error", "code": "rate_limit", "message": "slow down", "param": None})
    with pytest.raises(StreamError, match="slow down"):
        feed_all(decoder_mod, body, format="openai-responses")


def test_malformed_raises_with_event_number(decoder_mod: ModuleType) -> None:
    body = sse(chunk({"index": 0, "delta": {"content": "a"}}), "{not json" + "x" * 200, "[DONE]")
    dec = decoder_mod.ChatDecoder()
    with pytest.raises(MalformedChunk) as info:
        dec.feed(body)
    exc = info.value
    assert exc.event_number == 2 and exc.snippet.startswith("{not json") and len(exc.snippet) <= 80
    assert exc.deltas == [Delta(0, content="a")] and "event 2" in str(exc)
    with pytest.raises(SSEError):
        dec.feed(b"")


@pytest.mark.parametrize("bad", ["{not json", "42", "[1, 2]", "\"text\"", "", "null"])
def test_malformed_skip_counts(decoder_mod: ModuleType, bad: str) -> None:
    body = sse(chunk({"index": 0, "delta": {"content": "a"}}), bad, chunk({"index": 0, "delta": {"content": "b"}}))
    dec = decoder_mod.ChatDecoder(on_malformed="skip")
    assert dec.feed(body) == [Delta(0, content="a"), Delta(0, content="b")]
    assert dec.skipped == 1
    with pytest.raises(MalformedChunk):
        feed_all(decoder_mod, body)


def test_invalid_utf8_in_json_is_malformed(decoder_mod: ModuleType) -> None:
    body = b'data: {"choices": [{"index": 0, "delta": {"content": "\xff"}}]}\n\n'
    with pytest.raises(MalformedChunk) as info:
        feed_all(decoder_mod, body)
    assert "\ufffd" in info.value.snippet


def test_unknown_format_in_auto(decoder_mod: ModuleType) -> None:
    body = sse({"hello": "world"}, chunk({"index": 0, "delta": {"content": "a"}}))
    with pytest.raises(MalformedChunk, match="not a chunk of any known format"):
        feed_all(decoder_mod, body)
    # skipped events do not decide the format
    dec = decoder_mod.ChatDecoder(on_malformed="skip")
    assert dec.feed(body) == [Delta(0, content="a")] and dec.skipped == 1
    assert dec.format == "openai-chat"


def test_event_too_large_keeps_deltas(decoder_mod: ModuleType) -> None:
    body = sse(chunk({"index": 0, "delta": {"content": "a"}})) + b"data: " + b"x" * 300
    dec = decoder_mod.ChatDecoder(max_event_bytes=200)
    with pytest.raises(EventTooLarge) as info:
        dec.feed(body)
    assert info.value.deltas == [Delta(0, content="a")]
    assert info.value.limit == 200


def test_options_are_checked(decoder_mod: ModuleType) -> None:
    with pytest.raises(ValueError, match="format"):
        decoder_mod.ChatDecoder("openai")
    with pytest.raises(ValueError, match="on_malformed"):
        decoder_mod.ChatDecoder(on_malformed="ignore")
    with pytest.raises(TypeError):
        decoder_mod.ChatDecoder(max_event_bytes="big")
    assert decoder_mod.ChatDecoder("anthropic").format == "anthropic"


def test_forced_format_ignores_other_shapes(decoder_mod: ModuleType) -> None:
    # a chat chunk fed to the Responses decoder carries nothing it knows
    assert feed_all(decoder_mod, OPENAI_STREAM, format="openai-responses") == []


# -- other formats -------------------------------------------------------------


ANTHROPIC = sse(
    {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
                                          "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "tu1", "name": "f", "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "tu2", "name": "g", "input": {}}},
    {"type": "content_block_stop", "index": 3},
    {"type": "content_block_start", "index": 4, "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}},
    {"type": "content_block_delta", "index": 4, "delta": {"type": "input_json_delta", "partial_json": "{\"q\": 1}"}},
    {"type": "content_block_stop", "index": 4},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 20}},
    {"type": "message_stop"},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ignored"}},
)


def test_anthropic(decoder_mod: ModuleType) -> None:
    for step in (0, 5):
        dec = decoder_mod.ChatDecoder()
        out = []
        body = ANTHROPIC.replace(b"data:", b"event: x\ndata:")  # event names do not matter
        for i in range(0, len(body), step or len(body)):
            out += dec.feed(body[i : i + (step or len(body))])
        assert out == [
            Delta(0, role="assistant", usage=Usage(10, 1, 11)),
            Delta(0, reasoning="hm"),
            Delta(0, content="Hi"),
            Delta(0, tool_calls=(ToolCallDelta(2, "tu1", "f", None),)),
            Delta(0, tool_calls=(ToolCallDelta(2, None, None, "{\"a\": 1}"),)),
            Delta(0, tool_calls=(ToolCallDelta(3, "tu2", "g", None),)),
            Delta(0, tool_calls=(ToolCallDelta(3, None, None, "{}"),)),
            Delta(0, finish_reason="tool_calls", usage=Usage(10, 20, 30)),
        ]
        assert dec.done and dec.format == "anthropic" and dec.model == "claude" and dec.id == "msg_1"


def test_responses_api(decoder_mod: ModuleType) -> None:
    body = sse(
        {"type": "response.created", "response": {"id": "resp_1", "model": "gpt", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs"}},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "think"},
        {"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "role": "assistant"}},
        {"type": "response.output_text.delta", "output_index": 1, "delta": "Hi"},
        {"type": "response.output_text.done", "output_index": 1, "text": "Hi"},
        {"type": "response.output_item.added", "output_index": 2,
         "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{}"},
        {"type": "response.completed", "response": {"id": "resp_1", "model": "gpt", "status": "completed",
                                                    "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11}}},
    )
    dec = decoder_mod.ChatDecoder()
    assert dec.feed(body) == [
        Delta(0, reasoning="think"),
        Delta(0, role="assistant"),
        Delta(0, content="Hi"),
        Delta(0, tool_calls=(ToolCallDelta(2, "call_1", "f", None),)),
        Delta(0, tool_calls=(ToolCallDelta(2, None, None, "{}"),)),
        Delta(0, finish_reason="tool_calls", usage=Usage(5, 6, 11)),
    ]
    assert dec.done and dec.format == "openai-responses" and dec.model == "gpt" and dec.id == "resp_1"


def test_responses_incomplete(decoder_mod: ModuleType) -> None:
    body = sse({"type": "response.incomplete", "response": {"status": "incomplete",
                                                           "incomplete_details": {"reason": "max_output_tokens"}}})
    assert feed_all(decoder_mod, body) == [Delta(0, finish_reason="length")]


def test_gemini_native(decoder_mod: ModuleType) -> None:
    body = sse(
        {"candidates": [{"content": {"parts": [{"text": "plan", "thought": True}], "role": "model"}, "index": 0}],
         "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 5, "thoughtsTokenCount": 2},
         "modelVersion": "gemini-x", "responseId": "r1"},
        {"candidates": [{"content": {"parts": [{"text": "A"}, {"functionCall": {"name": "f", "args": {"x": 1}}},
                                               {"functionCall": {"name": "f", "args": {"x": 2}}}], "role": "model"},
                         "finishReason": "STOP", "index": 0}]},
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, role="assistant", reasoning="plan", usage=Usage(3, 2, 5)),
        Delta(0, role="assistant", content="A",
              tool_calls=(ToolCallDelta(0, None, "f", '{"x":1}'), ToolCallDelta(1, None, "f", '{"x":2}')),
              finish_reason="stop"),
    ]


def test_cohere_v2(decoder_mod: ModuleType) -> None:
    body = sse(
        {"id": "co1", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "plan"}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "{}"}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "ok"}}}},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE",
                                          "usage": {"tokens": {"input_tokens": 2, "output_tokens": 3}}}},
        "[DONE]",
    )
    assert feed_all(decoder_mod, body) == [
        Delta(0, role="assistant"), Delta(0, reasoning="plan"),
        Delta(0, tool_calls=(ToolCallDelta(0, "t1", "f", None),)),
        Delta(0, tool_calls=(ToolCallDelta(0, None, None, "{}"),)),
        Delta(0, content="ok"), Delta(0, finish_reason="stop", usage=Usage(2, 3, 5)),
    ]


def test_gemini_interactions(decoder_mod: ModuleType) -> None:
    body = sse(
        {"interaction": {"id": "i1", "status": "in_progress", "model": "gem"}, "event_type": "interaction.created"},
        {"index": 0, "step": {"type": "thought"}, "event_type": "step.start"},
        {"index": 0, "delta": {"content": {"text": "think"}}, "event_type": "step.delta"},
        {"index": 0, "delta": {"signature": "", "type": "thought_signature"}, "event_type": "step.delta"},
        {"index": 1, "step": {"type": "model_output"}, "event_type": "step.start"},
        {"index": 1, "delta": {"text": "Hi", "type": "text"}, "event_type": "step.delta"},
        {"interaction": {"id": "i1", "status": "completed", "usage": {
            "total_tokens": 9, "total_input_tokens": 2, "total_output_tokens": 3, "total_thought_tokens": 4}},
         "event_type": "interaction.completed"},
        "[DONE]",
    )
    dec = decoder_mod.ChatDecoder()
    assert dec.feed(body) == [Delta(0, reasoning="think"), Delta(0, content="Hi"),
                              Delta(0, finish_reason="stop", usage=Usage(2, 7, 9))]
    assert dec.format == "gemini-interactions" and dec.done and dec.model == "gem"


@pytest.mark.parametrize("fmt", ["auto", "openai-chat", "anthropic", "openai-responses"])
@pytest.mark.parametrize("on_malformed", ["raise", "skip"])
@pytest.mark.parametrize(("data", "message"), [(b"Overloaded", "Overloaded"), (b'"overloaded"', "overloaded"),
                                               (b"529", "529"), (b"\xffbad", "\ufffdbad")])  # fmt: skip
def test_an_error_event_that_is_not_a_json_object_is_the_providers_error(
    decoder_mod: ModuleType, fmt: str, on_malformed: str, data: bytes, message: str
) -> None:
    # as the anthropic SDK raises for any event: error, JSON or not; neither
    # a malformed chunk nor, with on_malformed="skip", nothing at all
    first = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n' if fmt in ("auto", "openai-chat") else b""
    dec = decoder_mod.ChatDecoder(fmt, on_malformed=on_malformed)
    with pytest.raises(StreamError) as info:
        dec.feed(first + b"event: error\ndata: " + data + b"\n\n")
    assert info.value.message == message
    assert [d.content for d in info.value.deltas] == (["Hi"] if first else [])


def test_replicate_plain_text(decoder_mod: ModuleType) -> None:
    body = (b": hi\n\nevent: output\nid: 1\ndata: \n\nevent: output\ndata: Sure\n\n"
            b"event: output\ndata: :\ndata: \ndata: Why\n\nevent: done\ndata: {}\n\n"
            b"event: output\ndata: ignored\n\n")
    dec = decoder_mod.ChatDecoder()
    assert dec.feed(body) == [Delta(0, content="Sure"), Delta(0, content=":\n\nWhy")]
    assert dec.format == "replicate" and dec.done
    with pytest.raises(StreamError, match="boom"):
        feed_all(decoder_mod, b"event: output\ndata: a\n\nevent: error\ndata: boom\n\n")
    with pytest.raises(StreamError, match="bad"):
        feed_all(decoder_mod, b'event: error\ndata: {"detail": "bad"}\n\n', format="replicate")


def test_deltas_survive_garbage_collection(decoder_mod: ModuleType) -> None:
    """The compiled twin allocates deltas untracked by the cycle collector
    (they cannot form cycles); collections with many alive must be safe."""
    import gc

    body = OPENAI_STREAM.split(b"data: [DONE]")[0] * 200
    dec = decoder_mod.ChatDecoder()
    deltas = dec.feed(body)
    gc.collect()
    assert deltas[:5] == OPENAI_DELTAS and len(deltas) == 1000
    assert all(type(d) is Delta for d in deltas)
    if decoder_mod.__name__.endswith("_c"):
        assert not gc.is_tracked(deltas[0]) and not gc.is_tracked(deltas[4].usage)
    del dec
    gc.collect()
    assert deltas[-1].usage == Usage(3, 2, 5)
