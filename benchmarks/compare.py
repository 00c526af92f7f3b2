"""Side-by-side benchmark: every competitor on every workload, in one run.

    PYTHONPATH=src python benchmarks/compare.py [--quick] [--repeats N] [--only WORKLOAD]
        [--consume stream|collect] [--json FILE]

Benchmarks are hard, and shared machines are noisy. So everything here runs in
one process, in the same run: for each workload the competitors are timed in
an interleaved, rotating order (so drift and neighbours' load hit all of them
alike), each sample with the GC disabled, and the best of N samples is kept.
Quote the *ratios* from one run, not absolute times across runs.

``--consume`` chooses how every row (turbosse included, identically) consumes
what it produces. ``stream`` (the default) is a streaming consumer: each
event or delta is handled as it arrives (counted, the length of its data or
content added) and dropped, and the run returns that ``(count, checksum)``.
``collect`` keeps every event in a list until the run ends and frees the list
inside the timed region; with 20k events that adds page faults and allocator
work of roughly the same absolute size to every row, which compresses the
ratios. The stream-mode sink is a few bytecodes per event, written out the
same way in every row: it is part of what any real consumer pays, and it too
is a per-event cost common to all rows.

The table has one row per (section, workload, implementation). Rows are
produced by *providers* registered in ``PROVIDERS``: a provider takes the
workloads and returns :class:`Entry` objects. The "parser" section (issue 2)
is provided here; later work (e.g. bytes->deltas decoders) adds a provider of
its own and gets the same timing, correctness check and table for free.

Within a (section, workload) group, rows flagged ``turbosse=True`` are the
baselines: each gets a ratio column ("how many times faster than this row"),
and the first of them is the correctness reference every row's
``(event count, sum of data lengths)`` is compared to.

A provider is called as ``provider(workloads, consume)`` and returns rows for
that consumption mode: in ``stream`` mode ``run`` returns the summary itself
and ``summarize`` is the identity (``competitors.as_summary``).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # imported from elsewhere: find the sibling modules
    sys.path.insert(0, str(_HERE))

import competitors  # noqa: E402
from workloads import Workload, build_workloads  # noqa: E402

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
CONSUME_MODES = competitors.CONSUME_MODES
PROVIDERS: list[Provider] = []


def provider(fn: Provider) -> Provider:
    """Register a row provider (decorator)."""
    PROVIDERS.append(fn)
    return fn


@provider
def parser_entries(workloads: dict[str, Workload], consume: str = "stream") -> list[Entry]:
    """Issue 2: SSE framing, bytes -> events, on every workload."""
    comps = competitors.parser_competitors(strict=False)
    return [
        Entry("parser", w, c.name, *c.mode(consume), turbosse=c.name.startswith("turbosse-"))
        for w in workloads.values()
        for c in comps
    ]


@provider
def decoder_entries(workloads: dict[str, Workload], consume: str = "stream") -> list[Entry]:
    """Issue 3: bytes -> deltas, and tool-call accumulation (benchmarks/decoders.py)."""
    import decoders

    return decoders.entries(workloads, Entry, consume)


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
        k = i % len(live) if live else 0
        for r in live[k:] + live[:k]:
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
                    else:
                        row.append(f"no: {r.summary[0]} events, {r.summary[1]} chars "
                                   f"(ref {r.reference[0] if r.reference else '?'}, "
                                   f"{r.reference[1] if r.reference else '?'})")
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


def targets(results: list[Result], consume: str = "stream") -> str:
    """The issue-2 performance targets, checked on this run's numbers
    (measured in consumption mode ``consume``, named in the heading).

    The verdict uses the best-of ratio (as the table does). The median of the
    per-round ratios is printed too: within a round the two rows ran back to
    back, so it is the statistic least moved by a noisy neighbour."""
    by_key = {(r.entry.section, r.entry.workload.name, r.entry.name): r
              for r in results if r.error is None}
    checks = [
        ("synthetic-16k", "turbosse-cython", "httpx-sse", 15.0),
        ("synthetic-16k", "turbosse-cython", "openai", 20.0),
        ("synthetic-16k", "turbosse-python", "httpx-sse", 1.0),
    ]
    lines = [f"### issue 2 targets (same run, --consume {consume})\n"]
    for wname, fast, slow, goal in checks:
        a, b = by_key.get(("parser", wname, fast)), by_key.get(("parser", wname, slow))
        if a is None or b is None:
            lines.append(f"- {wname}: {fast} vs {slow}: not measured")
            continue
        ratio = b.best / a.best
        paired = sorted(tb / ta for ta, tb in zip(a.times, b.times, strict=True))
        spread = ""
        if paired:
            med = paired[len(paired) // 2]
            spread = f"; per-round median {med:.1f}x, range {paired[0]:.1f}-{paired[-1]:.1f}x"
        lines.append(f"- {wname}: {fast} is {ratio:.1f}x {slow} (target >= {goal:g}x): "
                     f"{'MET' if ratio >= goal else 'NOT MET'}{spread}")
    lines.append(competitors.other_mode_note(consume))
    lines.append("")
    return "\n".join(lines)


def machine_info() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    import turbosse

    def v(dist: str) -> str:
        return competitors._version(dist)

    return "\n".join([
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs; load average {load} (shared machine: expect noise)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"- turbosse {turbosse.__version__} (default IMPLEMENTATION={turbosse.IMPLEMENTATION}), "
        f"httpx-sse {v('httpx-sse')}, httpx {v('httpx')}, openai {v('openai')}, Cython {v('Cython')}",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small workloads, few repeats (< 30 s)")
    ap.add_argument("--repeats", type=int, default=None, help="samples per entry (best wins)")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results here")
    ap.add_argument("--only", action="append", default=None, metavar="WORKLOAD",
                    help="run only workloads whose name contains this (repeatable)")
    ap.add_argument("--consume", choices=CONSUME_MODES, default="stream",
                    help="stream (default): every row consumes each event as it is produced and "
                         "drops it; collect: every row keeps all events, freed in the timed region")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("turbosse") is None:
        # a source checkout run without PYTHONPATH=src or an install (only here,
        # never on import, so tests of an installed wheel are not shadowed)
        sys.path.insert(1, str(_HERE.parent / "src"))
    repeats = args.repeats or (5 if args.quick else 15)

    t0 = time.perf_counter()
    workloads = build_workloads(quick=args.quick)
    if args.only:
        workloads = {k: w for k, w in workloads.items() if any(o in k for o in args.only)}
        if not workloads:
            ap.error(f"no workload matches {args.only}")
    entries = collect_entries(workloads, consume=args.consume)
    if not any(e.name == "turbosse-cython" for e in entries):
        print("WARNING: turbosse-cython not measured (not built, or TURBOSSE_NO_EXTENSIONS is set)",
              file=sys.stderr)
    results = measure(entries, repeats=repeats, progress=lambda s: print(s, file=sys.stderr))
    elapsed = time.perf_counter() - t0

    print("## turbosse benchmark: SSE framing, same run\n")
    print(machine_info())
    print(f"- consumption mode: `--consume {args.consume}`")
    print(f"- best of {repeats} samples per row, GC disabled, interleaved rotating order; "
          f"run took {elapsed:.0f} s{' (--quick)' if args.quick else ''}\n")
    print("Workloads:\n")
    for w in workloads.values():
        print(f"- `{w.name}`: {w.description}; {w.nbytes / 1e6:.2f} MB in {len(w.chunks)} reads")
    print()
    print(f"Consumption (`--consume {args.consume}`): in every row, turbosse's included, "
          f"{competitors.CONSUME_HELP[args.consume]}.\n")
    print(table(results))
    print(linearity(results))
    print(targets(results, args.consume))
    print(__import__("decoders").targets(results, args.consume))
    if args.json:
        args.json.write_text(json.dumps([
            {"consume": args.consume,
             "section": r.entry.section, "workload": r.entry.workload.name, "implementation": r.entry.name,
             "best_s": r.best, "times_s": r.times, "loops": r.loops, "bytes": r.entry.workload.nbytes,
             "summary": r.summary, "reference": r.reference, "correct": r.correct, "error": r.error}
            for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
