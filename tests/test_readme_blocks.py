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
