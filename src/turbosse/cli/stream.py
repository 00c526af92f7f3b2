"""``turbosse stream``: one chat completion printed as it arrives, then its
usage and speed."""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

from ._numbers import number

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
    t.add_argument("--max-tokens", type=number(int), help="max_tokens for the request (default: the embedded server's 40)")
    t.add_argument("--temperature", type=number(float, 0, above=False))
    t.add_argument("--idle-timeout", type=number(float), default=60.0, metavar="SECONDS",
                   help="give up when no byte arrives for this long (default 60 s)")
    t.add_argument("--fake-rate", type=number(float, 0, above=False), default=50.0,
                   help="tokens/s of the embedded fake server (default 50; 0: unpaced)")
    t.add_argument("--quiet", "-q", action="store_true",
                   help="print the answer only: no reasoning, usage, speed or retry lines")
    t.add_argument("--json", action="store_true",
                   help="print one JSON object at the end instead of the text as it arrives: the result, "
                        "its timing, or the error and the partial result")
    t.set_defaults(func=stream_command)
    return t


def _watch_retries(client: Any, stream: Any, say: Any) -> None:
    """Say on stderr, through ``say``, each time the client tries again, and
    why: the error of the attempt that failed."""
    hooks = getattr(client.http_client, "event_hooks", None)
    if hooks is None:  # not an httpx client: nothing to watch
        return
    from .. import APIStatusError, SSEError

    settings = client._settings
    state: dict[str, Any] = {"sent": 0, "why": "an error"}

    def on_retry(error: BaseException) -> None:
        if isinstance(error, APIStatusError):
            state["why"] = f"HTTP {error.status_code}"
            return
        if not isinstance(error, SSEError):  # a transport's: the error the stream would have raised
            error = settings.interrupted(error, None, math.inf)
        state["why"] = f"{type(error).__name__}: {error}"

    def on_request(request: Any) -> None:
        state["sent"] += 1
        if state["sent"] > 1:
            waited = stream.retry_delays[-1] if stream.retry_delays else 0.0
            say(f"turbosse stream: retrying after {state['why']} (waited {waited:.1f} s; attempt {state['sent']})")

    settings.on_retry = on_retry
    hooks["request"].append(on_request)


def stream_command(args: argparse.Namespace) -> int:
    import orjson

    from .. import ChatClient, SSEError

    def say(line: str) -> None:  # what the program says: stderr, unless --quiet
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    from .._client_settings import check_api_key

    try:
        check_api_key(args.api_key, name="--api-key")  # before the embedded server starts
    except ValueError as exc:
        print(f"turbosse stream: {exc}", file=sys.stderr)
        return 2
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
    live = not args.json  # the text as it arrives
    first: float | None = None
    pieces = 0
    thinking = False  # a line of reasoning is open on stderr

    def end_reasoning() -> None:
        nonlocal thinking
        if thinking:  # what follows starts on a line of its own
            thinking = False
            sys.stderr.write("\n")
            sys.stderr.flush()

    try:
        try:  # what no request can carry (the key, the URL, a number JSON cannot send) is a usage error
            client = ChatClient(base_url=url, api_key=args.api_key, model=model, idle_timeout=args.idle_timeout)
        except ValueError as exc:
            print(f"turbosse stream: {exc}", file=sys.stderr)
            return 2
        with client:
            try:
                stream = client.stream(messages, **params)
            except ValueError as exc:
                print(f"turbosse stream: {exc}", file=sys.stderr)
                return 2
            _watch_retries(client, stream, say)
            start = time.perf_counter()
            try:
                with stream:
                    for d in stream:
                        if d.index != 0:
                            continue
                        if d.reasoning is not None:
                            first = first or time.perf_counter()
                            if live and not args.quiet:
                                thinking = True
                                sys.stderr.write(d.reasoning)
                                sys.stderr.flush()
                        if d.content is not None:
                            first = first or time.perf_counter()
                            pieces += 1
                            end_reasoning()
                            if live:
                                out.write(d.content)
                                out.flush()
                result = stream.result()
            except SSEError as exc:
                end_reasoning()
                partial = getattr(exc, "partial", None) or stream.partial
                if live:
                    out.write("\n")
                else:
                    error = {"type": type(exc).__name__, "message": str(exc)}
                    out.write(orjson.dumps({"error": error, "partial": partial.to_dict() if partial else None}).decode() + "\n")
                print(f"turbosse stream: {type(exc).__name__}: {exc}", file=sys.stderr)
                if partial is not None and partial.content:
                    print(f"turbosse stream: kept {len(partial.content)} characters of partial answer", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        end_reasoning()
        if live and pieces:
            out.write("\n")  # the interruption's line starts on a line of its own
            out.flush()
        raise
    finally:
        if server is not None:
            server.stop()
    elapsed = time.perf_counter() - start
    usage = result.usage
    tokens = usage.completion_tokens if usage is not None and usage.completion_tokens else pieces
    ttft = first - start if first is not None else None
    speed = tokens / (elapsed - ttft) if ttft is not None and elapsed > ttft else 0.0
    if not live:
        timing = {"elapsed_s": elapsed, "ttft_s": ttft, "tokens": tokens, "tokens_per_s": speed}
        out.write(orjson.dumps({"result": result.to_dict(), "timing": timing}).decode() + "\n")
        out.flush()
        return 0
    out.write("\n")
    for call in result.tool_calls:
        out.write(f"tool call {call.id}: {call.name}({call.arguments})\n")
    out.flush()
    end_reasoning()  # a reasoning with no answer after it
    if usage is not None:
        say(f"usage: prompt {usage.prompt_tokens}, completion {usage.completion_tokens}, total {usage.total_tokens} tokens")
    else:
        say("usage: not reported by the server")
    say(
        f"{tokens} tokens in {elapsed:.2f} s: {speed:.1f} tokens/s after the first "
        f"(time to first token {f'{ttft:.3f} s' if ttft is not None else '-'}); "
        f"model {result.model or model}, finish reason {result.finish_reason}"
    )
    return 0
