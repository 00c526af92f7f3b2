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

The harness (workloads, contenders, timing, tables) is ``turbosse._bench``;
this script chooses and prints.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("turbosse") is None:
    # a source checkout run without an install
    sys.path.insert(1, str(_HERE.parent / "src"))

from turbosse._bench.framing import CONSUME_HELP, other_mode_note  # noqa: E402
from turbosse._bench.inprocess import (  # noqa: E402
    CONSUME_MODES,
    collect_entries,
    linearity,
    machine_info,
    measure,
    table,
    verdict,
)
from turbosse._bench.workloads import build_workloads  # noqa: E402


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
          f"{CONSUME_HELP[args.consume]}.\n")
    print(table(results))
    print(linearity(results))
    line = verdict(results)
    if line:
        print(line)
        print()
        print(other_mode_note(args.consume))
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
