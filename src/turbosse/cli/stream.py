"""``turbosse stream``: one chat completion printed as it arrives, then its
usage and speed."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["add_parser", "stream_command"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
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


def stream_command(args: argparse.Namespace) -> int:
    from .. import ChatClient, SSEError

    server = None
    url = args.url
    model = args.model
    max_tokens = args.max_tokens
    if url is None:
        from ..testing import FakeLLMServer

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
