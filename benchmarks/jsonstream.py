"""Partial JSON while it streams: turbosse.JSONStream against what SDKs use.

The workload is tool-call arguments as a model writes them: a JSON object
whose "content" member is a long source file (escaped newlines, quotes,
tabs, backslashes, some non-ASCII), cut into deltas of 1-7 characters
(about 3.8 on average, as OpenAI sends them). Every row consumes the same
deltas in the same run:

- jiter / pydantic: append the delta, re-parse the whole buffer in partial
  mode (what the openai, anthropic and instructor SDKs, pydantic-ai and
  openai-agents do), so the work per delta grows with the document;
- jsonriver: incremental, pure Python, async (yields growing values);
- json-stream: pull parser over the deltas, complete values only;
- orjson once: concatenate, parse once at the end (no partial values);
- the loop floor: the same Python loop calling a C method that returns an
  empty list per delta, which any push parser called per delta pays;
- turbosse JSONStream, compiled and pure Python: feed every delta and read
  its events, and the same with a value() snapshot after every delta.

Times are the best of --repeat runs (one run for rows slower than 1 s), GC
disabled. Ratios are to "orjson once" of the same size; the last lines give
the JSONStream rows' cost per input byte across sizes (flat = linear) and
the jiter re-parse over JSONStream with value().

Run: python benchmarks/jsonstream.py [--sizes 2.2,17.7,140] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import random
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from turbosse import _jsonstream_py

Row = tuple[str, Callable[[list[str]], Any]]
FLOOR = object()  # what the loop floor "parses" to (no document)

_WORDS = (
    "def", "return", "self", "value", "items", "for", "in", "if", "else", "None",
    "result", "append", "print", "len", "range", "yield", "class", "import", "é", "→",
)


def make_document(kib: float, seed: int = 0) -> str:
    """A tool call's JSON arguments of about ``kib`` KiB."""
    rng = random.Random(seed)
    target = int(kib * 1024)
    lines: list[str] = []

    def document() -> bytes:
        args = {"path": "src/app/module.py", "mode": "overwrite", "content": "\n".join(lines)}
        return orjson.dumps(args)

    size = 80  # the other members
    while True:
        indent = "    " * rng.randint(0, 3)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))
        extra = rng.choice(('', ' # "quoted"', " \\ path\\to", "\t# tab", " 'x'", ""))
        lines.append(f"{indent}{words}{extra}")
        size += len(orjson.dumps(lines[-1]))  # its escaped text, its quotes for "\n"
        if size >= target and len(document()) >= target:
            return document().decode()


def make_deltas(doc: str, seed: int = 0) -> list[str]:
    """``doc`` cut into pieces of 1-7 characters (mean about 3.9)."""
    rng = random.Random(seed)
    out = []
    i = 0
    while i < len(doc):
        n = rng.choice((1, 2, 3, 3, 4, 4, 5, 6, 7))
        out.append(doc[i : i + n])
        i += n
    return out


# -- the rows ---------------------------------------------------------------


def orjson_once(deltas: list[str]) -> Any:
    return orjson.loads("".join(deltas))


def loop_floor(deltas: list[str]) -> Any:
    noop = [].copy
    for _d in deltas:
        for _event in noop():
            pass
    return FLOOR


def jiter_reparse(deltas: list[str]) -> Any:
    from jiter import from_json

    buf = ""
    value = None
    for d in deltas:
        buf += d
        value = from_json(buf.encode(), partial_mode="trailing-strings")
    return value


def pydantic_reparse(deltas: list[str]) -> Any:
    from pydantic_core import from_json

    buf = ""
    value = None
    for d in deltas:
        buf += d
        value = from_json(buf, allow_partial="trailing-strings")
    return value


def jsonriver_rows(deltas: list[str]) -> Any:
    import jsonriver

    async def source() -> Any:
        for d in deltas:
            yield d

    async def consume() -> Any:
        value = None
        async for item in jsonriver.parse(source()):
            value = item
        return value

    return asyncio.run(consume())


def json_stream_pull(deltas: list[str]) -> Any:
    import json_stream

    return json_stream.to_standard_types(json_stream.load(iter(deltas)))


def stream_events(cls: type) -> Callable[[list[str]], Any]:
    def run(deltas: list[str]) -> Any:
        s = cls()
        feed = s.feed
        for d in deltas:
            for _event in feed(d):
                pass
        return s.close()

    return run


def stream_values(cls: type) -> Callable[[list[str]], Any]:
    def run(deltas: list[str]) -> Any:
        s = cls()
        feed = s.feed
        value = s.value
        for d in deltas:
            feed(d)
            value()
        return s.close()

    return run


def rows(include_compiled: bool = True) -> list[Row]:
    out: list[Row] = []
    for label, module, fn in (
        ("jiter trailing-strings re-parse", "jiter", jiter_reparse),
        ("pydantic allow_partial re-parse", "pydantic_core", pydantic_reparse),
        ("jsonriver (incremental, async)", "jsonriver", jsonriver_rows),
        ("json-stream (pull, complete values)", "json_stream", json_stream_pull),
    ):
        try:
            importlib.import_module(module)
        except ImportError:
            print(f"({label}: {module} not installed, row left out)", file=sys.stderr)
            continue
        out.append((label, fn))
    out.append(("orjson.loads once at the end", orjson_once))
    out.append(("loop floor: a no-op C call per delta", loop_floor))
    classes = [("python", _jsonstream_py.JSONStream)]
    if include_compiled:
        from turbosse import _jsonstream_c

        classes.insert(0, ("compiled", _jsonstream_c.JSONStream))
    for name, cls in classes:
        out.append((f"turbosse JSONStream {name}, events", stream_events(cls)))
        out.append((f"turbosse JSONStream {name}, value() per delta", stream_values(cls)))
    return out


# -- measurement ------------------------------------------------------------


def best_time(fn: Callable[[list[str]], Any], deltas: list[str], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    value = None
    gc.disable()
    try:
        for i in range(repeat):
            t0 = time.perf_counter()
            value = fn(deltas)
            elapsed = time.perf_counter() - t0
            best = min(best, elapsed)
            if elapsed > 1.0 and i == 0:
                break
            gc.collect()
    finally:
        gc.enable()
    return best, value


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.1f} µs"


def measure(sizes: list[float], repeat: int, include_compiled: bool = True) -> dict[str, Any]:
    """Run every row on every size; {"sizes": [...], "times": {label: [s, ...]}}."""
    table: dict[str, list[float]] = {}
    cases = []
    for kib in sizes:
        doc = make_document(kib)
        deltas = make_deltas(doc)
        cases.append((len(doc.encode()), deltas))
        expected = orjson.loads(doc)
        for label, fn in rows(include_compiled):
            seconds, value = best_time(fn, deltas, repeat)
            if value is not FLOOR and value != expected:
                raise AssertionError(f"{label} gave a different document for {kib} KiB")
            table.setdefault(label, []).append(seconds)
    return {"cases": cases, "times": table}


def report(result: dict[str, Any]) -> Iterator[str]:
    cases = result["cases"]
    times = result["times"]
    base = times["orjson.loads once at the end"]
    head = " | ".join(f"{n / 1024:.1f} KiB / {len(d):,} deltas" for n, d in cases)
    yield f"| method | {head} |"
    yield "|---|" + "---:|" * len(cases)
    for label, ts in times.items():
        cells = " | ".join(f"{_fmt(t)} ({t / b:.1f}x)" for t, b in zip(ts, base))
        yield f"| {label} | {cells} |"
    yield ""
    yield "(x) = time / orjson.loads once at the end, same size"
    for label, ts in times.items():
        if label.startswith("turbosse"):
            per_byte = ", ".join(f"{t / n * 1e9:.1f}" for t, (n, _) in zip(ts, cases))
            yield f"{label}: ns per input byte by size: {per_byte}"
    jiter = times.get("jiter trailing-strings re-parse")
    compiled = times.get("turbosse JSONStream compiled, value() per delta")
    if jiter and compiled:
        ratios = ", ".join(f"{j / c:.1f}x" for j, c in zip(jiter, compiled))
        yield f"jiter re-parse / JSONStream compiled with value() per delta: {ratios}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2.2,17.7,140", help="document sizes in KiB, comma-separated")
    ap.add_argument("--repeat", type=int, default=5, help="runs per row; the best counts")
    ap.add_argument("--no-compiled", action="store_true", help="leave out the compiled twin")
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    print(f"Python {sys.version.split()[0]}, orjson {orjson.__version__}")
    result = measure(sizes, args.repeat, include_compiled=not args.no_compiled)
    for line in report(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
