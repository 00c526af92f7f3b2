"""The benchmark code must not rot: run compare.py's measurement once on tiny
workloads and check every competitor agrees with turbosse.

The compiled twin's row is required unless TURBOSSE_NO_EXTENSIONS is set (the
pure-Python leg), where only that row is left out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"

pytest.importorskip("httpx_sse", reason="benchmark extra (httpx-sse) not installed")
pytest.importorskip("openai", reason="benchmark extra (openai) not installed")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import compare
        import workloads

        yield compare, workloads
    finally:
        sys.path.remove(str(BENCH_DIR))


@pytest.fixture(scope="module")
def results(bench):
    compare, workloads = bench
    tiny = workloads.build_workloads(synthetic_events_n=40, big_sizes=(4096, 16384), corpus_limit=4)
    entries = compare.collect_entries(tiny, [compare.parser_entries])
    return compare.measure(entries, repeats=1, min_sample=0)


def test_workloads_are_deterministic(bench) -> None:
    _, workloads = bench
    a = workloads.synthetic_events(30)
    assert a == workloads.synthetic_events(30)
    assert a[-1] == b"data: [DONE]\n\n" and b'"role":"assistant"' in a[0]
    assert all(e.endswith(b"\n\n") and e.count(b"\n\n") == 1 for e in a)
    assert workloads.big_event_stream(1000) == workloads.big_event_stream(1000)
    corpus = workloads.corpus_stream(limit=4)
    assert b"".join(workloads.chunked(corpus, 7)) == corpus


def test_compiled_row_present_unless_opted_out(results) -> None:
    names = {r.entry.name for r in results}
    assert {"turbosse-python", "httpx-sse", "openai", "naive"} <= names
    if os.environ.get("TURBOSSE_NO_EXTENSIONS"):
        assert "turbosse-cython" not in names
    else:
        assert "turbosse-cython" in names, "compiled twin not built: turbosse._parser_c not importable"


def test_every_competitor_matches_turbosse(results) -> None:
    for r in results:
        assert r.error is None, f"{r.entry.name} on {r.entry.workload.name}: {r.error}"
        assert len(r.times) == 1 and r.times[0] > 0
        if r.entry.workload.family == "c":
            # Recorded streams: httpx-sse and openai dispatch empty-data events
            # and the naive loop misses CRLF/event: streams; only the twins must agree.
            if r.entry.turbosse:
                assert r.correct, (r.entry.name, r.summary, r.reference)
            continue
        assert r.summary is not None and r.reference is not None
        assert r.summary[0] == r.reference[0], (
            f"{r.entry.name} on {r.entry.workload.name}: {r.summary[0]} events, "
            f"turbosse {r.reference[0]}"
        )
        assert r.correct, (r.entry.name, r.entry.workload.name, r.summary, r.reference)


def test_report_renders(bench, results) -> None:
    compare, _ = bench
    text = compare.table(results) + compare.linearity(results) + compare.targets(results)
    assert "turbosse-python" in text and "linear growth" in text
