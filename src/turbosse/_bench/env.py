"""The version banner: the machine, Python and every library a benchmark
compares, written once for every report."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_name", "load_average", "version", "versions"]

#: the distributions a report names, in this order
LIBRARIES = ("httpx", "httpx-sse", "openai", "httpx-aiohttp", "aiohttp", "uvloop", "orjson", "Cython")


def version(dist: str) -> str:
    """The installed version of ``dist``, or ``"?"``."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version(dist)
    except PackageNotFoundError:
        return "?"


def versions(libraries: tuple[str, ...] = LIBRARIES) -> str:
    """``turbosse 0.1.0 (cython), Python 3.11.7, httpx 0.28.1, ...``; a
    library that is missing shows as ``(not installed)``."""
    import turbosse

    parts = [f"turbosse {turbosse.__version__} ({turbosse.IMPLEMENTATION})", f"Python {platform.python_version()}"]
    for dist in libraries:
        v = version(dist)
        parts.append(f"{dist} {v}" if v != "?" else f"{dist} (not installed)")
    return ", ".join(parts)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "?"


def machine() -> str:
    """``Linux x86_64, 2 CPUs``"""
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
