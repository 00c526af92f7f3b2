"""The end-to-end benchmark run: every contender of :mod:`.clients` in a
worker process of its own, the rounds rotated, against the fake server in its
own process; returns the raw report that :mod:`.e2e_report` prints.

Method. The same workload, in the same run, through each client: one unpaced
stream (peak throughput), and many concurrent streams paced at 50 tokens/s
each (what a batch client sees). A client's CPU time is ``time.process_time()``
of its worker process around the timed region (a fresh client is created
before it and closed after it; connections are opened inside it), the same
way for every client. Every stream's text is checked against what the server
sent.

Noise, and what is done about it. On a small shared machine the paced figures
move by 20-40% from run to run: other processes take CPU time, and a client
(or server) that falls behind reads several events per wake-up, which lowers
its CPU per token. So every client gets the same untimed warm-up (the paced
connections, a few tokens each); the rounds interleave the clients and rotate
their order; the report gives medians with the range over the rounds and
compares clients round by round; it shows how busy the rest of the machine was
and which clients read under 85% of the offered tokens per second. The
lockstep scenario (:mod:`.lockstep`) runs the paced workload without its
clock: every event is read on its own, the per-event cost; it still moves with
the machine's load, by a few percent on an idle machine and up to 20% on a
busy one.

Parsing versus transport: :mod:`.parsing` runs each client's parsing pipeline
alone on the same bytes; the rest of its CPU per token is transport.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._loop import new_event_loop
from ..testing._runner import ChildProcess
from .clients import CLIENTS
from .env import machine, versions
from .lockstep import run_lockstep
from .parsing import missing, parse_costs
from .timing import clock, elapsed, rotated

__all__ = ["DEFAULTS", "QUICK", "run", "run_scenario", "worker_main"]

#: a few tokens on each new connection, before anything is timed
WARM = {"tokens": 20}

# the unpaced stream is long enough to time at a million tokens per second
# and more (3,000 tokens would last 3 ms); --quick keeps a short one
DEFAULTS: dict[str, Any] = {
    "unpaced_tokens": 20_000, "unpaced_repeats": 1, "paced_streams": 256, "paced_tokens": 80, "rate": 50.0, "rounds": 3, "lockstep_rounds": 1,
}  # fmt: skip
# --quick keeps to about 20 s on two cores: fewer concurrent streams, two rounds
QUICK: dict[str, Any] = {
    "unpaced_tokens": 2_000, "unpaced_repeats": 1, "paced_streams": 64, "paced_tokens": 25, "rate": 50.0, "rounds": 2, "lockstep_rounds": 1,
}  # fmt: skip

Outcome = tuple[list[tuple[int, str]], dict[str, float]]


def on_uvloop(variant: str, loop: str | None) -> bool:
    """Whether a contender runs on uvloop: its own choice, unless ``loop``
    (``"asyncio"`` or ``"uvloop"``) says for every contender."""
    return CLIENTS[variant].uvloop if loop is None else loop == "uvloop"


def _run_async(variant: str, url: str, streams: int, fake: dict[str, Any], stagger: float,
               server_pid: int | None = None, uvloop: bool = False) -> Outcome:
    contender = CLIENTS[variant]
    loop = new_event_loop(uvloop)
    try:

        async def main() -> Outcome:
            one, aclose = await contender.make(url)
            await one(WARM)  # lazy imports and the first connection: not timed

            async def delayed(i: int) -> tuple[int, str]:
                if stagger:
                    await asyncio.sleep(i * stagger)
                got: tuple[int, str] = await one(fake)
                return got

            gc.collect()
            t0 = clock(server_pid)
            results = await asyncio.gather(*(delayed(i) for i in range(streams)))
            times = elapsed(t0, server_pid)
            await aclose()
            return list(results), times

        return loop.run_until_complete(main())
    finally:
        loop.close()


def _run_sync(variant: str, url: str, streams: int, fake: dict[str, Any], stagger: float,
              server_pid: int | None = None) -> Outcome:
    from concurrent.futures import ThreadPoolExecutor

    stream_one, close = CLIENTS[variant].make(url)

    def one(i: int, fake: dict[str, Any] = fake) -> tuple[int, str]:
        if stagger:
            time.sleep(i * stagger)
        got: tuple[int, str] = stream_one(fake)
        return got

    one(0, WARM)
    gc.collect()
    t0 = clock(server_pid)
    if streams == 1:
        results = [one(0)]
    else:  # one thread per stream: how a sync client serves concurrent streams
        with ThreadPoolExecutor(max_workers=streams) as pool:
            results = list(pool.map(one, range(streams)))
    times = elapsed(t0, server_pid)
    close()
    return results, times


def run_scenario(variant: str, url: str, sc: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario ``sc["repeats"]`` times in this process (``sc`` may
    name the server's process id, ``server_pid``, to tell its CPU from the
    rest of the machine's)."""
    from ..testing import fake_text

    fake = {"tokens": sc["tokens"], "tokens_per_second": sc["rate"], "events_per_write": 1}
    # paced streams start spread over one token interval, as unsynchronised
    # clients would, instead of all at the same instant
    stagger = (1.0 / sc["rate"]) / sc["streams"] if sc["rate"] and sc["streams"] > 1 else 0.0
    expected = fake_text(sc["tokens"])
    pid = sc.get("server_pid")
    uvloop = on_uvloop(variant, sc.get("loop"))
    runs, ok = [], True
    for _ in range(sc["repeats"]):
        if sc.get("lockstep"):
            results, times = run_lockstep(variant, sc["streams"], sc["tokens"], uvloop)
        elif CLIENTS[variant].sync:
            results, times = _run_sync(variant, url, sc["streams"], fake, stagger, pid)
        else:
            results, times = _run_async(variant, url, sc["streams"], fake, stagger, pid, uvloop)
        ok = ok and len(results) == sc["streams"] and all(n == sc["tokens"] and text == expected for n, text in results)
        runs.append({**times, "tokens": sum(n for n, _ in results)})
    return {"runs": runs, "ok": ok}


def worker_main(argv: Sequence[str] | None = None) -> int:
    """``python -m turbosse._bench VARIANT URL``: a worker process. It imports
    the client, says it is ready, then runs the scenarios asked for on stdin
    (one JSON object a line), answering one JSON line each; it stops at end
    of input."""
    variant, url = list(sys.argv[1:] if argv is None else argv)[:2]
    for module in ("httpx", *CLIENTS[variant].needs):  # the imports, before any timing
        __import__(module)
    print(json.dumps({"ready": variant}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run_scenario(variant, url, json.loads(line))), flush=True)
    return 0


class _Worker:
    """A worker process for one contender, driven over its stdin/stdout."""

    def __init__(self, variant: str, url: str) -> None:
        self.variant = variant
        self.child = ChildProcess("turbosse._bench", variant, url, capture_stderr=True)

    def _answer(self, timeout: float) -> dict[str, Any]:
        line = self.child.readline(timeout)
        if not line:
            self.child.close(kill=True)
            raise RuntimeError(self.child.stderr_tail() or ("worker exited" if self.child.poll() is not None else "timed out"))
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ready(self, timeout: float = 120.0) -> None:
        self._answer(timeout)

    def run(self, scenario: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.child.send(json.dumps(scenario))
        return self._answer(timeout)

    def close(self) -> None:
        self.child.close()


def run(
    *,
    variants: Sequence[str] = tuple(CLIENTS),
    url: str | None = None,
    unpaced_tokens: int,
    unpaced_repeats: int,
    paced_streams: int,
    paced_tokens: int,
    rate: float,
    rounds: int,
    lockstep_rounds: int = 0,
    parse_time: float = 0.3,
    loop: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the report (see :mod:`.e2e_report`).

    Every client runs in a worker process of its own, started once. A round
    runs every client once per scenario; the rounds interleave the clients and
    rotate their order so that drift on a shared machine and the position in
    a round affect them alike. Each run records its round, so that clients
    can be compared round by round. Then ``lockstep_rounds`` rounds of the
    lockstep scenario (async clients only)."""
    from ..testing import FakeLLMServer

    say = progress or (lambda _msg: None)
    scenarios: list[dict[str, Any]] = [
        {"name": "unpaced", "streams": 1, "tokens": unpaced_tokens, "rate": 0.0, "repeats": unpaced_repeats, "loop": loop},
        {"name": "paced", "streams": paced_streams, "tokens": paced_tokens, "rate": rate, "repeats": 1, "loop": loop},
    ]
    lockstep = {"name": "lockstep", "streams": paced_streams, "tokens": paced_tokens, "rate": 0.0, "repeats": 1, "lockstep": True,
                "loop": loop}
    if lockstep_rounds > 0:
        scenarios.append(lockstep)
    report: dict[str, Any] = {
        "scenarios": scenarios,
        "rounds": rounds,
        "lockstep_rounds": lockstep_rounds,
        "loop": loop,
        "versions": versions(("httpx", "httpx-sse", "openai", "httpx-aiohttp", "aiohttp", "uvloop", "orjson")),
        "machine": machine(),
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
            server_pid = server.pid
        say(f"server: {url} (its own process); starting client workers ...")
        for name, contender in CLIENTS.items():
            if name not in variants:
                continue
            absent = missing(contender.needs)
            if absent:
                results[name] = {"skipped": f"not installed: {', '.join(absent)} (pip install 'turbosse[bench]')"}
                continue
            workers.append(_Worker(name, url))
        for w in list(workers):
            try:
                w.ready()
                results[w.variant] = {sc["name"]: {"runs": [], "ok": True} for sc in scenarios}
            except RuntimeError as exc:
                results[w.variant] = {"error": str(exc)}
                workers.remove(w)
        # The same untimed warm-up for every client: the paced scenario's
        # connections with a few tokens each. A process's first run with
        # hundreds of connections costs up to 1.5x a later one (memory first
        # touched, pool growth, lazy imports); the rounds measure the steady state.
        warm = {"name": "warm-up", "streams": paced_streams, "tokens": 3, "rate": rate, "repeats": 1, "server_pid": server_pid,
            "loop": loop}
        for w in list(workers):
            say(f"warm-up: {CLIENTS[w.variant].label}")
            try:
                w.run(warm, 120.0 + paced_streams * 0.05)
            except RuntimeError as exc:
                results[w.variant] = {"error": str(exc)}
                workers.remove(w)
        plan = [(rnd, sc) for rnd in range(rounds) for sc in scenarios if sc is not lockstep]
        plan += [(rnd, lockstep) for rnd in range(lockstep_rounds)]
        for rnd, sc in plan:
            for w in rotated(workers, rnd):
                if w not in workers:  # failed earlier in this round
                    continue
                if sc is lockstep and CLIENTS[w.variant].sync:
                    continue  # the lockstep server runs on the client's event loop
                say(f"round {rnd + 1}/{lockstep_rounds if sc is lockstep else rounds}, {sc['name']}: {CLIENTS[w.variant].label}")
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
    needed = {CLIENTS[v].parser for v in variants if v in CLIENTS}
    report["parse"] = {
        "paced": parse_costs(paced_tokens, True, parse_time, needed),
        "unpaced": parse_costs(unpaced_tokens, False, parse_time, needed),
    }
    return report
