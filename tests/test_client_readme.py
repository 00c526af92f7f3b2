"""The README's transport section runs: its doctests (also run by
test_readme.py with the rest of the README), its plain Python example (the
httpx-aiohttp + uvloop one, when those are installed), and every
``$ turbosse ...`` command line it shows parses with the real CLI."""

from __future__ import annotations

import doctest
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
START = "## HTTP: httpx integration, a chat client, a fake server"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    assert START in text, "the transport section is missing from README.md"
    body = text[text.index(START) :]
    nxt = re.search(r"\n## ", body[len(START) :])
    return body[: len(START) + nxt.start()] if nxt else body


def test_transport_doctests_run():
    test = doctest.DocTestParser().get_doctest(section(), {}, "README transport", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0


def python_blocks() -> list[str]:
    return [b for b in re.findall(r"```python\n(.*?)```", section(), re.S) if ">>>" not in b]


def test_plain_python_examples_run():
    blocks = python_blocks()
    assert blocks, "expected the httpx-aiohttp example"
    for name in ("httpx_aiohttp", "uvloop"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} not installed")
    for block in blocks:
        exec(compile(block, "README transport example", "exec"), {"__name__": "readme_example"})


def test_command_lines_parse():
    from turbosse.cli import build_parser

    lines = [line[2:] for line in re.findall(r"```console\n(.*?)```", section(), re.S)[0].splitlines() if line.startswith("$ turbosse ")]
    assert len(lines) >= 5
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line.split("#")[0])[1:]
        args = parser.parse_args(argv)
        assert args.func is not None, line
