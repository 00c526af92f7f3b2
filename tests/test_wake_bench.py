"""benchmarks/wake.py must not rot: every row reads every event it was fed
(``measure`` raises otherwise) on each installed loop, and the report names
every row."""

from __future__ import annotations

import pytest
from _bench_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("wake.py")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_every_row_reads_every_event(bench, loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    best = bench.measure(loop, 300, 1)
    assert set(best) == {"floor", "sink", "woken", "woken + generator", "woken + AsyncItems"}
    assert all(0 < v < float("inf") for v in best.values())


def test_a_response_that_fails_is_not_counted_as_read(bench) -> None:
    async def short(reads: int) -> int:
        return reads - 1

    rows = bench.ROWS
    try:
        bench.ROWS = (("short", short),)
        with pytest.raises(RuntimeError, match="short: 9 reads seen, 10 fed"):
            bench.measure("asyncio", 10, 1)
    finally:
        bench.ROWS = rows


def test_report(bench, capsys) -> None:
    assert bench.main(["--reads", "200", "--rounds", "1", "--loop", "asyncio"]) == 0
    out = capsys.readouterr().out
    assert "200 reads of one event each" in out
    for row in ("floor", "sink", "woken", "woken + generator", "woken + AsyncItems"):
        assert f"    {row} " in out
    assert "over sink" in out
