"""benchmarks/jsonstream.py must not rot: run every row once on tiny documents
(each row is checked there to give the same document) and print the report."""

from __future__ import annotations

import os

import pytest
from _bench_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("jsonstream.py")


def test_workload_looks_like_tool_arguments(bench) -> None:
    doc = bench.make_document(17.7)
    deltas = bench.make_deltas(doc)
    assert "".join(deltas) == doc and abs(len(doc.encode()) - 17.7 * 1024) < 100
    assert 3.5 < len(doc) / len(deltas) < 4.2
    assert doc.count("\\n") > 100 and '\\"' in doc and "\\t" in doc


def test_every_row_runs_and_agrees(bench, capsys) -> None:
    compiled = not os.environ.get("TURBOSSE_NO_EXTENSIONS")
    result = bench.measure([0.5, 1.0], repeat=1, include_compiled=compiled)
    labels = set(result["times"])
    assert "orjson.loads once at the end" in labels
    assert "turbosse JSONStream python, value() per delta" in labels
    assert ("turbosse JSONStream compiled, events" in labels) == compiled
    lines = list(bench.report(result))
    assert lines[0].startswith("| method | 0.5 KiB")
    assert any(line.startswith("turbosse JSONStream python, events: ns per input byte") for line in lines)
    assert bench.main(["--sizes", "0.3", "--repeat", "1"] + ([] if compiled else ["--no-compiled"])) == 0
    assert "| turbosse JSONStream python, events |" in capsys.readouterr().out
