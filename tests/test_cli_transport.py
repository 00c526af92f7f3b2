"""turbosse serve, turbosse stream and turbosse bench, run as real commands
(subprocesses) or through the CLI's main() against a real server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import turbosse
from turbosse.cli import main
from turbosse.testing import FakeLLMServer, fake_text

# The subprocesses import the turbosse under test (the source tree, or an
# installed wheel when the suite runs against one), not whatever is on disk.
SRC = str(Path(turbosse.__file__).resolve().parent.parent)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "turbosse", *args], capture_output=True, text=True, timeout=timeout, env=env)


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "turbosse", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(20)
    if not box or "http://" not in box[0]:
        proc.kill()
        raise AssertionError(f"serve did not start: {box} {proc.stderr.read() if proc.stderr else ''}")
    url = box[0].split()[box[0].split().index("on") + 1]
    return proc, url


def test_serve_serves_and_stops_by_itself():
    proc, url = start_serve("--lifetime", "3", "--tokens", "7", "--no-uvloop")
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        r = httpx.post(url + "/chat/completions", json={"model": "m", "stream": True, "messages": []}, timeout=10)
        assert r.status_code == 200
        text = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
            for line in r.text.splitlines()
            if line.startswith("data: {") and json.loads(line[6:])["choices"]
        )
        assert text == fake_text(7)
        assert proc.wait(15) == 0  # the lifetime ran out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def _stop(proc: subprocess.Popen[str], sig: int) -> int:
    """Send sig; the exit status, or an AssertionError with the child's stderr."""
    proc.send_signal(sig)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"serve did not stop on signal {sig} within 30 s; stderr: {err!r}") from None


def _cleanup(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def test_serve_options_json_and_interrupt():
    import signal

    proc, url = start_serve("--lifetime", "60", "--options", '{"tokens": 3, "crlf": true}')
    try:
        r = httpx.post(url + "/chat/completions", json={"model": "m", "stream": True}, timeout=10)
        assert b"\r\n\r\n" in r.content
        assert _stop(proc, signal.SIGINT) == 130  # Ctrl-C, as every command ends on it
        assert proc.stderr is not None and proc.stderr.read().strip() == "turbosse serve: interrupted"
    finally:
        _cleanup(proc)
    proc, _ = start_serve("--lifetime", "60", "--loop", "asyncio")
    try:
        assert _stop(proc, signal.SIGTERM) == 130
    finally:
        _cleanup(proc)


def test_serve_rejects_bad_options_and_addresses(capsys):
    assert main(["serve", "--options", '{"tokenz": 1}', "--lifetime", "1"]) == 2
    assert "tokenz" in capsys.readouterr().err
    assert main(["serve", "--options", "[1]", "--lifetime", "1"]) == 2
    assert main(["serve", "--host", "0.0.0.0", "--lifetime", "1"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_stream_with_the_embedded_server():
    proc = run_cli("stream", "--max-tokens", "12", "--fake-rate", "200", "Hello there")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == fake_text(12) + "\n"  # the answer alone on stdout
    lines = proc.stderr.splitlines()  # what the program says about it on stderr
    assert any(line.startswith("usage: prompt ") and "completion 12" in line for line in lines)
    assert "tokens/s" in lines[-1] and "12 tokens" in lines[-1] and "finish reason stop" in lines[-1]


def test_stream_quiet_and_json(capsys):
    with FakeLLMServer(lifetime=60) as server:
        assert main(["stream", "--url", server.base_url, "--max-tokens", "4", "--quiet", "hi"]) == 0
        assert capsys.readouterr() == (fake_text(4) + "\n", "")
        assert main(["stream", "--url", server.base_url, "--max-tokens", "4", "--json", "hi"]) == 0
        captured = capsys.readouterr()
        (line,) = captured.out.splitlines()
        got = json.loads(line)
        assert got["result"]["choices"][0]["content"] == fake_text(4)
        assert got["result"]["usage"]["completion_tokens"] == 4
        assert got["timing"]["tokens"] == 4 and got["timing"]["elapsed_s"] > 0
    with FakeLLMServer(lifetime=60, tokens=10, disconnect_after=4) as server:
        assert main(["stream", "--url", server.base_url, "--json", "hi"]) == 1
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["error"]["type"] == "StreamInterrupted"
    assert got["partial"]["choices"][0]["content"] == fake_text(4)
    assert "StreamInterrupted" in captured.err


def test_stream_says_when_it_retries(capsys):
    fake = json.dumps({"fail_status": 503, "retry_after": 0.05, "fail_times": 1, "fail_key": "cli-retry"})
    with FakeLLMServer(lifetime=60) as server:
        assert main(["stream", "--url", server.base_url, "--max-tokens", "3", "hi"]) == 0  # no retry: nothing said
        assert "retrying" not in capsys.readouterr().err
    with FakeLLMServer(lifetime=60, **json.loads(fake)) as failing:
        assert main(["stream", "--url", failing.base_url, "--max-tokens", "3", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out == fake_text(3) + "\n"
    (said,) = [line for line in captured.err.splitlines() if "retrying" in line]
    assert said.startswith("turbosse stream: retrying after HTTP 503 (waited ") and said.endswith("; attempt 2)")


def test_stream_with_url_model_and_system(capsys):
    with FakeLLMServer(lifetime=60) as server:
        status = main(["stream", "--url", server.base_url, "--model", "my-model", "--system", "be brief", "--max-tokens", "5", "--temperature", "0.5", "--api-key", "sk-cli", "hi"])
        out, err = capsys.readouterr()
        (req,) = server.requests
    assert status == 0
    assert out == fake_text(5) + "\n"
    assert "model my-model" in err
    body = req["json"]
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 5 and body["temperature"] == 0.5
    assert req["headers"]["authorization"] == "Bearer sk-cli"


def test_stream_prints_tool_calls_and_reasoning(capsys):
    with FakeLLMServer(lifetime=60, tool_calls=1, reasoning_tokens=3) as server:
        assert main(["stream", "--url", server.base_url, "--max-tokens", "2", "q"]) == 0
    captured = capsys.readouterr()
    assert "tool call call_fake0: get_weather(" in captured.out
    reasoning, *said = captured.err.splitlines()
    assert reasoning == fake_text(3)  # reasoning goes to stderr, the answer to stdout
    assert said[0].startswith("usage: prompt ")


def test_stream_errors_exit_1_with_the_message(capsys):
    with FakeLLMServer(lifetime=60, fail_status=401) as server:
        assert main(["stream", "--url", server.base_url, "hi"]) == 1
    err = capsys.readouterr().err
    assert "APIStatusError" in err and "401" in err
    with FakeLLMServer(lifetime=60, tokens=10, disconnect_after=4) as server:
        assert main(["stream", "--url", server.base_url, "hi"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(fake_text(4))
    assert "StreamInterrupted" in captured.err and "partial" in captured.err


def test_bench_small_run_prints_the_table():
    pytest.importorskip("httpx_sse")  # a contender of this run (the bench extra)
    start = time.monotonic()
    proc = run_cli(
        "bench", "--variants", "turbosse-async,httpx-sse,httpx-raw", "--unpaced-tokens", "300",
        "--streams", "4", "--paced-tokens", "5", "--rate", "100", "--rounds", "1", timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "turbosse AsyncChatClient (httpx)" in out
    assert "httpx-sse + json (httpx)" in out
    assert "WRONG OUTPUT" not in out
    said = out.replace("\n", " ")
    assert re.search(r"turbosse used [0-9.]+ \S+ of CPU per token, (about as much as|[0-9.]+ times (less|more) than) "
                     r"httpx-sse \+ json on the same 4 paced streams", said), said
    assert not re.search(r"\b(target|met)\b", out, re.I)  # one plain verdict, no target verdicts
    assert max(len(line) for line in out.splitlines()) <= 100
    assert time.monotonic() - start < 120


def test_bench_against_a_server_that_sends_other_text_fails():
    # a real server ignores the fake server's options: every stream's text differs from what was asked
    corpus = Path(__file__).resolve().parent / "corpus"
    with FakeLLMServer(lifetime=120, replay="openai__chat-logprobs-content.sse", corpus_dir=corpus) as server:
        proc = run_cli(
            "bench", "--url", server.base_url, "--variants", "turbosse-async,httpx-lines", "--unpaced-tokens", "20",
            "--streams", "2", "--paced-tokens", "3", "--rate", "100", "--rounds", "1", "--lockstep-rounds", "0", timeout=180,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stdout
    assert "(WRONG OUTPUT)" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "turbosse bench: failed or read the wrong text: turbosse AsyncChatClient (httpx), httpx aiter_lines + json")


def test_bench_loop_option(capsys):
    proc = run_cli(
        "bench", "--variants", "turbosse-async", "--unpaced-tokens", "50", "--streams", "2", "--paced-tokens", "3",
        "--rate", "100", "--rounds", "1", "--lockstep-rounds", "0", "--loop", "asyncio", timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "event loop: every async client on asyncio" in proc.stdout


def test_bench_rejects_unknown_variants(capsys):
    assert main(["bench", "--variants", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_bench_report_helpers():
    from turbosse._bench.e2e_report import failed, format_report, round_ratio, summarize, verdict

    report = {
        "scenarios": [
            {"name": "unpaced", "streams": 1, "tokens": 10, "rate": 0.0, "repeats": 1},
            {"name": "paced", "streams": 2, "tokens": 5, "rate": 50.0, "repeats": 1},
        ],
        "rounds": 2,
        "versions": "v",
        "machine": "m",
        "results": {
            "turbosse-async": {"unpaced": {"runs": [{"wall": 1, "cpu": 0.001, "user": 0, "sys": 0, "tokens": 10}], "ok": True},
                               "paced": {"runs": [{"wall": 1, "cpu": 0.0004, "user": 0, "sys": 0, "tokens": 10, "round": 0},
                                                  {"wall": 1, "cpu": 0.0002, "user": 0, "sys": 0, "tokens": 10, "round": 1}], "ok": True}},
            "openai": {"skipped": "not installed: openai"},
            "httpx-sse": {"unpaced": {"runs": [{"wall": 1, "cpu": 0.002, "user": 0, "sys": 0, "tokens": 10}], "ok": True},
                          "paced": {"runs": [{"wall": 1, "cpu": 0.0008, "user": 0, "sys": 0, "tokens": 10, "round": 0},
                                             {"wall": 1, "cpu": 0.0008, "user": 0, "sys": 0, "tokens": 10, "round": 1}], "ok": False}},
        },
        "parse": {"paced": {"turbosse": 3.0, "httpx-sse": 8.0}, "unpaced": {}},
    }  # fmt: skip
    rows = summarize(report)
    assert rows["turbosse-async"]["paced"]["cpu"] == pytest.approx(30.0)  # the median of 40 and 20
    assert rows["turbosse-async"]["paced_transport"] == pytest.approx(27.0)
    ratio = round_ratio(report, "turbosse-async", "httpx-sse")
    assert ratio is not None and ratio["median"] == pytest.approx(0.375) and (ratio["lo"], ratio["hi"]) == pytest.approx((0.25, 0.5))
    assert round_ratio(report, "turbosse-async", "openai") is None
    line = verdict(report)
    assert line.startswith("turbosse used 30.0 \u00b5s of CPU per token, 2.7 times less than httpx-sse + json")
    assert "openai" not in line  # not measured, not claimed
    assert line.endswith("(AsyncChatClient on httpx; medians of per-round ratios).")
    # with the default transport in the run, the verdict speaks of it
    fast = {"paced": {"runs": [{**run, "cpu": run["cpu"] / 2} for run in report["results"]["turbosse-async"]["paced"]["runs"]],
                      "ok": True}}  # fmt: skip
    line = verdict({**report, "results": {**report["results"], "turbosse-transport": fast}})
    assert line.startswith("turbosse used 15.0 \u00b5s of CPU per token, 5.3 times less than httpx-sse + json")
    assert line.endswith("(AsyncChatClient on turbosse's transport; medians of per-round ratios).")
    text = format_report(report)
    assert "not installed: openai" in text
    assert "(WRONG OUTPUT)" in text  # a client that returned the wrong text is flagged
    assert failed(report) == ["httpx-sse"]


def test_loop_option_is_read_in_one_place():
    import argparse
    import importlib.util

    from turbosse.cli._loop import LOOPS, add_loop_option, use_uvloop

    parser = argparse.ArgumentParser()
    add_loop_option(parser)
    assert parser.parse_args([]).loop == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["--loop", "trio"])
    installed = importlib.util.find_spec("uvloop") is not None
    assert LOOPS == ("asyncio", "uvloop", "auto")
    assert use_uvloop("asyncio") is False
    assert use_uvloop("auto") is installed
    if installed:
        assert use_uvloop("uvloop") is True
    else:
        with pytest.raises(ValueError, match="uvloop is not installed"):
            use_uvloop("uvloop")


@pytest.mark.parametrize("kind", ["asyncio", pytest.param("uvloop", marks=pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("uvloop") is None, reason="uvloop not installed"))])  # fmt: skip
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_until_signal_cancels_and_lets_cleanup_run(kind, sig):
    import asyncio
    import os

    from turbosse._loop import Interrupted, new_event_loop, run_until_signal

    cleaned = []

    async def job():
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), sig)
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0)  # cleanup may await
            cleaned.append(True)

    before = signal.getsignal(signal.SIGTERM)
    loop = new_event_loop(kind)
    try:
        with pytest.raises(Interrupted) as info:
            run_until_signal(loop, job())
        assert info.value.signum == sig and isinstance(info.value, KeyboardInterrupt)
        assert cleaned == [True]
        assert run_until_signal(loop, asyncio.sleep(0, "done")) == "done"  # handlers installed again, then removed
    finally:
        loop.close()
    assert signal.getsignal(signal.SIGTERM) == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "argument --port: must be an integer from 0 to 65535, not 70000"),
        (["--port", "-1"], "argument --port: must be an integer from 0 to 65535, not -1"),
        (["--lifetime", "nan"], "argument --lifetime: must be a number > 0, not nan"),
        (["--lifetime", "-1"], "argument --lifetime: must be a number > 0, not -1"),
        (["--tokens", "-5"], "argument --tokens: must be an integer >= 0, not -5"),
        (["--ttft", "inf"], "argument --ttft: must be a number >= 0, not inf"),
        (["--tokens-per-second", "nan"], "argument --tokens-per-second: must be a number >= 0, not nan"),
        (["--tokens-per-second", "-5"], "argument --tokens-per-second: must be a number >= 0, not -5"),
    ],
)  # fmt: skip
def test_serve_refuses_numbers_out_of_range(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--lifetime", "1", *args])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"turbosse serve: error: {message}"


def test_serve_refuses_a_fake_option_out_of_range(capsys):
    assert main(["serve", "--lifetime", "1", "--options", '{"ttft": -1}']) == 2
    assert capsys.readouterr().err == "turbosse serve: fake option ttft must be a finite number >= 0, not -1\n"


def test_serve_help_and_ready_line_name_every_route(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "/v1/chat/completions, /v1/responses and /v1/messages" in " ".join(capsys.readouterr().out.split())
    proc = run_cli("serve", "--port", "0", "--lifetime", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "(POST /chat/completions, /responses, /messages)" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--idle-timeout", "0"], "argument --idle-timeout: must be a number > 0, not 0"),
        (["--idle-timeout", "-1"], "argument --idle-timeout: must be a number > 0, not -1"),
        (["--idle-timeout", "nan"], "argument --idle-timeout: must be a number > 0, not nan"),
        (["--idle-timeout", "inf"], "argument --idle-timeout: must be a number > 0, not inf"),
        (["--temperature", "nan"], "argument --temperature: must be a number >= 0, not nan"),
        (["--max-tokens", "-1"], "argument --max-tokens: must be an integer > 0, not -1"),
        (["--fake-rate", "nan"], "argument --fake-rate: must be a number >= 0, not nan"),
    ],
)  # fmt: skip
def test_stream_refuses_numbers_out_of_range(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main(["stream", "--json", *args, "hi"])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == f"turbosse stream: error: {message}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-tokens", "99999999999999999999999"],
         "the request body at max_tokens holds the integer 99999999999999999999999, beyond the 64-bit range"),
        (["--url", "http://[::1"], "base_url: 'http://[::1/chat/completions' is not a valid URL: "),
        (["--api-key", "sk-\u201cx\u201d"], "--api-key (or $OPENAI_API_KEY) holds '\u201c' at position 3"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("json_output", [False, True])
def test_stream_refuses_what_no_request_can_carry(capsys, args, message, json_output):
    with FakeLLMServer(lifetime=60) as server:
        url = [] if "--url" in args else ["--url", server.base_url]
        assert main(["stream", *url, *args, *(["--json"] if json_output else []), "hi"]) == 2
        assert server.requests == []
    out, err = capsys.readouterr()
    assert out == ""  # a usage error: no JSON, as for argparse's
    assert err.startswith(f"turbosse stream: {message}") and err.count("\n") == 1


def test_stream_says_why_it_retries_from_the_error(capsys):
    fake = {"stall_after": 0, "stall": 5, "fail_times": 1, "fail_key": "cli-idle"}
    with FakeLLMServer(lifetime=60, **fake) as server:
        assert main(["stream", "--url", server.base_url, "--idle-timeout", "0.5", "--max-tokens", "3", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out == fake_text(3) + "\n"
    (said,) = [line for line in captured.err.splitlines() if "retrying" in line]
    assert said.startswith("turbosse stream: retrying after IdleTimeout: no bytes received for 0.5 s (idle timeout) (waited ")


def test_stream_reasoning_ends_its_line_before_the_answer_and_quiet_drops_it(capsys):
    import contextlib
    import io

    with FakeLLMServer(lifetime=60, reasoning_tokens=3) as server:
        both = io.StringIO()  # stdout and stderr as a terminal shows them, interleaved
        with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
            assert main(["stream", "--url", server.base_url, "--max-tokens", "2", "q"]) == 0
        assert both.getvalue().startswith(f"{fake_text(3)}\n{fake_text(2)}\nusage: ")
        assert main(["stream", "--url", server.base_url, "--max-tokens", "2", "--quiet", "q"]) == 0
        assert capsys.readouterr() == (fake_text(2) + "\n", "")


def test_stream_output_that_cannot_be_written_is_one_line_and_exit_1():
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "turbosse", "stream", "--max-tokens", "3", "--fake-rate", "0", "hi"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    assert (proc.returncode, proc.stderr) == (1, "turbosse stream: cannot write output: No space left on device\n")
