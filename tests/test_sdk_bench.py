"""benchmarks/sdk.py must not rot: one quick run, every row's result checked
against the stock SDK (equal objects) or turbosse's accumulator (direct
route), and the table printed with a ratio per row."""

from __future__ import annotations

import re

import pytest
from _bench_scripts import load_benchmark

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("httpx2")

def test_quick_run_all_rows_equal(capsys: pytest.CaptureFixture[str]) -> None:
    module = load_benchmark("sdk.py")
    assert module.main(["--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert len(rows) == 4 * 4  # four streams, four ways, one read mode
    assert all(re.search(r"\| [\d.]+x \| \d+ \| yes \|$", line) for line in rows), out
