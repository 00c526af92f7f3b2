"""pytest-benchmark: bytes -> deltas (decoder) and tool-call accumulation.

    python -m pytest benchmarks/test_bench_decoder.py --benchmark-enable

The rows are those of ``benchmarks/compare.py``'s "decoder" and "accumulate"
sections (defined in ``turbosse._bench.decoding``): turbosse's twins, httpx-sse +
json, the openai SDK's decoder + json and its ``Stream`` of
``ChatCompletionChunk`` models, a naive split + orjson loop, ``orjson.loads``
alone on the pre-split payloads, and accumulating a long tool-call stream.
For ratios from one run use compare.py; this file is for pytest-benchmark's
storage and ``--benchmark-compare``. Every row runs in both consumption
modes (``stream``: each delta consumed as produced and dropped; ``collect``:
everything kept, freed after each call; see turbosse._bench.decoding). ``extra_info``
records the implementation, the workload, the mode, ``(tokens or calls,
characters)`` and whether they match turbosse's pure-Python twin (in collect
mode). turbosse rows must match exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from turbosse._bench import decoding as decoders
from turbosse._bench import framing as competitors
from turbosse._bench.workloads import Workload, build_workloads


@dataclass
class Row:  # the fields of inprocess.Entry that decoders.entries fills
    section: str
    workload: Workload
    name: str
    run: Callable[[list[bytes]], Any]
    summarize: Callable[[Any], tuple[int, int]]
    turbosse: bool = False


@functools.cache
def rows() -> dict[str, Row]:
    workloads = build_workloads()
    wanted = {k: w for k, w in workloads.items() if k in ("synthetic-16k", "synthetic-per-event")}
    return {f"{r.section}/{r.workload.name}/{consume}/{r.name}": r
            for consume in competitors.CONSUME_MODES
            for r in decoders.entries(wanted, Row, consume)}


def _ids() -> list[str]:
    return list(rows())


@functools.cache
def _reference(section: str, workload: str) -> tuple[int, int]:
    ref = rows()[f"{section}/{workload}/collect/turbosse-python"]
    return ref.summarize(ref.run(ref.workload.chunks))


@pytest.mark.benchmark(min_rounds=3, max_time=0.5, disable_gc=True, warmup=True, warmup_iterations=1)
@pytest.mark.parametrize("key", _ids())
def test_decode(benchmark: Any, key: str) -> None:
    row = rows()[key]
    consume = key.split("/")[2]
    benchmark.group = f"{row.section}/{row.workload.name}/{consume}"
    benchmark.name = row.name
    result = benchmark(row.run, row.workload.chunks)
    summary = row.summarize(result)
    ref = _reference(row.section, row.workload.name)
    benchmark.extra_info.update(
        implementation=row.name,
        consume=consume,
        workload=row.workload.name,
        description=row.workload.description,
        bytes=row.workload.nbytes,
        reads=len(row.workload.chunks),
        items=summary[0],
        chars=summary[1],
        reference_items=ref[0],
        reference_chars=ref[1],
        correct=summary == ref,
    )
    if row.turbosse:
        assert summary == ref, f"{key}: {summary} != reference {ref}"
