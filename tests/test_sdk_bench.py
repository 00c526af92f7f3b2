"""benchmarks/sdk.py must not rot: one quick run, every row's result checked
against the stock SDK (equal objects) or turbosse's accumulator (direct
route), and the table printed with a ratio per row."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("httpx2")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "sdk.py"


def test_quick_run_all_rows_equal(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_sdk", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert len(rows) == 4 * 4  # four streams, four ways, one read mode
    assert all(re.search(r"\| [\d.]+x \| \d+ \| yes \|$", line) for line in rows), out
