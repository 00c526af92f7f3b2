"""The provider's own finish word survives normalisation: ``finish_reason``
speaks OpenAI's vocabulary for every format, and ``stop_reason`` (on the
decoder per choice, on ChoiceResult/ChatResult) keeps what the server said."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _client_helpers import Complete, complete_fixture

from turbosse import ChatAccumulator, accumulate
from turbosse.testing import FakeLLMServer

CORPUS = Path(__file__).parent / "corpus"


def _objects(path: Path) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded stream, read without turbosse."""
    objs = []
    for line in path.read_bytes().decode("utf-8").splitlines():
        if line.startswith("data:"):
            payload = line[5:].strip()
            try:
                obj = json.loads(payload)
            except ValueError:
                continue
            if isinstance(obj, dict):
                objs.append(obj)
    return objs


def _provider_word(path: Path) -> str | None:
    """The last finish word the server wrote, by the format's own field."""
    word = None
    for obj in _objects(path):
        t = obj.get("type")
        if t == "message_delta":
            word = obj.get("delta", {}).get("stop_reason") or word
        elif t in ("response.completed", "response.incomplete"):
            resp = obj["response"]
            reason = (resp.get("incomplete_details") or {}).get("reason")
            word = reason or resp.get("status")
    return word


def _decode(decoder_mod: ModuleType, data: bytes, chunk: int = 0) -> tuple[Any, Any]:
    dec = decoder_mod.ChatDecoder()
    acc = ChatAccumulator()
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        acc.extend(dec.feed(data[i:i + step]))
    acc.extend(dec.close())
    acc.stop_reasons = dec.stop_reasons
    return dec, acc.result()


STREAMS = sorted(p for p in CORPUS.glob("*.sse")
                 if p.stem.startswith("anthropic__") or "responses" in p.stem)


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
def test_corpus_stream_keeps_the_provider_word(decoder_mod: ModuleType, path: Path) -> None:
    word = _provider_word(path)
    assert word is not None, "every recorded anthropic/responses stream states how it ended"
    dec, whole = _decode(decoder_mod, path.read_bytes())
    assert dec.format in ("anthropic", "openai-responses")
    assert dec.stop_reasons == {0: word}
    assert whole.stop_reason == word == whole.choices[0].stop_reason
    assert whole.finish_reason is not None
    # chunking changes nothing
    _, split = _decode(decoder_mod, path.read_bytes(), chunk=7)
    assert split == whole


def _anthropic(stop_reason: str) -> bytes:
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "model": "claude", "role": "assistant",
            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason},
                           "usage": {"output_tokens": 2}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {e}\ndata: {json.dumps(o)}\n\n".encode() for e, o in events)


@pytest.mark.parametrize(("word", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("pause_turn", "pause_turn"),
])
def test_anthropic_stop_reason(decoder_mod: ModuleType, word: str, finish: str) -> None:
    dec = decoder_mod.ChatDecoder()
    result = accumulate([_anthropic(word)], decoder=dec)
    assert (result.content, result.finish_reason, result.stop_reason) == ("Hi", finish, word)
    assert dec.stop_reasons == {0: word}
    assert result.to_dict()["choices"][0]["stop_reason"] == word


def _responses(end: dict[str, Any]) -> bytes:
    events = [
        {"type": "response.created", "response": {"id": "r1", "model": "m", "status": "in_progress"}},
        {"type": "response.output_text.delta", "delta": "Hi"},
        end,
    ]
    return b"".join(f"event: {o['type']}\ndata: {json.dumps(o)}\n\n".encode() for o in events)


@pytest.mark.parametrize(("end", "finish", "word"), [
    ({"type": "response.completed", "response": {"status": "completed"}}, "stop", "completed"),
    ({"type": "response.incomplete", "response": {
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}},
     "length", "max_output_tokens"),
    ({"type": "response.incomplete", "response": {
        "status": "incomplete", "incomplete_details": {"reason": "content_filter"}}},
     "content_filter", "content_filter"),
    ({"type": "response.incomplete", "response": {"status": "incomplete"}}, "length", "incomplete"),
])
def test_responses_status(decoder_mod: ModuleType, end: dict[str, Any], finish: str, word: str) -> None:
    result = accumulate([_responses(end)], decoder=decoder_mod.ChatDecoder())
    assert (result.content, result.finish_reason, result.stop_reason) == ("Hi", finish, word)


def test_gemini_cohere_watsonx_words(decoder_mod: ModuleType) -> None:
    gemini = b'data: {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}},' \
             b' {"index": 1, "content": {"parts": [{"text": "Yo"}]}, "finishReason": "MAX_TOKENS"}]}\n\n' \
             b'data: {"candidates": [{"finishReason": "SAFETY"}]}\n\n'
    r = accumulate([gemini], decoder=decoder_mod.ChatDecoder())
    assert [(c.finish_reason, c.stop_reason) for c in r.choices] == [
        ("content_filter", "SAFETY"), ("length", "MAX_TOKENS")]
    cohere = (b'data: {"type": "content-delta", "delta": {"message": {"content": {"text": "Hi"}}}}\n\n'
              b'data: {"type": "message-end", "delta": {"finish_reason": "STOP_SEQUENCE"}}\n\n')
    r = accumulate([cohere], decoder=decoder_mod.ChatDecoder())
    assert (r.finish_reason, r.stop_reason) == ("stop", "STOP_SEQUENCE")
    watsonx = (b'data: {"model_id": "g", "results": [{"generated_text": "Hi", "stop_reason": "not_finished"}]}\n\n'
               b'data: {"model_id": "g", "results": [{"generated_text": "", "stop_reason": "token_limit"}]}\n\n')
    r = accumulate([watsonx], decoder=decoder_mod.ChatDecoder())
    assert (r.finish_reason, r.stop_reason) == ("length", "token_limit")


def test_openai_chat_has_no_separate_word(decoder_mod: ModuleType) -> None:
    body = (b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}\n\n'
            b"data: [DONE]\n\n")
    dec = decoder_mod.ChatDecoder()
    r = accumulate([body], decoder=dec)
    assert (r.finish_reason, r.stop_reason, dec.stop_reasons) == ("stop", None, {})


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(lifetime=300) as srv:
        yield srv


complete = complete_fixture()


def test_clients_carry_the_word(complete: Complete, server: FakeLLMServer) -> None:
    r = complete(client={"format": "anthropic", "api_key": "k"}, max_tokens=3)
    assert (r.finish_reason, r.stop_reason) == ("stop", "end_turn")
    r = complete(client={"format": "openai-responses", "api_key": "k"}, max_output_tokens=3)
    assert (r.finish_reason, r.stop_reason) == ("stop", "completed")
    r = complete(max_tokens=3)
    assert (r.finish_reason, r.stop_reason) == ("stop", None)
