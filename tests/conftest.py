"""One suite, both twins.

Every test that takes the ``twin`` fixture (or a fixture built on it) runs once
against the compiled twin and once against the pure-Python twin. The compiled
twin is required: if it cannot be imported the cython-parametrized tests fail
instead of being skipped. Only the pure-Python CI leg opts out, with
``--no-c-extensions`` or TURBOSSE_NO_EXTENSIONS=1.
"""

from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from turbosse.testing import FakeLLMServer

# The properties check results, not speed: no deadline per example (by
# default 200 ms, which fails a correct test whenever a shared CI machine
# stalls for a moment; timing is the benchmarks' business).
settings.register_profile("turbosse", deadline=None)
settings.load_profile("turbosse")

# A byte-identical copy of the team's recorded corpus (shared/corpus), kept in
# the repository so the suite runs wherever the repo or its sdist goes (GitHub
# runners, cibuildwheel); tests/test_corpus_copy.py proves it has not drifted.
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

# The interrupt tests send SIGINT to commands as a terminal's Ctrl-C does. A
# test run started by `cmd &` in a script inherits SIGINT ignored, and every
# subprocess would inherit that in turn (Python leaves an ignored SIGINT
# ignored): give the suite, and so its subprocesses, the terminal's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# twin name -> module suffix of each accelerated piece
TWIN_SUFFIX = {"cython": "_c", "python": "_py"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        help="test only the pure-Python twin (the compiled twin is otherwise required)",
    )


def c_extensions_required(config: pytest.Config) -> bool:
    return not (config.getoption("--no-c-extensions") or os.environ.get("TURBOSSE_NO_EXTENSIONS"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "twin" in metafunc.fixturenames:
        twins = ["cython", "python"] if c_extensions_required(metafunc.config) else ["python"]
        metafunc.parametrize("twin", twins, scope="session")


def twin_module(twin: str, piece: str) -> ModuleType:
    """Import ``turbosse._<piece>_c`` or ``turbosse._<piece>_py``; a missing
    compiled module raises ImportError, which fails the test."""
    return importlib.import_module(f"turbosse._{piece}{TWIN_SUFFIX[twin]}")


@pytest.fixture(scope="session")
def parser_mod(twin: str) -> ModuleType:
    """The parser module of the twin under test."""
    return twin_module(twin, "parser")


@pytest.fixture(scope="session")
def decoder_mod(twin: str) -> ModuleType:
    """The ChatDecoder module of the twin under test."""
    return twin_module(twin, "decoder")


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    files = sorted(CORPUS_DIR.glob("*.sse"))
    assert files, f"no corpus files found in {CORPUS_DIR}"
    return files


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    """One fake LLM server per test module (a module may define its own)."""
    with FakeLLMServer(lifetime=300) as srv:
        yield srv
