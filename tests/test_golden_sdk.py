"""The golden files against the SDKs' own accumulators.

Each OpenAI-chat corpus stream is replayed through the openai SDK's
``ChatCompletionStreamState`` (what ``client.chat.completions.stream()``
uses), each Responses API stream through its ``ResponseStreamState`` and
each Anthropic Messages stream through the anthropic SDK's
``accumulate_event`` (what ``MessageStream`` uses). Where an SDK is right, its
result must equal our golden file. Where it is wrong, the test pins down *how*
it is wrong (so a fixed SDK makes the test fail and the table gets updated),
and our golden value is the one a reader can verify by eye in the stream:

- the SDK concatenates a role sent in every chunk ("assistantassistant...")
  and concatenates a call id and name sent twice ("00", "llm_versionllm_version");
- a later ``"usage": null`` chunk erases the usage (openai moderation stream);
- it ignores Groq's ``x_groq.usage``;
- it crashes on a first tool call at index 1 (IndexError), on tool calls with
  no index (TypeError, Mistral), on Azure's post-finish filter chunks and on
  legacy completions chunks without ``delta`` (AttributeError), and on
  Writer's tool-call stream (AssertionError).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from make_golden import CORPUS_DIR, GOLDEN_DIR

from turbosse._parser_py import SSEParser

openai_streaming = pytest.importorskip("openai.lib.streaming.chat")
openai_models = pytest.importorskip("openai._models")
openai_chat_types = pytest.importorskip("openai.types.chat")


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))


def payloads(path: Path) -> list[dict[str, Any]]:
    return [json.loads(d) for _, d in SSEParser(sentinel=b"[DONE]")._feed_raw(path.read_bytes())]


OPENAI_CHAT = [p for p in sorted(CORPUS_DIR.glob("*.sse")) if golden(p.stem)["format"] == "openai-chat"]

# stream -> exception the SDK raises on it
SDK_CRASHES = {
    "anthropic-openai-compat__chat-text-then-tool-call-index1": IndexError,
    "mistral__chat-tool-call-single-chunk": TypeError,
    "azure-openai__chat-async-content-filter-offsets": AttributeError,
    "vllm__legacy-completions-text-completion": AttributeError,
    "writer__chat-multiple-tool-calls": AssertionError,
}
# streams whose usage the SDK loses (x_groq.usage ignored; usage: null after usage)
SDK_LOSES_USAGE = {
    "groq__chat-compound-web-search",
    "groq__chat-llama3-x-groq-usage",
    "groq__chat-reasoning-raw-think-tags-long",
    "openai__chat-moderation-stream",
}
# stream -> (id, name) the SDK makes of a call header sent twice
SDK_DOUBLED_CALL = {"openrouter__chat-kimi-k2-novita-tool-call-args-empty-then-full": ("00", "llm_versionllm_version")}


def sdk_snapshot(path: Path) -> Any:
    state = openai_streaming.ChatCompletionStreamState()
    for obj in payloads(path):
        if "error" in obj and "choices" not in obj:
            break  # Groq's event: error; the SDK's Stream raises there
        state.handle_chunk(openai_models.construct_type(type_=openai_chat_types.ChatCompletionChunk, value=obj))
    return state.current_completion_snapshot


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic, on Mistral's content arrays
@pytest.mark.parametrize("path", OPENAI_CHAT, ids=[p.stem for p in OPENAI_CHAT])
def test_openai_sdk_accumulator(path: Path) -> None:
    name = path.stem
    ours = golden(name)["result"]
    if name in SDK_CRASHES:
        with pytest.raises(SDK_CRASHES[name]):
            sdk_snapshot(path)
        return
    snap = sdk_snapshot(path)
    assert len(snap.choices) == len(ours["choices"])
    for sc, oc in zip(sorted(snap.choices, key=lambda c: c.index), ours["choices"]):
        m = sc.message
        assert sc.index == oc["index"]
        assert (m.content or None) == oc["content"]
        assert (m.refusal or None) == oc["refusal"]
        assert sc.finish_reason == oc["finish_reason"]
        extra = m.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        if isinstance(reasoning, str) and reasoning:  # the SDK knows no reasoning field
            assert reasoning == oc["reasoning"]
        role = m.role
        if role and oc["role"] and role != oc["role"]:
            # the SDK's bug: a role repeated in every chunk is concatenated
            assert role == oc["role"] * (len(role) // len(oc["role"])) and len(role) > len(oc["role"])
        else:
            assert role == oc["role"] or (oc["role"] is None and role in (None, "assistant"))
        sdk_calls = [(t.id, t.function.name, t.function.arguments) for t in (m.tool_calls or [])]
        our_calls = [(t["id"], t["name"], t["arguments"]) for t in oc["tool_calls"]]
        if name in SDK_DOUBLED_CALL:
            assert [c[:2] for c in sdk_calls] == [SDK_DOUBLED_CALL[name]]
            assert [c[2] for c in sdk_calls] == [c[2] for c in our_calls]
        else:
            assert sdk_calls == our_calls
    sdk_usage = snap.usage and [snap.usage.prompt_tokens, snap.usage.completion_tokens, snap.usage.total_tokens]
    our_usage = ours["usage"] and list(ours["usage"].values())
    if name in SDK_LOSES_USAGE:
        assert sdk_usage is None and our_usage is not None
    else:
        assert sdk_usage == our_usage


ANTHROPIC = sorted(CORPUS_DIR.glob("anthropic__*.sse"))
ANTHROPIC_FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


@pytest.mark.parametrize("path", ANTHROPIC, ids=[p.stem for p in ANTHROPIC])
def test_anthropic_sdk_accumulator(path: Path) -> None:
    messages = pytest.importorskip("anthropic.lib.streaming._messages")
    amodels = pytest.importorskip("anthropic._models")
    atypes = pytest.importorskip("anthropic.types")
    jiter = pytest.importorskip("jiter")
    snap = None
    # newer SDKs keep the partial tool input in json_bufs; older ones take none
    extra = {"json_bufs": {}} if "json_bufs" in inspect.signature(messages.accumulate_event).parameters else {}
    for obj in payloads(path):
        event = amodels.construct_type(type_=atypes.RawMessageStreamEvent, value=obj)
        if obj.get("type") != "ping":
            snap = messages.accumulate_event(event=event, current_snapshot=snap, **extra)
    assert snap is not None
    ours = golden(path.stem)["result"]
    (choice,) = ours["choices"]
    assert ours["id"] == snap.id and ours["model"] == snap.model and choice["role"] == snap.role
    assert "".join(b.text for b in snap.content if b.type == "text") == (choice["content"] or "")
    assert "".join(b.thinking for b in snap.content if b.type == "thinking") == (choice["reasoning"] or "")
    # client tool calls only (server tools ran on the server); the SDK parses
    # the input, partially when it was cut off, as it does itself with jiter
    sdk_calls = [(b.id, b.name, b.input) for b in snap.content if b.type == "tool_use"]
    our_calls = [(t["id"], t["name"], jiter.from_json(t["arguments"].encode(), partial_mode=True))
                 for t in choice["tool_calls"]]
    assert sdk_calls == our_calls
    assert ANTHROPIC_FINISH[snap.stop_reason] == choice["finish_reason"]
    u = snap.usage
    prompt = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
    assert ours["usage"] == {"prompt_tokens": prompt, "completion_tokens": u.output_tokens,
                             "total_tokens": prompt + u.output_tokens}


RESPONSES = [p for p in sorted(CORPUS_DIR.glob("*.sse")) if golden(p.stem)["format"] == "openai-responses"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic, on server tool items
@pytest.mark.parametrize("path", RESPONSES, ids=[p.stem for p in RESPONSES])
def test_openai_sdk_responses_accumulator(path: Path) -> None:
    """Responses API streams against the openai SDK's ResponseStreamState.
    Its snapshot does not collect reasoning deltas (summary and reasoning
    text stay empty), so reasoning is checked against the server's own
    ``*.done`` events, which carry each part's full text."""
    responses = pytest.importorskip("openai.lib.streaming.responses._responses")
    rtypes = pytest.importorskip("openai.types.responses")
    import openai

    unset = getattr(openai, "omit", None) or openai.NOT_GIVEN  # the SDK's "not given" marker
    state = responses.ResponseStreamState(input_tools=unset, text_format=unset)
    done_reasoning = []
    for obj in payloads(path):
        state.handle_event(openai_models.construct_type(type_=rtypes.ResponseStreamEvent, value=obj))
        if obj.get("type") in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            done_reasoning.append(obj["text"])
    snap = state._ResponseStreamState__current_snapshot  # the SDK keeps it private
    ours = golden(path.stem)["result"]
    (choice,) = ours["choices"]
    text = "".join(c.text for it in snap.output if it.type == "message" for c in it.content
                   if c.type == "output_text")
    assert text == (choice["content"] or "")
    calls = [(it.call_id, it.name, it.arguments) for it in snap.output if it.type == "function_call"]
    assert calls == [(t["id"], t["name"], t["arguments"]) for t in choice["tool_calls"]]
    assert "".join(done_reasoning) == (choice["reasoning"] or "")
    usage = snap.usage or getattr(state._completed_response, "usage", None)
    if usage is not None:
        assert [usage.input_tokens, usage.output_tokens, usage.total_tokens] == list(ours["usage"].values())
    assert ours["model"] == snap.model and ours["id"] == snap.id
