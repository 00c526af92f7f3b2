"""The in-process comparison: every contender on every workload, timed in
one run, and its Markdown tables.

Rows are :class:`Entry` objects produced by *providers* registered with
:func:`provider` (framing and decoding here). Within a (section, workload)
group the contenders are timed in an interleaved, rotating order, each sample
with the GC disabled, after one untimed call that gives the correctness
summary and one that calibrates the calls per sample; the best sample is kept.
Rows flagged ``turbosse=True`` are the baselines: each gets a ratio column,
and the first is the correctness reference every row's ``(event count, sum of
data lengths)`` is compared to.

A provider is called as ``provider(workloads, consume)`` and returns rows for
that consumption mode (``CONSUME_MODES``).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .timing import rotated
from .workloads import Workload

__all__ = ["CONSUME_MODES", "Entry", "Result", "collect_entries", "linearity", "machine_info", "measure",
           "provider", "table", "verdict"]

Summary = tuple[int, int]


@dataclass
class Entry:
    """One thing to time: an implementation on a workload."""

    section: str  # table section, e.g. "parser"; ratios are computed within it
    workload: Workload
    name: str  # implementation name
    run: Callable[[list[bytes]], Any]
    summarize: Callable[[Any], Summary]
    turbosse: bool = False  # a baseline row (gets a ratio column)


@dataclass
class Result:
    entry: Entry
    times: list[float] = field(default_factory=list)  # seconds per call, one per sample
    loops: int = 1  # calls per sample
    summary: Summary | None = None
    error: str | None = None
    reference: Summary | None = None  # summary of the group's reference row

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.nan

    @property
    def correct(self) -> bool:
        return self.error is None and self.summary is not None and self.summary == self.reference


# -- providers ---------------------------------------------------------------------

Provider = Callable[[dict[str, Workload], str], list[Entry]]
CONSUME_MODES = ("stream", "collect")  # see framing.py
PROVIDERS: list[Provider] = []


def provider(fn: Provider) -> Provider:
    """Register a row provider (decorator)."""
    PROVIDERS.append(fn)
    return fn


@provider
def parser_entries(workloads: dict[str, Workload], consume: str = "stream") -> list[Entry]:
    """SSE framing, bytes -> events, on every workload."""
    from . import framing

    comps = framing.parser_competitors(strict=False)
    return [
        Entry("parser", w, c.name, *c.mode(consume), turbosse=c.name.startswith("turbosse-"))
        for w in workloads.values()
        for c in comps
    ]


@provider
def decoder_entries(workloads: dict[str, Workload], consume: str = "stream") -> list[Entry]:
    """Bytes -> deltas, and tool-call accumulation (see decoding.py)."""
    from . import decoding

    return decoding.entries(workloads, Entry, consume)


def collect_entries(
    workloads: dict[str, Workload], providers: Iterable[Provider] | None = None, consume: str = "stream"
) -> list[Entry]:
    """Every provider's rows, in consumption mode ``consume`` (see ``CONSUME_MODES``)."""
    if consume not in CONSUME_MODES:
        raise ValueError(f"consume must be one of {CONSUME_MODES}, not {consume!r}")
    entries: list[Entry] = []
    for p in PROVIDERS if providers is None else providers:
        entries.extend(p(workloads, consume))
    return entries


# -- measurement -------------------------------------------------------------------

def _groups(entries: list[Entry]) -> dict[tuple[str, str], list[Entry]]:
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.section, e.workload.name), []).append(e)
    return groups


def _sample(entry: Entry, loops: int) -> float:
    """Seconds per call over ``loops`` calls, GC off. Each call's result is
    dropped inside the timed region: in stream mode that is a 2-tuple
    summary (the events were dropped one by one as they were consumed); in
    collect mode it is the list of every event, so every implementation pays
    for freeing what it kept. Memory use does not grow with ``loops``."""
    chunks = entry.workload.chunks
    run = entry.run
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            run(chunks)
        t1 = time.perf_counter()
    finally:
        gc.enable()
    return (t1 - t0) / loops


def measure(
    entries: list[Entry],
    repeats: int = 7,
    min_sample: float = 0.01,
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Time every entry: one untimed call gives the correctness summary, one
    timed call calibrates calls per sample so a sample lasts >= min_sample,
    then ``repeats`` samples per entry, interleaved across the group's entries
    in a rotating order. Best sample wins."""
    results: list[Result] = []
    # Everything alive now (modules, workloads) is moved out of the collector's
    # reach, so the gc.collect() before each sample only walks recent garbage.
    gc.collect()
    gc.freeze()
    try:
        for (_section, _wname), group in _groups(entries).items():
            results.extend(_measure_group(group, repeats, min_sample, progress))
    finally:
        gc.unfreeze()
    return results


def _measure_group(
    group: list[Entry], repeats: int, min_sample: float, progress: Callable[[str], None] | None
) -> list[Result]:
    section, wname = group[0].section, group[0].workload.name
    if progress:
        progress(f"{section}/{wname}: {len(group)} implementations x {repeats}")
    rs = [Result(e) for e in group]
    for r in rs:  # warm-up, correctness, calibration
        try:
            r.summary = r.entry.summarize(r.entry.run(r.entry.workload.chunks))
            dt = _sample(r.entry, 1)
            r.loops = max(1, math.ceil(min_sample / dt)) if dt > 0 else 1
        except Exception as exc:  # a competitor that crashes is reported, not fatal
            r.error = f"{type(exc).__name__}: {exc}"
    live = [r for r in rs if r.error is None]
    for i in range(repeats):
        for r in rotated(live, i):
            r.times.append(_sample(r.entry, r.loops))
    ref = next((r.summary for r in rs if r.entry.turbosse and r.error is None), None)
    for r in rs:
        r.reference = ref
    return rs


# -- reporting ----------------------------------------------------------------------

def _fmt_rate(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def _fmt_ratio(x: float) -> str:
    return f"{x:.1f}x" if math.isfinite(x) else "-"


def _fmt_time(t: float) -> str:
    if not math.isfinite(t):
        return "-"
    return f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def table(results: list[Result]) -> str:
    """Markdown table: per (section, workload) group, one row per implementation,
    with a ratio column per turbosse baseline (``t_row / t_baseline``: how many
    times faster the baseline is than that row)."""
    lines: list[str] = []
    by_group: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        by_group.setdefault((r.entry.section, r.entry.workload.name), []).append(r)
    sections = list(dict.fromkeys(s for s, _ in by_group))
    for section in sections:
        groups = [(k, v) for k, v in by_group.items() if k[0] == section]
        bases = list(dict.fromkeys(r.entry.name for _, v in groups for r in v if r.entry.turbosse))
        head = ["workload", "implementation", "best time", "events/s", "MB/s"]
        head += [f"{b} is N x faster" for b in bases] + ["correct"]
        lines.append(f"### {section}\n")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" if i < 2 or i == len(head) - 1 else "---:" for i in range(len(head))) + "|")
        for (_, wname), rs in groups:
            base_t = {r.entry.name: r.best for r in rs if r.entry.turbosse and r.error is None}
            for r in rs:
                w = r.entry.workload
                nevents = r.reference[0] if r.reference else math.nan
                t = r.best
                row = [wname, r.entry.name]
                if r.error:
                    row += ["error", "-", "-"] + ["-" for _ in bases] + [f"no ({r.error})"]
                else:
                    row += [_fmt_time(t), _fmt_rate(nevents / t), f"{w.nbytes / 1e6 / t:.1f}"]
                    row += [_fmt_ratio(t / base_t[b]) if b in base_t else "-" for b in bases]
                    if r.correct:
                        row.append("yes")
                    elif r.summary is not None:
                        row.append(f"no: {r.summary[0]} events, {r.summary[1]} chars "
                                   f"(ref {r.reference[0] if r.reference else '?'}, "
                                   f"{r.reference[1] if r.reference else '?'})")
                    else:
                        row.append("no")
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append("events/s counts the reference (turbosse) events of the workload; "
                     "MB/s is input bytes (10^6) per second.")
        lines.append("")
    return "\n".join(lines)


def linearity(results: list[Result], family: str = "d") -> str:
    """Time per big-event size for each implementation, and the growth ratio
    largest/smallest (linear: equal to the size ratio; quadratic: its square)."""
    rs = [r for r in results if r.entry.workload.family == family and r.error is None]
    if not rs:
        return ""
    sizes = list(dict.fromkeys(r.entry.workload.name for r in rs))
    nbytes = {r.entry.workload.name: r.entry.workload.nbytes for r in rs}
    impls = list(dict.fromkeys((r.entry.section, r.entry.name) for r in rs))
    lo, hi = sizes[0], sizes[-1]
    size_ratio = nbytes[hi] / nbytes[lo]
    head = ["section", "implementation", *sizes, f"{hi}/{lo} time", "verdict"]
    lines = [f"### linear growth: one big event in 256-byte reads (size ratio {size_ratio:.1f})\n",
             "| " + " | ".join(head) + " |",
             "|---|---|" + "---:|" * (len(sizes) + 1) + "---|"]
    for section, name in impls:
        t = {r.entry.workload.name: r.best for r in rs if (r.entry.section, r.entry.name) == (section, name)}
        if lo not in t or hi not in t:
            continue
        g = t[hi] / t[lo]
        # linear -> g ~ size_ratio; quadratic -> g ~ size_ratio**2. Split the
        # difference geometrically so timing noise does not flip the verdict.
        verdict = "linear" if g <= size_ratio ** 1.5 else "SUPERLINEAR"
        lines.append("| " + " | ".join([section, name] + [_fmt_time(t.get(s, math.nan)) for s in sizes]
                                       + [f"{g:.2f}", verdict]) + " |")
    lines.append("")
    return "\n".join(lines)


def _best(results: list[Result], section: str, workload: str, name: str) -> Result | None:
    return next((r for r in results if (r.entry.section, r.entry.workload.name, r.entry.name)
                 == (section, workload, name) and r.error is None), None)


def verdict(results: list[Result], workload: str = "synthetic-16k") -> str:
    """One plain sentence: how many times faster the compiled twin (or, when
    it was not measured, the Python twin) framed and decoded ``workload``
    than httpx-sse and the openai SDK, in this run; empty without data."""
    pairs = [("parser", "framed events", [("httpx-sse", "httpx-sse"), ("openai", "the openai SDK's SSEDecoder")]),
             ("decoder", "decoded tokens", [("httpx-sse+json", "httpx-sse + json"),
                                            ("openai-Stream", "the openai SDK's Stream")])]
    parts = []
    base = "turbosse-cython" if _best(results, "parser", workload, "turbosse-cython") else "turbosse-python"
    for section, what, others in pairs:
        a = _best(results, section, workload, base)
        got = [(label, b.best / a.best) for name, label in others
               if a is not None and (b := _best(results, section, workload, name)) is not None]
        if got:
            parts.append(f"{what} " + " and ".join(f"{x:.1f} times faster than {label}" for label, x in got))
    if not parts:
        return ""
    return f"On {workload}, {base} " + "; it ".join(parts) + " (best of each row, same run)."


def machine_info() -> str:
    """The report's banner: CPU, load, Python and the libraries compared."""
    import os
    import platform

    from .env import cpu_name, load_average, versions

    return "\n".join([
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; load average {load_average()} (shared machine: expect noise)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"- {versions(('httpx-sse', 'httpx', 'openai', 'orjson', 'Cython'))}",
    ])
