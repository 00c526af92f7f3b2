"""Properties: random valid OpenAI chat streams (unicode, JSON escapes, tool
calls, n > 1 choices, usage chunks, CRLF, random chunking) decode to the same
deltas in both twins, and accumulate to what a plain json-based reference
accumulator, written here from the payloads, computes."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turbosse._accumulator import ChatAccumulator
from turbosse._decoder_py import ChatDecoder as ReferenceDecoder
from turbosse._errors import SSEError

text = st.text(max_size=12)
name = st.sampled_from(["get_weather", "lookup", "f\u00e9", "\u4e16"])


@st.composite
def choice_delta(draw: Any, index: int, call_ids: dict[tuple[int, int], str]) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if draw(st.booleans()):
        delta["role"] = "assistant"
    kind = draw(st.sampled_from(["content", "content", "reasoning_content", "reasoning", "refusal", "tool", "none"]))
    if kind == "tool":
        call_index = draw(st.integers(0, 2))
        call: dict[str, Any] = {"index": call_index, "function": {"arguments": draw(text)}}
        key = (index, call_index)
        if key not in call_ids:  # id and name come with a call's first fragment
            call_ids[key] = f"call_{index}_{call_index}"
            call["id"] = call_ids[key]
            call["type"] = "function"
            call["function"]["name"] = draw(name)
        delta["tool_calls"] = [call]
    elif kind != "none":
        delta[kind] = draw(text)
    if draw(st.booleans()):
        delta.setdefault("content", None)  # null fields, as many servers send
    return delta


@st.composite
def streams(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 3))
    call_ids: dict[tuple[int, int], str] = {}
    chunks = []
    for _ in range(draw(st.integers(0, 12))):
        indexes = draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=n, unique=True))
        choices = []
        for i in indexes:
            finish = draw(st.sampled_from([None, None, None, "stop", "length", "tool_calls"]))
            choices.append({"index": i, "delta": draw(choice_delta(i, call_ids)), "finish_reason": finish})
        chunk: dict[str, Any] = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "model": "m",
                                 "choices": choices}
        usage = draw(st.sampled_from(["absent", "null", "set"]))
        if usage == "null":
            chunk["usage"] = None
        elif usage == "set":
            p, c = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))
            chunk["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        chunks.append(chunk)
    return chunks


def encode(chunks: list[dict[str, Any]], ascii_: bool, compact: bool, crlf: bool, done: bool) -> bytes:
    seps = (",", ":") if compact else (", ", ": ")
    nl = "\r\n" if crlf else "\n"
    body = "".join(f"data: {json.dumps(c, ensure_ascii=ascii_, separators=seps)}{nl}{nl}" for c in chunks)
    if done:
        body += f"data: [DONE]{nl}{nl}"
    return body.encode("utf-8")


def reference(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The plain reading of the payloads, with json and dicts."""
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        if chunk.get("usage"):
            u = chunk["usage"]
            usage = {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
                     "total_tokens": u["total_tokens"]}
        for ch in chunk["choices"]:
            d = ch["delta"]
            fields = ("content", "reasoning_content", "reasoning", "refusal")
            if not (d.get("role") or any(d.get(k) for k in fields) or d.get("tool_calls") or ch["finish_reason"]):
                continue  # nothing in it: the decoder emits no delta
            c = choices.setdefault(ch["index"], {"index": ch["index"], "role": None, "content": "",
                                                 "reasoning": "", "refusal": "", "calls": {},
                                                 "finish_reason": None})
            if d.get("role") and c["role"] is None:
                c["role"] = d["role"]
            c["content"] += d.get("content") or ""
            c["reasoning"] += d.get("reasoning_content") or d.get("reasoning") or ""
            c["refusal"] += d.get("refusal") or ""
            for tc in d.get("tool_calls") or []:
                call = c["calls"].setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                call["id"] = call["id"] or tc.get("id")
                call["name"] = call["name"] or tc["function"].get("name")
                call["arguments"] += tc["function"].get("arguments") or ""
            if ch["finish_reason"]:
                c["finish_reason"] = ch["finish_reason"]
    return {
        "id": "chatcmpl-x" if chunks else None,
        "model": "m" if chunks else None,
        "choices": [
            {"index": c["index"], "role": c["role"], "content": c["content"] or None,
             "reasoning": c["reasoning"] or None, "refusal": c["refusal"] or None,
             "tool_calls": list(c["calls"].values()), "finish_reason": c["finish_reason"],
             "stop_reason": None}  # OpenAI chat: finish_reason is the server's own word
            for _, c in sorted(choices.items())
        ],
        "usage": usage,
    }


def decode(decoder: Any, body: bytes, cuts: list[int]) -> list[Any]:
    out: list[Any] = []
    start = 0
    for cut in sorted({c % (len(body) + 1) for c in cuts}) + [len(body)]:
        out += decoder.feed(body[start:cut])
        start = cut
    return out + decoder.close()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=streams(), ascii_=st.booleans(), compact=st.booleans(), crlf=st.booleans(), done=st.booleans(),
       cuts=st.lists(st.integers(0, 10**6), max_size=20))
def test_twins_agree_and_match_reference(decoder_mod: ModuleType, chunks: list[dict[str, Any]], ascii_: bool,
                                         compact: bool, crlf: bool, done: bool, cuts: list[int]) -> None:
    body = encode(chunks, ascii_, compact, crlf, done)
    dec = decoder_mod.ChatDecoder()
    deltas = decode(dec, body, cuts)
    # identical deltas in both twins, and chunking never changes them
    assert deltas == ReferenceDecoder().feed(body)
    acc = ChatAccumulator()
    acc.extend(deltas)
    acc.model, acc.id = dec.model, dec.id
    # tool calls appear in order of first appearance; the reference keeps
    # dict insertion order, which is the same
    assert acc.result().to_dict() == reference(chunks)
    assert dec.done == done
    # complete: the end marker, or every choice that appeared got a finish reason
    started = {c["index"] for chunk in chunks for c in chunk["choices"]}
    finished = {c["index"] for chunk in chunks for c in chunk["choices"] if c["finish_reason"]}
    assert dec.complete == (done or (bool(started) and started <= finished))
    assert not dec.unterminated  # decode() closed it; the body ended cleanly


@settings(max_examples=200)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_arbitrary_bytes_same_outcome_in_both_twins(decoder_mod: ModuleType, data: bytes, cuts: list[int]) -> None:
    """Garbage in: both twins give the same deltas or the same error."""
    body = b"data: " + data + b"\n\n" + data

    def outcome(decoder: Any, cuts_: list[int]) -> Any:
        try:
            deltas = decode(decoder, body, cuts_)  # feeds, then close()
            return deltas, decoder.skipped, decoder.complete, decoder.unterminated
        except Exception as exc:
            return type(exc).__name__, str(exc), getattr(exc, "deltas", None)

    for mode in ("raise", "skip"):
        assert outcome(decoder_mod.ChatDecoder(on_malformed=mode), cuts) == outcome(
            ReferenceDecoder(on_malformed=mode), [])


# -- real chunks with random values in random places ---------------------------

def _corpus_samples() -> list[tuple[str, Any]]:
    from make_golden import CORPUS_DIR

    from turbosse._parser_py import SSEParser

    samples = []
    for path in sorted(CORPUS_DIR.glob("*.sse")):
        for event_type, data in SSEParser(sentinel=b"[DONE]")._feed_raw(path.read_bytes())[:12]:
            try:
                samples.append((event_type, json.loads(data)))
            except ValueError:
                pass
    return samples


SAMPLES = _corpus_samples()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def mutate(obj: Any, path: list[int], value: Any) -> Any:
    """Replace the node that ``path`` leads to (choices taken modulo)."""
    if not path or not isinstance(obj, (dict, list)) or not obj:
        return value
    obj = dict(obj) if isinstance(obj, dict) else list(obj)
    keys = list(obj) if isinstance(obj, dict) else list(range(len(obj)))
    key = keys[path[0] % len(keys)]
    obj[key] = mutate(obj[key], path[1:], value)
    return obj


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.tuples(st.integers(0, len(SAMPLES) - 1), st.lists(st.integers(0, 50), max_size=6),
                                json_values), min_size=1, max_size=4),
       fmt=st.sampled_from(["auto", "openai-chat", "openai-responses", "anthropic", "gemini", "cohere",
                            "watsonx", "gemini-interactions"]))
def test_mutated_real_chunks_never_crash(decoder_mod: ModuleType, picks: list[Any], fmt: str) -> None:
    """Wrong types anywhere in real chunks: both twins give the same deltas or
    the same SSEError, never another exception."""
    body = b""
    for i, path, value in picks:
        event_type, obj = SAMPLES[i]
        payload = json.dumps(mutate(obj, path, value)).encode()
        body += (f"event: {event_type}\n" if event_type != "message" else "").encode() + b"data: " + payload + b"\n\n"

    def outcome(decoder: Any) -> Any:
        try:
            return decoder.feed(body), decoder.complete
        except SSEError as exc:
            return type(exc).__name__, str(exc), getattr(exc, "deltas", None)

    assert outcome(decoder_mod.ChatDecoder(fmt)) == outcome(ReferenceDecoder(fmt))
