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
in a worker process of its own, started once; its CPU time is
``time.process_time()`` of that process around the timed region (a fresh
client is created before it and closed after it; connections are opened inside
it), the same way for every client. Every stream's text is checked against
what the server sent.

Noise, and what is done about it. On a small shared machine the paced figures
move by 20-40% from run to run, for two reasons: other processes take CPU
time, and a client (or server) that falls behind reads several events per
wake-up, which lowers its CPU per token; at 256 x 50 tokens/s every client on
httpx's default transport is at or near one full core here, so this happens
in every run, more for slower clients. So: every client gets the same untimed
warm-up (the paced connections, a few tokens each); the rounds interleave the
clients and rotate their order; the report gives medians with the range over
the rounds, and compares clients round by round (the ratio within each round,
then its median); it shows how busy the rest of the machine was and which
clients read under 85% of the offered tokens per second. And the lockstep
scenario (:class:`_Lockstep`) runs the paced workload without its clock: the
server sends each stream's next event only once every stream has read the
last one, so every event is read on its own and every run does the same work,
however busy the machine: the per-event cost. It still moves with the
machine's load (a busy neighbour slows every instruction), by a few percent on
an idle machine and up to 20% on a busy one, against 20-40% for paced runs.

Parsing versus transport: the same stream bytes, cut as the client reads them
(one event per read when paced, 64 KiB reads when not), are run through each
client's parsing pipeline alone, with no I/O; the rest of the client's CPU per
token is transport (httpx, the event loop, sockets).
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

DEFAULTS: dict[str, Any] = {
    "unpaced_tokens": 3_000, "unpaced_repeats": 1, "paced_streams": 256, "paced_tokens": 80, "rate": 50.0, "rounds": 3, "lockstep_rounds": 1,
}  # fmt: skip
# --quick keeps to about 20 s on two cores: fewer concurrent streams, two rounds
QUICK: dict[str, Any] = {
    "unpaced_tokens": 2_000, "unpaced_repeats": 1, "paced_streams": 64, "paced_tokens": 25, "rate": 50.0, "rounds": 2, "lockstep_rounds": 1,
}  # fmt: skip


# -- the clients (run inside a worker process) ------------------------------------


def _limits() -> Any:
    import httpx

    return httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def _client_factory(variant: str, url: str) -> Callable[[], Any]:
    """An async factory returning (one_stream(fake, tick=None) -> (tokens, text),
    aclose); ``tick``, when given, is called for each content token received
    (for the raw variant, each body chunk): the lockstep scenario's signal."""
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

            async def one(fake: dict[str, Any], tick: Callable[[], None] | None = None) -> tuple[int, str]:
                n = 0
                async with client.stream(MESSAGES, fake=fake) as stream:
                    async for d in stream:
                        if d.content is not None:
                            n += 1
                            if tick is not None:
                                tick()
                    return n, (await stream.result()).content or ""

            return one, http.aclose

        return make

    if variant == "httpx-sse":
        from httpx_sse import aconnect_sse

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any], tick: Callable[[], None] | None = None) -> tuple[int, str]:
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
                                if tick is not None:
                                    tick()
                return len(parts), "".join(parts)

            return one, http.aclose

        return make

    if variant == "httpx-lines":

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any], tick: Callable[[], None] | None = None) -> tuple[int, str]:
                parts: list[str] = []
                async with http.stream("POST", url + "/chat/completions", json=_body(fake)) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            for choice in json.loads(line[6:])["choices"]:
                                text = choice["delta"].get("content")
                                if text:
                                    parts.append(text)
                                    if tick is not None:
                                        tick()
                return len(parts), "".join(parts)

            return one, http.aclose

        return make

    if variant == "httpx-raw":

        async def make() -> Any:
            http = httpx.AsyncClient(limits=_limits(), timeout=120, headers={"authorization": f"Bearer {API_KEY}"})

            async def one(fake: dict[str, Any], tick: Callable[[], None] | None = None) -> tuple[int, str]:
                async with http.stream("POST", url + "/chat/completions", json=_body(fake)) as response:
                    async for _ in response.aiter_raw():
                        if tick is not None:
                            tick()  # in lockstep, each body chunk carries one token
                return fake["tokens"], fake_text(fake["tokens"])  # not parsed: nothing to check

            return one, http.aclose

        return make

    if variant == "openai":
        from openai import AsyncOpenAI

        async def make() -> Any:
            client = AsyncOpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=120)

            async def one(fake: dict[str, Any], tick: Callable[[], None] | None = None) -> tuple[int, str]:
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
                            if tick is not None:
                                tick()
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


def _clock(server_pid: int | None = None) -> tuple[float, ...]:
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


def _elapsed(t0: tuple[float, ...], server_pid: int | None = None) -> dict[str, float]:
    """The timed region's wall, CPU, user and system seconds of this process,
    and ``others``: how many CPUs, on average, the rest of the machine kept
    busy meanwhile (everything but this client and the server; absent where
    /proc is not available). A busy machine is the main source of noise."""
    t1 = _clock(server_pid)
    d = {k: b - a for k, a, b in zip(("wall", "cpu", "user", "sys", "busy", "server"), t0, t1)}
    out = {k: d[k] for k in ("wall", "cpu", "user", "sys")}
    if d["busy"] == d["busy"] and d["wall"] > 0:  # not NaN
        server = d["server"] if d["server"] == d["server"] else 0.0
        out["others"] = max(0.0, d["busy"] - d["cpu"] - server) / d["wall"]
    return out


def _run_async_scenario(
    variant: str, url: str, streams: int, fake: dict[str, Any], stagger: float, server_pid: int | None = None
) -> tuple[list[tuple[int, str]], dict[str, float]]:
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
            t0 = _clock(server_pid)
            results = await asyncio.gather(*(delayed(i) for i in range(streams)))
            times = _elapsed(t0, server_pid)
            await aclose()
            return list(results), times

        outcome: tuple[list[tuple[int, str]], dict[str, float]] = loop.run_until_complete(main())
        return outcome
    finally:
        loop.close()


def _run_sync_scenario(
    url: str, streams: int, fake: dict[str, Any], stagger: float, server_pid: int | None = None
) -> tuple[list[tuple[int, str]], dict[str, float]]:
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
    t0 = _clock(server_pid)
    if streams == 1:
        results = [one(0)]
    else:  # one thread per stream: how a sync client serves concurrent streams
        with ThreadPoolExecutor(max_workers=streams) as pool:
            results = list(pool.map(one, range(streams)))
    times = _elapsed(t0, server_pid)
    http.close()
    return results, times


class _Lockstep:
    """The lockstep scenario's server, on the client's own event loop.

    It serves every request the same pre-rendered stream (FakeLLMServer's
    bytes for ``tokens`` tokens), one write per token, and sends the next write
    to every stream only once the clients have counted the previous token of
    every stream (``tick``). Each event is then read on its own, whatever the
    machine's load: no pacing, no coalescing, the same work in every run. The
    CPU it spends itself is measured (``cpu``) and left out of the client's."""

    def __init__(self, tokens: int) -> None:
        from ._fake_server import merge_options, render_stream

        opts = merge_options({"tokens": tokens, "tokens_per_second": 1.0, "events_per_write": 1})
        plan = render_stream(opts, api="openai", model=MODEL, prompt_tokens=8, include_usage=True, max_tokens=None, fault=False, corpus_dir=None)
        self.head, self.writes = plan.head, [data for _, data in plan.writes]
        self.conns: list[Any] = []
        self.need = self.count = self.target = 0
        self.cpu = 0.0
        self.ready: Any = None
        self.advance: Any = None

    def reset(self, streams: int) -> None:
        import asyncio

        self.conns, self.need, self.count, self.target, self.cpu = [], streams, 0, 0, 0.0
        self.ready, self.advance = asyncio.Event(), asyncio.Event()

    def tick(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.advance.set()

    def protocol(self) -> Any:
        import asyncio

        server = self

        class Conn(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport, self.buf = transport, b""

            def data_received(self, data: bytes) -> None:
                c0 = time.process_time()
                self.buf += data
                while True:
                    end = self.buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    length = 0
                    for line in self.buf[:end].split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if len(self.buf) < end + 4 + length:
                        break
                    self.buf = self.buf[end + 4 + length :]
                    self.transport.write(server.head)
                    server.conns.append(self.transport)
                    if len(server.conns) == server.need:
                        server.ready.set()
                server.cpu += time.process_time() - c0

        return Conn()

    async def drive(self) -> None:
        await self.ready.wait()
        for data in self.writes:
            self.target += self.need
            self.advance.clear()
            c0 = time.process_time()
            for transport in self.conns:
                transport.write(data)
            self.cpu += time.process_time() - c0
            if self.count < self.target:
                await self.advance.wait()


def _run_lockstep_scenario(variant: str, streams: int, tokens: int) -> tuple[list[tuple[int, str]], dict[str, float]]:
    import asyncio

    loop = _new_loop(variant == "turbosse-aiohttp")
    try:

        async def main() -> tuple[list[tuple[int, str]], dict[str, float]]:
            lock = _Lockstep(tokens)
            server = await asyncio.get_running_loop().create_server(lock.protocol, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
            one, aclose = await _client_factory(variant, url)()
            fake = {"tokens": tokens}
            lock.reset(1)
            await asyncio.gather(lock.drive(), one(fake, lock.tick))  # warm: not timed
            lock.reset(streams)
            gc.collect()
            t0 = _clock()
            got = await asyncio.gather(lock.drive(), *(one(fake, lock.tick) for _ in range(streams)))
            times = _elapsed(t0)
            times["server_cpu"] = lock.cpu
            times["cpu"] -= lock.cpu
            await aclose()
            server.close()
            return list(got[1:]), times

        outcome: tuple[list[tuple[int, str]], dict[str, float]] = loop.run_until_complete(main())
        return outcome
    finally:
        loop.close()


def run_scenario(variant: str, url: str, sc: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario ``sc["repeats"]`` times in this process (``sc`` may
    name the server's process id, ``server_pid``, to tell its CPU from the
    rest of the machine's)."""
    from turbosse.testing import fake_text

    fake = {"tokens": sc["tokens"], "tokens_per_second": sc["rate"], "events_per_write": 1}
    # paced streams start spread over one token interval, as unsynchronised
    # clients would, instead of all at the same instant
    stagger = (1.0 / sc["rate"]) / sc["streams"] if sc["rate"] and sc["streams"] > 1 else 0.0
    expected = fake_text(sc["tokens"])
    pid = sc.get("server_pid")
    runs, ok = [], True
    for _ in range(sc["repeats"]):
        if sc.get("lockstep"):
            results, times = _run_lockstep_scenario(variant, sc["streams"], sc["tokens"])
        elif variant == "turbosse-sync":
            results, times = _run_sync_scenario(url, sc["streams"], fake, stagger, pid)
        else:
            results, times = _run_async_scenario(variant, url, sc["streams"], fake, stagger, pid)
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


def paced_capacity(streams: int, tokens: int, rate: float) -> float:
    """The tokens per second a client that keeps up would measure in the paced
    scenario: every stream's tokens over the time from the first request to
    the last stream's last write (streams start spread over one interval)."""
    from ._fake_server import merge_options, render_stream

    opts = merge_options({"tokens": tokens, "tokens_per_second": rate, "events_per_write": 1})
    plan = render_stream(opts, api="openai", model=MODEL, prompt_tokens=8, include_usage=True, max_tokens=None, fault=False, corpus_dir=None)
    duration = max((due for due, _ in plan.writes), default=0.0) + (1.0 / rate if streams > 1 else 0.0)
    return streams * tokens / duration if duration > 0 else float("inf")


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
    from . import _impl as _decoder
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
    lockstep_rounds: int = 0,
    parse_time: float = 0.3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the report (see :func:`format_report`).

    Every client runs in a worker process of its own, started once. A round
    runs every client once per scenario; the rounds interleave the clients and
    rotate their order (A B C, B C A, C A B, ...) so that drift on a shared
    machine and the position in a round affect them alike. Each run records
    its round, so that clients can be compared round by round. Then
    ``lockstep_rounds`` rounds of the lockstep scenario (the paced workload
    without its clock, see :class:`_Lockstep`; async clients only)."""
    from .testing import FakeLLMServer

    say = progress or (lambda _msg: None)
    scenarios: list[dict[str, Any]] = [
        {"name": "unpaced", "streams": 1, "tokens": unpaced_tokens, "rate": 0.0, "repeats": unpaced_repeats},
        {"name": "paced", "streams": paced_streams, "tokens": paced_tokens, "rate": rate, "repeats": 1},
    ]
    lockstep = {"name": "lockstep", "streams": paced_streams, "tokens": paced_tokens, "rate": 0.0, "repeats": 1, "lockstep": True}
    if lockstep_rounds > 0:
        scenarios.append(lockstep)
    report: dict[str, Any] = {
        "scenarios": scenarios,
        "rounds": rounds,
        "lockstep_rounds": lockstep_rounds,
        "versions": _versions(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "results": {},
    }
    results: dict[str, Any] = report["results"]
    server = None
    workers: list[_Worker] = []
    try:
        server_pid = None
        if url is None:
            server = FakeLLMServer(process=True, lifetime=1800).start()
            url = server.base_url
            proc = getattr(server, "_proc", None)
            server_pid = getattr(proc, "pid", None)
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
        # The same untimed warm-up for every client: the paced scenario's
        # connections with a few tokens each. A process's first run with
        # hundreds of connections costs up to 1.5x a later one (memory first
        # touched, pool growth, lazy imports); the rounds measure the steady state.
        warm = {"name": "warm-up", "streams": paced_streams, "tokens": 3, "rate": rate, "repeats": 1, "server_pid": server_pid}
        for w in list(workers):
            say(f"warm-up: {labels[w.variant]}")
            try:
                w.run(warm, 120.0 + paced_streams * 0.05)
            except RuntimeError as exc:
                results[w.variant] = {"error": str(exc)}
                workers.remove(w)
        plan = [(rnd, sc) for rnd in range(rounds) for sc in scenarios if sc is not lockstep]
        plan += [(rnd, lockstep) for rnd in range(lockstep_rounds)]
        for rnd, sc in plan:
            k = len(workers)
            for w in workers[rnd % k :] + workers[: rnd % k] if k else []:
                if w not in workers:  # failed earlier in this round
                    continue
                if sc is lockstep and w.variant == "turbosse-sync":
                    continue  # the lockstep server runs on the client's event loop
                say(f"round {rnd + 1}/{lockstep_rounds if sc is lockstep else rounds}, {sc['name']}: {labels[w.variant]}")
                # generous: a client slower than this is broken, not slow
                budget = 120.0 + sc["repeats"] * (sc["tokens"] / (sc["rate"] or 1000.0) + sc["streams"] * sc["tokens"] * 0.002)
                try:
                    got = w.run({**sc, "server_pid": server_pid}, budget)
                except RuntimeError as exc:
                    results[w.variant] = {"error": str(exc)}
                    workers.remove(w)
                    continue
                entry = results[w.variant][sc["name"]]
                entry["runs"] += [{**r, "round": rnd} for r in got["runs"]]
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


def _median(values: Sequence[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _per_token(r: dict[str, Any]) -> dict[str, float]:
    """One run: tokens/s, CPU, user and system microseconds per token, and
    the other processes' load (CPUs) when known."""
    n = max(r["tokens"], 1)
    out = {"tok_s": r["tokens"] / r["wall"], "cpu": r["cpu"] / n * 1e6, "user": r["user"] / n * 1e6, "sys": r["sys"] / n * 1e6}
    if r.get("others") is not None:
        out["others"] = r["others"]
    return out


def _best(entry: dict[str, Any] | None) -> dict[str, float] | None:
    """The run with the least CPU per token (tokens/s, CPU, user and system
    microseconds per token). The report itself uses :func:`_stats`: on a
    shared machine the least is often a round in which a busy machine made
    the client read several events per wake-up, not a faster client."""
    runs = (entry or {}).get("runs") or []
    if not runs:
        return None
    return _per_token(min(runs, key=lambda r: r["cpu"] / max(r["tokens"], 1)))


def _stats(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Across a client's runs of one scenario: the median of each per-token
    figure, the least and most CPU per token, the number of runs, and the
    CPU per token of each round (the median of its runs)."""
    runs = (entry or {}).get("runs") or []
    if not runs:
        return None
    per = [_per_token(r) for r in runs]
    cpus = [p["cpu"] for p in per]
    out: dict[str, Any] = {k: _median([p[k] for p in per]) for k in ("tok_s", "cpu", "user", "sys")}
    others = [p["others"] for p in per if "others" in p]
    out.update(lo=min(cpus), hi=max(cpus), n=len(per), others=_median(others) if others else None)
    rounds: dict[int, list[float]] = {}
    for r, p in zip(runs, per):
        rounds.setdefault(r.get("round", 0), []).append(p["cpu"])
    out["by_round"] = {k: _median(v) for k, v in rounds.items()}
    return out


def summarize(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per variant and scenario (``unpaced``, ``paced``): ``<sc>_stats`` (see
    :func:`_stats`: medians and spread, what the report shows) with
    ``<sc>_parse`` and ``<sc>_transport_median`` (median CPU - parse); and, for
    comparison, ``<sc>`` (the best run) with ``<sc>_transport`` (best - parse)."""
    rows: dict[str, dict[str, Any]] = {}
    for name, _label, _needs in VARIANTS:
        res = report["results"].get(name)
        if res is None:
            continue
        row: dict[str, Any] = {"skipped": res.get("skipped"), "error": res.get("error")}
        for sc in ("unpaced", "paced", "lockstep"):
            entry = res.get(sc)
            best, stats = _best(entry), _stats(entry)
            # lockstep reads the paced stream's bytes, one event per read
            parse = report.get("parse", {}).get("paced" if sc == "lockstep" else sc, {}).get(PARSER_OF[name])
            row[sc] = best
            row[sc + "_stats"] = stats
            row[sc + "_ok"] = entry.get("ok") if entry else None
            row[sc + "_parse"] = parse
            row[sc + "_transport"] = (best["cpu"] - parse) if (best and parse is not None) else None
            row[sc + "_transport_median"] = (stats["cpu"] - parse) if (stats and parse is not None) else None
        rows[name] = row
    return rows


TARGETS = [
    ("turbosse-async", "openai", 0.2, "turbosse async / openai SDK"),
    ("turbosse-async", "httpx-sse", 0.7, "turbosse async / httpx-sse + json"),
    ("turbosse-aiohttp", "turbosse-async", 0.6, "turbosse aiohttp+uvloop / turbosse async"),
]


def ratios(report: dict[str, Any]) -> list[tuple[str, float | None, float]]:
    """(label, ratio of the best paced runs, target) for each target of issue 4.
    The report's verdicts use :func:`round_ratios` instead."""
    rows = summarize(report)
    out = []
    for a, b, target, label in TARGETS:
        ra, rb = (rows.get(a) or {}).get("paced"), (rows.get(b) or {}).get("paced")
        out.append((label, (ra["cpu"] / rb["cpu"]) if ra and rb else None, target))
    return out


def round_ratios(report: dict[str, Any], scenario: str = "paced") -> list[dict[str, Any]]:
    """Each target of issue 4, compared round by round: the two clients ran in
    the same round, minutes apart at most, so their ratio is far steadier on a
    shared machine than a ratio of separately taken figures. ``median``,
    ``lo`` and ``hi`` of the per-round ratios, ``n`` rounds, ``met`` rounds
    within the target, and ``target``; ``median`` is None without data."""
    rows = summarize(report)
    out = []
    for a, b, target, label in TARGETS:
        sa, sb = (rows.get(a) or {}).get(scenario + "_stats"), (rows.get(b) or {}).get(scenario + "_stats")
        pairs = []
        if sa and sb:
            pairs = [sa["by_round"][r] / sb["by_round"][r] for r in sorted(sa["by_round"]) if r in sb["by_round"] and sb["by_round"][r] > 0]
        entry: dict[str, Any] = {"label": label, "target": target, "n": len(pairs), "median": None, "lo": None, "hi": None, "met": 0}
        if pairs:
            entry.update(median=_median(pairs), lo=min(pairs), hi=max(pairs), met=sum(p <= target for p in pairs))
        out.append(entry)
    return out


def format_report(report: dict[str, Any]) -> str:
    mu = "\u00b5s"
    try:
        mu.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        mu = "us"
    sc = {s["name"]: s for s in report["scenarios"]}
    up, pa = sc["unpaced"], sc["paced"]
    rounds = report["rounds"]
    lines = [
        "turbosse end-to-end benchmark: client side, FakeLLMServer in its own process",
        f"  unpaced: 1 stream of {up['tokens']} tokens, as fast as the client reads; "
        f"paced: {pa['streams']} concurrent streams x {pa['tokens']} tokens at {pa['rate']:g} tokens/s each",
        f"  {rounds} interleaved round(s), client order rotated each round ({up['repeats']} unpaced run(s) a round); "
        "CPU = process_time of the client process / tokens received;",
        "  figures are medians over the rounds, with the least and most CPU per token (range);",
        "  parse = the client's parsing alone on the same bytes; transport = CPU - parse (kernel = its system time)",
        f"  {report['machine']}; {report['versions']}",
        "",
    ]
    header = ["client", "tok/s", f"CPU {mu}/tok", "range", "parse", "tok/s", f"CPU {mu}/tok", "range", "parse", "transport", "kernel"]
    table = [["", "unpaced", "", "", "", "paced", "", "", "", "", ""], header]
    labels = {n: lab for n, lab, _ in VARIANTS}
    notes = []

    def cell(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    def spread(st: dict[str, Any]) -> str:
        return "-" if not st or st["n"] < 2 else f"{st['lo']:.0f}-{st['hi']:.0f}" if st["lo"] >= 20 else f"{st['lo']:.1f}-{st['hi']:.1f}"

    capacity = paced_capacity(pa["streams"], pa["tokens"], pa["rate"]) if pa["rate"] else float("inf")
    lagging, others = [], []
    for name, row in summarize(report).items():
        if row["skipped"] or row["error"]:
            notes.append(f"  {labels[name]}: {row['skipped'] or 'error: ' + str(row['error'])}")
            continue
        u, p = row["unpaced_stats"] or {}, row["paced_stats"] or {}
        bad = "" if (row["unpaced_ok"] and row["paced_ok"]) else " (WRONG OUTPUT)"
        if p and p["tok_s"] < 0.85 * capacity:
            lagging.append(labels[name])
        if p and p.get("others") is not None:
            others.append(p["others"])
        table.append([
            labels[name] + bad,
            cell(u.get("tok_s"), ",.0f"), cell(u.get("cpu"), ".1f"), spread(u), cell(row["unpaced_parse"], ".1f"),
            cell(p.get("tok_s"), ",.0f"), cell(p.get("cpu"), ".1f"), spread(p), cell(row["paced_parse"], ".1f"),
            cell(row["paced_transport_median"], ".1f"), cell(p.get("sys") if p.get("user") or p.get("sys") else None, ".1f"),
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        lines.append("  " + "  ".join(r[0].ljust(widths[0]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r))).rstrip())
        if i == 1:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines += notes
    if others:
        lines.append(
            f"  other processes kept a median {_median(others):.2f} of the {os.cpu_count()} CPUs busy during the paced runs "
            "(the more, the noisier the figures)"
        )
    if lagging:
        lines.append(
            f"  read under 85% of the {capacity:,.0f} tokens/s a client that keeps up measures: {', '.join(lagging)};"
            " a client (or a server) that falls behind reads several events per wake-up, which lowers CPU per token"
        )
    rows = summarize(report)

    def verdicts(scenario: str) -> None:
        for r in round_ratios(report, scenario):
            if r["median"] is None:
                lines.append(f"  {r['label']:<42} {'-':>7}  (target <= {r['target']:.2f}x)  n/a")
                continue
            verdict = "met" if r["median"] <= r["target"] else "NOT met"
            rng = f"({r['lo']:.2f}-{r['hi']:.2f})" if r["n"] > 1 else ""
            count = f", within it in {r['met']} of {r['n']} rounds" if r["n"] > 1 else ""
            lines.append(f"  {r['label']:<42} {r['median']:.2f}x {rng:>11}  (target <= {r['target']:.2f}x)  {verdict}{count}")

    if "lockstep" in sc:
        ls = sc["lockstep"]
        lines += [
            "",
            f"lockstep: the paced workload without its clock ({ls['streams']} streams x {ls['tokens']} tokens). The server runs on the",
            "  client's event loop and sends each stream's next event once every stream's last one was read: one event per",
            "  read, the same work in every run however busy the machine; its own CPU is measured and left out.",
            f"  Async clients only. CPU {mu} per token, median (range) of {report.get('lockstep_rounds', '?')} round(s):",
        ]
        for name, row in rows.items():
            st = row.get("lockstep_stats")
            if st:
                bad = "" if row["lockstep_ok"] else " (WRONG OUTPUT)"
                lines.append(f"  {labels[name] + bad:<{widths[0]}}  {st['cpu']:8.1f}  {spread(st):>9}  {st['tok_s']:>9,.0f} tok/s")
    lines += ["", f"targets ({pa['streams']} paced streams, client CPU per token; the ratio in each round, median and range):"]
    if pa["streams"] != DEFAULTS["paced_streams"]:
        lines.append(f"  (issue 4 sets them at {DEFAULTS['paced_streams']} streams; with fewer, wake-ups and per-request costs weigh more)")
    verdicts("paced")
    if "lockstep" in sc:
        lines.append("the same ratios in lockstep (no client can read several events at once there):")
        verdicts("lockstep")
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
    p.add_argument("--quick", action="store_true", help="a short run (about 20 s): 64 streams, fewer tokens, two rounds")
    p.add_argument("--url", help="use a running server (e.g. `turbosse serve`) at this base URL instead of starting one")
    p.add_argument("--variants", default=",".join(VARIANT_NAMES), help=f"comma-separated subset of: {', '.join(VARIANT_NAMES)}")
    p.add_argument("--unpaced-tokens", type=int, help=f"tokens in the unpaced stream (default {DEFAULTS['unpaced_tokens']})")
    p.add_argument("--streams", type=int, help=f"concurrent paced streams (default {DEFAULTS['paced_streams']})")
    p.add_argument("--paced-tokens", type=int, help=f"tokens per paced stream (default {DEFAULTS['paced_tokens']})")
    p.add_argument("--rate", type=float, help=f"tokens/s of each paced stream (default {DEFAULTS['rate']:g})")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds; medians and ranges are reported (default {DEFAULTS['rounds']})")
    p.add_argument(
        "--lockstep-rounds", type=int,
        help=f"rounds of the lockstep scenario (the paced workload, one event per read, no clock); 0: none (default {DEFAULTS['lockstep_rounds']})",
    )  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="also write the raw report as JSON to FILE")
    p.set_defaults(func=command)
    return p


def command(args: argparse.Namespace) -> int:
    base = dict(QUICK if args.quick else DEFAULTS)
    options = (
        ("unpaced_tokens", "unpaced_tokens"), ("paced_streams", "streams"), ("paced_tokens", "paced_tokens"), ("rate", "rate"),
        ("rounds", "rounds"), ("lockstep_rounds", "lockstep_rounds"),
    )  # fmt: skip
    for key, attr in options:
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
