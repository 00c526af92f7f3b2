"""The benchmark code must not rot: run the in-process comparison once on tiny
workloads, in both consumption modes, and check every competitor agrees with
turbosse (and each row's stream-mode summary with its collect-mode one).

The compiled twin's row is required unless TURBOSSE_NO_EXTENSIONS is set (the
pure-Python leg), where only that row is left out.
"""

from __future__ import annotations

import os
import re

import pytest

pytest.importorskip("httpx_sse", reason="benchmark extra (httpx-sse) not installed")
pytest.importorskip("openai", reason="benchmark extra (openai) not installed")

MODES = ("stream", "collect")


@pytest.fixture(scope="module")
def bench():
    from turbosse._bench import inprocess, workloads

    return inprocess, workloads


@pytest.fixture(scope="module")
def tiny(bench):
    _, workloads = bench
    return workloads.build_workloads(synthetic_events_n=40, big_sizes=(4096, 16384), corpus_limit=4)


@pytest.fixture(scope="module")
def all_results(bench, tiny):
    """{mode: results} for the parser rows and the decoder/accumulate rows."""
    compare, _ = bench
    from turbosse._bench import decoding as decoders

    def decoder_provider(workloads, consume):
        return decoders.entries(workloads, compare.Entry, consume, n_tool=30)

    out = {}
    for mode in MODES:
        entries = compare.collect_entries(tiny, [compare.parser_entries, decoder_provider], consume=mode)
        out[mode] = compare.measure(entries, repeats=1, min_sample=0)
    return out


@pytest.fixture(scope="module", params=MODES)
def results(request, all_results):
    return all_results[request.param]


def test_modes_are_known(bench) -> None:
    compare, _ = bench
    assert compare.CONSUME_MODES == MODES
    with pytest.raises(ValueError):
        compare.collect_entries({}, consume="keep")


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
    names = {r.entry.name for r in results if r.entry.section == "parser"}
    assert {"turbosse-python", "httpx-sse", "openai", "naive"} <= names
    sections = {r.entry.section for r in results}
    assert sections == {"parser", "decoder", "accumulate"}
    if os.environ.get("TURBOSSE_NO_EXTENSIONS"):
        assert "turbosse-cython" not in {r.entry.name for r in results}
    else:
        for section in sections:
            assert "turbosse-cython" in {r.entry.name for r in results if r.entry.section == section}, (
                f"{section}: compiled twin not built (turbosse._parser_c / _decoder_c not importable)")


def test_every_competitor_matches_turbosse(results) -> None:
    for r in results:
        assert r.error is None, f"{r.entry.section}/{r.entry.name} on {r.entry.workload.name}: {r.error}"
        assert len(r.times) == 1 and r.times[0] > 0
        if r.entry.workload.family == "c":
            # Recorded streams: httpx-sse and openai dispatch empty-data events
            # and the naive loop misses CRLF/event: streams; only the twins must agree.
            if r.entry.turbosse:
                assert r.correct, (r.entry.name, r.summary, r.reference)
            continue
        assert r.summary is not None and r.reference is not None
        assert r.summary[0] == r.reference[0], (
            f"{r.entry.section}/{r.entry.name} on {r.entry.workload.name}: {r.summary[0]} items, "
            f"turbosse {r.reference[0]}"
        )
        assert r.correct, (r.entry.section, r.entry.name, r.entry.workload.name, r.summary, r.reference)


def test_stream_mode_summaries_equal_collect_mode(all_results) -> None:
    """Each row's inline (count, checksum) equals what summarize() computes
    from the kept results; so both modes do the same work but the keeping."""

    def key(r):
        return r.entry.section, r.entry.workload.name, r.entry.name

    stream = {key(r): r.summary for r in all_results["stream"]}
    collect = {key(r): r.summary for r in all_results["collect"]}
    assert stream.keys() == collect.keys()
    assert stream == collect
    assert all(isinstance(s, tuple) and len(s) == 2 for s in stream.values())


def test_stream_mode_keeps_nothing(bench, tiny) -> None:
    """A stream-mode run returns only its (count, checksum) summary."""
    compare, _ = bench
    entries = compare.collect_entries(tiny, [compare.parser_entries], consume="stream")
    for e in entries:
        out = e.run(e.workload.chunks)
        assert type(out) is tuple and len(out) == 2 and all(type(x) is int for x in out), e.name


def test_report_renders(bench, results) -> None:
    compare, _ = bench
    from turbosse._bench.framing import other_mode_note

    text = compare.table(results) + compare.linearity(results) + other_mode_note("stream")
    assert "turbosse-python" in text and "linear growth" in text
    assert "--consume stream" in text and "--consume collect" in text
    line = compare.verdict(results)
    assert "times faster than httpx-sse" in line and "times faster than the openai SDK" in line
    assert not re.search(r"\b(target|met)\b", text + line, re.I)


def test_f3dx_contender_reads_a_fake_stream() -> None:
    """The Rust client contender of ``turbosse bench`` (f3dx, sync) reads one
    short paced stream from the fake server and returns its exact text."""
    pytest.importorskip("f3dx", reason="f3dx (Linux x86_64 wheels only) not installed")
    from turbosse._bench.clients import CLIENTS
    from turbosse.testing import FakeLLMServer, fake_text

    contender = CLIENTS["f3dx"]
    assert contender.sync and contender.needs == ("f3dx",) and contender.parser == "none"
    with FakeLLMServer(lifetime=60) as server:
        one, close = contender.make(server.base_url)
        try:
            assert one({"tokens": 12, "tokens_per_second": 200, "events_per_write": 1}) == (12, fake_text(12))
        finally:
            close()
