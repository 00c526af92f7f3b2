"""turbosse.batch without a server: input lines and URL joining, the output
writer and resume (torn last line), the summary's statistics, the arrival
schedule and the rate-limit buckets, the progress line."""

from __future__ import annotations

import asyncio
import io
import math
import time

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from turbosse import ChatResult, ChoiceResult, StreamInterrupted, Usage
from turbosse.batch import (
    Admission,
    BatchInputError,
    BatchRequest,
    OutputFileError,
    OutputWriter,
    Summary,
    format_summary,
    join_url,
    parse_slo,
    read_requests,
)
from turbosse.batch._limits import TokenBucket, estimate_tokens
from turbosse.batch._progress import Progress
from turbosse.batch._rows import error_row, ok_row, result_body
from turbosse.batch._summary import percentile
from turbosse.batch._writer import scan_output

MESSAGES = [{"role": "user", "content": "hi"}]


# -- input -------------------------------------------------------------------


def test_batch_api_lines_and_plain_lines():
    lines = [
        b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}',
        b"",
        b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 3}',
        '{"prompt": "say hi", "custom_id": "mine"}',
        {"prompt": "from a dict"},
        BatchRequest("obj", {"messages": MESSAGES}),
    ]
    reqs = list(read_requests(lines))
    assert [r.custom_id for r in reqs] == ["a", "request-3", "mine", "request-5", "obj"]
    assert reqs[0].api == "chat.completions" and reqs[0].path == "/v1/chat/completions"
    assert reqs[0].body == {"model": "m", "messages": []}
    assert reqs[1].body == {"messages": [{"role": "user", "content": "x"}], "max_tokens": 3}
    assert reqs[2].body == {"messages": [{"role": "user", "content": "say hi"}]}
    assert orjson.loads(reqs[0].to_json()) == {
        "custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []},
    }  # fmt: skip


def test_ids_of_plain_lines_are_stable_across_reads(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"prompt": "a"}\n\n{"prompt": "b"}\n')
    assert [r.custom_id for r in read_requests(path)] == ["request-1", "request-3"]
    assert [r.custom_id for r in read_requests(str(path))] == ["request-1", "request-3"]
    with open(path, "rb") as fh:
        assert [r.custom_id for r in read_requests(fh)] == ["request-1", "request-3"]


def test_a_byte_order_mark_at_the_start_is_skipped(tmp_path):
    # as an editor on Windows saves the file; anywhere else it is bad JSON
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"prompt": "a"}\r\n{"prompt": "b"}\r\n')
    assert [r.body["messages"][0]["content"] for r in read_requests(path)] == ["a", "b"]
    assert [r.custom_id for r in read_requests(['\ufeff{"prompt": "a"}'])] == ["request-1"]
    path.write_bytes(b'{"prompt": "a"}\n\xef\xbb\xbf{"prompt": "b"}\n')
    with pytest.raises(BatchInputError, match="input line 2: not JSON"):
        list(read_requests(path))


@pytest.mark.parametrize(
    ("path", "api"),
    [("/v1/chat/completions", "chat.completions"), ("/v1/responses", "responses"), ("/v1/messages", "messages"),
     ("/chat/completions/", "chat.completions")],
)  # fmt: skip
def test_url_picks_the_api(path, api):
    req = next(read_requests([{"custom_id": "x", "url": path, "body": {"messages": []}}]))
    assert req.api == api


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"custom_id": 5, "messages": []}', "custom_id must be a non-empty string"),
        (b'{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}', "method must be POST"),
        (b'{"custom_id": "a", "url": "/v1/chat/completions", "body": []}', "body must be a JSON object"),
        (b'{"custom_id": "a", "url": "/v1/embeddings", "body": {}}', "unsupported request url '/v1/embeddings'"),
        (b'{"temperature": 1}', "a plain line needs messages or a prompt string"),
    ],
)
def test_bad_lines_name_the_line_and_the_reason(line, reason):
    with pytest.raises(BatchInputError) as info:
        list(read_requests([b'{"prompt": "ok"}', line]))
    assert info.value.line == 2
    assert reason in info.value.reason
    assert str(info.value).startswith("input line 2: ")


def test_repeated_custom_id_is_an_error():
    lines = [b'{"prompt": "a", "custom_id": "x"}', b'{"prompt": "b", "custom_id": "x"}']
    with pytest.raises(BatchInputError, match="custom_id 'x' repeats"):
        list(read_requests(lines))


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("http://h:8000/v1", "/v1/chat/completions", "http://h:8000/v1/chat/completions"),
        ("http://h:8000/v1/", "/v1/responses", "http://h:8000/v1/responses"),
        ("http://h:8000", "/v1/chat/completions", "http://h:8000/v1/chat/completions"),
        ("https://x.ai/openai/v1", "/chat/completions", "https://x.ai/openai/v1/chat/completions"),
        ("https://x.ai/openai/v1", "/v1/messages", "https://x.ai/openai/v1/messages"),
        ("http://h/v1/v1", "/v1/chat/completions", "http://h/v1/v1/chat/completions"),
    ],
)
def test_join_url_does_not_double_v1(base, path, url):
    assert join_url(base, path) == url


# -- rows --------------------------------------------------------------------

RESULT = ChatResult(
    [ChoiceResult(0, "assistant", "Hello", "think", None, [], "stop")], Usage(3, 2, 5), "m", "chatcmpl-1"
)


def test_rows_have_the_batch_api_shape():
    metrics = {"ttft": 0.1, "output_tokens": 2}
    row = ok_row("c1", RESULT, metrics, "req-9")
    assert row == {
        "id": "batch_req_c1", "custom_id": "c1", "error": None, "metrics": metrics,
        "response": {"status_code": 200, "request_id": "req-9", "body": {
            "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello", "reasoning_content": "think"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }},
    }  # fmt: skip
    err = error_row("c2", StreamInterrupted(ConnectionError("reset"), RESULT), metrics)
    assert err["response"] is None
    assert err["error"] == {
        "type": "StreamInterrupted", "message": "stream interrupted: ConnectionError: reset", "status": None,
        "code": None, "partial": result_body(RESULT),
    }  # fmt: skip
    assert error_row("c3", StreamInterrupted(OSError("x"), ChatResult()), {})["error"]["partial"] is None


# -- writer and resume -------------------------------------------------------


def test_writer_appends_whole_lines_and_resumes(tmp_path):
    out = tmp_path / "out.jsonl"
    with OutputWriter(out) as w:
        assert w.done == set()
        w.write({"custom_id": "a", "n": 1})
        w.write(b'{"custom_id":"b"}')
        assert out.read_bytes() == b'{"custom_id":"a","n":1}\n{"custom_id":"b"}\n'  # on disk before close
    with OutputWriter(out) as w:
        assert w.done == {"a", "b"}
        w.write({"custom_id": "c"})
    assert scan_output(out) == ({"a", "b", "c"}, len(out.read_bytes()))
    with OutputWriter(out, resume=False) as w:
        assert w.done == set()
    assert out.read_bytes() == b""


@pytest.mark.parametrize("tail", [b'{"custom_id": "c", "metr', b'{"custom_id": "c"}', b"garbage\n"])
def test_a_torn_last_line_is_cut_and_redone(tmp_path, tail):
    out = tmp_path / "out.jsonl"
    good = b'{"custom_id": "a"}\n{"custom_id": "b"}\n'
    out.write_bytes(good + tail)
    with OutputWriter(out) as w:
        assert w.done == {"a", "b"}
        w.write({"custom_id": "c"})
    assert out.read_bytes() == good + b'{"custom_id":"c"}\n'


def test_retry_failed_drops_the_error_rows_and_the_torn_tail(tmp_path):
    out = tmp_path / "out.jsonl"
    ok_a, bad, ok_c = b'{"custom_id":"a","error":null}\n', b'{"custom_id":"b","error":{"type":"X"}}\n', b'{"custom_id":"c"}\n'
    out.write_bytes(ok_a + bad + ok_c + b'{"custom_id":"d","er')
    with OutputWriter(out, retry_failed=True) as w:
        assert w.dropped == 1 and w.done == {"a", "c"}
        w.write({"custom_id": "b", "error": None})
    assert out.read_bytes() == ok_a + ok_c + b'{"custom_id":"b","error":null}\n'
    assert not (tmp_path / "out.jsonl.tmp").exists()
    before = out.read_bytes()
    with OutputWriter(out, retry_failed=True) as w:  # nothing failed: the file is left as it is
        assert w.dropped == 0
    assert out.read_bytes() == before
    out.write_bytes(bad + b"not json\n" + ok_c)
    with pytest.raises(OutputFileError):  # a damaged file is reported before anything is rewritten
        OutputWriter(out, retry_failed=True)
    assert out.read_bytes() == bad + b"not json\n" + ok_c


def test_a_bad_line_before_the_last_is_an_error(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"custom_id": "a"}\nnot json\n{"custom_id": "b"}\n')
    with pytest.raises(OutputFileError) as info:
        OutputWriter(out)
    assert info.value.line == 2
    assert out.read_bytes().count(b"\n") == 3  # nothing was truncated


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=20), st.integers(0, 200))
def test_resume_keeps_exactly_the_complete_rows(tmp_path_factory, ids, cut):
    out = tmp_path_factory.mktemp("w") / "out.jsonl"
    lines = [orjson.dumps({"custom_id": i, "pad": "x" * 5}) + b"\n" for i in ids]
    data = b"".join(lines)
    cut = min(cut, len(data))
    out.write_bytes(data[:cut])
    complete = []
    size = 0
    for i, line in zip(ids, lines):
        if size + len(line) > cut:
            break
        size += len(line)
        complete.append(i)
    with OutputWriter(out) as w:
        assert w.done == set(complete)
    assert out.read_bytes() == data[:size]


# -- summary -----------------------------------------------------------------


def _row(ttft, itl, out, error=None):
    tpot = (ttft + sum(itl) - ttft) / (out - 1) if out > 1 else 0.0
    metrics = {"ttft": ttft, "itl": itl, "tpot": tpot, "e2el": ttft + sum(itl), "output_tokens": out, "prompt_len": 4}
    return {"custom_id": "x", "error": None if error is None else {"type": error}, "metrics": metrics}


def test_percentiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 4.0
    assert math.isnan(percentile([], 50))


def test_summary_statistics_and_goodput():
    s = Summary(parse_slo("ttft=150,tpot=20"))
    s.add(_row(0.1, [0.01, 0.01, 0.01], 4))
    s.add(_row(0.2, [0.01], 2))  # misses the ttft SLO
    s.add(_row(0.05, [0.05], 2))  # misses the tpot SLO
    s.add(_row(0.05, [], 1, error="APIStatusError"))
    s.add(_row(0.05, [], 1, error="APIStatusError"))
    s.add(_row(0.05, [], 0, error="IdleTimeout"))
    r = s.result(2.0, cpu_seconds=0.001, offered_rate=10.0, schedule=(1.0, 1.02))
    assert r["completed"] == 3 and r["failed"] == 3
    assert r["errors"] == {"APIStatusError": 2, "IdleTimeout": 1}
    assert r["total_output_tokens"] == 10 and r["total_input_tokens"] == 24
    assert r["request_throughput"] == 3.0 and r["output_throughput"] == 5.0
    assert r["client_cpu_us_per_token"] == pytest.approx(100.0)
    assert r["median_ttft_ms"] == pytest.approx(100.0)
    assert r["mean_itl_ms"] == pytest.approx(1000 * 0.09 / 5)
    assert r["request_goodput"] == 0.5
    assert r["offered_rate_held"] is True
    assert s.result(2.0, offered_rate=10.0, schedule=(1.0, 1.5))["offered_rate_held"] is False
    text = format_summary(r)
    assert "requests: 6 (3 ok, 3 failed)" in text and "APIStatusError 2" in text
    assert "goodput: 0.50 requests/s meeting ttft<=150ms, tpot<=20ms" in text


@pytest.mark.parametrize(
    ("text", "error"),
    [("ttft=a", "needs a number"), ("latency=3", "unknown SLO 'latency'"), ("tpot=0", "must be > 0")],
)
def test_bad_slo(text, error):
    with pytest.raises(ValueError, match=error):
        parse_slo(text)
    assert parse_slo("ttft:500, e2el=2000") == {"ttft": 500.0, "e2el": 2000.0}


# -- limits ------------------------------------------------------------------


def test_constant_arrivals_keep_the_schedule():
    async def go():
        adm = Admission(rate=50.0, arrival="constant")
        start = time.monotonic()
        for _ in range(6):
            await adm.wait(0)
        return time.monotonic() - start, adm.last_due - adm.first_due

    elapsed, planned = asyncio.run(go())
    assert planned == pytest.approx(0.1)
    assert 0.1 <= elapsed < 0.3


def test_poisson_schedule_is_reproducible_with_a_seed():
    a, b = Admission(rate=1000.0, seed=7), Admission(rate=1000.0, seed=7)
    assert [a._interval() for _ in range(5)] == [b._interval() for _ in range(5)]
    poisson, constant = Admission(rate=100.0, seed=1), Admission(rate=100.0, arrival="constant")
    intervals = [poisson._interval() for _ in range(4000)]
    assert sum(intervals) / len(intervals) == pytest.approx(0.01, rel=0.1)
    assert len({round(x, 9) for x in intervals}) > 3900  # exponential, not fixed
    assert {constant._interval() for _ in range(10)} == {0.01}


def test_token_bucket_refills_and_lets_a_big_request_through():
    bucket = TokenBucket(per_minute=600)  # 10/s, holds 10
    assert bucket.delay(1) == 0
    bucket.take(10)
    assert bucket.delay(1) == pytest.approx(0.1, abs=0.02)
    bucket.give(10)
    assert bucket.delay(50) == 0  # more than the bucket holds: goes when full
    bucket.take(50)
    assert bucket.delay(1) == pytest.approx(4.1, abs=0.05)


def test_rpm_limit_spaces_requests():
    async def go():
        adm = Admission(rpm=1200)  # 20/s, bursts of 20
        start = time.monotonic()
        for _ in range(26):
            await adm.wait(0)
        return time.monotonic() - start

    assert asyncio.run(go()) >= 0.25


def test_token_estimate():
    assert estimate_tokens({"messages": "x" * 40, "max_tokens": 100}) == 110
    assert estimate_tokens({"prompt": "abcd"}) == 1
    assert estimate_tokens({"messages": MESSAGES, "max_completion_tokens": 7}) > 7


@pytest.mark.parametrize(("kwargs", "error"), [({"rate": 0}, "rate"), ({"arrival": "burst"}, "arrival")])
def test_bad_admission(kwargs, error):
    with pytest.raises(ValueError, match=error):
        Admission(**kwargs)


# -- progress ----------------------------------------------------------------


def test_progress_plain_line_on_a_terminal(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    out = io.StringIO()
    p = Progress(2, enabled=True, stream=out)
    p.update({"error": None, "metrics": {"output_tokens": 5}})
    p.update({"error": {"type": "X"}, "metrics": {"output_tokens": 1}})
    p.close()
    assert "\r2/2 requests, 1 failed" in out.getvalue()
    assert out.getvalue().endswith("\n")


def test_progress_with_tqdm_and_quiet_off_a_terminal():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    p = Progress(3, enabled=True, stream=out)
    for _ in range(3):
        p.update({"error": None, "metrics": {"output_tokens": 2}})
    p.close()
    assert "3/3" in out.getvalue()
    quiet = io.StringIO()
    p = Progress(3, stream=quiet)  # a StringIO is no terminal
    p.update({"error": None, "metrics": {}})
    p.close()
    assert quiet.getvalue() == "" and p.done == 1
