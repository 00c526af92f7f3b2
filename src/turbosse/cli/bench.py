"""``turbosse bench``: the end-to-end benchmark's options and its printed report
(the harness is :mod:`turbosse._bench`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ._loop import add_loop_option, use_uvloop
from ._numbers import number

__all__ = ["add_parser", "bench_command"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from .._bench.clients import CLIENTS
    from .._bench.e2e import DEFAULTS

    names = list(CLIENTS)
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="end-to-end tokens/s and client CPU per token vs httpx-sse, the openai SDK and plain httpx",
        description=(
            "End-to-end benchmark: turbosse's clients vs httpx-sse + json, the openai SDK and plain "
            "httpx, against the fake server in its own process; one unpaced stream and many "
            "concurrent paced streams. Prints tokens/s and client CPU microseconds per token."
        ),
    )
    p.add_argument("--quick", action="store_true", help="a short run (about 20 s): 64 streams, fewer tokens, two rounds")
    p.add_argument("--url", help="use a running server (e.g. `turbosse serve`) at this base URL instead of starting one")
    p.add_argument("--variants", default=",".join(names), help=f"comma-separated subset of: {', '.join(names)}")
    p.add_argument("--unpaced-tokens", type=number(int), help=f"tokens in the unpaced stream (default {DEFAULTS['unpaced_tokens']})")
    p.add_argument("--streams", type=number(int), help=f"concurrent paced streams (default {DEFAULTS['paced_streams']})")
    p.add_argument("--paced-tokens", type=number(int), help=f"tokens per paced stream (default {DEFAULTS['paced_tokens']})")
    p.add_argument("--rate", type=number(float), help=f"tokens/s of each paced stream (default {DEFAULTS['rate']:g})")
    p.add_argument("--rounds", type=number(int), help=f"interleaved rounds; medians and ranges are reported (default {DEFAULTS['rounds']})")
    p.add_argument(
        "--lockstep-rounds", type=number(int, 0, above=False),
        help=f"rounds of the lockstep scenario (the paced workload, one event per read, no clock); 0: none (default {DEFAULTS['lockstep_rounds']})",
    )  # fmt: skip
    add_loop_option(p, default=None, help_default="each client its own (uvloop for the aiohttp row, asyncio for the others)")
    p.add_argument("--json", metavar="FILE", help="also write the raw report as JSON to FILE")
    p.set_defaults(func=bench_command)
    return p


def bench_command(args: argparse.Namespace) -> int:
    from .._bench.clients import CLIENTS
    from .._bench.e2e import DEFAULTS, QUICK, run
    from .._bench.e2e_report import failed, format_report

    base = dict(QUICK if args.quick else DEFAULTS)
    options = (
        ("unpaced_tokens", "unpaced_tokens"), ("paced_streams", "streams"), ("paced_tokens", "paced_tokens"), ("rate", "rate"),
        ("rounds", "rounds"), ("lockstep_rounds", "lockstep_rounds"),
    )  # fmt: skip
    for key, attr in options:
        if getattr(args, attr) is not None:
            base[key] = getattr(args, attr)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(CLIENTS))
    if unknown:
        print(f"turbosse bench: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(CLIENTS)}", file=sys.stderr)
        return 2
    try:
        loop = None if args.loop is None else "uvloop" if use_uvloop(args.loop) else "asyncio"
    except ValueError as exc:
        print(f"turbosse bench: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    report = run(
        variants=variants, url=args.url, parse_time=0.1 if args.quick else 0.3, loop=loop,
        progress=lambda m: print(m, file=sys.stderr, flush=True), **base,
    )  # fmt: skip
    print(format_report(report))
    print(f"\n(finished in {time.monotonic() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    bad = failed(report)
    if bad:
        labels = ", ".join(CLIENTS[name].label for name in bad)
        print(f"turbosse bench: failed or read the wrong text: {labels}", file=sys.stderr)
        return 1
    return 0
