"""``turbosse batch`` as a user runs it, in a subprocess, against the fake
server: the shipped example on the embedded server (each twin), the summary
JSON, resume after SIGKILL at a random moment, Ctrl-C, --workers 2 writing
the same rows as --workers 1, and bad input."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from turbosse.batch._writer import scan_output
from turbosse.testing import FakeLLMServer, fake_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "batch_requests.jsonl"


def batch(*args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "turbosse", "batch", *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env, **kwargs,
    )  # fmt: skip


def start(*args):
    # a process group of its own, as a terminal's foreground job (conftest
    # makes sure SIGINT is not inherited as ignored)
    return subprocess.Popen(
        [sys.executable, "-m", "turbosse", "batch", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def rows_of(path):
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]


def write_input(path, n, fake):
    with open(path, "wb") as fh:
        for i in range(n):
            body = {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}], "fake": fake(i)}
            fh.write(orjson.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}) + b"\n")


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer(process=True, lifetime=300) as srv:
        yield srv


def test_example_on_the_embedded_server(tmp_path, twin):
    env = dict(os.environ)
    env.pop("TURBOSSE_NO_EXTENSIONS", None)
    if twin == "python":
        env["TURBOSSE_NO_EXTENSIONS"] = "1"
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    proc = batch(EXAMPLE, "-o", out, "--summary-json", summary, "--slo", "ttft=5000", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(out)
    inputs = [orjson.loads(line) for line in EXAMPLE.read_bytes().splitlines() if line.strip()]
    assert len(rows) == len(inputs) == 10
    assert {r["custom_id"] for r in rows} == {f"example-{i}" for i in range(8)} | {"request-9", "request-10"}
    for r in rows:
        assert r["error"] is None
        assert r["response"]["body"]["choices"][0]["message"]["content"].startswith(fake_text(1))
    s = orjson.loads(summary.read_bytes())
    assert s["completed"] == 10 and s["failed"] == 0 and s["request_goodput"] > 0
    assert "requests: 10 (10 ok, 0 failed)" in proc.stderr and "TTFT" in proc.stderr
    again = batch(EXAMPLE, "-o", out, env=env)  # resume: nothing left to do
    assert again.returncode == 0 and "10 requests already in" in again.stderr
    assert len(rows_of(out)) == 10


def test_failed_requests_set_the_exit_status(tmp_path, server):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, 4, lambda i: {"tokens": 3, "fail_status": 400 if i == 2 else None})
    proc = batch(inp, "-o", out, "--url", server.base_url, "--summary-json", tmp_path / "s.json")
    assert proc.returncode == 1, proc.stderr
    errors = {r["custom_id"]: r["error"] for r in rows_of(out)}
    assert errors["c2"]["type"] == "APIStatusError" and errors["c2"]["status"] == 400
    assert [k for k, v in errors.items() if v is None] == sorted(set(errors) - {"c2"}, key=list(errors).index)
    assert orjson.loads((tmp_path / "s.json").read_bytes())["errors"] == {"APIStatusError": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--slo", "fast=1"], "unknown SLO"), (["--fake-options", "[1]"], "must be a JSON object"),
     (["--fake-options", '{"nope": 1}'], "nope"), (["--concurrency", "0"], "must be an integer > 0, not 0"),
     (["--slo", "ttft=nan"], "SLO ttft must be > 0 ms and finite, not nan"),
     (["--slo", "tpot=inf"], "SLO tpot must be > 0 ms and finite, not inf")],
)  # fmt: skip
def test_bad_options(tmp_path, args, message):
    proc = batch(EXAMPLE, "-o", tmp_path / "out.jsonl", *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_bad_input_line(tmp_path, server):
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b'{"prompt": "a"}\n{"prompt": 3}\n')
    proc = batch(inp, "-o", tmp_path / "out.jsonl", "--url", server.base_url, "--model", "m")
    assert proc.returncode == 2
    assert "input line 2: a plain line needs messages or a prompt string" in proc.stderr


def test_retry_failed_runs_the_failed_requests_again(tmp_path, server, request):
    # the first attempt of c1 and c3 fails (400: no client retry); a plain rerun
    # keeps their error rows, --retry-failed drops them and asks again
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    fault = {"fail_status": 400, "fail_times": 1}
    write_input(inp, 5, lambda i: {"tokens": 3, **(fault | {"fail_key": f"{request.node.nodeid}-{i}"} if i in (1, 3) else {})})
    assert batch(inp, "-o", out, "--url", server.base_url).returncode == 1
    failed = {r["custom_id"] for r in rows_of(out) if r["error"]}
    assert failed == {"c1", "c3"}
    again = batch(inp, "-o", out, "--url", server.base_url)
    assert again.returncode == 0 and "5 requests already in" in again.stderr  # errors included: nothing redone
    assert {r["custom_id"] for r in rows_of(out) if r["error"]} == failed
    ok_before = [r for r in rows_of(out) if not r["error"]]
    redo = batch(inp, "-o", out, "--url", server.base_url, "--retry-failed")
    assert redo.returncode == 0, redo.stderr
    assert "2 failed rows were dropped" in redo.stderr and "3 requests already in" in redo.stderr
    rows = rows_of(out)
    assert sorted(r["custom_id"] for r in rows) == [f"c{i}" for i in range(5)]  # one row each
    assert all(r["error"] is None for r in rows)
    assert rows[:3] == ok_before  # the rows that had succeeded were kept as they were, in place


def _kill_and_resume(tmp_path, server, sig, delay, *extra, group=False):
    """Run 200 requests of 0.5 s, 20 at a time (about 5 s: once the first row
    is written at least 4.5 s of paced work remain, however bursty a busy
    machine makes the reads), send ``sig`` ``delay`` seconds after the first
    row, rerun: every request ends in one row."""
    n = 200
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, n, lambda i: {"tokens": 10, "tokens_per_second": 20})
    args = (inp, "-o", out, "--url", server.base_url, "--concurrency", 20, *extra)
    proc = start(*args, "--quiet")
    deadline = time.monotonic() + 30  # the first rows (a slow machine starts slowly)
    while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    sent = time.monotonic()
    if group:  # as Ctrl-C on a terminal: to the whole foreground process group
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert time.monotonic() - sent < 3, "the batch should stop promptly, not finish its streams"
    before, good = scan_output(out)
    assert 0 < len(before) < n, "the signal should fall in the middle of the batch"
    torn = out.stat().st_size - good
    assert torn < 4096  # at most a torn last line beyond the rows
    again = batch(*args)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} requests already in" in again.stderr
    ids = [r["custom_id"] for r in rows_of(out)]
    assert len(ids) == len(set(ids)) == n  # nothing lost, nothing written twice
    assert set(ids[: len(before)]) == before  # the rows written before the kill were kept, in place
    return proc.returncode, torn


def test_resume_after_sigkill_at_a_random_moment(tmp_path, server):
    delay = random.uniform(0.0, 1.5)  # a different moment on every run
    rc, _ = _kill_and_resume(tmp_path, server, signal.SIGKILL, delay)
    assert rc == -signal.SIGKILL, f"killed after {delay:.3f} s"


def test_ctrl_c_stops_promptly_and_leaves_whole_rows(tmp_path, server):
    rc, torn = _kill_and_resume(tmp_path, server, signal.SIGINT, 0.8, group=True)
    assert rc == 130 and torn == 0


def test_sigterm_stops_promptly_and_leaves_whole_rows(tmp_path, server):
    rc, torn = _kill_and_resume(tmp_path, server, signal.SIGTERM, 0.8)
    assert rc == 143 and torn == 0


def test_ctrl_c_with_workers_leaves_no_error_rows(tmp_path, server):
    # the workers see the Ctrl-C too: they leave it to the parent, so no
    # request in flight is written as failed, and the resume redoes them
    rc, torn = _kill_and_resume(tmp_path, server, signal.SIGINT, 0.8, "--workers", 2, group=True)
    assert rc == 130 and torn == 0
    assert all("error" not in row or row["error"] is None for row in rows_of(tmp_path / "out.jsonl"))


def _normalized(path):
    out = {}
    for r in rows_of(path):
        r.pop("metrics")
        out[r["custom_id"]] = r
    return out


def test_two_workers_write_the_same_rows_as_one(tmp_path, server):
    kinds = [{"tokens": 5}, {"tokens": 7, "fail_status": 400}, {"tokens": 8, "disconnect_after": 2}, {"tokens": 4, "malformed_after": 1}]
    inp = tmp_path / "in.jsonl"
    write_input(inp, 400, lambda i: kinds[i % len(kinds)])
    results = {}
    for workers in (1, 2):
        out, summary = tmp_path / f"out{workers}.jsonl", tmp_path / f"s{workers}.json"
        proc = batch(inp, "-o", out, "--url", server.base_url, "--workers", workers, "--concurrency", 64, "--summary-json", summary)
        assert proc.returncode == 1, proc.stderr  # some requests fail by design
        results[workers] = _normalized(out)
        s = orjson.loads(summary.read_bytes())
        assert s["workers"] == workers and s["completed"] == 100 and s["failed"] == 300
        assert s["client_cpu_s"] > 0
    assert len(results[1]) == 400
    assert results[1] == results[2]


def test_coalesce_ms(tmp_path, server):
    inp, out, summary = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "s.json"
    write_input(inp, 6, lambda i: {"tokens": 5, "tokens_per_second": 200})
    proc = batch(inp, "-o", out, "--url", server.base_url, "--coalesce-ms", 5, "--summary-json", summary)
    assert proc.returncode == 0, proc.stderr
    assert "coarser by up to that much" in proc.stderr
    assert orjson.loads(summary.read_bytes())["coalesce_ms"] == 5
    assert all(r["error"] is None for r in rows_of(out))
    refused = batch(inp, "-o", out, "--url", server.base_url, "--coalesce-ms", 5, "--transport", "httpx")
    assert refused.returncode == 2 and "--coalesce-ms needs --transport turbosse" in refused.stderr


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_loop_option_picks_the_loop_that_runs(tmp_path, server, loop):
    if loop == "uvloop":
        pytest.importorskip("uvloop")  # an optional dependency ([fast]); installed with [test]
    inp, out, summary = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "s.json"
    write_input(inp, 3, lambda i: {"tokens": 3})
    proc = batch(inp, "-o", out, "--url", server.base_url, "--loop", loop, "--summary-json", summary)
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(summary.read_bytes())["loop"] == loop  # as the running loop reports itself
    assert "uvloop" not in proc.stderr and "asyncio" not in proc.stderr  # normal output unchanged

def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through /proc (Linux)")
def test_a_dead_worker_stops_the_batch_and_a_rerun_finishes_it(tmp_path, server):
    n = 120
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, n, lambda i: {"tokens": 10, "tokens_per_second": 20})
    args = (inp, "-o", out, "--url", server.base_url, "--concurrency", 20, "--workers", 2)
    proc = start(*args)
    deadline = time.monotonic() + 30
    while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"batch worker {workers[0]} exited with status -9" in err
    done, good = scan_output(out)
    assert good == out.stat().st_size and 0 < len(done) < n
    again = batch(*args)
    assert again.returncode == 0, again.stderr
    ids = [r["custom_id"] for r in rows_of(out)]
    assert len(ids) == len(set(ids)) == n


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through /proc (Linux)")
def test_workers_of_a_killed_batch_stop_at_once_and_quietly(tmp_path, server):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, 200, lambda i: {"tokens": 40, "tokens_per_second": 10})
    proc = start(inp, "-o", out, "--url", server.base_url, "--concurrency", 40, "--workers", 2)
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = _children(proc.pid)
    time.sleep(0.5)  # streams in flight on both
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _, err = proc.communicate(timeout=10)  # the workers write to the same stderr
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2] for w in workers):
        assert time.monotonic() < deadline, "a worker outlived its parent"
        time.sleep(0.05)
    assert "Traceback" not in err and "exception" not in err, err


def test_input_from_a_pipe_runs_every_line(tmp_path, server):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, 5, lambda i: {"tokens": 3})
    for source in ("-", "/dev/stdin"):
        out.unlink(missing_ok=True)
        with open(inp, "rb") as fh:
            proc = subprocess.run(
                [sys.executable, "-m", "turbosse", "batch", source, "-o", str(out), "--url", server.base_url, "--progress", "on"],
                input=fh.read(), capture_output=True, timeout=120,
            )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert sorted(r["custom_id"] for r in rows_of(out)) == [f"c{i}" for i in range(5)]


def test_a_file_that_is_no_batch_output_is_refused_not_emptied(tmp_path, server):
    inp = tmp_path / "in.jsonl"
    write_input(inp, 2, lambda i: {"tokens": 3})
    for text in (b"my precious notes\n", b"my precious notes", b'{"prompt": "not a row"}\n'):
        notes = tmp_path / "notes.txt"
        notes.write_bytes(text)
        proc = batch(inp, "-o", notes, "--url", server.base_url)
        assert proc.returncode == 2 and "not a turbosse batch output file" in proc.stderr, proc.stderr
        assert notes.read_bytes() == text
    same = batch(inp, "-o", inp, "--url", server.base_url)
    assert same.returncode == 2 and "OUTPUT is INPUT" in same.stderr
    assert len(inp.read_bytes().splitlines()) == 2


def test_summary_json_is_strict_json_and_its_path_is_checked_first(tmp_path, server):
    inp, out, summary = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "s.json"
    write_input(inp, 2, lambda i: {"tokens": 3, "fail_status": 400})  # nothing succeeds: no latency measured
    proc = batch(inp, "-o", out, "--url", server.base_url, "--summary-json", summary)
    assert proc.returncode == 1, proc.stderr
    text = summary.read_text()
    assert "NaN" not in text
    assert orjson.loads(text)["mean_ttft_ms"] is None  # orjson refuses NaN, as every strict parser does
    missing = batch(inp, "-o", tmp_path / "o2.jsonl", "--url", server.base_url, "--summary-json", tmp_path / "no" / "s.json")
    assert missing.returncode == 2 and "--summary-json: no such directory" in missing.stderr
    assert not (tmp_path / "o2.jsonl").exists()  # refused before anything ran


@pytest.mark.parametrize("option", ["--rate", "--deadline", "--idle-timeout", "--rpm", "--tpm", "--coalesce-ms"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_number_option_must_be_a_finite_positive_number(tmp_path, option, value):
    proc = batch(tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", option, value)
    assert proc.returncode == 2 and f"argument {option}: must be a number > 0, not {value}" in proc.stderr, proc.stderr


def test_the_transport_choices_are_the_batch_runners():
    from turbosse.batch._transport import TRANSPORTS
    from turbosse.cli.batch import TRANSPORTS as CLI_TRANSPORTS

    assert CLI_TRANSPORTS == TRANSPORTS


def test_a_request_line_over_64_mib_gets_its_row_with_workers(tmp_path, server):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, 2, lambda i: {"tokens": 3})
    big = {"custom_id": "big", "body": {"model": "m", "messages": [{"role": "user", "content": "x" * (65 << 20)}]}}
    with open(inp, "ab") as fh:
        fh.write(orjson.dumps(big) + b"\n")
    proc = batch(inp, "-o", out, "--url", server.base_url, "--workers", 2)
    assert proc.returncode in (0, 1), proc.stderr  # the server may refuse so large a body: a row says so
    assert sorted(r["custom_id"] for r in rows_of(out)) == ["big", "c0", "c1"]


def test_a_key_no_header_can_carry_is_refused_before_any_request(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(inp, 2, lambda i: {"tokens": 2})
    proc = batch(inp, "-o", out, "--api-key", "sk-\u201cx\u201d", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("turbosse batch: --api-key (or $OPENAI_API_KEY) holds '\u201c' at position 3")
    assert not out.exists()  # refused before anything ran
