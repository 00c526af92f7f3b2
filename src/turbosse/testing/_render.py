"""Rendering a fake response to bytes, without I/O: a streamed one to a timed :class:`Plan`, or a complete JSON body.

A stream is built in four steps, each its own function: the events of the
wire format (:mod:`._events`), the faults placed among them
(:mod:`._faults`), the grouping of events into timed writes
(:func:`group_writes`), and the HTTP framing (:mod:`._framing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ._content import CREATED, fake_text, tool_arguments
from ._events import Events, anthropic_events, openai_events, replay_events, responses_events
from ._faults import Item, place_faults
from ._framing import Plan, endless_headers, frame
from ._http1 import json_response
from ._options import OptionError

__all__ = ["Plan", "group_writes", "render_completion", "render_stream"]


def _token_count(opts: dict[str, Any], max_tokens: int | None) -> int:
    n = opts["tokens"]
    return int(n if n is not None else (max_tokens if max_tokens is not None else 32))


def _stream_events(
    opts: dict[str, Any], *, api: str, model: str, prompt_tokens: int, include_usage: bool,
    max_tokens: int | None, corpus_dir: Path | None, nl: bytes,
) -> Events:  # fmt: skip
    n = _token_count(opts, max_tokens)
    if opts["replay"]:
        path = Path(opts["replay"])
        if not path.is_absolute() and corpus_dir is not None:
            path = corpus_dir / path
        if not path.is_file() or path.suffix != ".sse":
            raise OptionError(f"replay file not found: {opts['replay']}")
        return replay_events(path.read_bytes())
    ntools = int(opts["tool_calls"] or 0)
    completion = n + int(opts["reasoning_tokens"] or 0) + ntools * (1 + max(1, int(opts["tool_arg_chunks"])))
    if api == "anthropic":
        return anthropic_events(opts, model, n, (prompt_tokens, completion), nl)
    if api == "responses":
        return responses_events(opts, model, n, (prompt_tokens, completion) if opts["usage"] is not False else None, nl)
    usage = opts["usage"]
    if usage is None:
        usage = include_usage
    return openai_events(opts, model, n, (prompt_tokens, completion) if usage else None, nl)


def group_writes(opts: dict[str, Any], items: list[Item]) -> tuple[list[tuple[float, list[bytes]]], str, bool]:
    """Group items into timed writes; also how the stream ends (``"end"``,
    ``"cut"`` or ``"bad_chunk"``) and whether it got to its end marker.

    A write holds at most ``events_per_write`` delta events (plus the
    preamble, trailer and injected events around them) and goes out at the
    time of its last delta (``ttft`` plus one interval of ``tokens_per_second``
    per delta after the first); a stall shifts every later write."""
    rate = float(opts["tokens_per_second"] or 0)
    ttft = float(opts["ttft"] or 0)
    per_write = max(1, int(opts["events_per_write"]))
    writes: list[tuple[float, list[bytes]]] = []
    group: list[bytes] = []
    in_group = 0
    last_k = 0
    shift = 0.0
    ending, complete = "end", True

    def flush() -> None:
        nonlocal group, in_group
        if group:
            due = ttft + (max(last_k - 1, 0) / rate if rate > 0 else 0.0) + shift
            writes.append((due, group))
        group, in_group = [], 0

    for k, data, kind in items:
        if kind == "stall":
            flush()
            shift += float(opts["stall"])
            continue
        if kind in ("cut", "end", "bad_chunk"):
            ending, complete = kind, False
            break
        if kind == "" and k > last_k:  # one more delta event
            if in_group == per_write:
                flush()
            in_group += 1
            last_k = k
        group.append(data)
        if kind == "error":
            complete = False
            break
    flush()
    return writes, ending, complete


def render_stream(
    opts: dict[str, Any],
    *,
    api: str = "openai",
    model: str = "gpt-fake",
    prompt_tokens: int = 8,
    include_usage: bool = True,
    max_tokens: int | None = None,
    fault: bool = False,
    corpus_dir: Path | None = None,
) -> Plan:
    """Render a streaming response to a Plan (no I/O; cached by the caller).

    ``opts`` is a complete option set (:func:`merge_options`); the rest
    describe the request (``fault``: whether its fault applies). A benchmark
    gets the server's exact bytes with ``render_stream(merge_options({...}))``."""
    if fault and opts["endless_headers"]:
        return endless_headers()
    nl = b"\r\n" if opts["crlf"] else b"\n"
    events = _stream_events(
        opts, api=api, model=model, prompt_tokens=prompt_tokens, include_usage=include_usage,
        max_tokens=max_tokens, corpus_dir=corpus_dir, nl=nl,
    )  # fmt: skip
    items = place_faults(opts, events, api=api, nl=nl, fault=fault)
    writes, ending, complete = group_writes(opts, items)
    if not fault:  # the hostile framings are faults too
        opts = {**opts, "hang_after_done": None, "trickle_ms": None}
    return frame(opts, writes, ending=ending, complete=complete)


def render_completion(opts: dict[str, Any], *, api: str, model: str, prompt_tokens: int, max_tokens: int | None) -> bytes:
    """A complete (non-streaming) chat completion, Responses API response or Anthropic message."""
    n = _token_count(opts, max_tokens)
    text = fake_text(n)
    ntools = int(opts["tool_calls"] or 0)
    if api == "responses":
        output: list[dict[str, Any]] = [{
            "id": "msg_fake", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
        }]  # fmt: skip
        output += [
            {"id": f"fc_fake{t}", "type": "function_call", "status": "completed", "arguments": tool_arguments(t), "call_id": f"call_fake{t}", "name": "get_weather"}
            for t in range(ntools)
        ]
        body: dict[str, Any] = {
            "id": "resp_fake", "object": "response", "created_at": CREATED, "status": "completed", "error": None,
            "incomplete_details": None, "model": model, "output": output,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": n, "total_tokens": prompt_tokens + n},
        }  # fmt: skip
        return json_response(200, body)
    if api == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        content += [
            {"type": "tool_use", "id": f"toolu_fake{t}", "name": "get_weather", "input": orjson.loads(tool_arguments(t))}
            for t in range(ntools)
        ]
        body = {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": "tool_use" if ntools else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": n},
        }  # fmt: skip
        return json_response(200, body)
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if ntools:
        message["tool_calls"] = [
            {"id": f"call_fake{t}", "type": "function", "function": {"name": "get_weather", "arguments": tool_arguments(t)}}
            for t in range(ntools)
        ]
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if ntools else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n},
    }  # fmt: skip
    return json_response(200, body)
