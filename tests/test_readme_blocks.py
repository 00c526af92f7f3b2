"""The README's plain Python examples outside the HTTP section (that one is
run by test_client_readme.py) and its ``turbosse stream`` command lines run
against turbosse.testing.FakeLLMServer: the batch example as written, the SDK
example with the SDKs' own base-URL variables pointed at the fake server; and
every ``(#anchor)`` link names a heading."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from turbosse.testing import FakeLLMServer

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def block(title: str, needle: str) -> str:
    found = [b for b in re.findall(r"```python\n(.*?)```", section(title), re.S) if needle in b]
    assert len(found) == 1, f"expected one example using {needle} in {title!r}"
    return found[0]


def run_block(source: str, name: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def test_batch_program_example_runs():
    namespace = run_block(block("Batch inference", "turbosse.batch.run"), "README batch example")
    assert namespace["requests"], "the example defines its requests"


def test_sdk_example_runs_against_the_fake_server(monkeypatch, capsys):
    pytest.importorskip("openai", reason="the sdk extra is not installed")
    pytest.importorskip("anthropic", reason="the sdk extra is not installed")
    with FakeLLMServer(lifetime=120) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")
        namespace = run_block(
            block("Already using the openai or anthropic SDK?", "accelerate"), "README SDK example"
        )
        paths = [r["path"] for r in server.requests]
    import anthropic
    import openai

    assert isinstance(namespace["chunk"], openai.types.chat.ChatCompletionChunk)
    message = namespace["message"]
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].text.startswith("Hello, world!")
    assert capsys.readouterr().out.startswith("Hello, world!")  # the direct route's text
    assert paths.count("/v1/chat/completions") == 2 and paths.count("/v1/messages") == 1


def console_lines(title: str, heading: str) -> list[tuple[str, list[str]]]:
    """(command line, the output lines shown after it) for each ``$ turbosse``
    line of the first console block under ``heading``."""
    body = section(title)
    body = body[body.index(heading) :]
    shown = re.findall(r"```console\n(.*?)```", body, re.S)[0].splitlines()
    out: list[tuple[str, list[str]]] = []
    for line in shown:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def matches(shown: str, actual: str) -> bool:
    """A shown line matches when its literal parts appear in order ("..."
    stands for anything; numbers that vary between runs are not compared)."""
    pattern = ".*".join(re.escape(part) for part in re.split(r"\.\.\.|\d+\.\d+", shown))
    return re.fullmatch(pattern, actual) is not None


def test_stream_command_examples_print_what_the_readme_shows():
    cases = [
        (line, output)
        for line, output in console_lines("HTTP: httpx integration", "### On the command line")
        if line.startswith("turbosse stream") and "--url" not in line
    ]
    assert len(cases) >= 3
    for line, shown in cases:
        argv = shlex.split(line.split("#")[0])[1:] + ["--fake-rate", "2000"]
        proc = subprocess.run(
            [sys.executable, "-m", "turbosse", *argv], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        actual = proc.stdout.splitlines() + proc.stderr.splitlines()
        if "--json" in argv:
            assert proc.stderr == ""
            doc = orjson.loads(proc.stdout)
            assert set(doc) == {"result", "timing"} and doc["timing"]["tokens"] == 3
            assert matches(shown[0], proc.stdout.strip()), (shown[0], proc.stdout)
            continue
        if "--quiet" in argv:
            assert proc.stderr == "", "--quiet prints the answer only"
        else:  # the usage and speed lines go to stderr, the answer alone to stdout
            assert "usage:" not in proc.stdout and "tokens/s" not in proc.stdout
            assert proc.stderr.splitlines()[0].startswith("usage: prompt")
        assert proc.stdout.startswith(shown[0].removesuffix("...").rstrip()), (
            shown[0],
            proc.stdout,
        )
        for want in shown[1:]:
            assert any(matches(want, got) for got in actual), (want, actual)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than
    ``-`` and ``_`` dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_anchor_link_names_a_heading():
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)  # a "# comment" in a block is no heading
    anchors = {github_slug(h) for h in re.findall(r"^#{1,6} (.*)$", prose, re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert len(links) >= 10
    assert sorted(links - anchors) == []


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, fences paired in order."""
    blocks: list[tuple[str, str]] = []
    lang: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, body = line[3:].strip(), []
            else:
                blocks.append((lang, "\n".join(body) + "\n"))
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def turbosse_command_lines() -> list[tuple[str, list[str]]]:
    """Every ``$ turbosse ...`` line, or pipe into turbosse, of every console
    or plain block (continuation lines joined, comments dropped), with the output lines shown after it."""
    out: list[tuple[str, list[str]]] = []
    for lang, shown in fenced_blocks(README.read_text(encoding="utf-8")):
        if lang not in ("", "console"):
            continue
        for line in shown.replace("\\\n", " ").splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif out:
                out[-1][1].append(line)
    return [
        (line.split(" #")[0].strip(), output)
        for line, output in out
        if line.startswith("turbosse ") or "| turbosse " in line
    ]


def test_every_turbosse_command_line_parses():
    from turbosse.cli import build_parser

    lines = turbosse_command_lines()
    assert len(lines) >= 12
    parser = build_parser()
    for line, _ in lines:
        if "|" in line:
            continue  # a pipe into turbosse: its own part is checked below
        args = parser.parse_args(shlex.split(line)[1:])
        assert args.func is not None, line
    piped = [line for line, _ in lines if "|" in line]
    for line in [
        part.strip() for p in piped for part in p.split("|") if part.strip().startswith("turbosse")
    ]:
        assert parser.parse_args(shlex.split(line)[1:]).func is not None, line


def run_turbosse(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turbosse", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_parse_and_batch_examples_run(tmp_path):
    root = README.parent
    lines = dict(turbosse_command_lines())
    parse = next(line for line in lines if line.startswith("turbosse parse --result tests/"))
    proc = run_turbosse(shlex.split(parse)[1:], root)
    assert proc.returncode == 0, proc.stderr
    assert matches(lines[parse][0], proc.stdout.strip()), (lines[parse][0], proc.stdout[:200])
    batch = next(line for line in lines if line.startswith("turbosse batch examples/"))
    argv = [str(root / a) if a.startswith("examples/") else a for a in shlex.split(batch)[1:]]
    proc = run_turbosse(argv + ["--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [orjson.loads(r) for r in (tmp_path / "results.jsonl").read_bytes().splitlines()]
    inputs = (root / "examples" / "batch_requests.jsonl").read_bytes().splitlines()
    assert len(rows) == len([i for i in inputs if i.strip()]) and all(
        r["error"] is None for r in rows
    )


def test_version_example_names_the_twin_in_use():
    text = README.read_text(encoding="utf-8")
    assert "$ python -m turbosse --version\nturbosse 0.1.0 (cython)\n" in text
    import turbosse

    proc = subprocess.run(
        [sys.executable, "-m", "turbosse", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == f"turbosse {turbosse.__version__} ({turbosse.IMPLEMENTATION})"
