"""turbosse.batch.run against the real fake server over loopback: rows and
their metrics, concurrency, rate, deadlines, reissues, early exit, and a
5,000-request batch with every kind of fault, where each request ends in
exactly one row with the right outcome."""

from __future__ import annotations

import time

import pytest

from turbosse import AsyncChatClient
from turbosse.batch import BatchInputError, Timing, aclose_client, make_client, run
from turbosse.testing import FakeLLMServer, fake_text

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def req(i, **fake):
    return {"custom_id": f"r{i}", "messages": MESSAGES, "fake": fake}


async def collect(requests, **kwargs):
    return [row async for row in run(requests, **kwargs)]


@pytest.mark.parametrize("transport", ["turbosse", "aiohttp", "httpx"])
async def test_rows_carry_result_and_metrics(server, transport):
    client = make_client(server.base_url, model="gpt-fake", transport=transport)
    try:
        rows = await collect([req(i, tokens=5 + i, tool_calls=i % 2) for i in range(6)], client=client)
    finally:
        await aclose_client(client)
    assert sorted(r["custom_id"] for r in rows) == [f"r{i}" for i in range(6)]
    for row in rows:
        i = int(row["custom_id"][1:])
        assert row["error"] is None and row["response"]["status_code"] == 200
        body = row["response"]["body"]
        message = body["choices"][0]["message"]
        assert message["content"] == fake_text(5 + i)
        assert len(message.get("tool_calls", [])) == i % 2
        m = row["metrics"]
        assert m["output_tokens"] == body["usage"]["completion_tokens"] and m["attempts"] == 1
        if i % 2 == 0:  # content only: one gap per token after the first
            assert m["output_tokens"] == 5 + i and len(m["itl"]) == 5 + i - 1
        else:  # the tool call's fragments are token-bearing chunks too
            assert m["output_tokens"] > 5 + i and len(m["itl"]) > 5 + i - 1
        assert 0 < m["ttft"] <= m["e2el"]
        assert m["bytes"] > 100 * m["output_tokens"]  # each token is a JSON chunk


async def test_every_transport_counts_the_same_body_bytes(server):
    counts = {}
    for transport in ("turbosse", "aiohttp", "httpx"):
        client = make_client(server.base_url, model="m", transport=transport)
        try:
            rows = await collect([req(0, tokens=30, tool_calls=1)], client=client)
        finally:
            await aclose_client(client)
        counts[transport] = rows[0]["metrics"]["bytes"]
    assert len(set(counts.values())) == 1, counts


async def test_metrics_match_the_servers_pacing():
    # 100 tokens/s: 10 ms between tokens; 0.1 s before the first event. The
    # server runs in its own process; on a busy machine its timers may fire
    # late and tokens arrive in bursts, so the per-request means are checked
    # (each request's total time must still follow the pacing).
    with FakeLLMServer(process=True, lifetime=60) as srv:
        requests = [req(i, tokens=20, tokens_per_second=100, ttft=0.1) for i in range(16)]
        rows = await collect(requests, base_url=srv.base_url, model="m", concurrency=16)
    assert len(rows) == 16
    for r in rows:
        m = r["metrics"]
        assert r["error"] is None and len(m["itl"]) == 19
        assert 0.1 <= m["ttft"] < 0.5
        assert sum(m["itl"]) / 19 == pytest.approx(0.010, rel=0.25)
        assert m["tpot"] == pytest.approx(0.010, rel=0.3)
        # after the last token: the finish and usage chunks, paced too
        assert 0 <= m["e2el"] - (m["ttft"] + sum(m["itl"])) < 0.1


async def test_concurrency_bounds_requests_in_flight(server):
    requests = [req(i, tokens=2, ttft=0.1) for i in range(12)]
    start = time.monotonic()
    rows = await collect(requests, base_url=server.base_url, model="m", concurrency=3)
    assert len(rows) == 12
    assert time.monotonic() - start >= 4 * 0.1  # 12 requests of >= 0.1 s, 3 at a time


async def test_rate_is_offered_and_held(server):
    timing = Timing()
    start = time.monotonic()
    rows = await collect([req(i, tokens=2) for i in range(11)], base_url=server.base_url, model="m", rate=50, arrival="constant", timing=timing)
    assert len(rows) == 11 and time.monotonic() - start >= 0.2
    planned, actual = timing.spans()
    assert planned == pytest.approx(0.2) and actual == pytest.approx(0.2, abs=0.05)


async def test_deadline_keeps_the_partial(server):
    rows = await collect([req(0, tokens=5, stall_after=2, stall=3.0)], base_url=server.base_url, model="m", deadline=0.3)
    err = rows[0]["error"]
    assert err["type"] == "DeadlineExceeded" and "0.3 s" in err["message"]
    assert err["partial"]["choices"][0]["message"]["content"] == fake_text(2)
    assert 0.3 <= rows[0]["metrics"]["e2el"] < 1.0


async def test_interrupted_stream_is_reissued_when_asked(server, request):
    key = request.node.nodeid
    once = req(0, tokens=6, disconnect_after=3, fail_times=1, fail_key=key)
    rows = await collect([once], base_url=server.base_url, model="m", retry_interrupted=1)
    assert rows[0]["error"] is None and rows[0]["metrics"]["attempts"] == 2
    assert rows[0]["response"]["body"]["choices"][0]["message"]["content"] == fake_text(6)
    always = req(1, tokens=6, disconnect_after=3)
    rows = await collect([always], base_url=server.base_url, model="m", retry_interrupted=2)
    assert rows[0]["error"]["type"] == "StreamInterrupted" and rows[0]["metrics"]["attempts"] == 3
    assert rows[0]["error"]["partial"]["choices"][0]["message"]["content"] == fake_text(3)


async def test_breaking_out_closes_everything(server):
    client = AsyncChatClient(base_url=server.base_url, model="m")
    async with client:
        got = 0
        async for _ in run([req(i, tokens=50, tokens_per_second=200) for i in range(40)], client=client, concurrency=8):
            got += 1
            if got == 3:
                break
        server.wait_until(lambda s: s["active_responses"] == 0, timeout=5)
    assert got == 3


async def test_bad_input_line_after_rows_in_flight(server):
    lines = [b'{"prompt": "a", "fake": {"tokens": 2}}', b'{"prompt": "b", "fake": {"tokens": 2}}', b"{oops"]
    rows = []
    with pytest.raises(BatchInputError) as info:
        async for row in run(lines, base_url=server.base_url, model="m"):
            rows.append(row)
    assert info.value.line == 3
    assert sorted(r["custom_id"] for r in rows) == ["request-1", "request-2"]


async def _async_lines(lines):
    for line in lines:
        yield line


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_async_sources_are_read_by_the_same_rules(server, kind):
    lines = ['\ufeff{"prompt": "a", "fake": {"tokens": 2}}', "  \n", b'{"prompt": "b", "fake": {"tokens": 2}}']
    source = _async_lines(lines) if kind == "async" else lines
    rows = await collect(source, base_url=server.base_url, model="m")  # a BOM and a blank line are fine
    assert sorted(r["custom_id"] for r in rows) == ["request-1", "request-3"]
    repeated = [{"custom_id": "x", "prompt": "a"}, {"custom_id": "x", "prompt": "b"}]
    with pytest.raises(BatchInputError, match="custom_id 'x' repeats an earlier line's") as info:
        await collect(_async_lines(repeated) if kind == "async" else repeated, base_url=server.base_url, model="m")
    assert info.value.line == 2


async def test_skip_and_a_request_the_client_rejects(server):
    lines = [
        {"custom_id": "done", "messages": MESSAGES},
        {"custom_id": "nomodel", "messages": MESSAGES},
        {"custom_id": "ok", "messages": MESSAGES, "model": "m", "fake": {"tokens": 2}},
    ]
    rows = await collect(lines, base_url=server.base_url, skip={"done"})
    by_id = {r["custom_id"]: r for r in rows}
    assert set(by_id) == {"nomodel", "ok"}
    assert by_id["nomodel"]["error"]["type"] == "ValueError" and "no model" in by_id["nomodel"]["error"]["message"]
    assert by_id["ok"]["error"] is None


async def test_a_lines_url_picks_the_api(server):
    lines = [
        {"custom_id": "chat", "url": "/v1/chat/completions", "body": {"messages": MESSAGES, "fake": {"tokens": 4}}},
        {"custom_id": "resp", "url": "/v1/responses", "body": {"input": MESSAGES, "fake": {"tokens": 5}}},
        {"custom_id": "anth", "url": "/v1/messages", "body": {"messages": MESSAGES, "max_tokens": 6, "fake": {"tokens": 6}}},
    ]
    rows = await collect(lines, base_url=server.base_url, model="m")
    by_id = {r["custom_id"]: r for r in rows}
    for cid, tokens in (("chat", 4), ("resp", 5), ("anth", 6)):
        row = by_id[cid]
        assert row["error"] is None, row["error"]
        assert row["response"]["body"]["choices"][0]["message"]["content"] == fake_text(tokens)
        assert row["metrics"]["output_tokens"] == tokens
    paths = [r["path"] for r in server.requests[-3:]]
    assert sorted(paths) == ["/v1/chat/completions", "/v1/messages", "/v1/responses"]


async def test_a_given_client_serves_only_its_api(server):
    client = make_client(server.base_url, model="m")
    try:
        lines = [{"custom_id": "a", "url": "/v1/messages", "body": {"messages": MESSAGES}}]
        rows = await collect(lines, client=client)
    finally:
        await aclose_client(client)
    assert rows[0]["error"]["type"] == "SSEError"
    assert "no client for the messages API" in rows[0]["error"]["message"]


# Each fault, its expected outcome: (fake options, error type or None, attempts, partial tokens)
FAULTS = [
    ({"tokens": 4}, None, 1, None),
    ({"tokens": 4, "fail_status": 429, "retry_after": 0.01, "fail_times": 1}, None, 2, None),
    ({"tokens": 4, "fail_status": 503, "retry_after_ms": 5, "fail_times": 2}, None, 3, None),
    ({"tokens": 4, "fail_status": 503, "retry_after": 0.01}, "APIStatusError", 3, None),
    ({"tokens": 4, "fail_status": 400}, "APIStatusError", 1, None),
    ({"tokens": 6, "disconnect_after": 0, "fail_times": 1}, None, 2, None),
    ({"tokens": 6, "disconnect_after": 3}, "StreamInterrupted", 1, 3),
    ({"tokens": 6, "malformed_after": 2}, "MalformedChunk", 1, 2),
    ({"tokens": 6, "error_after": 1, "error_type": "invalid_request_error"}, "StreamError", 1, 1),
    ({"tokens": 6, "stall_after": 2, "stall": 10.0}, "IdleTimeout", 1, 2),
]


async def test_five_thousand_requests_with_faults_one_row_each():
    n = 5000
    with FakeLLMServer(process=True, lifetime=300) as srv:
        requests = []
        for i in range(n):
            fake = dict(FAULTS[i % len(FAULTS)][0])
            if "fail_times" in fake:
                fake["fail_key"] = f"k{i}"
            requests.append({"custom_id": f"id-{i}", "messages": MESSAGES, "fake": fake})
        client = make_client(srv.base_url, model="m", concurrency=256, idle_timeout=1.0, backoff_initial=0.01, backoff_max=0.02)
        try:
            rows = await collect(requests, client=client, concurrency=256)
        finally:
            await aclose_client(client)
    assert len(rows) == n
    by_id = {r["custom_id"]: r for r in rows}
    assert len(by_id) == n  # exactly one row per request
    wrong = []
    for i in range(n):
        fake, error, attempts, partial = FAULTS[i % len(FAULTS)]
        row = by_id[f"id-{i}"]
        got_error = None if row["error"] is None else row["error"]["type"]
        ok = got_error == error and row["metrics"]["attempts"] == attempts
        if error is None:
            ok = ok and row["response"]["body"]["choices"][0]["message"]["content"] == fake_text(fake["tokens"])
        elif partial is not None:
            ok = ok and row["error"]["partial"]["choices"][0]["message"]["content"] == fake_text(partial)
        if fake.get("fail_status") and error:
            ok = ok and row["error"]["status"] == fake["fail_status"]
        if not ok:
            wrong.append((i, fake, row["error"], row["metrics"]["attempts"]))
    assert not wrong, f"{len(wrong)} rows with the wrong outcome, e.g. {wrong[:3]}"
