"""The events of a fake stream for each wire format, as SSE bytes split into preamble, deltas and trailer.

A stream is ``Events(pre, deltas, trailer)``: lists of complete SSE events
(bytes, blank line included). Faults are placed between deltas and pacing
counts them, so every token, reasoning or tool-argument fragment is one delta.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from ._content import CREATED, argument_pieces, fake_token, tool_arguments

__all__ = [
    "Events", "anthropic_events", "error_event", "malformed_event", "openai_events", "replay_events",
    "responses_events", "sse_event",
]  # fmt: skip


class Events(NamedTuple):
    pre: list[bytes]
    deltas: list[bytes]
    trailer: list[bytes]


def sse_event(data: bytes, event: str | None, nl: bytes) -> bytes:
    """One SSE event: an optional ``event:`` line, one ``data:`` line, a blank line."""
    head = b"event: " + event.encode() + nl if event else b""
    return head + b"data: " + data + nl + nl


def openai_events(opts: dict[str, Any], model: str, n: int, usage: tuple[int, int] | None, nl: bytes) -> Events:
    """A chat.completion.chunk stream of ``n`` content tokens (usage: prompt, completion)."""
    base = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
    }
    with_usage = usage is not None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body: dict[str, Any] = dict(base)
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if with_usage:
            body["usage"] = None
        return sse_event(orjson.dumps(body), None, nl)

    pre = [chunk({"role": "assistant", "content": "", "refusal": None})]
    deltas = [chunk({"reasoning_content": fake_token(i)}) for i in range(int(opts["reasoning_tokens"] or 0))]
    deltas += [chunk({"content": fake_token(i)}) for i in range(n)]
    ntools = int(opts["tool_calls"] or 0)
    for t in range(ntools):
        start = {"index": t, "id": f"call_fake{t}", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        deltas.append(chunk({"tool_calls": [start]}))
        for piece in argument_pieces(t, int(opts["tool_arg_chunks"])):
            deltas.append(chunk({"tool_calls": [{"index": t, "function": {"arguments": piece}}]}))
    trailer = [chunk({}, "tool_calls" if ntools else "stop")]
    if usage is not None:
        body = dict(base)
        body["choices"] = []
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": usage[0] + usage[1]}
        trailer.append(sse_event(orjson.dumps(body), None, nl))
    trailer.append(sse_event(b"[DONE]", None, nl))
    return Events(pre, deltas, trailer)


def anthropic_events(opts: dict[str, Any], model: str, n: int, usage: tuple[int, int], nl: bytes) -> Events:
    """An Anthropic Messages stream of ``n`` text tokens (a thinking block first when asked)."""

    def ev(body: dict[str, Any]) -> bytes:
        return sse_event(orjson.dumps(body), body["type"], nl)

    def block_start(index: int, block: dict[str, Any]) -> bytes:
        return ev({"type": "content_block_start", "index": index, "content_block": block})

    def block_delta(index: int, delta: dict[str, Any]) -> bytes:
        return ev({"type": "content_block_delta", "index": index, "delta": delta})

    def block_stop(index: int) -> bytes:
        return ev({"type": "content_block_stop", "index": index})

    message: dict[str, Any] = {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": 1},
    }  # fmt: skip
    pre = [ev({"type": "message_start", "message": message})]
    deltas: list[bytes] = []
    block = 0
    nreason = int(opts["reasoning_tokens"] or 0)
    if nreason:  # a thinking block first, then the text block
        pre.append(block_start(0, {"type": "thinking", "thinking": ""}))
        deltas += [block_delta(0, {"type": "thinking_delta", "thinking": fake_token(i)}) for i in range(nreason)]
        deltas.append(block_stop(0))
        block = 1
        deltas.append(block_start(1, {"type": "text", "text": ""}))
    else:
        pre.append(block_start(0, {"type": "text", "text": ""}))
    pre.append(ev({"type": "ping"}))
    deltas += [block_delta(block, {"type": "text_delta", "text": fake_token(i)}) for i in range(n)]
    ntools = int(opts["tool_calls"] or 0)
    for t in range(ntools):
        deltas.append(block_stop(block))
        block += 1
        deltas.append(block_start(block, {"type": "tool_use", "id": f"toolu_fake{t}", "name": "get_weather", "input": {}}))
        for piece in argument_pieces(t, int(opts["tool_arg_chunks"])):
            deltas.append(block_delta(block, {"type": "input_json_delta", "partial_json": piece}))
    stop = {"stop_reason": "tool_use" if ntools else "end_turn", "stop_sequence": None}
    trailer = [
        block_stop(block),
        ev({"type": "message_delta", "delta": stop, "usage": {"output_tokens": usage[1]}}),
        ev({"type": "message_stop"}),
    ]
    return Events(pre, deltas, trailer)


def responses_events(opts: dict[str, Any], model: str, n: int, usage: tuple[int, int] | None, nl: bytes) -> Events:
    """An OpenAI Responses API stream: a reasoning item (when asked), the message item with
    ``n`` text tokens, then one function_call item per tool call, then ``response.completed``."""
    seq = 0

    def ev(body: dict[str, Any]) -> bytes:
        nonlocal seq
        body["sequence_number"] = seq
        seq += 1
        return sse_event(orjson.dumps(body), body["type"], nl)

    def response(status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": "resp_fake", "object": "response", "created_at": CREATED, "status": status,
            "error": None, "incomplete_details": None, "model": model, "output": output, "usage": None,
        }  # fmt: skip
        if with_usage and usage is not None:
            nreason = int(opts["reasoning_tokens"] or 0)
            body["usage"] = {
                "input_tokens": usage[0], "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": usage[1], "output_tokens_details": {"reasoning_tokens": nreason},
                "total_tokens": usage[0] + usage[1],
            }  # fmt: skip
        return body

    pre = [
        ev({"type": "response.created", "response": response("in_progress", [], False)}),
        ev({"type": "response.in_progress", "response": response("in_progress", [], False)}),
    ]
    deltas: list[bytes] = []
    output: list[dict[str, Any]] = []
    nreason = int(opts["reasoning_tokens"] or 0)
    if nreason:
        rs: dict[str, Any] = {"id": "rs_fake", "type": "reasoning", "summary": []}
        pre.append(ev({"type": "response.output_item.added", "output_index": 0, "item": dict(rs)}))
        part = {"item_id": "rs_fake", "output_index": 0, "summary_index": 0}
        pre.append(ev({"type": "response.reasoning_summary_part.added", **part, "part": {"type": "summary_text", "text": ""}}))
        deltas += [ev({"type": "response.reasoning_summary_text.delta", **part, "delta": fake_token(i)}) for i in range(nreason)]
        summary = "".join(fake_token(i) for i in range(nreason))
        deltas.append(ev({"type": "response.reasoning_summary_text.done", **part, "text": summary}))
        deltas.append(ev({"type": "response.reasoning_summary_part.done", **part, "part": {"type": "summary_text", "text": summary}}))
        rs["summary"] = [{"type": "summary_text", "text": summary}]
        deltas.append(ev({"type": "response.output_item.done", "output_index": 0, "item": rs}))
        output.append(rs)
    at = len(output)
    msg: dict[str, Any] = {"id": "msg_fake", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    opening = [
        ev({"type": "response.output_item.added", "output_index": at, "item": dict(msg)}),
        ev({
            "type": "response.content_part.added", "item_id": "msg_fake", "output_index": at, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        }),
    ]  # fmt: skip
    (deltas if nreason else pre).extend(opening)
    where = {"item_id": "msg_fake", "output_index": at, "content_index": 0}
    deltas += [ev({"type": "response.output_text.delta", **where, "delta": fake_token(i), "logprobs": []}) for i in range(n)]
    text = "".join(fake_token(i) for i in range(n))
    part_done = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    deltas.append(ev({"type": "response.output_text.done", **where, "text": text, "logprobs": []}))
    deltas.append(ev({"type": "response.content_part.done", **where, "part": part_done}))
    msg = {**msg, "status": "completed", "content": [part_done]}
    deltas.append(ev({"type": "response.output_item.done", "output_index": at, "item": msg}))
    output.append(msg)
    for t in range(int(opts["tool_calls"] or 0)):
        index = len(output)
        call = {"id": f"fc_fake{t}", "type": "function_call", "status": "in_progress", "arguments": "", "call_id": f"call_fake{t}", "name": "get_weather"}
        deltas.append(ev({"type": "response.output_item.added", "output_index": index, "item": dict(call)}))
        for piece in argument_pieces(t, int(opts["tool_arg_chunks"])):
            deltas.append(ev({"type": "response.function_call_arguments.delta", "item_id": call["id"], "output_index": index, "delta": piece}))
        args = tool_arguments(t)
        deltas.append(ev({"type": "response.function_call_arguments.done", "item_id": call["id"], "output_index": index, "arguments": args}))
        call = {**call, "status": "completed", "arguments": args}
        deltas.append(ev({"type": "response.output_item.done", "output_index": index, "item": call}))
        output.append(call)
    trailer = [ev({"type": "response.completed", "response": response("completed", output, True)})]
    return Events(pre, deltas, trailer)


def replay_events(raw: bytes) -> Events:
    """Recorded stream bytes split after each blank line, keeping every byte; all deltas."""
    out: list[bytes] = []
    start = i = 0
    n = len(raw)
    while i < n:
        for sep in (b"\r\n\r\n", b"\n\n", b"\r\r"):
            if raw.startswith(sep, i):
                i += len(sep)
                out.append(raw[start:i])
                start = i
                break
        else:
            i += 1
    if start < n:
        out.append(raw[start:])
    return Events([], out, [])


def malformed_event(api: str, nl: bytes) -> bytes:
    """An event whose JSON is cut short."""
    if api == "responses":
        return b"event: response.output_text.delta" + nl + b'data: {"type": "response.output_text.delta", "delta": "broken' + nl + nl
    if api == "anthropic":
        return b"event: content_block_delta" + nl + b'data: {"type": "content_block_delta", "index": 0, "delta": {' + nl + nl
    return b'data: {"id": "chatcmpl-fake", "choices": [{"index": 0, "delta": {"content": "broken' + nl + nl


def error_event(api: str, error_type: str | None, nl: bytes) -> bytes:
    """The in-band error event each API sends when it fails mid-stream."""
    body: dict[str, Any]
    if api == "responses":
        body = {"type": "error", "code": error_type or "server_error", "message": "The server had an error while processing your request.", "param": None}
        return sse_event(orjson.dumps(body), "error", nl)
    if api == "anthropic":
        body = {"type": "error", "error": {"type": error_type or "overloaded_error", "message": "Overloaded"}}
        return sse_event(orjson.dumps(body), "error", nl)
    body = {
        "error": {
            "message": "The server had an error while processing your request. Please retry.",
            "type": error_type or "server_error",
            "code": None,
        }
    }
    return sse_event(orjson.dumps(body), None, nl)
