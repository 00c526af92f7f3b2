"""Every recorded stream in ../shared/corpus, through both twins.

Each file must parse to exactly the events of an independent, line-based
reference transcription of the spec (``_helpers.reference_parse``) however it
is chunked, and the two twins must agree call for call. SOURCES.md in the
corpus states, per file, how many ``data:`` lines and events a WHATWG-style
parse finds; those counts are checked too.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _helpers import (
    Outcome,
    assert_matches_reference,
    bytewise,
    first_difference,
    random_chunks,
    reference_parse,
    run,
    strict,
)
from conftest import c_extensions_required, twin_module

#: files at most this large are also fed one byte per feed() call
BYTEWISE_MAX = 8 * 1024


def _seed(path: Path) -> int:
    return sum(path.name.encode())


@pytest.fixture(scope="module")
def both_twins(request: pytest.FixtureRequest) -> tuple[ModuleType, ModuleType]:
    """(compiled, pure) parser modules; only the pure-Python leg lacks the first."""
    if not c_extensions_required(request.config):
        pytest.skip("compares the compiled twin with the pure one; this run tests the pure twin only")
    return twin_module("cython", "parser"), twin_module("python", "parser")


def test_corpus_is_there(corpus_files: list[Path]) -> None:
    assert len(corpus_files) == 79


@pytest.mark.parametrize("sentinel", [None, b"[DONE]"])
def test_corpus_matches_reference(parser_mod: Any, corpus_files: list[Path], sentinel: bytes | None) -> None:
    failures = []
    for path in corpus_files:
        raw = path.read_bytes()
        ref = reference_parse(raw, None if sentinel is None else sentinel.decode())
        ways = {"whole": [raw], "random 1..64": random_chunks(raw, random.Random(_seed(path)))}
        if len(raw) <= BYTEWISE_MAX:
            ways["bytewise"] = bytewise(raw)
        for how, chunks in ways.items():
            outcome = run(parser_mod, chunks, sentinel=sentinel)
            try:
                assert_matches_reference(outcome, ref, f"{path.name} fed {how}")
            except AssertionError as exc:
                failures.append(f"{path.name} fed {how}: {first_difference(outcome.events, ref.events)} {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("max_event_bytes", [None, 4096])
def test_corpus_twins_identical(
    both_twins: tuple[ModuleType, ModuleType], corpus_files: list[Path], max_event_bytes: int | None
) -> None:
    """Same chunks in, same events out of the same feed() calls (and the same
    EventTooLarge, with a limit some corpus lines exceed)."""
    c_mod, py_mod = both_twins
    failures = []
    for path in corpus_files:
        raw = path.read_bytes()
        rng = random.Random(_seed(path))
        for how, chunks in {
            "whole": [raw],
            "random 1..64": random_chunks(raw, rng),
            "random 1..4096": random_chunks(raw, rng, 1, 4096),
        }.items():
            options: dict[str, Any] = {"sentinel": b"[DONE]", "max_event_bytes": max_event_bytes}
            c_out: Outcome = run(c_mod, chunks, **options)
            py_out: Outcome = run(py_mod, chunks, **options)
            if strict(c_out) != strict(py_out):
                failures.append(f"{path.name} fed {how}: {first_difference(c_out.events, py_out.events)}")
    assert not failures, "\n".join(failures)


def _sources_rows(corpus_dir: Path) -> dict[str, str]:
    rows = {}
    for line in (corpus_dir / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+\.sse)` \|", line)
        if match:
            rows[match.group(1)] = line.rstrip(" |").rsplit("|", 1)[-1]
    return rows


def test_corpus_counts_match_sources(parser_mod: Any, corpus_files: list[Path]) -> None:
    rows = _sources_rows(corpus_files[0].parent)
    assert sorted(rows) == sorted(p.name for p in corpus_files)
    failures = []
    for path in corpus_files:
        raw = path.read_bytes()
        verification = rows[path.name]
        data_lines, n_events = map(int, re.search(r"(\d+) data lines, (\d+) events", verification).groups())
        lines = re.split(rb"\r\n|\r|\n", raw)
        events = run(parser_mod, [raw]).events
        got = (sum(line.startswith(b"data:") for line in lines), len(events))
        if got != (data_lines, n_events):
            failures.append(f"{path.name}: SOURCES.md says {(data_lines, n_events)}, got {got}")
    assert not failures, "\n".join(failures)


def test_corpus_done_and_json_facts(parser_mod: Any, corpus_files: list[Path]) -> None:
    """A dispatched [DONE] is always the last event, the sentinel stops exactly
    there, and files whose payloads SOURCES.md lists as all-JSON decode."""
    rows = _sources_rows(corpus_files[0].parent)
    n_done = 0
    for path in corpus_files:
        raw = path.read_bytes()
        verification = rows[path.name]
        events = run(parser_mod, [raw]).events
        datas = [data for _, data, _, _ in events]
        dones = datas.count("[DONE]")
        assert dones <= 1, path.name
        if dones:
            n_done += 1
            assert datas[-1] == "[DONE]", path.name
            assert "[DONE]" in verification, path.name
            assert "ends without blank line" not in verification, path.name
        with_sentinel = run(parser_mod, [raw], sentinel=b"[DONE]")
        assert with_sentinel.done is bool(dones), path.name
        assert with_sentinel.events == events[: len(events) - dones], path.name
        json_ok, json_total = map(int, re.search(r"JSON (\d+)/(\d+) ok", verification).groups())
        if json_ok == json_total:
            for data in datas[: len(datas) - dones]:
                json.loads(data)
    # as many as SOURCES.md lists as ending in a dispatched "data: [DONE]" (47)
    assert n_done == sum(
        "[DONE]" in v and "ends without blank line" not in v for v in rows.values()
    )
    assert n_done >= 40


def test_openai_chat_files_are_chat_completion_chunks(parser_mod: Any, corpus_files: list[Path]) -> None:
    files = [p for p in corpus_files if p.name.startswith("openai__chat-")]
    assert len(files) == 11
    for path in files:
        parser = parser_mod.SSEParser(sentinel=b"[DONE]")
        events = parser.feed(path.read_bytes()) + parser.close()
        assert parser.done, path.name
        assert events, path.name
        for ev in events:
            assert ev.event == "message" and ev.id == "" and ev.retry is None
            chunk = ev.json()
            assert chunk == json.loads(ev.data)
            assert chunk["object"] == "chat.completion.chunk", path.name


def test_crlf_files_parse_like_their_lf_version(parser_mod: Any, corpus_files: list[Path]) -> None:
    crlf = [p for p in corpus_files if b"\r\n" in p.read_bytes()]
    assert len(crlf) >= 2
    for path in crlf:
        raw = path.read_bytes()
        assert run(parser_mod, [raw]).events == run(parser_mod, [raw.replace(b"\r\n", b"\n")]).events
        assert run(parser_mod, [raw]).events == run(parser_mod, [raw.replace(b"\r\n", b"\r")]).events


def test_corpus_concatenated_through_one_parser(parser_mod: Any, corpus_files: list[Path]) -> None:
    """All files back to back (each closed by a blank line) in 16 KiB reads:
    the events are those of the files one by one, and ids carry over."""
    stream = b"".join(p.read_bytes() + b"\n\n" for p in corpus_files)
    expected = reference_parse(stream)
    outcome = run(parser_mod, [stream[i : i + 16384] for i in range(0, len(stream), 16384)], max_event_bytes=None)
    assert_matches_reference(outcome, expected, "concatenated corpus")
    assert len(outcome.events) > 4000
