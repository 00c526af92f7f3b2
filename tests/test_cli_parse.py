"""``turbosse parse`` and ``python -m turbosse parse``, through a subprocess,
with each twin (TURBOSSE_NO_EXTENSIONS selects the Python one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from make_golden import CORPUS_DIR, GOLDEN_DIR

PARALLEL = CORPUS_DIR / "openai__chat-parallel-tool-calls.sse"


def run(twin: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)  # the turbosse under test, installed or editable: never src/ directly
    env.pop("TURBOSSE_NO_EXTENSIONS", None)
    if twin == "python":
        env["TURBOSSE_NO_EXTENSIONS"] = "1"
    return subprocess.run([sys.executable, "-m", "turbosse", *args], input=stdin, capture_output=True,
                          env=env, timeout=60, check=False)


def lines(proc: subprocess.CompletedProcess[bytes]) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_result_matches_golden(twin: str) -> None:
    proc = run(twin, "parse", "--result", str(PARALLEL))
    assert proc.returncode == 0, proc.stderr
    golden = json.loads((GOLDEN_DIR / f"{PARALLEL.stem}.json").read_text())
    assert lines(proc) == [golden["result"]]


def test_deltas_are_the_default_and_read_stdin(twin: str) -> None:
    data = PARALLEL.read_bytes()
    proc = run(twin, "parse", "-", "--chunk-size", "7", stdin=data)
    assert proc.returncode == 0, proc.stderr
    out = lines(proc)
    assert out[0] == {"index": 0, "role": "assistant"}
    assert out[1]["tool_calls"][0] == {"index": 0, "id": "call_JMW1whyEaYG438VE1OIflxA2",
                                       "name": "GetWeatherArgs", "arguments": ""}
    assert out[-1] == {"index": 0, "usage": {"prompt_tokens": 149, "completion_tokens": 60, "total_tokens": 209}}
    assert lines(run(twin, "parse", "--deltas", str(PARALLEL))) == out


def test_events(twin: str) -> None:
    proc = run(twin, "parse", "--events", str(CORPUS_DIR / "anthropic__messages-parallel-tool-use-empty-input.sse"))
    assert proc.returncode == 0, proc.stderr
    out = lines(proc)
    assert len(out) == 10 and out[0]["event"] == "message_start"
    assert json.loads(out[0]["data"])["type"] == "message_start"
    assert set(out[0]) == {"event", "data", "id", "retry"}


def test_format_option(twin: str) -> None:
    proc = run(twin, "parse", "--format", "openai-responses", "--result", str(PARALLEL))
    assert proc.returncode == 0 and lines(proc)[0]["choices"] == []
    proc = run(twin, "parse", "--format", "klingon", str(PARALLEL))
    assert proc.returncode == 2 and b"invalid choice" in proc.stderr


def test_stream_error_prints_partial_then_fails(twin: str) -> None:
    path = CORPUS_DIR / "openrouter__chat-processing-comments-error-chunk.sse"
    proc = run(twin, "parse", "--result", str(path))
    assert proc.returncode == 1
    assert b"StreamError: Token limit reached" in proc.stderr
    assert lines(proc)[0]["usage"]["total_tokens"] == 53


def test_malformed_and_skip(twin: str) -> None:
    body = b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\ndata: {bad\n\n'
    proc = run(twin, "parse", "-", stdin=body)
    assert proc.returncode == 1 and b"MalformedChunk: event 2" in proc.stderr
    assert lines(proc) == [{"index": 0, "content": "a"}]
    proc = run(twin, "parse", "--skip-malformed", "-", stdin=body + b"data: [DONE]\n\n")
    assert proc.returncode == 0 and b"skipped 1" in proc.stderr


def test_missing_file_and_no_command(twin: str) -> None:
    proc = run(twin, "parse", "/nonexistent/x.sse")
    assert proc.returncode == 2 and b"No such file" in proc.stderr
    proc = run(twin)
    assert proc.returncode == 0 and b"parse" in proc.stdout


def test_version_names_the_twin(twin: str) -> None:
    proc = run(twin, "--version")
    assert proc.returncode == 0 and proc.stdout.strip().endswith(f"({twin})".encode())


def test_console_script_entry_point_is_main() -> None:
    from turbosse.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0


@pytest.mark.parametrize("what", ["--deltas", "--result", "--events"])
@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}\n', "a JSON body"),
        (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n</html>\r\n", "an HTML or XML page"),
        (b"data: one event, never ended by a blank line", "no blank line"),
        (b"", None),
    ],
)
def test_a_body_that_is_not_an_event_stream_fails(twin: str, what: str, body: bytes, kind: str | None) -> None:
    proc = run(twin, "parse", what, "-", stdin=body)
    assert proc.returncode == 1
    assert proc.stdout == b""  # no empty result passed off as an answer
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("turbosse parse: ")
    if kind is None:
        assert "the input is empty" in err
    elif kind == "no blank line":
        assert f"no server-sent event in {len(body)} bytes of input (an event ends at a blank line, and none did)" in err
    else:
        assert f"no server-sent event in {len(body)} bytes of input (it looks like {kind}, not text/event-stream)" in err
    assert body.decode().split("\n")[0][:30].strip() in err  # what it got, quoted



def test_binary_input_is_quoted_with_its_control_characters_escaped(twin: str) -> None:
    body = b"\x1b[31mred\x1b[0m \x00\x07\xff and more"
    proc = run(twin, "parse", "-", stdin=body)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "\x1b" not in err and "\x00" not in err and "\x07" not in err  # nothing that drives a terminal
    assert "\\x1b[31mred\\x1b[0m \\x00\\x07\ufffd and more" in err


def test_the_end_marker_alone_is_a_stream_with_an_empty_result(twin: str) -> None:
    body = b"data: [DONE]\n\n"
    proc = run(twin, "parse", "--result", "-", stdin=body)
    assert proc.returncode == 0 and proc.stderr == b""
    assert lines(proc) == [{"id": None, "model": None, "choices": [], "usage": None}]
    proc = run(twin, "parse", "-", stdin=body)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


@pytest.mark.parametrize("what", ["--result", "--deltas"])
def test_a_stream_cut_short_prints_what_arrived_then_fails(twin: str, what: str) -> None:
    body = PARALLEL.read_bytes()
    cut = body[: body.index(b'"finish_reason":"tool_calls"')].rpartition(b"\n\n")[0] + b"\n\n"
    proc = run(twin, "parse", what, "-", stdin=cut)
    assert proc.returncode == 1
    assert proc.stderr.decode() == ("turbosse parse: StreamInterrupted: the stream ended before it was complete: "
                                    "no [DONE] and no finish_reason\n")
    out = lines(proc)
    if what == "--result":
        assert out[0]["choices"][0]["tool_calls"][0]["name"] == "GetWeatherArgs"  # the partial result, printed
    else:
        assert out[0] == {"index": 0, "role": "assistant"}


@pytest.mark.parametrize("size", ["0", "67108865", "1e11", "100000000000000000000"])
def test_chunk_size_is_a_usage_error_outside_1_to_64_mib(twin: str, size: str) -> None:
    proc = run(twin, "parse", "--chunk-size", size, str(PARALLEL))
    assert proc.returncode == 2 and proc.stdout == b""
    assert f"argument --chunk-size: must be an integer from 1 to 67108864, not {size}" in proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    assert run(twin, "parse", "--chunk-size", "67108864", "--result", str(PARALLEL)).returncode == 0


def _shell(twin: str, redirect: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m turbosse ARGS REDIRECT`` through sh, for the redirections
    subprocess cannot make (a closed descriptor)."""
    env = dict(os.environ)
    env.pop("TURBOSSE_NO_EXTENSIONS", None)
    if twin == "python":
        env["TURBOSSE_NO_EXTENSIONS"] = "1"
    script = f'exec "$0" -m turbosse "$@" {redirect}'
    # by its path: the wheel tests run with a PATH that holds the venv alone
    return subprocess.run(["/bin/sh", "-c", script, sys.executable, *args], capture_output=True, env=env, timeout=60,
                          check=False)  # fmt: skip


@pytest.mark.skipif(not (os.path.exists("/dev/full") and os.path.exists("/bin/sh")), reason="needs /dev/full and /bin/sh")
def test_an_output_that_cannot_be_written_is_one_line_and_exit_1(twin: str) -> None:
    proc = _shell(twin, ">/dev/full", "parse", str(PARALLEL))
    assert (proc.returncode, proc.stderr) == (1, b"turbosse parse: cannot write output: No space left on device\n")
    proc = _shell(twin, ">&-", "parse", str(PARALLEL))
    assert (proc.returncode, proc.stderr) == (1, b"turbosse parse: cannot write output: no standard output (it is closed)\n")
    proc = _shell(twin, "<&-", "parse", "-")
    assert (proc.returncode, proc.stderr) == (1, b"turbosse parse: cannot read input: no standard input (it is closed)\n")


def test_a_reader_that_goes_away_is_still_a_quiet_end(twin: str, tmp_path: Path) -> None:
    body = b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\n\n' * 200_000 + b"data: [DONE]\n\n"
    env = dict(os.environ)
    env.pop("TURBOSSE_NO_EXTENSIONS", None)
    if twin == "python":
        env["TURBOSSE_NO_EXTENSIONS"] = "1"
    path = tmp_path / "big.sse"
    path.write_bytes(body)
    proc = subprocess.Popen([sys.executable, "-m", "turbosse", "parse", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()  # `| head -c 100`
    assert proc.wait(60) == 0
    assert proc.stderr.read() == b""
    proc.stderr.close()
