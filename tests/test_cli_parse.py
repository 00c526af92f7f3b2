"""``turbosse parse`` and ``python -m turbosse parse``, through a subprocess,
with each twin (TURBOSSE_NO_EXTENSIONS selects the Python one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
    proc = run(twin, "parse", "--skip-malformed", "-", stdin=body)
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
