"""Loading a script of benchmarks/ as a module, for the tests that keep each
one from rotting (benchmarks/ is in the repository, not in the sdist: a test
run from an unpacked sdist skips them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(script: str) -> ModuleType:
    """``benchmarks/<script>`` imported as the module ``bench_<name>``."""
    path = BENCHMARKS / script
    if not path.is_file():
        pytest.skip("benchmarks/ is not shipped in the sdist")
    name = "bench_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module
