"""Decoder rows for compare.py: bytes -> tokens, and tool-call accumulation.

Every row consumes the same network reads and returns what a consumer uses:
the non-empty content strings (tokens), in order; ``summarize`` turns that
into ``(token count, total characters)`` outside the timed region so every
row is checked against turbosse.

- ``turbosse-cython`` / ``turbosse-python``: ``ChatDecoder.feed`` per read;
  the deltas are the result (a consumer reads ``d.content``).
- ``httpx-sse+json``: httpx-sse's pipeline (see competitors.py), then
  ``json.loads(sse.data)`` and ``choices[0].delta.content``.
- ``openai-decoder+json``: the openai SDK's ``SSEDecoder``, then ``json.loads``.
- ``openai-Stream``: ``openai.Stream`` over an in-memory response, yielding
  ``ChatCompletionChunk`` models, as ``client.chat.completions.create(stream=True)``.
- ``naive+orjson``: split on blank lines, ``orjson.loads`` after ``data: ``.
- ``orjson.loads-floor``: ``orjson.loads`` of every payload, pre-split, result
  dropped at once: the least any orjson-based decoder must spend.

The ``tool-calls-16k`` workload is a long stream of parallel tool-call
fragments; its rows build the final calls (``(id, name, arguments)``) with
turbosse's ChatAccumulator, the openai SDK's ``ChatCompletionStreamState``,
and a plain json + dict loop.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import competitors
from workloads import READ_SIZE, Workload, chunked

Summary = tuple[int, int]
TARGET_WORKLOAD = "synthetic-16k"
MODULES = {"cython": "turbosse._decoder_c", "python": "turbosse._decoder_py"}


def _tokens_of_deltas(deltas: list[Any]) -> Summary:
    texts = [d.content for d in deltas if d.content]
    return len(texts), sum(map(len, texts))


def _summarize_strings(texts: list[str]) -> Summary:
    return len(texts), sum(map(len, texts))


def _content(obj: dict[str, Any], out: list[str]) -> None:
    for ch in obj.get("choices") or ():
        c = (ch.get("delta") or {}).get("content")
        if c:
            out.append(c)


def turbosse_run(module: str) -> Callable[[list[bytes]], list[Any]]:
    import importlib

    ChatDecoder = importlib.import_module(module).ChatDecoder

    def run(chunks: list[bytes]) -> list[Any]:
        dec = ChatDecoder("openai-chat")
        feed = dec.feed
        out: list[Any] = []
        for chunk in chunks:
            out += feed(chunk)
        return out

    return run


def httpx_sse_json_run() -> Callable[[list[bytes]], list[str]]:
    events = competitors.PARSER_FACTORIES["httpx-sse"]().run
    loads = json.loads

    def run(chunks: list[bytes]) -> list[str]:
        out: list[str] = []
        for sse in events(chunks):
            if sse.data != "[DONE]":
                _content(loads(sse.data), out)
        return out

    return run


def openai_decoder_json_run() -> Callable[[list[bytes]], list[str]]:
    from openai._streaming import SSEDecoder

    loads = json.loads

    def run(chunks: list[bytes]) -> list[str]:
        out: list[str] = []
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            if sse.data.startswith("[DONE]"):
                break
            _content(loads(sse.data), out)
        return out

    return run


def openai_stream_run() -> Callable[[list[bytes]], list[str]]:
    import httpx
    import openai
    from openai.types.chat import ChatCompletionChunk

    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1")
    request = httpx.Request("POST", "http://bench.invalid/v1/chat/completions")
    headers = {"content-type": "text/event-stream"}

    def run(chunks: list[bytes]) -> list[str]:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        out: list[str] = []
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=response, client=client):
            for ch in chunk.choices:
                if ch.delta.content:
                    out.append(ch.delta.content)
        return out

    return run


def naive_orjson_run(chunks: list[bytes]) -> list[str]:
    import orjson

    loads = orjson.loads
    out: list[str] = []
    buf = bytearray()
    for chunk in chunks:
        start = len(buf) - 1 if buf else 0
        buf += chunk
        if buf.find(b"\n\n", start) < 0:
            continue
        *blocks, rest = buf.split(b"\n\n")
        buf = bytearray(rest)
        for block in blocks:
            if block.startswith(b"data: ") and block != b"data: [DONE]":
                _content(loads(block[6:]), out)
    return out


def loads_floor(workload: Workload) -> tuple[Callable[[list[bytes]], Any], Callable[[Any], Summary]]:
    import orjson

    payloads = [block[6:] for block in workload.data.split(b"\n\n")
                if block.startswith(b"data: ") and block != b"data: [DONE]"]
    loads = orjson.loads

    def run(chunks: list[bytes]) -> list[bytes]:
        for p in payloads:
            loads(p)
        return payloads

    def summarize(ps: list[bytes]) -> Summary:
        out: list[str] = []
        for p in ps:
            _content(loads(p), out)
        return _summarize_strings(out)

    return run, summarize


# -- tool-call accumulation -------------------------------------------------------


def tool_call_stream(n_events: int, n_calls: int = 4, seed: int = 7) -> bytes:
    """Parallel tool calls whose JSON arguments arrive in small fragments."""
    rng = random.Random(seed)
    head = {"id": "chatcmpl-tools", "object": "chat.completion.chunk", "created": 1718000000,
            "model": "gpt-4o-mini"}
    events = []

    def emit(delta: dict[str, Any], finish: str | None = None) -> None:
        body = dict(head, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
        events.append(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")

    emit({"role": "assistant", "content": None})
    for i in range(n_calls):
        emit({"tool_calls": [{"index": i, "id": f"call_{i:024d}", "type": "function",
                              "function": {"name": f"tool_{i}", "arguments": ""}}]})
    words = ["\"city\"", ":", " \"Paris\"", ",", " \"days\"", ": 3", ", \"notes\": \"", "caf\u00e9 \\\"ok\\\"", "\"}", "{"]
    for _ in range(n_events - n_calls - 3):
        emit({"tool_calls": [{"index": rng.randrange(n_calls), "function": {"arguments": rng.choice(words)}}]})
    emit({}, "tool_calls")
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def _summarize_calls(calls: list[tuple[str | None, str | None, str]]) -> Summary:
    return len(calls), sum(len(a) for _, _, a in calls)


def turbosse_accumulate_run(module: str) -> Callable[[list[bytes]], list[Any]]:
    import importlib

    from turbosse import ChatAccumulator

    ChatDecoder = importlib.import_module(module).ChatDecoder

    def run(chunks: list[bytes]) -> list[Any]:
        dec = ChatDecoder("openai-chat")
        acc = ChatAccumulator()
        for chunk in chunks:
            acc.extend(dec.feed(chunk))
        return [tuple(c) for c in acc.result().tool_calls]

    return run


def openai_state_run() -> Callable[[list[bytes]], list[Any]]:
    import httpx
    import openai
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1")
    request = httpx.Request("POST", "http://bench.invalid/v1/chat/completions")
    headers = {"content-type": "text/event-stream"}

    def run(chunks: list[bytes]) -> list[Any]:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        state = ChatCompletionStreamState()
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=response, client=client):
            state.handle_chunk(chunk)
        msg = state.current_completion_snapshot.choices[0].message
        return [(t.id, t.function.name, t.function.arguments) for t in msg.tool_calls or []]

    return run


def plain_json_accumulate_run(chunks: list[bytes]) -> list[Any]:
    """What people write: json per event, dicts by index, lists of fragments."""
    calls: dict[int, list[Any]] = {}
    for text in competitors.naive_run(chunks):
        if text == "[DONE]":
            break
        for ch in json.loads(text)["choices"]:
            for tc in ch["delta"].get("tool_calls") or ():
                call = calls.setdefault(tc["index"], [None, None, []])
                call[0] = call[0] or tc.get("id")
                call[1] = call[1] or tc["function"].get("name")
                call[2].append(tc["function"].get("arguments") or "")
    return [(i, n, "".join(a)) for i, n, a in calls.values()]


# -- rows and targets -----------------------------------------------------------------


def entries(workloads: dict[str, Workload], Entry: Any) -> list[Any]:
    """compare.py's rows for the decoding layer (issue 3)."""
    wanted = [w for name, w in workloads.items() if name in ("synthetic-16k", "synthetic-per-event")]
    twins = ["cython", "python"] if competitors.cython_wanted() else ["python"]
    rows = []
    for w in wanted:
        for twin in twins:
            rows.append(Entry("decoder", w, f"turbosse-{twin}", turbosse_run(MODULES[twin]),
                              _tokens_of_deltas, turbosse=True))
        rows.append(Entry("decoder", w, "httpx-sse+json", httpx_sse_json_run(), _summarize_strings))
        rows.append(Entry("decoder", w, "openai-decoder+json", openai_decoder_json_run(), _summarize_strings))
        rows.append(Entry("decoder", w, "openai-Stream", openai_stream_run(), _summarize_strings))
        rows.append(Entry("decoder", w, "naive+orjson", naive_orjson_run, _summarize_strings))
        run, summarize = loads_floor(w)
        rows.append(Entry("decoder", w, "orjson.loads-floor", run, summarize))
    if "synthetic-16k" in workloads:
        quick = workloads["synthetic-16k"].nbytes < 2_000_000
        # smaller than the text stream: the openai SDK row takes ~0.6 ms per event
        n_tool = 2_000 if quick else 5_000
        data = tool_call_stream(n_tool)
        tw = Workload("tool-calls-16k", chunked(data, READ_SIZE),
                      f"{n_tool} events of parallel tool-call fragments (4 calls), 16 KiB reads",
                      "tools")
        for twin in twins:
            rows.append(Entry("accumulate", tw, f"turbosse-{twin}",
                              turbosse_accumulate_run(MODULES[twin]),
                              _summarize_calls, turbosse=True))
        rows.append(Entry("accumulate", tw, "openai-StreamState", openai_state_run(), _summarize_calls))
        rows.append(Entry("accumulate", tw, "plain-json", plain_json_accumulate_run, _summarize_calls))
    return rows


def targets(results: list[Any]) -> str:
    """The issue-3 targets on this run's numbers (best-of and per-round median)."""
    by = {(r.entry.section, r.entry.workload.name, r.entry.name): r for r in results if r.error is None}
    lines = ["### issue 3 targets (same run)\n"]
    checks = [
        ("httpx-sse+json", "throughput >=", 6.0),
        ("openai-Stream", "throughput >=", 50.0),
        ("orjson.loads-floor", "cost <=", 1.3),
    ]
    for other, kind, goal in checks:
        a = by.get(("decoder", TARGET_WORKLOAD, "turbosse-cython"))
        b = by.get(("decoder", TARGET_WORKLOAD, other))
        if a is None or b is None:
            lines.append(f"- {TARGET_WORKLOAD}: turbosse-cython vs {other}: not measured")
            continue
        if kind == "cost <=":  # time of turbosse / time of the floor
            ratio = a.best / b.best
            paired = sorted(ta / tb for ta, tb in zip(a.times, b.times))
            met = ratio <= goal
            what = f"turbosse-cython costs {ratio:.2f}x {other} (target <= {goal:g}x)"
        else:  # speed-up: time of other / time of turbosse
            ratio = b.best / a.best
            paired = sorted(tb / ta for ta, tb in zip(a.times, b.times))
            met = ratio >= goal
            what = f"turbosse-cython is {ratio:.1f}x {other} (target >= {goal:g}x)"
        med = paired[len(paired) // 2] if paired else float("nan")
        lines.append(f"- {TARGET_WORKLOAD}: {what}: {'MET' if met else 'NOT MET'}; per-round median {med:.2f}x")
    lines.append("")
    return "\n".join(lines)
