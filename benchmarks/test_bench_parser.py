"""pytest-benchmark: SSE framing, one group per workload.

    python -m pytest benchmarks --benchmark-enable

(pyproject's addopts disable benchmarks, and testpaths keeps this directory
out of the default run.) For ratios from a single run use
``benchmarks/compare.py``; this file is for pytest-benchmark's storage and
``--benchmark-compare`` across commits.

Each test times one implementation on one workload in one consumption mode
(``stream``: each event consumed as produced and dropped, the run returns the
summary; ``collect``: all events kept in a list, freed after each call; see
turbosse._bench.framing) with the GC disabled and records in ``extra_info`` the
implementation, the workload, the mode, the event count,
the sum of data lengths and ``correct``: whether those match turbosse's
pure-Python twin in collect mode (the reference, always importable; the twins are checked
against each other by the test suite). The compiled twin is required unless
TURBOSSE_NO_EXTENSIONS is set, as in the test suite.
"""

from __future__ import annotations

import functools

import pytest

from turbosse._bench import framing as competitors
from turbosse._bench.workloads import Workload, build_workloads

WORKLOADS: dict[str, Workload] = build_workloads()
NAMES = competitors.parser_names()


@functools.cache
def _competitor(name: str) -> competitors.Competitor:
    return competitors.PARSER_FACTORIES[name]()


@functools.cache
def _reference(workload: str) -> tuple[int, int]:
    ref = _competitor("turbosse-python")
    return ref.summarize(ref.run(WORKLOADS[workload].chunks))


@pytest.mark.benchmark(min_rounds=5, max_time=0.5, disable_gc=True, warmup=True, warmup_iterations=1)
@pytest.mark.parametrize("impl", NAMES)
@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("consume", competitors.CONSUME_MODES)
def test_parse(benchmark, consume: str, workload: str, impl: str) -> None:
    comp = _competitor(impl)  # ImportError (compiled twin not built) fails the test
    run, summarize = comp.mode(consume)
    w = WORKLOADS[workload]
    benchmark.group = f"parser/{workload}/{consume}"
    benchmark.name = f"{impl}"
    result = benchmark(run, w.chunks)
    count, chars = summarize(result)
    ref = _reference(workload)
    correct = (count, chars) == ref
    benchmark.extra_info.update(
        implementation=impl,
        version=comp.version,
        consume=consume,
        workload=workload,
        description=w.description,
        bytes=w.nbytes,
        reads=len(w.chunks),
        events=count,
        data_chars=chars,
        reference_events=ref[0],
        reference_data_chars=ref[1],
        correct=correct,
    )
    if impl.startswith("turbosse-"):
        # turbosse must be exactly right; other rows only record their result
        # (httpx-sse/openai dispatch empty-data events, naive loses events).
        assert correct, f"{impl} on {workload}: {(count, chars)} != reference {ref}"
