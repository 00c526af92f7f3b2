"""FakeLLMServer's OpenAI Responses API (POST /v1/responses), over real
loopback HTTP: plain httpx, turbosse's decoder, and the real openai SDK."""

from __future__ import annotations

import json

import httpx
import pytest

import turbosse
from turbosse import SSEParser
from turbosse.testing import fake_text, tool_arguments


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c


def responses_body(**fake):
    return {"model": "gpt-fake", "input": "hi", "stream": True, "fake": fake}


def test_stream_has_the_responses_event_sequence(client):
    r = client.post("/responses", json=responses_body(tokens=3))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    evs = SSEParser().feed(r.content)
    assert all(e.event == json.loads(e.data)["type"] for e in evs)
    types = [e.event for e in evs]
    assert types == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    payloads = [json.loads(e.data) for e in evs]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta") == fake_text(3)
    done = payloads[-1]["response"]
    assert done["status"] == "completed" and done["model"] == "gpt-fake"
    assert done["output"][0]["content"][0]["text"] == fake_text(3)
    assert done["usage"]["output_tokens"] == 3


@pytest.mark.parametrize("chunk", [None, 7])
def test_turbosse_decodes_text_reasoning_and_tool_calls(twin, client, chunk):
    body = client.post("/responses", json=responses_body(tokens=5, reasoning_tokens=3, tool_calls=2)).content
    pieces = [body] if chunk is None else [body[i : i + chunk] for i in range(0, len(body), chunk)]
    result = turbosse.accumulate(pieces)
    assert result.content == fake_text(5) and result.reasoning == fake_text(3)
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        (f"call_fake{i}", "get_weather", tool_arguments(i)) for i in range(2)
    ]
    assert result.finish_reason == "tool_calls"
    assert result.usage is not None and result.usage.completion_tokens == 5 + 3 + 2 * 5


def test_max_output_tokens_sets_the_length(client):
    body = responses_body()
    del body["fake"]
    body["max_output_tokens"] = 6
    assert turbosse.accumulate([client.post("/responses", json=body).content]).content == fake_text(6)


def test_the_openai_sdk_reads_the_stream_and_the_complete_response(server):
    # the SDK comes with the bench extra (not in the wheel-test environment)
    openai = pytest.importorskip("openai")
    sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-fake", max_retries=0)
    with sdk.responses.stream(model="gpt-fake", input="hi", extra_body={"fake": {"tokens": 4, "tool_calls": 1}}) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == fake_text(4) == final.output_text
    call = final.output[-1]
    assert call.type == "function_call" and call.call_id == "call_fake0" and call.arguments == tool_arguments(0)
    whole = sdk.responses.create(model="gpt-fake", input="hi", extra_body={"fake": {"tokens": 4}})
    assert whole.output_text == fake_text(4) and whole.status == "completed"
    sdk.close()


def test_faults_and_pacing_options_apply(client):
    evs = SSEParser().feed(client.post("/responses", json=responses_body(tokens=4, error_after=2)).content)
    assert evs[-1].event == "error" and json.loads(evs[-1].data)["code"] == "server_error"
    assert not any(e.event == "response.completed" for e in evs)
    evs = SSEParser().feed(client.post("/responses", json=responses_body(tokens=4, malformed_after=1)).content)
    assert any(e.data.endswith('"broken') for e in evs)
    r = client.post("/responses", json=responses_body(tokens=2, fail_status=429, retry_after=1))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
