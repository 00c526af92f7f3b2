"""The decoding contenders (bytes to tokens) and the tool-call accumulation
contenders, as rows for the in-process comparison.

Every row consumes the same network reads and touches what a chat consumer
uses: the content of each choice's delta. Two consumption modes
(``framing.CONSUME_MODES``; ``benchmarks/compare.py --consume``):

- ``stream``: each delta (or parsed chunk) is handled as it is produced and
  dropped, with the same sink for every row: ``c = <the delta's content>;
  if c: n += 1; size += len(c)``. turbosse iterates the list each ``feed()``
  returns; the others iterate their generators. The run returns ``(n, size)``.
- ``collect``: the run returns everything it produced (the deltas for
  turbosse, the non-empty content strings for the others), freed by the
  caller inside the timed region; ``summarize`` turns it into the
  same ``(token count, total characters)`` outside the timed region.

Either way every row is checked against turbosse.

- ``turbosse-cython`` / ``turbosse-python``: ``ChatDecoder.feed`` per read
  (a consumer reads ``d.content``).
- ``httpx-sse+json``: httpx-sse's pipeline (see framing.py), then
  ``json.loads(sse.data)`` and ``choices[i].delta.content``.
- ``openai-decoder+json``: the openai SDK's ``SSEDecoder``, then ``json.loads``.
- ``openai-Stream``: ``openai.Stream`` over an in-memory response, yielding
  ``ChatCompletionChunk`` models, as ``client.chat.completions.create(stream=True)``.
- ``naive+orjson``: split on blank lines, ``orjson.loads`` after ``data: ``.
- ``orjson.loads-floor``: ``orjson.loads`` of every payload, pre-split: the
  least any orjson-based decoder must spend. In collect mode the result is
  dropped at once, untouched; in stream mode the content is touched through
  the same sink as the other rows, then dropped.

The ``tool-calls-16k`` workload is a long stream of parallel tool-call
fragments; its rows build the final calls (``(id, name, arguments)``) with
turbosse's ChatAccumulator, the openai SDK's ``ChatCompletionStreamState``,
and a plain json + dict loop. Accumulating is streaming by nature: turbosse
and the openai SDK hand each delta to the accumulator and drop it in both
modes (the accumulators keep the argument fragments, as they must). The
modes differ in that the plain-json loop frames the whole stream into a list
of data strings first in collect mode (``framing.naive_run``) and
handles each one as it is split off in stream mode, and in that the
``(call count, argument characters)`` summary of the final calls is computed
inside the run (stream) or after it (collect).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any, cast

from . import framing as competitors
from .workloads import READ_SIZE, Workload, chunked

Summary = tuple[int, int]
Run = Callable[[list[bytes]], Any]
StreamRun = Callable[[list[bytes]], Summary]
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


# Each factory returns (collect run, stream run). The stream runs share one
# sink, written out inline in each (a function call per delta would be the
# harness's cost, not the competitor's):
#
#     c = <this delta's content>
#     if c:
#         n += 1
#         size += len(c)


def turbosse_run(module: str) -> tuple[Run, StreamRun]:
    import importlib

    ChatDecoder = importlib.import_module(module).ChatDecoder

    def run(chunks: list[bytes]) -> list[Any]:
        dec = ChatDecoder("openai-chat")
        feed = dec.feed
        out: list[Any] = []
        for chunk in chunks:
            out += feed(chunk)
        return out

    def stream(chunks: list[bytes]) -> Summary:
        dec = ChatDecoder("openai-chat")
        feed = dec.feed
        n = size = 0
        for chunk in chunks:
            for d in feed(chunk):
                c = d.content
                if c:
                    n += 1
                    size += len(c)
        return n, size

    return run, stream


def httpx_sse_json_run() -> tuple[Run, StreamRun]:
    events = competitors.PARSER_FACTORIES["httpx-sse"]().run
    iter_sse = competitors.httpx_sse_iter_sse()
    loads = json.loads

    def run(chunks: list[bytes]) -> list[str]:
        out: list[str] = []
        for sse in events(chunks):
            if sse.data != "[DONE]":
                _content(loads(sse.data), out)
        return out

    def stream(chunks: list[bytes]) -> Summary:
        n = size = 0
        for sse in iter_sse(chunks):
            if sse.data != "[DONE]":
                for ch in loads(sse.data).get("choices") or ():
                    c = (ch.get("delta") or {}).get("content")
                    if c:
                        n += 1
                        size += len(c)
        return n, size

    return run, stream


def openai_decoder_json_run() -> tuple[Run, StreamRun]:
    from openai._streaming import SSEDecoder

    loads = json.loads

    def run(chunks: list[bytes]) -> list[str]:
        out: list[str] = []
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            if sse.data.startswith("[DONE]"):
                break
            _content(loads(sse.data), out)
        return out

    def stream(chunks: list[bytes]) -> Summary:
        n = size = 0
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            if sse.data.startswith("[DONE]"):
                break
            for ch in loads(sse.data).get("choices") or ():
                c = (ch.get("delta") or {}).get("content")
                if c:
                    n += 1
                    size += len(c)
        return n, size

    return run, stream


def openai_stream_run() -> tuple[Run, StreamRun]:
    import httpx
    import openai
    from openai.types.chat import ChatCompletionChunk

    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1")
    request = httpx.Request("POST", "http://bench.invalid/v1/chat/completions")
    headers = {"content-type": "text/event-stream"}

    def run(chunks: list[bytes]) -> list[str]:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        out: list[str] = []
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=cast(Any, response), client=client):
            for ch in chunk.choices:
                if ch.delta.content:
                    out.append(ch.delta.content)
        return out

    def stream(chunks: list[bytes]) -> Summary:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        n = size = 0
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=cast(Any, response), client=client):
            for ch in chunk.choices:
                c = ch.delta.content
                if c:
                    n += 1
                    size += len(c)
        return n, size

    return run, stream


def naive_orjson_run(chunks: list[bytes]) -> list[str]:
    import orjson

    loads = orjson.loads
    out: list[str] = []
    for blocks in competitors.split_blocks(chunks):
        for block in blocks:
            if block.startswith(b"data: ") and block != b"data: [DONE]":
                _content(loads(block[6:]), out)
    return out


def naive_orjson_stream(chunks: list[bytes]) -> Summary:
    import orjson

    loads = orjson.loads
    n = size = 0
    for blocks in competitors.split_blocks(chunks):
        for block in blocks:
            if block.startswith(b"data: ") and block != b"data: [DONE]":
                for ch in loads(block[6:]).get("choices") or ():
                    c = (ch.get("delta") or {}).get("content")
                    if c:
                        n += 1
                        size += len(c)
    return n, size


def loads_floor(workload: Workload, consume: str = "stream"
                ) -> tuple[Callable[[list[bytes]], Any], Callable[[Any], Summary]]:
    """``(run, summarize)`` of the orjson.loads floor row in a consumption mode."""
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

    def stream(chunks: list[bytes]) -> Summary:
        n = size = 0
        for p in payloads:
            for ch in loads(p).get("choices") or ():
                c = (ch.get("delta") or {}).get("content")
                if c:
                    n += 1
                    size += len(c)
        return n, size

    if consume == "stream":
        return stream, competitors.as_summary
    if consume == "collect":
        return run, summarize
    raise ValueError(f"consume must be one of {competitors.CONSUME_MODES}, not {consume!r}")


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


def _summarized(run: Run) -> StreamRun:
    """Stream mode of an accumulate row: the same run, summary computed inside it."""

    def stream(chunks: list[bytes]) -> Summary:
        return _summarize_calls(run(chunks))

    return stream


def turbosse_accumulate_run(module: str) -> tuple[Run, StreamRun]:
    import importlib

    from turbosse import ChatAccumulator

    ChatDecoder = importlib.import_module(module).ChatDecoder

    def run(chunks: list[bytes]) -> list[Any]:
        dec = ChatDecoder("openai-chat")
        acc = ChatAccumulator()
        for chunk in chunks:
            acc.extend(dec.feed(chunk))
        return [tuple(c) for c in acc.result().tool_calls]

    return run, _summarized(run)


def openai_state_run() -> tuple[Run, StreamRun]:
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
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=cast(Any, response), client=client):
            state.handle_chunk(chunk)
        msg = state.current_completion_snapshot.choices[0].message
        return [(t.id, t.function.name, t.function.arguments) for t in msg.tool_calls or []]

    return run, _summarized(run)


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


def plain_json_accumulate_stream(chunks: list[bytes]) -> Summary:
    """``plain_json_accumulate_run`` in stream mode: the naive split loop
    (framing.split_blocks) with each data string handled as it is split off."""
    calls: dict[int, list[Any]] = {}
    for blocks in competitors.split_blocks(chunks):
        for block in blocks:
            if not block.startswith(b"data: "):
                continue
            text = block[6:].decode("utf-8", "replace")
            if text == "[DONE]":
                return _summarize_calls([(i, n, "".join(a)) for i, n, a in calls.values()])
            for ch in json.loads(text)["choices"]:
                for tc in ch["delta"].get("tool_calls") or ():
                    call = calls.setdefault(tc["index"], [None, None, []])
                    call[0] = call[0] or tc.get("id")
                    call[1] = call[1] or tc["function"].get("name")
                    call[2].append(tc["function"].get("arguments") or "")
    return _summarize_calls([(i, n, "".join(a)) for i, n, a in calls.values()])


# -- rows -----------------------------------------------------------------


def _pick(runners: tuple[Run, StreamRun], summarize: Callable[[Any], Summary], consume: str
          ) -> tuple[Run, Callable[[Any], Summary]]:
    """``(run, summarize)`` for ``consume`` from a ``(collect run, stream run)`` pair."""
    run, stream = runners
    if consume == "stream":
        return stream, competitors.as_summary
    if consume == "collect":
        return run, summarize
    raise ValueError(f"consume must be one of {competitors.CONSUME_MODES}, not {consume!r}")


def entries(workloads: dict[str, Workload], Entry: Any, consume: str = "stream",
            n_tool: int | None = None) -> list[Any]:
    """The rows for the decoding layer, in a consumption mode
    (``framing.CONSUME_MODES``). ``n_tool`` overrides the number of
    events of the tool-call workload (built when ``synthetic-16k`` is wanted)."""
    wanted = [w for name, w in workloads.items() if name in ("synthetic-16k", "synthetic-per-event")]
    twins = ["cython", "python"] if competitors.cython_wanted() else ["python"]
    rows = []
    for w in wanted:
        for twin in twins:
            rows.append(Entry("decoder", w, f"turbosse-{twin}",
                              *_pick(turbosse_run(MODULES[twin]), _tokens_of_deltas, consume),
                              turbosse=True))
        rows.append(Entry("decoder", w, "httpx-sse+json",
                          *_pick(httpx_sse_json_run(), _summarize_strings, consume)))
        rows.append(Entry("decoder", w, "openai-decoder+json",
                          *_pick(openai_decoder_json_run(), _summarize_strings, consume)))
        rows.append(Entry("decoder", w, "openai-Stream",
                          *_pick(openai_stream_run(), _summarize_strings, consume)))
        rows.append(Entry("decoder", w, "naive+orjson",
                          *_pick((naive_orjson_run, naive_orjson_stream), _summarize_strings, consume)))
        rows.append(Entry("decoder", w, "orjson.loads-floor", *loads_floor(w, consume)))
    if "synthetic-16k" in workloads:
        if n_tool is None:
            quick = workloads["synthetic-16k"].nbytes < 2_000_000
            # smaller than the text stream: the openai SDK row takes ~0.6 ms per event
            n_tool = 2_000 if quick else 5_000
        data = tool_call_stream(n_tool)
        tw = Workload("tool-calls-16k", chunked(data, READ_SIZE),
                      f"{n_tool} events of parallel tool-call fragments (4 calls), 16 KiB reads",
                      "tools")
        for twin in twins:
            rows.append(Entry("accumulate", tw, f"turbosse-{twin}",
                              *_pick(turbosse_accumulate_run(MODULES[twin]), _summarize_calls, consume),
                              turbosse=True))
        rows.append(Entry("accumulate", tw, "openai-StreamState",
                          *_pick(openai_state_run(), _summarize_calls, consume)))
        rows.append(Entry("accumulate", tw, "plain-json",
                          *_pick((plain_json_accumulate_run, plain_json_accumulate_stream),
                                 _summarize_calls, consume)))
    return rows
