"""The openai and anthropic SDKs with and without turbosse, in one run.

    PYTHONPATH=src python benchmarks/sdk.py [--quick] [--repeats N] [--json FILE]

For each SDK stream (openai chat completions, openai Responses, anthropic
Messages; recorded corpus streams, one anthropic stream with each delta
repeated to a long answer's length) and each way of reading the body (one SSE
event per read, 16 KiB reads), four ways to consume the same bytes:

- ``stock SDK``: ``create(stream=True)``, iterating the SDK's ``Stream``;
- ``decoder swap``: the same with only ``client._make_sse_decoder`` returning
  ``turbosse.openai.SSEDecoder`` (what a decoder alone can give);
- ``accelerated``: after ``turbosse.openai.accelerate(client)`` (the SDK's own
  objects, checked equal to the stock SDK's);
- ``direct route``: ``turbosse.openai.stream(client, ...)``, iterating
  ``turbosse.Delta`` tuples (no SDK objects; result checked against
  turbosse's accumulator).

The body is served in memory by httpx2's ``MockTransport`` so that only the
client side is timed. Each row is also timed on an empty body: that is the
cost of one request (the SDK builds and sends it, reads the headers; about a
millisecond), shown apart. Time per chunk is the stream's time less that,
divided by the number of objects the stock SDK yields. Rows of one group are
sampled in a rotating order with the GC off, best sample kept
(``turbosse._bench``'s method); quote the ratios of one run, not absolute
times across runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("turbosse") is None:
    sys.path.insert(1, str(_HERE.parent / "src"))

import httpx2  # noqa: E402

import turbosse  # noqa: E402
import turbosse.anthropic  # noqa: E402
import turbosse.openai  # noqa: E402
from turbosse._bench.env import machine, version, versions  # noqa: E402
from turbosse._bench.timing import rotated  # noqa: E402

CORPUS = _HERE.parent / "tests" / "corpus"
# name -> (API, corpus file, times each content_block_delta event is repeated)
STREAMS = {
    "openai chat": ("chat", "openai__chat-long-text-1200-chunks.sse", 1),
    "openai responses": ("responses", "openai__responses-reasoning-summary-long.sse", 1),
    # 117 events, thinking then text, each delta repeated: a long answer's
    # shape (a short stream would be timed mostly by its one request)
    "anthropic messages": ("messages", "anthropic__messages-thinking-text.sse", 10),
    "anthropic web search": ("messages", "anthropic__messages-web-search-server-tool.sse", 1),
}
READS = {"1 event/read": None, "16 KiB reads": 16384}
ROWS = ("stock SDK", "decoder swap", "accelerated", "direct route")


def events(data: bytes) -> list[bytes]:
    out, start = [], 0
    while (end := data.find(b"\n\n", start)) != -1:
        out.append(data[start:end + 2])
        start = end + 2
    return out + ([data[start:]] if start < len(data) else [])


def stretched(data: bytes, times: int) -> bytes:
    """``data`` with each ``content_block_delta`` event repeated ``times``."""
    if times == 1:
        return data
    return b"".join(e * times if b"content_block_delta" in e else e for e in events(data))


def split(data: bytes, size: int | None) -> list[bytes]:
    if size is None:  # one event per read
        return events(data)
    return [data[i:i + size] for i in range(0, len(data), size)]


def client(kind: str, chunks: list[bytes]) -> Any:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    if kind == "messages":
        import anthropic

        return anthropic.Anthropic(api_key="bench", base_url="http://bench", http_client=http, max_retries=0)
    import openai

    return openai.OpenAI(api_key="bench", base_url="http://bench/v1", http_client=http, max_retries=0)


def params(kind: str) -> dict[str, Any]:
    if kind == "chat":
        return {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    if kind == "responses":
        return {"model": "m", "input": "hi"}
    return {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


def rows(kind: str, chunks: list[bytes]) -> dict[str, Callable[[], Any]]:
    """name -> a function consuming the stream once and returning what it got."""
    module = turbosse.anthropic if kind == "messages" else turbosse.openai
    p = params(kind)

    def sdk_run(c: Any) -> Callable[[], Any]:
        resource = c.messages if kind == "messages" else c.responses if kind == "responses" else c.chat.completions
        return lambda: list(resource.create(stream=True, **p))

    swapped = client(kind, chunks)
    swapped._make_sse_decoder = lambda *options: module.SSEDecoder()  # anthropic 2.16 passes the request options
    accelerated = client(kind, chunks)
    module.accelerate(accelerated)
    direct = client(kind, chunks)
    return {
        "stock SDK": sdk_run(client(kind, chunks)),
        "decoder swap": sdk_run(swapped),
        "accelerated": sdk_run(accelerated),
        "direct route": lambda: module.stream(direct, **p).result(),
    }


def _tolerant(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` on an empty body: turbosse's direct route rightly reports a
    body with no end marker as interrupted; the request's cost is the same."""

    def run() -> Any:
        try:
            return fn()
        except turbosse.StreamInterrupted:
            return None

    return run


def sample(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def run(repeats: int, quick: bool) -> list[dict[str, Any]]:
    results = []
    for stream_name, (kind, file, times) in STREAMS.items():
        data = stretched((CORPUS / file).read_bytes(), times)
        for read_name, size in READS.items():
            chunks = split(data, size)
            fns = rows(kind, chunks)
            stock = fns["stock SDK"]()
            n = len(stock)
            checks = {"stock SDK": True, "decoder swap": fns["decoder swap"]() == stock,
                      "accelerated": fns["accelerated"]() == stock}
            fmt = "anthropic" if kind == "messages" else "openai-chat" if kind == "chat" else "openai-responses"
            ref = turbosse.accumulate([data], format=fmt)
            checks["direct route"] = fns["direct route"]().choices == ref.choices
            empty = {name: _tolerant(fn) for name, fn in rows(kind, []).items()}
            times: dict[str, list[float]] = {name: [] for name in ROWS}
            request: dict[str, list[float]] = {name: [] for name in ROWS}
            for i in range(repeats):
                for name in rotated(list(ROWS), i):
                    times[name].append(sample(fns[name]))
                    request[name].append(sample(empty[name]))
            per_request = {name: min(ts) for name, ts in request.items()}
            per_chunk = {name: max(min(ts) - per_request[name], 1e-9) / n for name, ts in times.items()}
            for name in ROWS:
                results.append({"stream": stream_name, "reads": read_name, "row": name, "chunks": n,
                                "us_per_chunk": per_chunk[name] * 1e6, "us_per_request": per_request[name] * 1e6,
                                "vs_stock": per_chunk["stock SDK"] / per_chunk[name], "equal": checks[name]})
            if quick:
                break
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| stream | reads | row | µs per chunk | x stock SDK | µs per request | same result |",
             "|---|---|---|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['stream']} ({r['chunks']} chunks) | {r['reads']} | {r['row']} | {r['us_per_chunk']:.2f} "
                     f"| {r['vs_stock']:.1f}x | {r['us_per_request']:.0f} | {'yes' if r['equal'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one read mode per stream, 3 samples")
    ap.add_argument("--repeats", type=int, default=None, help="samples per row (best wins; default 15)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    print(f"{machine()}; {versions(('openai', 'anthropic', 'httpx2', 'pydantic', 'orjson'))}")
    print(f"pydantic-core {version('pydantic-core')}; best of {repeats} samples per row, GC off\n")
    results = run(repeats, args.quick)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if all(r["equal"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
