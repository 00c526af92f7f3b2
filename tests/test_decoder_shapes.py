"""The learned chunk shape (turbosse._shape_*): OpenAI chunks that differ from
an earlier one only in their text are decoded without orjson, and decode to
exactly what the full path gives, errors included.

The reference decodes each event with a fresh decoder, which never has a
shape to match (a shape is learned from an earlier event of the same
decoder), so it is the full path, event by event. Both twins run every test.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from conftest import CORPUS_DIR, twin_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turbosse import SSEParser
from turbosse._errors import SSEError

# Envelopes of real servers (see the corpus): {TEXT} is the varying string;
# {PAD} an OpenAI obfuscation string.
ENVELOPES = [
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt","system_fingerprint":"fp",'
    '"choices":[{"index":0,"delta":{"content":{TEXT}},"logprobs":null,"finish_reason":null}],"obfuscation":{PAD}}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt","choices":[{"index":0,'
    '"delta":{"content":{TEXT}},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":{PAD}}',
    '{"id":"c","object":"chat.completion.chunk","created":1,"model":"qwen","system_fingerprint":"fp_ollama",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":{TEXT}},"finish_reason":null}]}',
    '{"id":"d","choices":[{"index":0,"delta":{"content":null,"reasoning_content":{TEXT}},"finish_reason":null}]}',
    '{"id": "s", "choices": [{"index": 1, "delta": {"reasoning": {TEXT}}, "finish_reason": null}], "model": "m"}',
    '{"id":"v","object":"text_completion","choices":[{"index":0,"text":{TEXT},"finish_reason":null}]}',
    # {F}: null or "st" (as long): a finish reason or role that changes now
    # and then, before, between and after the strings
    '{"id":"n","choices":[{"index":0,"finish_reason":{F},"delta":{"content":{TEXT}},"logprobs":null}],"obfuscation":{PAD}}',
    '{"id":"n","choices":[{"index":0,"delta":{"content":{TEXT},"role":{F}}}],"obfuscation":{PAD},"n":1}',
    '{"id":"n","choices":[{"index":0,"delta":{"content":{TEXT}},"obfuscation":{PAD},"finish_reason":{F}}]}',
    '{"id":"n","choices":[{"index":0,"delta":{"content":{TEXT}},"logprobs":null,"finish_reason":{F}}]}',
    # traps: a second "content" (the last of duplicate keys wins), a nested one
    '{"choices":[{"index":0,"delta":{"content":{TEXT},"content":"x"}}]}',
    '{"choices":[{"index":0,"delta":{"content":"x","content":{TEXT}}}]}',
    '{"meta":{"content":{TEXT}},"choices":[{"index":0,"delta":{"content":{TEXT}}}]}',
    '{"choices":[{"index":0,"delta":{"content":{TEXT}}}],"error":null,"obfuscation":{PAD},"x":{"obfuscation":"1"}}',
]

# what a server might put where the text goes, as raw bytes: broken escapes,
# invalid UTF-8, raw control characters, a quote ending the string early
BAD_TEXT = [b'"\\x"', b'"\\u12"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"a\nb"', b'"a\x01"', b'"a"b"', b'"\\"',
            b'""', b'"\\ud800"', b'123', b'null', b'"a" ', b'"tail\\\\"']


def encode(payloads: list[bytes], crlf: bool, done: bool = True) -> bytes:
    nl = b"\r\n" if crlf else b"\n"
    return b"".join(b"data: " + p + nl + nl for p in payloads) + (b"data: [DONE]" + nl + nl if done else b"")


def run(decoder: Any, body: bytes, cuts: list[int]) -> tuple[list[Any], str | None]:
    """Every delta (those an error carried too) and the error's type."""
    out: list[Any] = []
    start = 0
    try:
        for cut in sorted({c % (len(body) + 1) for c in cuts}) + [len(body)]:
            out += decoder.feed(body[start:cut])
            start = cut
        out += decoder.close()
    except SSEError as exc:
        return out + (getattr(exc, "deltas", None) or []), type(exc).__name__
    return out, None


def full_path(decoder_mod: ModuleType, body: bytes, format: str = "openai-chat") -> tuple[list[Any], str | None]:
    """The deltas of each event decoded by a decoder of its own."""
    out: list[Any] = []
    for event_type, data in SSEParser(sentinel=b"[DONE]")._feed_raw(body):
        head = b"" if event_type == "message" else b"event: " + event_type.encode() + b"\n"
        got, error = run(decoder_mod.ChatDecoder(format), head + b"data: " + data.replace(b"\n", b"\ndata: ") + b"\n\n", [])
        out += got
        if error is not None:
            return out, error
    return out, None


def payload(envelope: str, text: bytes, pad: bytes = b'"abc"', n: int = 0) -> bytes:
    return envelope.encode().replace(b"{TEXT}", text).replace(b"{PAD}", pad).replace(b"{F}", b'"st"' if n else b"null")


texts = st.one_of(
    st.text(max_size=8).map(lambda t: json.dumps(t).encode()),
    st.text(max_size=8).map(lambda t: json.dumps(t, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.sampled_from(BAD_TEXT),
)
pads = st.one_of(st.text("abcXYZ019", max_size=12).map(lambda t: json.dumps(t).encode()),
                 st.sampled_from([b'"\\u0041"', b'"\xc3\xa9"', b'"\xff"', b'1', b'"a\x02"']))

# after the document: nothing, whitespace (valid JSON) or garbage (not)
trailers = st.sampled_from([b"", b"", b"", b"", b" ", b"x", b"}", b'"'])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(envelope=st.sampled_from(ENVELOPES), others=st.lists(st.sampled_from(ENVELOPES), max_size=2),
       items=st.lists(st.tuples(st.integers(0, 9), texts, pads, st.sampled_from([0, 0, 0, 1]), trailers), max_size=24), crlf=st.booleans(),
       cuts=st.lists(st.integers(0, 10**6), max_size=12))
def test_shaped_chunks_decode_as_the_full_path(decoder_mod: ModuleType, envelope: str, others: list[str],
                                               items: list[tuple[int, bytes, bytes, int, bytes]], crlf: bool, cuts: list[int]) -> None:
    # mostly one envelope, as a server sends; now and then another one
    envelopes = [envelope, *others]
    payloads = [payload(envelopes[k % len(envelopes)] if k < 3 else envelope, t, p, n) + x for k, t, p, n, x in items]
    body = encode(payloads, crlf)
    got = run(decoder_mod.ChatDecoder("openai-chat"), body, cuts)
    assert got == full_path(decoder_mod, body)
    # and in "auto", where the first event decides the format
    assert run(decoder_mod.ChatDecoder(), body, cuts) == got


def test_a_stream_of_one_shape_is_decoded_without_orjson(decoder_mod: ModuleType) -> None:
    texts = ["Hello", ", w\u00f6rld", "\n\n", ' "quoted" ', "\\", "\u4e16\u754c", "\U0001f600", "tab\there"]
    for envelope in ENVELOPES[:6]:
        payloads = [payload(envelope, json.dumps(t, ensure_ascii=i % 2 == 0).encode()) for i, t in enumerate(texts)]
        dec = decoder_mod.ChatDecoder()
        deltas = dec.feed(encode(payloads, False))
        assert "".join(d.content or d.reasoning for d in deltas) == "".join(texts)
        assert (deltas, None) == full_path(decoder_mod, encode(payloads, False))
        assert dec._shape_hits == len(texts) - 1, envelope  # all but the first, which taught the shape
        assert dec.complete and dec.done


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_every_byte_outside_the_text_is_checked(decoder_mod: ModuleType, envelope: str) -> None:
    # a chunk after two of the learned shape that differs elsewhere: in a
    # finish reason or role of the same length, the padding, or past the end
    variants = [payload(envelope, b'"three"', b'"abc"', 1), payload(envelope, b'"three"', b'"abcd"'),
                payload(envelope, b'"three"', b'""')]
    variants += [payload(envelope, b'"three"') + x for x in (b" ", b"x", b"}", b'"', b"\\")]
    first = encode([payload(envelope, b'"one"'), payload(envelope, b'"two"')], False, done=False)
    bodies = [first + b"data: " + variant + b"\n\n" for variant in variants]
    # the same bytes in an event of another type: an in-band error
    bodies.append(first + b"event: error\ndata: " + payload(envelope, b'"three"') + b"\n\n")
    for body in bodies:
        assert run(decoder_mod.ChatDecoder(), body, []) == full_path(decoder_mod, body), body


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_a_shaped_chunk_with_bad_text_fails_as_the_full_path(decoder_mod: ModuleType, bad: bytes) -> None:
    envelope = ENVELOPES[0]
    payloads = [payload(envelope, b'"one"'), payload(envelope, b'"two"'), payload(envelope, bad), payload(envelope, b'"four"')]
    body = encode(payloads, False)
    got = run(decoder_mod.ChatDecoder(), body, [])
    assert got == full_path(decoder_mod, body)
    assert [d.content for d in got[0]][:2] == ["one", "two"]


def test_ignored_padding_that_is_not_plain_goes_the_full_path(decoder_mod: ModuleType) -> None:
    envelope = ENVELOPES[0]
    for pad in (b'"\\u0041"', b'"\xc3\xa9"', b'"\xff"', b"1", b'"a\x02"', b'"a'):
        body = encode([payload(envelope, b'"one"'), payload(envelope, b'"two"', pad)], False)
        dec = decoder_mod.ChatDecoder()
        assert run(dec, body, []) == full_path(decoder_mod, body)
        assert dec._shape_hits == 0


def test_chunks_that_keep_changing_are_decoded_right(decoder_mod: ModuleType) -> None:
    # a new id in every chunk (Groq compound): no shape ever matches
    payloads = [b'{"id":"c-%d","choices":[{"index":0,"delta":{"content":"t%d"}}]}' % (i, i) for i in range(300)]
    dec = decoder_mod.ChatDecoder()
    deltas = dec.feed(encode(payloads, False))
    assert [d.content for d in deltas] == [f"t{i}" for i in range(300)]
    assert dec._shape_hits == 0


def _payloads_passed(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, arg: int) -> list[bytes]:
    """Wrap ``module.name``: the list it returns fills with the argument at
    position ``arg`` (the payload) of every call."""
    calls: list[bytes] = []
    original = getattr(module, name)

    def recording(*args: Any) -> Any:
        calls.append(args[arg])
        return original(*args)

    monkeypatch.setattr(module, name, recording)
    return calls


def test_learning_backs_off_when_shapes_never_match(twin: str, decoder_mod: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _payloads_passed(monkeypatch, twin_module(twin, "shape"), "learn", 1)
    payloads = [b'{"id":"c-%d","choices":[{"index":0,"delta":{"content":"t%d"}}]}' % (i, i) for i in range(2000)]
    dec = decoder_mod.ChatDecoder()
    assert [d.content for d in dec.feed(encode(payloads, False))] == [f"t{i}" for i in range(2000)]
    # each shape learned is useless (the next chunk has another id): the
    # attempts come after waits of 2, 4, 8 ... events, at most 1,024 apart
    assert 8 <= len(calls) <= 12
    # a stream of one shape learns once
    calls.clear()
    dec = decoder_mod.ChatDecoder()
    dec.feed(encode([payload(ENVELOPES[0], b'"t%d"' % i) for i in range(2000)], False))
    assert len(calls) == 1 and dec._shape_hits == 1999


def test_a_shape_is_confirmed_by_the_probes_only_when_a_payload_matches_it(
    twin: str, decoder_mod: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    confirmed = _payloads_passed(monkeypatch, twin_module(twin, "shape"), "confirm", 1)
    finish = b'{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
    # one text chunk, then the finish: the shape learned never matches, so no probe runs
    dec = decoder_mod.ChatDecoder()
    deltas = dec.feed(encode([payload(ENVELOPES[0], b'"only"'), finish], False))
    assert [d.content for d in deltas] == ["only", None] and deltas[1].finish_reason == "stop"
    assert confirmed == [] and dec._shape_hits == 0
    # a second text chunk matches: confirmed once, before its text is used
    dec = decoder_mod.ChatDecoder()
    texts = [b'"a"', b'"b"', b'"c\\n"']
    deltas = dec.feed(encode([payload(ENVELOPES[0], t) for t in texts] + [finish], False))
    assert [d.content for d in deltas] == ["a", "b", "c\n", None]
    assert confirmed == [payload(ENVELOPES[0], b'"a"')] and dec._shape_hits == 2


def test_a_split_the_probes_reject_is_never_used(twin: str, decoder_mod: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first split learn() finds is wrong (a duplicate "content" key: JSON's
    # last one wins): at the first match the probes reject it and confirm the
    # other split of the same payload, which then reads that payload
    trap = b'{"choices":[{"index":0,"delta":{"content":%s,"content":%s}}]}'
    payloads = [trap % (b'"x"', b'"x"'), trap % (b'"x"', b'"x"'), trap % (b'"x"', b'"z"'), trap % (b'"q"', b'"w"')]
    dec = decoder_mod.ChatDecoder()
    assert [d.content for d in dec.feed(encode(payloads, False))] == ["x", "x", "z", "w"]
    assert dec._shape_hits == 2  # the second and the third, by the split confirmed at the second
    # a payload that only the wrong split matches: its text would be the ignored value
    dec = decoder_mod.ChatDecoder()
    assert [d.content for d in dec.feed(encode([trap % (b'"x"', b'"x"'), trap % (b'"y"', b'"x"')], False))] == ["x", "x"]


def test_after_another_chunk_the_shape_still_holds(decoder_mod: ModuleType) -> None:
    envelope = ENVELOPES[1]
    finish = b'{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
    tool = b'{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}'
    payloads = [payload(envelope, b'"a"'), payload(envelope, b'"b"'), tool, payload(envelope, b'"c"'), finish]
    dec = decoder_mod.ChatDecoder()
    deltas = dec.feed(encode(payloads, False))
    assert (deltas, None) == full_path(decoder_mod, encode(payloads, False))
    assert dec._shape_hits == 2
    assert dec.complete and deltas[-1].finish_reason == "stop"


def test_recorded_streams_decode_as_the_full_path(decoder_mod: ModuleType) -> None:
    hits = events = 0
    for path in sorted(CORPUS_DIR.glob("*.sse")):
        raw = path.read_bytes()
        dec = decoder_mod.ChatDecoder()
        got = run(dec, raw, [])
        if dec.format not in ("openai-chat", "openai-completions"):
            continue
        assert got == full_path(decoder_mod, raw, dec.format), path.name
        hits += dec._shape_hits
        events += dec.events
    # most recorded OpenAI-style events are one chunk shape with another text
    assert events > 5000 and hits > events // 2


def test_a_payload_with_the_text_in_thousands_of_places_costs_a_bounded_number_of_probes(
    decoder_mod: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the text repeated in junk before the delta's own: every such place is a
    # split; trying them all (each a pass over the payload and two probe
    # decodes) made one event quadratic in its size
    import turbosse._shape_common as common

    verified = _payloads_passed(monkeypatch, common, "_verified", 0)
    junk = b",".join([b'{"content":"X"}'] * 4000)
    hostile = b'{"id":"c","junk":[' + junk + b'],"choices":[{"index":0,"delta":{"content":"X"}}]}'
    body = encode([hostile] * 3, False)
    dec = decoder_mod.ChatDecoder()
    assert run(dec, body, []) == full_path(decoder_mod, body)
    assert len(verified) <= 1 + common.MAX_SPLITS_TRIED
