"""pytest-benchmark: end-to-end, one stream or a batch of paced streams
through each client against FakeLLMServer in its own process.

    python -m pytest benchmarks/test_bench_e2e.py --benchmark-enable

pytest-benchmark times wall clock; what matters end to end is the client's
CPU per token, recorded in ``extra_info`` (``cpu_us_per_token``, also
``tokens_per_s`` and ``correct``: every stream's text matched what the server
sent). For the side-by-side table with ratios, run ``benchmarks/e2e.py`` or
``turbosse bench``. Clients whose package is missing are skipped.
"""

from __future__ import annotations

import importlib.util

import pytest

from turbosse._bench.clients import CLIENTS
from turbosse._bench.e2e import run_scenario
from turbosse.testing import FakeLLMServer

SCENARIOS = {
    "unpaced": {"name": "unpaced", "streams": 1, "tokens": 2000, "rate": 0.0, "repeats": 1},
    "paced-32": {"name": "paced", "streams": 32, "tokens": 25, "rate": 50.0, "repeats": 1},
}


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer(process=True, lifetime=900) as srv:
        yield srv


def _variants():
    for name, contender in CLIENTS.items():
        missing = [m for m in contender.needs if importlib.util.find_spec(m) is None]
        marks = [pytest.mark.skip(reason=f"not installed: {', '.join(missing)}")] if missing else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("variant", list(_variants()))
def test_e2e(benchmark, server, variant, scenario):
    sc = SCENARIOS[scenario]
    benchmark.group = f"e2e-{scenario}"
    outcome = benchmark.pedantic(run_scenario, args=(variant, server.base_url, sc), rounds=3, iterations=1, warmup_rounds=1)
    (run,) = outcome["runs"]
    benchmark.extra_info.update(
        client=variant,
        correct=outcome["ok"],
        tokens=run["tokens"],
        tokens_per_s=run["tokens"] / run["wall"],
        cpu_us_per_token=run["cpu"] / run["tokens"] * 1e6,
    )
    assert outcome["ok"]
