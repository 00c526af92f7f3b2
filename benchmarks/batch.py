"""The same batch through three clients, against one paced fake server in its
own process: ``turbosse batch`` (one process, and ``--workers 2``), an
``AsyncOpenAI`` + semaphore loop (what most users write) and an aiohttp +
``json`` loop in the style of ``vllm bench serve``'s client.

    python benchmarks/batch.py                  # 2,048 requests x 100 tokens, concurrency 1,024, ~1 min
    python benchmarks/batch.py --quick          # 256 x 50, concurrency 128
    python benchmarks/batch.py --unpaced        # the client as the bottleneck: workers 1 vs 2

Each client runs in a fresh child process; its CPU time (user + system, its
own worker processes included) comes from the operating system when it
exits, so every client is measured the same way. Latencies use one
definition for all (``vllm bench serve``'s: TTFT from sending to the first
token-bearing chunk, ITL between successive ones), computed by
``turbosse.batch.Summary`` from each client's per-request timestamps.

Reported per client: wall time, output tokens/s, client CPU per output token
(and its ratio to turbosse's), whether the offered token rate was held (at
least 90% of what the server's pacing allows: concurrency streams at
``--tps`` tokens/s, less the TTFT), and the measured TTFT / ITL next to the
server's true pacing: a client that falls behind inflates them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from turbosse.batch import Summary

CLIENTS = ("turbosse", "turbosse-2w", "turbosse-c10", "turbosse-c100", "openai", "aiohttp")
DEFAULT_CLIENTS = ("turbosse", "turbosse-2w", "openai", "aiohttp")


# -- the clients, each run in a child process ----------------------------------


def _row(ttft: float | None, stamps: list[float], start: float, end: float, tokens: int, error: str | None) -> dict[str, Any]:
    itl = [b - a for a, b in itertools.pairwise(stamps)]
    e2el = end - start
    tpot = (e2el - ttft) / (tokens - 1) if ttft is not None and tokens > 1 else 0.0
    metrics = {"ttft": ttft, "itl": itl, "tpot": tpot, "e2el": e2el, "output_tokens": tokens, "prompt_len": 0}
    return {"error": None if error is None else {"type": error}, "metrics": metrics}


async def _openai_loop(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    import httpx
    from openai import AsyncOpenAI

    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=cfg["concurrency"] + 8))
    client = AsyncOpenAI(base_url=cfg["url"], api_key="x", http_client=http, max_retries=0)
    sem = asyncio.Semaphore(cfg["concurrency"])

    async def one(i: int) -> dict[str, Any]:
        async with sem:
            start = time.perf_counter()
            stamps: list[float] = []
            try:
                stream = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"q{i}"}], stream=True,
                    max_tokens=cfg["tokens"], stream_options={"include_usage": True}, extra_body={"fake": cfg["fake"]},
                )  # fmt: skip
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        stamps.append(time.perf_counter())
            except Exception as exc:
                return _row(None, stamps, start, time.perf_counter(), len(stamps), type(exc).__name__)
            ttft = stamps[0] - start if stamps else None
            return _row(ttft, stamps, start, time.perf_counter(), len(stamps), None)

    try:
        return list(await asyncio.gather(*(one(i) for i in range(cfg["n"]))))
    finally:
        await client.close()


async def _aiohttp_loop(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    # as vllm bench serve's async_request_openai_chat_completions reads a stream
    import aiohttp

    connector = aiohttp.TCPConnector(limit=cfg["concurrency"] + 8)
    session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=6 * 3600))
    sem = asyncio.Semaphore(cfg["concurrency"])
    url = cfg["url"] + "/chat/completions"

    async def one(i: int) -> dict[str, Any]:
        payload = {
            "model": "m", "messages": [{"role": "user", "content": f"q{i}"}], "stream": True,
            "max_tokens": cfg["tokens"], "stream_options": {"include_usage": True}, "fake": cfg["fake"],
        }  # fmt: skip
        async with sem:
            start = time.perf_counter()
            stamps: list[float] = []
            try:
                async with session.post(url, json=payload) as response:
                    if response.status != 200:
                        return _row(None, stamps, start, time.perf_counter(), 0, f"HTTP {response.status}")
                    async for raw in response.content:
                        line = raw.strip()
                        if not line:
                            continue
                        chunk = line.decode("utf-8").removeprefix("data: ")
                        if chunk == "[DONE]":
                            continue
                        data = json.loads(chunk)
                        if choices := data.get("choices"):
                            if choices[0]["delta"].get("content"):
                                stamps.append(time.perf_counter())
            except Exception as exc:
                return _row(None, stamps, start, time.perf_counter(), len(stamps), type(exc).__name__)
            ttft = stamps[0] - start if stamps else None
            return _row(ttft, stamps, start, time.perf_counter(), len(stamps), None)

    try:
        return list(await asyncio.gather(*(one(i) for i in range(cfg["n"]))))
    finally:
        await session.close()


def child(name: str, cfg: dict[str, Any]) -> None:
    """Run one loop client and print its rows' summary as JSON."""
    loop_fn = {"openai": _openai_loop, "aiohttp": _aiohttp_loop}[name]
    start = time.perf_counter()
    rows = asyncio.run(loop_fn(cfg))
    duration = time.perf_counter() - start
    s = Summary()
    for row in rows:
        s.add(row)
    print(json.dumps(s.result(duration)))


# -- the parent: one server, every client in turn --------------------------------


def _run_child(argv: list[str], summary: Path | None = None) -> str:
    """The child's stdout; once it has been reaped its CPU time is in
    RUSAGE_CHILDREN (with that of the descendants it waited for)."""
    proc = subprocess.run(argv, capture_output=True)
    # 1: turbosse batch had failed requests (its summary says which)
    if proc.returncode not in (0, 1) or (summary is not None and not summary.exists()):
        raise RuntimeError(f"{argv[2:5]} exited with {proc.returncode}: {proc.stderr.decode()[-3000:]}")
    return proc.stdout.decode()


def measure(name: str, cfg: dict[str, Any], workdir: Path) -> dict[str, Any]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if name.startswith("turbosse"):
        inp, out, summary = workdir / "in.jsonl", workdir / f"{name}.jsonl", workdir / f"{name}.json"
        with open(inp, "wb") as fh:
            for i in range(cfg["n"]):
                body = {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}], "max_tokens": cfg["tokens"], "fake": cfg["fake"]}
                fh.write(orjson.dumps({"custom_id": f"r{i}", "url": "/v1/chat/completions", "body": body}) + b"\n")
        workers = "2" if name.endswith("-2w") else "1"
        argv = [sys.executable, "-m", "turbosse", "batch", str(inp), "-o", str(out), "--overwrite", "--quiet",
                "--url", cfg["url"], "--concurrency", str(cfg["concurrency"]), "--workers", workers,
                "--summary-json", str(summary)]  # fmt: skip
        if "-c" in name:  # turbosse-cN: --coalesce-ms N
            argv += ["--coalesce-ms", name.rsplit("-c", 1)[1]]
        _run_child(argv, summary)
        result = json.loads(summary.read_text())
    else:
        result = json.loads(_run_child([sys.executable, __file__, "--child", name, json.dumps(cfg)]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["client_cpu_s"] = cpu
    result["client_cpu_us_per_token"] = cpu * 1e6 / max(1, result["total_output_tokens"])
    return result


def report(cfg: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    tps, tokens, conc, n = cfg["fake"]["tokens_per_second"], cfg["tokens"], cfg["concurrency"], cfg["n"]
    lines = []
    paced = tps > 0
    if paced:
        true_itl = 1000.0 / tps
        per_request = cfg["fake"]["ttft"] + tokens / tps
        waves = -(-n // conc)
        ideal = n * tokens / (waves * per_request)
        lines.append(
            f"server pacing: {tps:g} tokens/s per stream (ITL {true_itl:.1f} ms), TTFT {cfg['fake']['ttft'] * 1000:.0f} ms; "
            f"{n} requests x {tokens} tokens, concurrency {conc}: at most {ideal:,.0f} output tokens/s"
        )
    else:
        lines.append(f"server unpaced, {cfg['fake']['events_per_write']} events per write; {n} requests x {tokens} tokens, concurrency {conc}")
    base = results.get("turbosse")
    head = f"{'client':14} {'wall s':>7} {'tok/s':>9} {'CPU us/tok':>10} {'x turbosse':>10} {'rate held':>9} {'TTFT p50':>9} {'ITL p50':>8} {'ITL p99':>8} {'failed':>6}"
    lines.append(head)
    for name, r in results.items():
        ratio = r["client_cpu_us_per_token"] / base["client_cpu_us_per_token"] if base else float("nan")
        held = "-"
        if paced:
            held = "yes" if r["output_throughput"] >= 0.9 * ideal else "no"
        lines.append(
            f"{name:14} {r['duration']:7.2f} {r['output_throughput']:9,.0f} {r['client_cpu_us_per_token']:10.1f} "
            f"{ratio:10.2f} {held:>9} {r['median_ttft_ms']:9.1f} {r['median_itl_ms']:8.2f} {r['p99_itl_ms']:8.2f} {r['failed']:6d}"
        )
    if paced:
        lines.append(f"measured p50 ITL vs the server's {true_itl:.1f} ms:")
        for name, r in results.items():
            lines.append(f"  {name:14} {r['median_itl_ms']:.2f} ms ({(r['median_itl_ms'] / true_itl - 1) * 100:+.0f}%)")
    if "turbosse" in results and "turbosse-2w" in results:
        speedup = results["turbosse-2w"]["output_throughput"] / results["turbosse"]["output_throughput"]
        lines.append(f"--workers 2 / --workers 1 tokens/s: {speedup:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2048, help="requests (default 2048)")
    p.add_argument("--tokens", type=int, default=100, help="tokens per request (default 100)")
    p.add_argument("--concurrency", type=int, default=1024, help="streams in flight (default 1024)")
    p.add_argument("--tps", type=float, default=20.0, help="server pacing, tokens/s per stream (default 20; 0: unpaced)")
    p.add_argument("--ttft", type=float, default=0.2, help="server TTFT in seconds (default 0.2)")
    p.add_argument("--events-per-write", type=int, default=1, help="server events per socket write (default 1)")
    p.add_argument("--clients", default=",".join(DEFAULT_CLIENTS),
                   help=f"comma-separated, from {', '.join(CLIENTS)} (turbosse-cN: --coalesce-ms N; default: all but those)")
    p.add_argument("--quick", action="store_true", help="256 requests x 50 tokens, concurrency 128")
    p.add_argument("--unpaced", action="store_true", help="no pacing, 4,000 x 200 tokens, concurrency 256, 16 events per write, turbosse clients only")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return 0
    if args.quick:
        args.n, args.tokens, args.concurrency = 256, 50, 128
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if args.unpaced:
        args.n, args.tokens, args.concurrency, args.tps, args.ttft = 4000, 200, 256, 0.0, 0.0
        args.events_per_write = 16  # a cheap server, so the client is what limits
        clients = [c for c in clients if c.startswith("turbosse")]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        p.error(f"unknown client(s): {', '.join(sorted(unknown))}")
    from turbosse._bench.env import versions
    from turbosse.testing import FakeLLMServer

    fake = {"tokens": args.tokens, "tokens_per_second": args.tps, "ttft": args.ttft, "events_per_write": args.events_per_write}
    results: dict[str, dict[str, Any]] = {}
    with FakeLLMServer(process=True, lifetime=3600) as server, tempfile.TemporaryDirectory() as tmp:
        cfg = {"url": server.base_url, "n": args.n, "tokens": args.tokens, "concurrency": args.concurrency, "fake": fake}
        for name in clients:
            results[name] = measure(name, cfg, Path(tmp))
            print(f"  {name}: {results[name]['duration']:.1f} s", file=sys.stderr, flush=True)
    print(versions())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(report(cfg, results))
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cfg, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
