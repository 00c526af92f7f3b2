"""How the harness measures: calibrated best-of timing, medians, the rotation
of rounds, and the CPU clocks of this process, another process and the
machine (Linux ``/proc``)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["best_of", "calibrate", "clock", "elapsed", "median", "rotated"]

T = TypeVar("T")


def median(values: Sequence[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def rotated(items: Sequence[T], k: int) -> list[T]:
    """``items`` started at position ``k`` (mod its length): round ``k``'s
    order, so that drift on a shared machine and the position in a round
    affect every contender alike (A B C, B C A, C A B, ...)."""
    if not items:
        return []
    k %= len(items)
    return [*items[k:], *items[:k]]


def calibrate(fn: Callable[[], object], min_time: float, timer: Callable[[], float] = time.perf_counter,
              limit: int = 1 << 16) -> int:
    """Calls per sample so that one sample lasts at least ``min_time``
    seconds of ``timer`` (timer resolution then does not matter)."""
    loops = 1
    while True:
        t0 = timer()
        for _ in range(loops):
            fn()
        if timer() - t0 >= min_time or loops >= limit:
            return loops
        loops *= 2


def best_of(fn: Callable[[], object], loops: int, *, min_time: float = 0.0, min_samples: int = 3,
            timer: Callable[[], float] = time.process_time) -> float:
    """The least time of ``loops`` calls over samples taken until ``min_time``
    seconds were spent and at least ``min_samples`` were taken."""
    gc.collect()
    best, spent, samples = float("inf"), 0.0, 0
    while spent < min_time or samples < min_samples:
        t0 = timer()
        for _ in range(loops):
            fn()
        dt = timer() - t0
        best, spent, samples = min(best, dt), spent + dt, samples + 1
    return best


_CLK_TCK = 100.0
try:
    _CLK_TCK = float(os.sysconf("SC_CLK_TCK"))
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    pass


def _machine_busy() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux
    /proc/stat: user, nice, system, irq, softirq), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        v = [int(x) for x in fields[1:8]]
    except (OSError, ValueError, IndexError):
        return None
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / _CLK_TCK


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of process ``pid`` (Linux /proc), or None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


def clock(server_pid: int | None = None) -> tuple[float, ...]:
    """(wall, CPU, user, system) seconds of this process, then the machine's
    busy CPU seconds and the server process's (NaN where unknown); user/system
    are 0 where the resource module is missing (Windows)."""
    try:
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        user, system = ru.ru_utime, ru.ru_stime
    except ImportError:  # pragma: no cover - Windows
        user = system = 0.0
    nan = float("nan")
    busy, server = _machine_busy(), _process_cpu(server_pid)
    return time.perf_counter(), time.process_time(), user, system, nan if busy is None else busy, nan if server is None else server


def elapsed(t0: tuple[float, ...], server_pid: int | None = None) -> dict[str, float]:
    """The timed region's wall, CPU, user and system seconds of this process,
    and ``others``: how many CPUs, on average, the rest of the machine kept
    busy meanwhile (everything but this client and the server; absent where
    /proc is not available). A busy machine is the main source of noise."""
    t1 = clock(server_pid)
    d = {k: b - a for k, a, b in zip(("wall", "cpu", "user", "sys", "busy", "server"), t0, t1)}
    out = {k: d[k] for k in ("wall", "cpu", "user", "sys")}
    if d["busy"] == d["busy"] and d["wall"] > 0:  # not NaN
        server = d["server"] if d["server"] == d["server"] else 0.0
        out["others"] = max(0.0, d["busy"] - d["cpu"] - server) / d["wall"]
    return out
