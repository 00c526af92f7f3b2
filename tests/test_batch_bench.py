"""benchmarks/batch.py must not rot: run it on a tiny batch with every
client and check the report has a row for each and the ratios it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openai", reason="benchmark extra (openai) not installed")
pytest.importorskip("aiohttp", reason="benchmark extra (aiohttp) not installed")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "batch.py"


def test_batch_benchmark_smoke(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "12", "--tokens", "5", "--concurrency", "6", "--tps", "100",
         "--ttft", "0.05", "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = proc.stdout
    for name in ("turbosse", "turbosse-2w", "openai", "aiohttp"):
        assert f"\n{name} " in report
    assert "measured p50 ITL vs the server's 10.0 ms" in report
    assert "--workers 2 / --workers 1 tokens/s" in report
    results = json.loads(out.read_text())["results"]
    for name, r in results.items():
        assert r["failed"] == 0, name
        assert r["total_output_tokens"] == 12 * 5, name
        assert r["client_cpu_s"] > 0, name
