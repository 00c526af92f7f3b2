"""``turbosse bench``: end-to-end tokens per second and client CPU per token.

The same workload, in the same run, through each client people use to read an
OpenAI-style stream, against :class:`turbosse.testing.FakeLLMServer` running in
a process of its own (so the server's CPU is not counted):

- turbosse sync (``ChatClient``, httpx; one thread per stream when concurrent)
- turbosse async (``AsyncChatClient``, httpx's default transport, asyncio)
- turbosse async with httpx-aiohttp's ``AiohttpTransport`` on uvloop
- httpx-sse + ``json`` (``aconnect_sse``, httpx's default transport)
- the openai SDK (``AsyncOpenAI`` pointed at the fake server)
- plain httpx ``aiter_lines()`` + ``json``

in two scenarios: one unpaced stream (peak throughput), and 256 concurrent
streams paced at 50 tokens/s each (what a batch client sees). Each client runs
in a fresh worker process; its CPU time is ``time.process_time()`` of that
process around the timed region (client objects are created before it and
closed after it; connections are opened inside it). Every stream's text is
checked against what the server sent.

Parsing versus transport: the same stream bytes, cut as the client reads them
(one event per read when paced, 64 KiB reads when not), are run through each
client's parsing pipeline alone, with no I/O; the rest of the client's CPU per
token is transport (httpx, the event loop, sockets). Benchmarks are hard:
absolute numbers move between runs on a shared machine, so compare the ratios
from one run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

MODEL = "gpt-fake"
API_KEY = "sk-fake"
MESSAGES = [{"role": "user", "content": "Write a long story."}]
WARM = {"tokens": 20}

# name, label, needs (importable modules), async?
VARIANTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("turbosse-sync", "turbosse ChatClient, sync (httpx)", ()),
    ("turbosse-async", "turbosse AsyncChatClient (httpx)", ()),
    ("turbosse-aiohttp", "turbosse AsyncChatClient (httpx-aiohttp + uvloop)", ("httpx_aiohttp", "uvloop")),
    ("httpx-sse", "httpx-sse + json (httpx)", ("httpx_sse",)),
    ("openai", "openai SDK AsyncOpenAI", ("openai",)),
    ("httpx-lines", "httpx aiter_lines + json", ()),
    # not a client: reads the bytes and parses nothing, the floor for any
    # parser on httpx's default transport
    ("httpx-raw", "httpx aiter_raw, no parsing (floor)", ()),
]
VARIANT_NAMES = [v[0] for v in VARIANTS]

DEFAULTS: dict[str, Any] = {"unpaced_tokens": 5_000, "unpaced_repeats": 1, "paced_streams": 256, "paced_tokens": 80, "rate": 50.0, "rounds": 2}
# --quick keeps to about 20 s on two cores: fewer concurrent streams, one round
QUICK: dict[str, Any] = {"unpaced_tokens": 2_000, "unpaced_repeats": 1, "paced_streams": 64, "paced_tokens": 25, "rate": 50.0, "rounds": 1}


# -- the clients (run inside a worker process) ------------------------------------


def _limits() -> Any:
    import httpx

    return httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def _client_factory(variant: str, url: str) -> Callable[[], Any]:
    """An async factory returning (one_stream(fake) -> (tokens, text), aclose)."""
    import httpx

    from turbosse.testing import fake_text

    if variant in ("turbosse-async", "turbosse-aiohttp"):
        from turbosse import AsyncChatClient

        async def make() -> Any:
            if variant == "turbosse-aiohttp":
                from httpx_aiohttp import AiohttpTransport

                http = httpx.AsyncClient(transport=AiohttpTransport(limits=_limits()), timeout=120)
            else:
                http = httpx.AsyncClient(limits=_limits(), timeout=120)
            client = AsyncChatClient(base_url=url, model=MODEL, api_key=API_KEY, http_client=http, max_retries=0)

            async def one(fake: dict[str, Any]) -> tuple[int, str]:
                n = 0
                async with client.stream(MESSAGES, fake=fake) as stream:
                    async for d in stream:
                        if d.content is not None:
                            n += 1
                    return n, (await stream.result()).content or ""

            return one, http.aclose

        return make

    if variant == "httpx-sse":
        from httpx_sse import aconnect_sse

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any]) -> tuple[int, str]:
                parts: list[str] = []
                body = _body(fake)
                async with aconnect_sse(http, "POST", url + "/chat/completions", json=body) as source:
                    async for sse in source.aiter_sse():
                        if sse.data == "[DONE]":
                            continue
                        for choice in json.loads(sse.data)["choices"]:
                            text = choice["delta"].get("content")
                            if text:
                                parts.append(text)
                return len(parts), "".join(parts)

            return one, http.aclose

        return make

    if variant == "httpx-lines":

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any]) -> tuple[int, str]:
                parts: list[str] = []
                async with http.stream("POST", url + "/chat/completions", json=_body(fake)) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            for choice in json.loads(line[6:])["choices"]:
                                text = choice["delta"].get("content")
                                if text:
                                    parts.append(text)
                return len(parts), "".join(parts)

            return one, http.aclose

        return make

    if variant == "httpx-raw":

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any]) -> tuple[int, str]:
                async with http.stream("POST", url + "/chat/completions", json=_body(fake)) as response:
                    async for _ in response.aiter_raw():
                        pass
                return fake["tokens"], fake_text(fake["tokens"])  # not parsed: nothing to check

            return one, http.aclose

        return make

    if variant == "openai":
        from openai import AsyncOpenAI

        async def make() -> Any:
            client = AsyncOpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=120)

            async def one(fake: dict[str, Any]) -> tuple[int, str]:
                parts: list[str] = []
                stream = await client.chat.completions.create(  # type: ignore[call-overload]
                    model=MODEL, messages=MESSAGES, stream=True,
                    stream_options={"include_usage": True}, extra_body={"fake": fake},
                )  # fmt: skip
                async for chunk in stream:
                    if chunk.choices:
                        text = chunk.choices[0].delta.content
                        if text:
                            parts.append(text)
                return len(parts), "".join(parts)

            return one, client.close

        return make

    raise ValueError(f"unknown async variant {variant!r}")


def _body(fake: dict[str, Any]) -> dict[str, Any]:
    return {"model": MODEL, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}, "fake": fake}


def _new_loop(uvloop: bool) -> Any:
    import asyncio

    if uvloop:
        import uvloop as _uvloop

        return _uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _clock() -> tuple[float, float, float, float]:
    """(wall, CPU, user, system) seconds of this process; user/system are
    0 where the resource module is missing (Windows)."""
    try:
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        user, system = ru.ru_utime, ru.ru_stime
    except ImportError:  # pragma: no cover - Windows
        user = system = 0.0
    return time.perf_counter(), time.process_time(), user, system


def _elapsed(t0: tuple[float, float, float, float]) -> dict[str, float]:
    t1 = _clock()
    return {k: b - a for k, a, b in zip(("wall", "cpu", "user", "sys"), t0, t1)}


def _run_async_scenario(variant: str, url: str, streams: int, fake: dict[str, Any], stagger: float) -> tuple[list[tuple[int, str]], dict[str, float]]:
    import asyncio

    make = _client_factory(variant, url)
    loop = _new_loop(variant == "turbosse-aiohttp")
    try:

        async def main() -> tuple[list[tuple[int, str]], dict[str, float]]:
            one, aclose = await make()
            await one(WARM)  # lazy imports and the first connection: not timed

            async def delayed(i: int) -> tuple[int, str]:
                if stagger:
                    await asyncio.sleep(i * stagger)
                got: tuple[int, str] = await one(fake)
                return got

            gc.collect()
            t0 = _clock()
            results = await asyncio.gather(*(delayed(i) for i in range(streams)))
            times = _elapsed(t0)
            await aclose()
            return list(results), times

        outcome: tuple[list[tuple[int, str]], dict[str, float]] = loop.run_until_complete(main())
        return outcome
    finally:
        loop.close()


def _run_sync_scenario(url: str, streams: int, fake: dict[str, Any], stagger: float) -> tuple[list[tuple[int, str]], dict[str, float]]:
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from turbosse import ChatClient

    http = httpx.Client(limits=_limits(), timeout=120)
    client = ChatClient(base_url=url, model=MODEL, api_key=API_KEY, http_client=http, max_retries=0)

    def one(i: int, fake: dict[str, Any] = fake) -> tuple[int, str]:
        if stagger:
            time.sleep(i * stagger)
        n = 0
        with client.stream(MESSAGES, fake=fake) as stream:
            for d in stream:
                if d.content is not None:
                    n += 1
            return n, stream.result().content or ""

    one(0, WARM)
    gc.collect()
    t0 = _clock()
    if streams == 1:
        results = [one(0)]
    else:  # one thread per stream: how a sync client serves concurrent streams
        with ThreadPoolExecutor(max_workers=streams) as pool:
            results = list(pool.map(one, range(streams)))
    times = _elapsed(t0)
    http.close()
    return results, times


def run_scenario(variant: str, url: str, sc: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario ``sc["repeats"]`` times in this process."""
    from turbosse.testing import fake_text

    fake = {"tokens": sc["tokens"], "tokens_per_second": sc["rate"], "events_per_write": 1}
    # paced streams start spread over one token interval, as unsynchronised
    # clients would, instead of all at the same instant
    stagger = (1.0 / sc["rate"]) / sc["streams"] if sc["rate"] and sc["streams"] > 1 else 0.0
    expected = fake_text(sc["tokens"])
    runs, ok = [], True
    for _ in range(sc["repeats"]):
        if variant == "turbosse-sync":
            results, times = _run_sync_scenario(url, sc["streams"], fake, stagger)
        else:
            results, times = _run_async_scenario(variant, url, sc["streams"], fake, stagger)
        ok = ok and len(results) == sc["streams"] and all(n == sc["tokens"] and text == expected for n, text in results)
        runs.append({**times, "tokens": sum(n for n, _ in results)})
    return {"runs": runs, "ok": ok}


def worker_loop(variant: str, url: str) -> None:
    """A worker process: import the client, then run the scenarios asked for
    on stdin (one JSON object a line), answering one JSON line each; stop at
    end of input."""
    if variant != "turbosse-sync":
        _client_factory(variant, url)  # the imports, before any timing
    print(json.dumps({"ready": variant}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(run_scenario(variant, url, json.loads(line))), flush=True)


# -- parsing alone (in the main process, no I/O) -----------------------------------


def _stream_reads(tokens: int, paced: bool) -> list[bytes]:
    """The body of a fake stream cut as a client reads it: one server write
    per read when paced, 64 KiB reads when not."""
    from ._fake_server import merge_options, render_stream

    opts = merge_options({"tokens": tokens, "tokens_per_second": 50.0, "events_per_write": 1})
    plan = render_stream(opts, api="openai", model=MODEL, prompt_tokens=8, include_usage=True, max_tokens=None, fault=False, corpus_dir=None)
    reads = [_unchunk(data) for _, data in plan.writes]
    if paced:
        return [r for r in reads if r]
    body = b"".join(reads)
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


def _unchunk(data: bytes) -> bytes:
    """The payload of HTTP/1.1 chunked framing."""
    out = []
    pos = 0
    while pos < len(data):
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol], 16)
        if size == 0:
            break
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2
    return b"".join(out)


def _parse_turbosse(reads: list[bytes]) -> int:
    from . import _decoder
    from ._accumulator import ChatAccumulator

    decoder, acc = _decoder.ChatDecoder(), ChatAccumulator()
    add = acc.add
    n = 0
    for chunk in reads:
        for d in decoder.feed(chunk):
            add(d)
            if d.content is not None:
                n += 1
    acc.result()
    return n


def _parse_httpx_sse(reads: list[bytes]) -> int:
    from httpx._decoders import TextDecoder
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text_decoder, lines, sse_decoder = TextDecoder("utf-8"), SSELineDecoder(), SSEDecoder()
    parts = []
    for chunk in reads:
        for line in lines.decode(text_decoder.decode(chunk)):
            sse = sse_decoder.decode(line.rstrip("\n"))
            if sse is not None and sse.data != "[DONE]":
                for choice in json.loads(sse.data)["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        parts.append(text)
    "".join(parts)
    return len(parts)


def _parse_httpx_lines(reads: list[bytes]) -> int:
    from httpx._decoders import LineDecoder, TextDecoder

    text_decoder, lines = TextDecoder("utf-8"), LineDecoder()
    parts = []
    for chunk in reads:
        for line in lines.decode(text_decoder.decode(chunk)):
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        parts.append(text)
    "".join(parts)
    return len(parts)


def _parse_openai(reads: list[bytes]) -> int:
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.types.chat import ChatCompletionChunk

    parts = []
    for sse in SSEDecoder().iter_bytes(iter(reads)):
        if sse.data.startswith("[DONE]"):
            break
        chunk: Any = construct_type(type_=ChatCompletionChunk, value=sse.json())
        if chunk.choices:
            text = chunk.choices[0].delta.content
            if text:
                parts.append(text)
    "".join(parts)
    return len(parts)


PARSERS: dict[str, tuple[Callable[[list[bytes]], int], tuple[str, ...]]] = {
    "none": (lambda reads: -1, ()),
    "turbosse": (_parse_turbosse, ()),
    "httpx-sse": (_parse_httpx_sse, ("httpx_sse",)),
    "openai": (_parse_openai, ("openai",)),
    "httpx-lines": (_parse_httpx_lines, ()),
}
PARSER_OF = {"turbosse-sync": "turbosse", "turbosse-async": "turbosse", "turbosse-aiohttp": "turbosse", "httpx-sse": "httpx-sse", "openai": "openai", "httpx-lines": "httpx-lines", "httpx-raw": "none"}


def parse_costs(tokens: int, paced: bool, min_time: float, only: Collection[str] | None = None) -> dict[str, float]:
    """CPU microseconds per token of each parsing pipeline alone (best of
    several timed batches, each repeating the stream enough to take ~20 ms)."""
    reads = _stream_reads(tokens, paced)
    costs = {}
    for name, (fn, needs) in PARSERS.items():
        if (only is not None and name not in only) or _missing(needs):
            continue
        if name == "none":
            costs[name] = 0.0
            continue
        assert fn(reads) == tokens, name
        batch = 1
        while True:  # calibrate the batch so that timer resolution does not matter
            c0 = time.process_time()
            for _ in range(batch):
                fn(reads)
            if time.process_time() - c0 >= 0.02 or batch >= 1 << 16:
                break
            batch *= 2
        gc.collect()
        best, spent, rounds = float("inf"), 0.0, 0
        while spent < min_time or rounds < 3:
            c0 = time.process_time()
            for _ in range(batch):
                fn(reads)
            dt = time.process_time() - c0
            best, spent, rounds = min(best, dt), spent + dt, rounds + 1
        costs[name] = best / (batch * tokens) * 1e6
    return costs


# -- orchestration ---------------------------------------------------------------


def _missing(modules: Sequence[str]) -> list[str]:
    import importlib.util

    return [m for m in modules if importlib.util.find_spec(m) is None]


def _versions() -> str:
    from importlib import metadata

    import turbosse

    parts = [f"turbosse {turbosse.__version__} ({turbosse.IMPLEMENTATION})", f"Python {platform.python_version()}"]
    for dist in ("httpx", "httpx-sse", "openai", "httpx-aiohttp", "aiohttp", "uvloop", "orjson"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


class _Worker:
    """A worker process for one variant, driven over its stdin/stdout."""

    def __init__(self, variant: str, url: str) -> None:
        import tempfile

        self.variant = variant
        env = dict(os.environ)
        pkg_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "turbosse._cli_bench", "--worker", variant, url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=env,
        )  # fmt: skip

    def _readline(self, timeout: float) -> dict[str, Any]:
        import threading

        box: list[str] = []
        assert self.proc.stdout is not None
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.close(kill=True)
            self.stderr.seek(0)
            tail = self.stderr.read().strip().splitlines()[-3:]
            raise RuntimeError(" | ".join(tail) or ("timed out" if not box else "worker exited"))
        return json.loads(box[0])  # type: ignore[no-any-return]

    def ready(self, timeout: float = 120.0) -> None:
        self._readline(timeout)

    def run(self, scenario: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(scenario) + "\n")
        self.proc.stdin.flush()
        return self._readline(timeout)

    def close(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                try:
                    if self.proc.stdin is not None:
                        self.proc.stdin.close()  # the worker stops at end of input
                    self.proc.wait(10)
                except (subprocess.TimeoutExpired, OSError):
                    self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()


def run(
    *,
    variants: Sequence[str] = tuple(VARIANT_NAMES),
    url: str | None = None,
    unpaced_tokens: int,
    unpaced_repeats: int,
    paced_streams: int,
    paced_tokens: int,
    rate: float,
    rounds: int,
    parse_time: float = 0.3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the report (see :func:`format_report`).

    Every client runs in a worker process of its own, started once; the rounds
    interleave the clients (A B C, A B C) so that drift on a shared machine
    affects them alike, and each client's best round is reported."""
    from .testing import FakeLLMServer

    say = progress or (lambda _msg: None)
    scenarios: list[dict[str, Any]] = [
        {"name": "unpaced", "streams": 1, "tokens": unpaced_tokens, "rate": 0.0, "repeats": unpaced_repeats},
        {"name": "paced", "streams": paced_streams, "tokens": paced_tokens, "rate": rate, "repeats": 1},
    ]
    report: dict[str, Any] = {
        "scenarios": scenarios,
        "rounds": rounds,
        "versions": _versions(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "results": {},
    }
    results: dict[str, Any] = report["results"]
    server = None
    workers: list[_Worker] = []
    try:
        if url is None:
            server = FakeLLMServer(process=True, lifetime=1800).start()
            url = server.base_url
        say(f"server: {url} (its own process); starting client workers ...")
        for name, _label, needs in VARIANTS:
            if name not in variants:
                continue
            missing = _missing(needs)
            if missing:
                results[name] = {"skipped": f"not installed: {', '.join(missing)} (pip install 'turbosse[bench]')"}
                continue
            workers.append(_Worker(name, url))
        for w in list(workers):
            try:
                w.ready()
                results[w.variant] = {sc["name"]: {"runs": [], "ok": True} for sc in scenarios}
            except RuntimeError as exc:
                results[w.variant] = {"error": str(exc)}
                workers.remove(w)
        labels = {n: lab for n, lab, _ in VARIANTS}
        for rnd in range(rounds):
            for sc in scenarios:
                for w in list(workers):
                    say(f"round {rnd + 1}/{rounds}, {sc['name']}: {labels[w.variant]}")
                    # generous: a client slower than this is broken, not slow
                    budget = 120.0 + sc["repeats"] * (sc["tokens"] / (sc["rate"] or 1000.0) + sc["streams"] * sc["tokens"] * 0.002)
                    try:
                        got = w.run(sc, budget)
                    except RuntimeError as exc:
                        results[w.variant] = {"error": str(exc)}
                        workers.remove(w)
                        continue
                    entry = results[w.variant][sc["name"]]
                    entry["runs"] += got["runs"]
                    entry["ok"] = entry["ok"] and got["ok"]
    finally:
        for w in workers:
            w.close()
        if server is not None:
            server.stop()
    say("parsing alone ...")
    needed = {PARSER_OF[v] for v in variants if v in PARSER_OF}
    report["parse"] = {
        "paced": parse_costs(paced_tokens, True, parse_time, needed),
        "unpaced": parse_costs(unpaced_tokens, False, parse_time, needed),
    }
    return report


def _best(entry: dict[str, Any] | None) -> dict[str, float] | None:
    """The run with the least CPU per token: tokens/s, and CPU, user and
    system microseconds per token."""
    runs = (entry or {}).get("runs") or []
    if not runs:
        return None
    r = min(runs, key=lambda r: r["cpu"] / max(r["tokens"], 1))
    n = max(r["tokens"], 1)
    return {"tok_s": r["tokens"] / r["wall"], "cpu": r["cpu"] / n * 1e6, "user": r["user"] / n * 1e6, "sys": r["sys"] / n * 1e6}


def summarize(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per variant and scenario: the best run, parse and transport us/token."""
    rows: dict[str, dict[str, Any]] = {}
    for name, _label, _needs in VARIANTS:
        res = report["results"].get(name)
        if res is None:
            continue
        row: dict[str, Any] = {"skipped": res.get("skipped"), "error": res.get("error")}
        for sc in ("unpaced", "paced"):
            entry = res.get(sc)
            best = _best(entry)
            parse = report.get("parse", {}).get(sc, {}).get(PARSER_OF[name])
            row[sc] = best
            row[sc + "_ok"] = entry.get("ok") if entry else None
            row[sc + "_parse"] = parse
            row[sc + "_transport"] = (best["cpu"] - parse) if (best and parse is not None) else None
        rows[name] = row
    return rows


TARGETS = [
    ("turbosse-async", "openai", 0.2, "turbosse async / openai SDK"),
    ("turbosse-async", "httpx-sse", 0.7, "turbosse async / httpx-sse + json"),
    ("turbosse-aiohttp", "turbosse-async", 0.6, "turbosse aiohttp+uvloop / turbosse async"),
]


def ratios(report: dict[str, Any]) -> list[tuple[str, float | None, float]]:
    """(label, paced CPU-per-token ratio, target) for each target of issue 4."""
    rows = summarize(report)
    out = []
    for a, b, target, label in TARGETS:
        ra, rb = (rows.get(a) or {}).get("paced"), (rows.get(b) or {}).get("paced")
        out.append((label, (ra["cpu"] / rb["cpu"]) if ra and rb else None, target))
    return out


def format_report(report: dict[str, Any]) -> str:
    mu = "\u00b5s"
    try:
        mu.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        mu = "us"
    sc = {s["name"]: s for s in report["scenarios"]}
    up, pa = sc["unpaced"], sc["paced"]
    lines = [
        "turbosse end-to-end benchmark: client side, FakeLLMServer in its own process",
        f"  unpaced: 1 stream of {up['tokens']} tokens, as fast as the client reads; "
        f"paced: {pa['streams']} concurrent streams x {pa['tokens']} tokens at {pa['rate']:g} tokens/s each",
        f"  best of {report['rounds']} interleaved round(s) ({up['repeats']} unpaced run(s) a round); "
        f"CPU = process_time of the client process / tokens received",
        "  parse = the client's parsing alone on the same bytes; transport = CPU - parse (kernel = its system time)",
        f"  {report['machine']}; {report['versions']}",
        "",
    ]
    header = ["client", "tok/s", f"CPU {mu}/tok", "parse", "tok/s", f"CPU {mu}/tok", "parse", "transport", "kernel"]
    table = [["", "unpaced", "", "", "paced", "", "", "", ""], header]
    labels = {n: lab for n, lab, _ in VARIANTS}
    notes = []

    def cell(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    for name, row in summarize(report).items():
        if row["skipped"] or row["error"]:
            notes.append(f"  {labels[name]}: {row['skipped'] or 'error: ' + str(row['error'])}")
            continue
        u, p = row["unpaced"] or {}, row["paced"] or {}
        bad = "" if (row["unpaced_ok"] and row["paced_ok"]) else " (WRONG OUTPUT)"
        table.append([
            labels[name] + bad,
            cell(u.get("tok_s"), ",.0f"), cell(u.get("cpu"), ".1f"), cell(row["unpaced_parse"], ".1f"),
            cell(p.get("tok_s"), ",.0f"), cell(p.get("cpu"), ".1f"), cell(row["paced_parse"], ".1f"),
            cell(row["paced_transport"], ".1f"), cell(p.get("sys") if p.get("user") or p.get("sys") else None, ".1f"),
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        lines.append("  " + "  ".join(r[0].ljust(widths[0]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r))).rstrip())
        if i == 1:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines += notes
    lines += ["", f"targets ({pa['streams']} paced streams, client CPU per token):"]
    if pa["streams"] != DEFAULTS["paced_streams"]:
        lines.append(f"  (issue 4 sets them at {DEFAULTS['paced_streams']} streams; with fewer, wake-ups and per-request costs weigh more)")
    for label, value, target in ratios(report):
        verdict = "n/a" if value is None else ("met" if value <= target else "NOT met")
        shown = "-" if value is None else f"{value:.2f}x"
        lines.append(f"  {label:<42} {shown:>7}  (target <= {target:.2f}x)  {verdict}")
    return "\n".join(lines)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="end-to-end tokens/s and client CPU per token vs httpx-sse, the openai SDK and plain httpx",
        description=(
            "End-to-end benchmark: turbosse's clients vs httpx-sse + json, the openai SDK and plain "
            "httpx, against the fake server in its own process; one unpaced stream and many "
            "concurrent paced streams. Prints tokens/s and client CPU microseconds per token."
        ),
    )
    p.add_argument("--quick", action="store_true", help="a short run (under 20 s): fewer tokens, one round")
    p.add_argument("--url", help="use a running server (e.g. `turbosse serve`) at this base URL instead of starting one")
    p.add_argument("--variants", default=",".join(VARIANT_NAMES), help=f"comma-separated subset of: {', '.join(VARIANT_NAMES)}")
    p.add_argument("--unpaced-tokens", type=int, help=f"tokens in the unpaced stream (default {DEFAULTS['unpaced_tokens']})")
    p.add_argument("--streams", type=int, help=f"concurrent paced streams (default {DEFAULTS['paced_streams']})")
    p.add_argument("--paced-tokens", type=int, help=f"tokens per paced stream (default {DEFAULTS['paced_tokens']})")
    p.add_argument("--rate", type=float, help=f"tokens/s of each paced stream (default {DEFAULTS['rate']:g})")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds; each client's best is reported (default {DEFAULTS['rounds']})")
    p.add_argument("--json", metavar="FILE", help="also write the raw report as JSON to FILE")
    p.set_defaults(func=command)
    return p


def command(args: argparse.Namespace) -> int:
    base = dict(QUICK if args.quick else DEFAULTS)
    for key, attr in (("unpaced_tokens", "unpaced_tokens"), ("paced_streams", "streams"), ("paced_tokens", "paced_tokens"), ("rate", "rate"), ("rounds", "rounds")):
        if getattr(args, attr) is not None:
            base[key] = getattr(args, attr)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANT_NAMES))
    if unknown:
        print(f"turbosse bench: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANT_NAMES)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    report = run(
        variants=variants, url=args.url, parse_time=0.1 if args.quick else 0.3,
        progress=lambda m: print(m, file=sys.stderr, flush=True), **base,
    )  # fmt: skip
    print(format_report(report))
    print(f"\n(finished in {time.monotonic() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 1 if any(r.get("error") for r in report["results"].values()) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m turbosse._cli_bench [bench options]`` (and the worker entry)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        worker_loop(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(prog="turbosse")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *argv])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
