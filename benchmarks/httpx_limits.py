"""Client CPU per request of an ``httpx.AsyncClient`` for different pool
limits, all in one run against turbosse's fake server (in its own process).

httpcore 1.0.x walks every pooled connection on each request, so a pool that
keeps many idle keep-alive connections costs more per request; fewer kept
connections cost reconnects instead. Rounds of ``--streams`` concurrent
streams; the client's process CPU time per request and per token, and each
setting's ratio to the first.

    python benchmarks/httpx_limits.py --streams 100 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from turbosse import AsyncChatClient
from turbosse.testing import FakeLLMServer

SETTINGS = ((1000, 100), (1000, 50), (1000, 20), (100, 20))


async def one_setting(url: str, streams: int, rounds: int, tokens: int, limits: httpx.Limits) -> float:
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        client = AsyncChatClient(base_url=url, api_key="k", model="gpt-fake", http_client=http)
        messages = [{"role": "user", "content": "hi"}]
        await asyncio.gather(*(client.complete(messages) for _ in range(streams)))  # warm the pool
        start = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(client.complete(messages) for _ in range(streams)))
        return (time.process_time() - start) / (streams * rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=20)
    args = ap.parse_args()
    with FakeLLMServer(process=True, lifetime=None, tokens=args.tokens, tokens_per_second=0, ttft=0) as server:
        first = None
        print(f"httpx {httpx.__version__}, {args.streams} concurrent streams x {args.rounds} rounds, {args.tokens} tokens")
        for max_conn, keepalive in SETTINGS:
            limits = httpx.Limits(max_connections=max_conn, max_keepalive_connections=keepalive)
            per = asyncio.run(one_setting(server.base_url, args.streams, args.rounds, args.tokens, limits))
            first = first or per
            print(f"max_connections={max_conn:5} max_keepalive={keepalive:4}: {per * 1e6:8.0f} us/request "
                  f"{per * 1e6 / args.tokens:6.1f} us/token  {per / first:.2f}x")


if __name__ == "__main__":
    main()
