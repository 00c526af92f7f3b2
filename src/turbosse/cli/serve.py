"""``turbosse serve``: the fake OpenAI/Anthropic-compatible server in the
foreground."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ._loop import add_loop_option, use_uvloop
from ._numbers import number, tcp_port

__all__ = ["add_parser", "serve_command"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    s: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the fake OpenAI/Anthropic-compatible streaming server (for tests and benchmarks)",
        description=(
            "Serve POST /v1/chat/completions, /v1/responses and /v1/messages on 127.0.0.1 with deterministic "
            "streamed tokens. Each request may choose its behaviour with a \"fake\" object in its "
            "JSON body or an x-fake header (see turbosse.testing); the options below set the "
            "defaults."
        ),
    )
    s.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=tcp_port, default=8000, help="port, 0 to 65535 (default 8000; 0 picks a free one)")
    s.add_argument("--tokens", type=number(int, 0, above=False),
                   help="tokens per response (default: the request's max_tokens, else 32)")
    s.add_argument("--tokens-per-second", type=number(float, 0, above=False), default=0.0,
                   help="pacing (default 0: unpaced)")
    s.add_argument("--ttft", type=number(float, 0, above=False), default=0.0, help="seconds before the first token")
    s.add_argument("--options", default="{}", metavar="JSON", help="more default options, as a JSON object")
    s.add_argument("--corpus-dir", help="directory for the replay option's file names")
    s.add_argument("--lifetime", type=number(float), metavar="SECONDS",
                   help="stop after this many seconds (default: run until interrupted)")
    add_loop_option(s)
    s.add_argument("--no-uvloop", dest="loop", action="store_const", const="asyncio", help="the same as --loop asyncio")
    s.set_defaults(func=serve_command)

    return s


def serve_command(args: argparse.Namespace) -> int:
    from ..testing._options import OptionError, merge_options
    from ..testing._runner import serve_forever

    try:
        options = json.loads(args.options)
        if not isinstance(options, dict):
            raise OptionError("--options must be a JSON object")
        options.setdefault("tokens_per_second", args.tokens_per_second)
        options.setdefault("ttft", args.ttft)
        if args.tokens is not None:
            options.setdefault("tokens", args.tokens)
        merge_options(options)
        uvloop = use_uvloop(args.loop)
    except (ValueError, OptionError) as exc:
        print(f"turbosse serve: {exc}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print("turbosse serve: the fake server only listens on loopback (127.0.0.1, ::1, localhost)", file=sys.stderr)
        return 2

    def ready(port: int) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"turbosse fake LLM server on http://{host}:{port}/v1 (POST /chat/completions, /responses, /messages); Ctrl-C stops it", flush=True)

    started = time.monotonic()
    try:
        serve_forever(
            args.host, args.port, defaults=options, corpus_dir=args.corpus_dir, lifetime=args.lifetime,
            use_uvloop=uvloop, on_ready=ready,
        )  # fmt: skip
    except OSError as exc:
        print(f"turbosse serve: {exc}", file=sys.stderr)
        return 1
    if args.lifetime is not None and time.monotonic() - started >= args.lifetime:
        return 0  # the lifetime ran out
    # it stops early only on Ctrl-C or SIGTERM, which it handles itself: end
    # the way every command ends on Ctrl-C (see turbosse.cli)
    print("turbosse serve: interrupted", file=sys.stderr, flush=True)
    return 130
