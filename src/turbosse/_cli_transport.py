"""``turbosse serve`` (the fake LLM server in the foreground) and ``turbosse
stream`` (a chat completion printed as it arrives)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

__all__ = ["add_parser", "serve_command", "stream_command"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    s: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the fake OpenAI/Anthropic-compatible streaming server (for tests and benchmarks)",
        description=(
            "Serve POST /v1/chat/completions and /v1/messages on 127.0.0.1 with deterministic "
            "streamed tokens. Each request may choose its behaviour with a \"fake\" object in its "
            "JSON body or an x-fake header (see turbosse.testing); the options below set the "
            "defaults."
        ),
    )
    s.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.add_argument("--tokens", type=int, help="tokens per response (default: the request's max_tokens, else 32)")
    s.add_argument("--tokens-per-second", type=float, default=0.0, help="pacing (default 0: unpaced)")
    s.add_argument("--ttft", type=float, default=0.0, help="seconds before the first token")
    s.add_argument("--options", default="{}", metavar="JSON", help="more default options, as a JSON object")
    s.add_argument("--corpus-dir", help="directory for the replay option's file names")
    s.add_argument("--lifetime", type=float, help="stop after this many seconds (default: run until interrupted)")
    s.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop even if uvloop is installed")
    s.set_defaults(func=serve_command)

    t: argparse.ArgumentParser = subparsers.add_parser(
        "stream",
        help="stream a chat completion and print tokens as they arrive, then usage and tokens/s",
        description=(
            "Send PROMPT to an OpenAI-compatible /chat/completions endpoint with stream=true and "
            "print the answer as it arrives, then the usage and the speed. Without --url, an "
            "embedded fake server answers (paced at --fake-rate tokens/s)."
        ),
    )
    t.add_argument("prompt", metavar="PROMPT", help="the user message")
    t.add_argument("--url", help="base URL of the API, e.g. https://api.openai.com/v1 (default: an embedded fake server)")
    t.add_argument("--model", default=None, help="model name (default: gpt-4o-mini with --url, gpt-fake without)")
    t.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    t.add_argument("--system", help="a system message to send first")
    t.add_argument("--max-tokens", type=int, help="max_tokens for the request (default: the embedded server's 40)")
    t.add_argument("--temperature", type=float)
    t.add_argument("--idle-timeout", type=float, default=60.0, help="give up when no byte arrives for this long (default 60 s)")
    t.add_argument("--fake-rate", type=float, default=50.0, help="tokens/s of the embedded fake server (default 50)")
    t.set_defaults(func=stream_command)
    return t


def serve_command(args: argparse.Namespace) -> int:
    from ._fake_server import OptionError, merge_options, serve_forever

    try:
        options = json.loads(args.options)
        if not isinstance(options, dict):
            raise OptionError("--options must be a JSON object")
        options.setdefault("tokens_per_second", args.tokens_per_second)
        options.setdefault("ttft", args.ttft)
        if args.tokens is not None:
            options.setdefault("tokens", args.tokens)
        merge_options(options)
    except (ValueError, OptionError) as exc:
        print(f"turbosse serve: {exc}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print("turbosse serve: the fake server only listens on loopback (127.0.0.1, ::1, localhost)", file=sys.stderr)
        return 2

    def ready(port: int) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"turbosse fake LLM server on http://{host}:{port}/v1 (POST /chat/completions, /messages); Ctrl-C stops it", flush=True)

    try:
        serve_forever(
            args.host, args.port, defaults=options, corpus_dir=args.corpus_dir, lifetime=args.lifetime,
            use_uvloop=not args.no_uvloop, on_ready=ready,
        )  # fmt: skip
    except OSError as exc:
        print(f"turbosse serve: {exc}", file=sys.stderr)
        return 1
    return 0


def stream_command(args: argparse.Namespace) -> int:
    from . import SSEError
    from ._client import ChatClient

    server = None
    url = args.url
    model = args.model
    max_tokens = args.max_tokens
    if url is None:
        from .testing import FakeLLMServer

        server = FakeLLMServer(lifetime=600.0, tokens_per_second=args.fake_rate).start()
        url = server.base_url
        model = model or "gpt-fake"
        max_tokens = max_tokens if max_tokens is not None else 40
    model = model or "gpt-4o-mini"
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [{"role": "user", "content": args.prompt}]
    params: dict[str, Any] = {}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    out = sys.stdout
    status = 0
    first: float | None = None
    pieces = 0
    try:
        with ChatClient(base_url=url, api_key=args.api_key, model=model, idle_timeout=args.idle_timeout) as client:
            stream = client.stream(messages, **params)
            start = time.perf_counter()
            try:
                with stream:
                    for d in stream:
                        text = d.content if d.index == 0 else None
                        if d.reasoning is not None and d.index == 0:
                            if first is None:
                                first = time.perf_counter()
                            sys.stderr.write(d.reasoning)
                            sys.stderr.flush()
                        if text is not None:
                            if first is None:
                                first = time.perf_counter()
                            pieces += 1
                            out.write(text)
                            out.flush()
                result = stream.result()
            except SSEError as exc:
                out.write("\n")
                print(f"turbosse stream: {type(exc).__name__}: {exc}", file=sys.stderr)
                partial = getattr(exc, "partial", None) or stream.partial
                if partial is not None and partial.content:
                    print(f"turbosse stream: kept {len(partial.content)} characters of partial answer", file=sys.stderr)
                return 1
    finally:
        if server is not None:
            server.stop()
    elapsed = time.perf_counter() - start
    out.write("\n")
    for call in result.tool_calls:
        out.write(f"tool call {call.id}: {call.name}({call.arguments})\n")
    usage = result.usage
    tokens = usage.completion_tokens if usage is not None and usage.completion_tokens else pieces
    speed = tokens / (elapsed - (first - start)) if first is not None and elapsed > first - start else 0.0
    if usage is not None:
        out.write(f"usage: prompt {usage.prompt_tokens}, completion {usage.completion_tokens}, total {usage.total_tokens} tokens\n")
    else:
        out.write("usage: not reported by the server\n")
    ttft = f"{first - start:.3f} s" if first is not None else "-"
    out.write(
        f"{tokens} tokens in {elapsed:.2f} s: {speed:.1f} tokens/s after the first (time to first token {ttft}); "
        f"model {result.model or model}, finish reason {result.finish_reason}\n"
    )
    out.flush()
    return status
