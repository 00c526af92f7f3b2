"""What the parser and the decoder survive: hostile and broken input, one
section per kind (tests/test_hostile_client.py does the same for the
accumulating helpers and the chat clients).

Read this module as the list of what the sans-IO layers withstand. Each test
feeds its input to both twins (the ``twin``-based fixtures of conftest.py) and
asserts what comes out: a typed SSEError that names the problem and keeps what
was decoded before it, or a documented tolerance. Nothing here may crash,
hang, grow without bound, escape as a raw dependency exception or lose data
silently.

Sections:

1. JSON nested deeper than the decoder can map
2. Oversized events
3. Truncated bodies: ``ChatDecoder.complete`` and ``unterminated``
4. ``retry`` values of any size
5. Memory bounded by ``max_event_bytes``
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from turbosse import Delta, EventTooLarge, MalformedChunk, SSEError, StreamError, ToolCallDelta

#: stands for a list nested 300 deep in a payload given to sse() (orjson
#: itself cannot encode one that deep)
DEEP = "@deep@"


def sse(*objs: Any) -> bytes:
    return b"".join(b"data: " + orjson.dumps(o).replace(b'"@deep@"', nested_json(300)) + b"\n\n"
                    for o in objs)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HELLO = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
HELLO_DELTA = Delta(0, content="hi")


# -- 1. JSON nested deeper than the decoder can map ---------------------------------------------
#
# orjson parses up to 1024 levels but re-encodes only 254: tool-call arguments
# sent as a JSON object (not the usual string) are re-encoded to text, and an
# error message that is not a string is turned into one. Either could raise
# TypeError or RecursionError out of feed(); they are MalformedChunk (for the
# arguments) and StreamError (for the error), with the deltas before them.

DEEP_ARGUMENTS = {
    "openai tool_calls": ("openai-chat", {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "function": {"name": "f", "arguments": DEEP}}]}}]}),
    "openai function_call": ("openai-chat", {"choices": [{"index": 0, "delta": {"function_call": {
        "name": "f", "arguments": DEEP}}}]}),
    "anthropic tool_use input": ("anthropic", {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "t1", "name": "f", "input": {"x": DEEP}}}),
    "gemini functionCall args": ("gemini", {"candidates": [{"index": 0, "content": {"role": "model", "parts": [
        {"functionCall": {"name": "f", "args": {"x": DEEP}}}]}}]}),
}  # fmt: skip
FIRST = {
    "openai-chat": (HELLO, HELLO_DELTA),
    "anthropic": ({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
                  HELLO_DELTA),
    "gemini": ({"candidates": [{"index": 0, "content": {"parts": [{"text": "hi"}]}}]}, HELLO_DELTA),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DEEP_ARGUMENTS))
def test_tool_arguments_nested_too_deep_to_encode(decoder_mod: ModuleType, case: str) -> None:
    fmt, deep = DEEP_ARGUMENTS[case]
    first, first_delta = FIRST[fmt]
    dec = decoder_mod.ChatDecoder(fmt)
    with pytest.raises(MalformedChunk) as info:
        dec.feed(sse(first, deep, HELLO if fmt == "openai-chat" else first))
    err = info.value
    assert err.deltas == [first_delta]  # decoded earlier in the same feed()
    assert err.event_number == 2
    assert "could not be decoded" in str(err) and "Recursion limit" in str(err)
    assert isinstance(err.__cause__, TypeError)
    with pytest.raises(SSEError, match="failed earlier"):
        dec.feed(sse(first))


def test_skip_mode_skips_the_event_that_cannot_be_mapped(decoder_mod: ModuleType) -> None:
    """With on_malformed="skip" the whole event is skipped, including what
    its other choices had produced, and decoding goes on."""
    _, deep = DEEP_ARGUMENTS["openai tool_calls"]
    two_choices = {"choices": [{"index": 1, "delta": {"content": "lost"}}, *deep["choices"]]}
    dec = decoder_mod.ChatDecoder(on_malformed="skip")
    end = {"choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}]}
    assert dec.feed(sse(HELLO, two_choices, end)) == [HELLO_DELTA, Delta(0, content="!", finish_reason="stop")]
    assert dec.skipped == 1
    assert dec.feed(sse(HELLO)) == [HELLO_DELTA]


@pytest.mark.parametrize("fmt", ["auto", "openai-chat"])
@pytest.mark.parametrize("first", [True, False])
def test_a_skipped_event_leaves_no_trace_in_the_decoders_state(decoder_mod: ModuleType, fmt: str, first: bool) -> None:
    """The skipped event's finish reason (of another choice than the one
    that failed), model and id are not kept: a stream whose only finish came
    in it is not complete, and accumulate says it was truncated."""
    from turbosse import StreamInterrupted, accumulate

    skipped = {"id": "c-skipped", "model": "m-skipped", "choices": [
        {"index": 0, "delta": {"content": "lost"}, "finish_reason": "stop"},
        {"index": 1, "delta": {"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": DEEP}}]}},
    ]}  # fmt: skip
    body = sse(skipped) if first else sse(HELLO, skipped)
    dec = decoder_mod.ChatDecoder(fmt, on_malformed="skip")
    assert dec.feed(body) == ([] if first else [HELLO_DELTA])
    assert (dec.skipped, dec.complete, dec.model, dec.id) == (1, False, None, None)
    with pytest.raises(StreamInterrupted, match="before it was complete"):
        accumulate([body], format=fmt, on_malformed="skip")
    # the same chunks, each choice able to be mapped: the state is the chunk's
    skipped["choices"][1]["delta"]["tool_calls"][0]["function"]["arguments"] = "{}"
    dec = decoder_mod.ChatDecoder(fmt, on_malformed="skip")
    dec.feed(sse(skipped))
    assert (dec.skipped, dec.model, dec.id) == (0, "m-skipped", "c-skipped")


def test_arguments_nested_within_the_limit_are_kept(decoder_mod: ModuleType) -> None:
    args = nested(200)
    body = sse({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "function": {"name": "f", "arguments": args}}]}}]})  # fmt: skip
    (delta,) = decoder_mod.ChatDecoder().feed(body)
    assert delta.tool_calls == (ToolCallDelta(0, "c1", "f", orjson.dumps(args).decode()),)


@pytest.mark.parametrize(
    "error",
    [
        b'{"message": ' + nested_json(1000) + b"}",
        b'{"message": "boom", "type": ' + nested_json(1000) + b"}",
        b'{"message": "boom", "code": ' + nested_json(1000) + b"}",
        nested_json(1000),
    ],
    ids=["message", "type", "code", "error-itself"],
)
def test_error_fields_nested_too_deep_to_show(decoder_mod: ModuleType, error: bytes) -> None:
    dec = decoder_mod.ChatDecoder()
    with pytest.raises(StreamError) as info:
        dec.feed(sse(HELLO) + b'data: {"error": ' + error + b"}\n\n")
    err = info.value
    assert err.deltas == [HELLO_DELTA]
    assert "nested too deeply to show" in str(err)
    with pytest.raises(SSEError, match="failed earlier"):
        dec.feed(sse(HELLO))


def test_json_deeper_than_the_parser_reads_is_malformed(decoder_mod: ModuleType) -> None:
    body = sse(HELLO) + b'data: {"choices": ' + nested_json(2000) + b"}\n\n"
    with pytest.raises(MalformedChunk, match="invalid JSON") as info:
        decoder_mod.ChatDecoder().feed(body)
    assert info.value.deltas == [HELLO_DELTA]


def test_deep_nesting_in_ignored_fields_is_harmless(decoder_mod: ModuleType) -> None:
    body = b'data: {"logprobs": ' + nested_json(900) + b', "choices": [{"index": 0, "delta": {"content": "hi"}}]}\n\n'
    assert decoder_mod.ChatDecoder().feed(body) == [HELLO_DELTA]


# -- 2. Oversized events -------------------------------------------------------------------------


def test_event_too_large_keeps_the_deltas_before_it(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder(max_event_bytes=200)
    big = b"data: " + b"x" * 300 + b"\n\n"
    with pytest.raises(EventTooLarge) as info:
        dec.feed(sse(HELLO, HELLO) + big + sse(HELLO))
    err = info.value
    assert err.limit == 200 and "200" in str(err)
    assert err.deltas == [HELLO_DELTA, HELLO_DELTA]  # type: ignore[attr-defined]
    with pytest.raises(SSEError, match="failed earlier"):
        dec.feed(sse(HELLO))


def test_event_too_large_split_over_reads(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder(max_event_bytes=100)
    assert dec.feed(sse(HELLO) + b"data: " + b"x" * 50) == [HELLO_DELTA]
    with pytest.raises(EventTooLarge) as info:
        dec.feed(b"y" * 60)
    assert info.value.deltas == []  # type: ignore[attr-defined]


# -- 3. Truncated bodies: complete and unterminated ---------------------------------------------
#
# The WHATWG rules discard an event that the body ends inside; the decoder
# says so (unterminated), and says whether the stream was complete: its end
# marker seen, or every started choice finished. A client uses complete to
# tell a finished answer from a cut one.

CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.sse"))
STOP = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _lines(body: bytes) -> list[bytes]:
    """The body cut after every line end (so each piece ends a line)."""
    pieces, start = [], 0
    for i, byte in enumerate(body):
        if byte == 0x0A or (byte == 0x0D and body[i + 1 : i + 2] != b"\n"):
            pieces.append(body[start : i + 1])
            start = i + 1
    if start < len(body):
        pieces.append(body[start:])
    return pieces


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_streams_are_complete_and_no_prefix_is_early(decoder_mod: ModuleType, path: Path) -> None:
    """Every recorded stream is complete at its end (except the one that
    ends in a provider error); fed line by line, complete turns true once
    and stays true, on the line that brought the end marker or the last
    finish reason, never before."""
    dec = decoder_mod.ChatDecoder()
    was_complete = False
    try:
        for piece in _lines(path.read_bytes()):
            deltas = dec.feed(piece)
            if dec.complete and not was_complete:
                assert dec.done or any(d.finish_reason for d in deltas), path.name
            assert dec.complete or not was_complete, "complete went back to false"
            was_complete = dec.complete
    except StreamError:
        return  # a provider error mid-stream: raised, whatever complete says
    dec.close()
    assert dec.complete, f"{path.name}: not complete at its end"


def test_complete_needs_every_started_choice_finished(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder()
    dec.feed(sse({"choices": [{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {"content": "b"}}]}))
    assert not dec.complete
    dec.feed(sse({"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]}))
    assert not dec.complete
    dec.feed(sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}))
    assert dec.complete and not dec.done


def test_choice_indices_beyond_64_are_tracked(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder()
    dec.feed(sse({"choices": [{"index": i, "delta": {"content": "x"}} for i in (0, 63, 64, -1, 2**40)]}))
    dec.feed(sse({"choices": [{"index": i, "delta": {}, "finish_reason": "stop"} for i in (0, 63, 64, -1)]}))
    assert not dec.complete
    dec.feed(sse({"choices": [{"index": 2**40, "delta": {}, "finish_reason": "stop"}]}))
    assert dec.complete


@pytest.mark.parametrize(
    "body",
    [b"", b": keepalive\n\n", sse({"choices": []}), sse({"usage": {"prompt_tokens": 1}, "choices": []})],
    ids=["empty", "comments-only", "no-choices", "usage-only"],
)
def test_nothing_started_is_not_complete(decoder_mod: ModuleType, body: bytes) -> None:
    dec = decoder_mod.ChatDecoder()
    dec.feed(body)
    dec.close()
    assert not dec.complete and not dec.unterminated


@pytest.mark.parametrize(
    ("tail", "unterminated"),
    [
        (b"", False),
        (b'data: {"choices": [{"index": 0, "delta": {"content": "l', True),  # mid-line
        (b'data: {"choices": [{"index": 0, "delta": {"content": "lost"}}]}\n', True),  # no blank line
        (b"event: message\n", True),
        (b"id: 9\r\n", True),
        (b": a comment without its line end", True),
        (b": a comment\n", False),
    ],
)
def test_body_ending_mid_event(decoder_mod: ModuleType, tail: bytes, unterminated: bool) -> None:
    dec = decoder_mod.ChatDecoder()
    assert dec.feed(sse(HELLO) + tail) == [HELLO_DELTA]
    assert not dec.unterminated  # only known at close()
    assert dec.close() == []
    assert dec.unterminated is unterminated
    assert not dec.complete


def test_finished_stream_with_a_cut_last_event_is_complete_and_unterminated(decoder_mod: ModuleType) -> None:
    # what several servers do: "data: [DONE]" with one line end, or none
    for tail in (b"data: [DONE]\n", b"data: [DONE]"):
        dec = decoder_mod.ChatDecoder()
        dec.feed(sse(HELLO, STOP) + tail)
        dec.close()
        assert dec.complete and not dec.done and dec.unterminated


def test_bytes_after_the_end_marker_are_not_an_unterminated_event(decoder_mod: ModuleType) -> None:
    dec = decoder_mod.ChatDecoder()
    dec.feed(sse(HELLO) + b"data: [DONE]\n\ndata: {tr")
    dec.close()
    assert dec.done and dec.complete and not dec.unterminated


# -- 4. retry values of any size -------------------------------------------------------------------


def test_retry_keeps_the_exact_integer(parser_mod: ModuleType) -> None:
    for value in (2**63 - 1, 2**63, 2**64, 10**100):
        parser = parser_mod.SSEParser()
        (ev,) = parser.feed(b"retry: %d\ndata: x\n\n" % value)
        assert ev.retry == value and parser.retry == value and type(ev.retry) is int


def test_retry_with_a_megabyte_of_digits_is_ignored(parser_mod: ModuleType) -> None:
    parser = parser_mod.SSEParser()
    (ev,) = parser.feed(b"retry: 5\nretry: " + b"7" * 1_000_000 + b"\ndata: x\n\n")
    assert ev.retry == 5 and parser.retry == 5
    assert [e.data for e in parser.feed(b"data: y\n\n")] == ["y"]


# -- 5. Memory bounded by max_event_bytes ---------------------------------------------------------


@pytest.mark.parametrize("line", [b"data:\n", b"data: x\n"])
def test_many_short_data_lines_cost_their_bytes(parser_mod: ModuleType, line: bytes) -> None:
    """Peak memory while parsing and dispatching one event of 300,000 short
    data lines stays within a few times its data: a list of lines joined at
    dispatch would cost ~85 bytes per line (bytes.join takes a buffer view
    of each item), far beyond max_event_bytes."""
    n = 300_000
    body = line * n + b"\n"
    chunks = [body[i : i + 16384] for i in range(0, len(body), 16384)]
    parser = parser_mod.SSEParser()
    tracemalloc.start()
    try:
        events = [ev for chunk in chunks for ev in parser.feed(chunk)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (ev,) = events
    size = len(ev.data)
    assert size == {b"data:\n": n - 1, b"data: x\n": 2 * n - 1}[line]
    assert peak < 4 * size + 2_000_000, f"peak {peak} bytes for {size} bytes of data"
