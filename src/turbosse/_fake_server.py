"""The engine of turbosse.testing.FakeLLMServer: a small HTTP/1.1 server on asyncio.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked request
bodies, chunked responses) to serve OpenAI-compatible ``/v1/chat/completions``
(streaming and not) and Anthropic ``/v1/messages`` (streaming and not). It is
written on ``asyncio.Protocol`` with timer callbacks rather than streams and
tasks, and every response body is rendered to bytes once per distinct request
shape and cached (``_render_plan``), so that serving a paced token costs one
``transport.write`` and one timer: the server must not be the bottleneck of the
end-to-end benchmark.

Each request chooses its behaviour through a JSON object of options (see
``OPTION_DEFAULTS``), merged in this order: the server's defaults, the request
body's ``"fake"`` member, then an ``x-fake`` header holding JSON. Unknown
option names are answered with a 400 so that typos do not pass silently.

Nothing here is public; ``turbosse.testing`` is the public face.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import sys
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["OPTION_DEFAULTS", "FakeServerCore", "fake_token", "fake_text", "tool_arguments"]

#: Every per-request option and its default. Times are in seconds.
OPTION_DEFAULTS: dict[str, Any] = {
    # the stream itself
    "tokens": None,  # content tokens; None: max_tokens of the request, else 32
    "tokens_per_second": 0.0,  # pacing; 0 sends as fast as the socket takes it
    "ttft": 0.0,  # delay before the first event (headers go out at once)
    "events_per_write": 1,  # events per HTTP chunk (and per paced write)
    "crlf": False,  # CRLF line endings instead of LF
    "reasoning_tokens": 0,  # reasoning deltas before the content (reasoning_content / thinking)
    "tool_calls": 0,  # parallel tool calls streamed after the content
    "tool_arg_chunks": 4,  # argument fragments per tool call
    "usage": None,  # usage chunk; None follows stream_options.include_usage
    "replay": None,  # name of a corpus file (or a path) to serve verbatim
    "gzip": False,  # Content-Encoding: gzip (flushed per write)
    "content_type": None,  # override the response Content-Type
    # faults; each applies to the first `fail_times` requests with `fail_key`
    "fail_status": None,  # e.g. 429 or 503: an error response instead of a stream
    "retry_after": None,  # Retry-After: seconds, or "date:N" for an HTTP-date N s ahead
    "retry_after_ms": None,  # retry-after-ms header
    "disconnect_after": None,  # close the connection after N delta events
    "malformed_after": None,  # a broken JSON event after N delta events
    "error_after": None,  # an in-band error event after N delta events, then end
    "error_type": None,  # type of that error (provider-specific default)
    "stall_after": None,  # stop sending for `stall` seconds after N delta events
    "stall": 30.0,
    "fail_times": None,  # None: every request; N: the first N requests per key
    "fail_key": None,  # counter key; default: the options themselves
}

_FAULTS = ("fail_status", "disconnect_after", "malformed_after", "error_after", "stall_after")

# Token texts cycle through this list: plain words plus what exercises a JSON
# decoder (escapes, non-ASCII, astral characters, a newline).
_WORDS = (
    "Hello", ",", " world", "!", " The", " quick", " brown", " fox", " jumps", " over",
    " the", " lazy", " dog", ".", " Caf\u00e9", " na\u00efve", " \u4f60\u597d", " \U0001f680",
    ' "quoted"', " tab\t", "\n", " back\\slash", " 42", " tokens",
)  # fmt: skip

_CREATED = 1735689600
_MAX_REQUEST_BYTES = 8 * 1024 * 1024
_WRITE_BLOCK = 64 * 1024
_PLAN_CACHE_SIZE = 64


def fake_token(i: int) -> str:
    """The text of content token ``i`` (0-based)."""
    return _WORDS[i % len(_WORDS)]


def fake_text(n: int) -> str:
    """The full content of a stream of ``n`` tokens."""
    return "".join(fake_token(i) for i in range(n))


def tool_arguments(i: int) -> str:
    """The complete JSON arguments of fake tool call ``i``."""
    return orjson.dumps({"location": "Paris", "unit": "celsius", "call": i}).decode()


class OptionError(ValueError):
    pass


def merge_options(*layers: dict[str, Any] | None) -> dict[str, Any]:
    opts = dict(OPTION_DEFAULTS)
    for layer in layers:
        if not layer:
            continue
        if not isinstance(layer, dict):
            raise OptionError("fake options must be a JSON object")
        unknown = sorted(set(layer) - set(OPTION_DEFAULTS))
        if unknown:
            raise OptionError(f"unknown fake option(s): {', '.join(unknown)}")
        opts.update(layer)
    return opts


# -- rendering ------------------------------------------------------------------


@dataclass
class Plan:
    """A pre-rendered response: ``head`` goes out at once, each of ``writes``
    at ``start + offset``; then the connection is kept (``close=False``) or
    closed (``close=True``)."""

    head: bytes
    writes: list[tuple[float, bytes]]
    close: bool = False


def _event(data: bytes, event: str | None, nl: bytes) -> bytes:
    head = b"event: " + event.encode() + nl if event else b""
    return head + b"data: " + data + nl + nl


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _status_line(status: int) -> bytes:
    reasons = {
        200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
        408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large",
        429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
    }  # fmt: skip
    return f"HTTP/1.1 {status} {reasons.get(status, 'Status')}\r\n".encode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    lines = [_status_line(status)]
    hdrs = {"content-type": "application/json", "content-length": str(len(payload))}
    hdrs.update(headers or {})
    lines += [f"{k}: {v}\r\n".encode() for k, v in hdrs.items()]
    return b"".join(lines) + b"\r\n" + payload


def _openai_events(opts: dict[str, Any], model: str, n: int, usage: tuple[int, int] | None) -> tuple[bytes, list[bytes], list[bytes]]:
    """(preamble, deltas, trailer) event payloads of a chat.completion.chunk stream."""
    base = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
    }
    with_usage = usage is not None

    def chunk(delta: dict[str, Any], finish: str | None = None, choices: bool = True) -> bytes:
        body: dict[str, Any] = dict(base)
        body["choices"] = (
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []
        )
        if with_usage:
            body["usage"] = None
        return orjson.dumps(body)

    preamble = chunk({"role": "assistant", "content": "", "refusal": None})
    deltas = [chunk({"reasoning_content": fake_token(i)}) for i in range(int(opts["reasoning_tokens"] or 0))]
    deltas += [chunk({"content": fake_token(i)}) for i in range(n)]
    ntools = int(opts["tool_calls"] or 0)
    pieces = max(1, int(opts["tool_arg_chunks"]))
    for t in range(ntools):
        deltas.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": t,
                            "id": f"call_fake{t}",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                }
            )
        )
        args = tool_arguments(t)
        step = -(-len(args) // pieces)
        for k in range(0, len(args), step):
            deltas.append(chunk({"tool_calls": [{"index": t, "function": {"arguments": args[k : k + step]}}]}))
    trailer = [chunk({}, "tool_calls" if ntools else "stop")]
    if usage is not None:
        body = dict(base)
        body["choices"] = []
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": usage[0] + usage[1]}
        trailer.append(orjson.dumps(body))
    trailer.append(b"[DONE]")
    return preamble, deltas, trailer


def _anthropic_events(opts: dict[str, Any], model: str, n: int, usage: tuple[int, int]) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    d = orjson.dumps
    pre = [
        (
            "message_start",
            d(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                        "content": [], "stop_reason": None, "stop_sequence": None,
                        "usage": {"input_tokens": usage[0], "output_tokens": 1},
                    },
                }
            ),
        ),
    ]  # fmt: skip
    text_start = ("content_block_start", d({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
    deltas: list[tuple[str, bytes]] = []
    block = 0
    nreason = int(opts["reasoning_tokens"] or 0)
    if nreason:  # a thinking block first, then the text block
        pre.append(("content_block_start", d({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})))
        deltas += [
            ("content_block_delta", d({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": fake_token(i)}}))
            for i in range(nreason)
        ]
        deltas.append(("content_block_stop", d({"type": "content_block_stop", "index": 0})))
        block = 1
        deltas.append(("content_block_start", d({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})))
    else:
        pre.append(text_start)
    pre.append(("ping", d({"type": "ping"})))
    deltas += [
        ("content_block_delta", d({"type": "content_block_delta", "index": block, "delta": {"type": "text_delta", "text": fake_token(i)}}))
        for i in range(n)
    ]
    ntools = int(opts["tool_calls"] or 0)
    pieces = max(1, int(opts["tool_arg_chunks"]))
    for t in range(ntools):
        deltas.append(("content_block_stop", d({"type": "content_block_stop", "index": block})))
        block += 1
        deltas.append(
            (
                "content_block_start",
                d({"type": "content_block_start", "index": block, "content_block": {"type": "tool_use", "id": f"toolu_fake{t}", "name": "get_weather", "input": {}}}),
            )
        )
        args = tool_arguments(t)
        step = -(-len(args) // pieces)
        for k in range(0, len(args), step):
            deltas.append(
                ("content_block_delta", d({"type": "content_block_delta", "index": block, "delta": {"type": "input_json_delta", "partial_json": args[k : k + step]}}))
            )
    trailer = [
        ("content_block_stop", d({"type": "content_block_stop", "index": block})),
        (
            "message_delta",
            d({"type": "message_delta", "delta": {"stop_reason": "tool_use" if ntools else "end_turn", "stop_sequence": None}, "usage": {"output_tokens": usage[1]}}),
        ),
        ("message_stop", d({"type": "message_stop"})),
    ]  # fmt: skip
    return pre, deltas, trailer


def _split_events(raw: bytes) -> list[bytes]:
    """Split recorded stream bytes after each blank line, keeping every byte."""
    out: list[bytes] = []
    start = i = 0
    n = len(raw)
    while i < n:
        for sep in (b"\r\n\r\n", b"\n\n", b"\r\r"):
            if raw.startswith(sep, i):
                i += len(sep)
                out.append(raw[start:i])
                start = i
                break
        else:
            i += 1
    if start < n:
        out.append(raw[start:])
    return out


def render_stream(
    opts: dict[str, Any],
    *,
    api: str,
    model: str,
    prompt_tokens: int,
    include_usage: bool,
    max_tokens: int | None,
    fault: bool,
    corpus_dir: Path | None,
) -> Plan:
    """Render a streaming response to a Plan (no I/O; cached by the caller)."""
    nl = b"\r\n" if opts["crlf"] else b"\n"
    n = opts["tokens"]
    if n is None:
        n = max_tokens if max_tokens is not None else 32
    n = int(n)
    ntools = int(opts["tool_calls"] or 0)
    completion = n + int(opts["reasoning_tokens"] or 0) + ntools * (1 + max(1, int(opts["tool_arg_chunks"])))
    pre: list[bytes]
    deltas: list[bytes]
    trailer: list[bytes]
    if opts["replay"]:
        path = Path(opts["replay"])
        if not path.is_absolute() and corpus_dir is not None:
            path = corpus_dir / path
        if not path.is_file() or path.suffix != ".sse":
            raise OptionError(f"replay file not found: {opts['replay']}")
        pre, deltas, trailer = [], _split_events(path.read_bytes()), []
    elif api == "anthropic":
        a_pre, a_deltas, a_trailer = _anthropic_events(opts, model, n, (prompt_tokens, completion))
        pre = [_event(x, e, nl) for e, x in a_pre]
        deltas = [_event(x, e, nl) for e, x in a_deltas]
        trailer = [_event(x, e, nl) for e, x in a_trailer]
    else:
        usage = opts["usage"]
        if usage is None:
            usage = include_usage
        p1, dl1, t1 = _openai_events(opts, model, n, (prompt_tokens, completion) if usage else None)
        pre = [_event(p1, None, nl)]
        deltas = [_event(x, None, nl) for x in dl1]
        trailer = [_event(x, None, nl) for x in t1]

    # Insert the faults at their positions, counted in delta events.
    ndeltas = len(deltas)
    stall_at = malformed_at = error_at = cut_at = None
    if fault:
        def pos(key: str) -> int | None:
            v = opts[key]
            return None if v is None else max(0, min(int(v), ndeltas))

        stall_at, malformed_at, error_at, cut_at = (
            pos("stall_after"), pos("malformed_after"), pos("error_after"), pos("disconnect_after"),
        )  # fmt: skip

    rate = float(opts["tokens_per_second"] or 0)
    ttft = float(opts["ttft"] or 0)
    per_write = max(1, int(opts["events_per_write"]))
    # Every item is (delta_number, event_bytes); delta_number is the count of
    # delta events sent once the item is out (it drives pacing).
    items: list[tuple[int, bytes, str]] = [(0, e, "") for e in pre]
    for i, e in enumerate(deltas):
        if i == malformed_at:
            items.append((i, _malformed_event(api, nl), "break"))
        if i == error_at:
            items.append((i, _error_event(api, opts["error_type"], nl), "error"))
            break
        if i == cut_at:
            items.append((i, b"", "cut"))
            break
        if i == stall_at:
            items.append((i, b"", "stall"))
        items.append((i + 1, e, ""))
    else:
        if malformed_at == ndeltas:
            items.append((ndeltas, _malformed_event(api, nl), "break"))
        if error_at == ndeltas:
            items.append((ndeltas, _error_event(api, opts["error_type"], nl), "error"))
        elif cut_at == ndeltas:
            items.append((ndeltas, b"", "cut"))
        else:
            if stall_at == ndeltas:
                items.append((ndeltas, b"", "stall"))
            items.extend((ndeltas, e, "") for e in trailer)

    # Group items into writes: a write holds at most `per_write` delta events
    # (plus the preamble, trailer and injected events around them) and goes out
    # at the time of its last delta; a stall shifts every later write.
    writes: list[tuple[float, list[bytes]]] = []
    group: list[bytes] = []
    in_group = 0
    last_k = 0
    shift = 0.0
    close = False

    def flush() -> None:
        nonlocal group, in_group
        if group:
            due = ttft + (max(last_k - 1, 0) / rate if rate > 0 else 0.0) + shift
            writes.append((due, group))
        group, in_group = [], 0

    for k, data, kind in items:
        if kind == "stall":
            flush()
            shift += float(opts["stall"])
            continue
        if kind == "cut":
            flush()
            close = True
            break
        if kind == "" and k > last_k:  # one more delta event
            if in_group == per_write:
                flush()
            in_group += 1
            last_k = k
        group.append(data)
        if kind == "error":
            break
    flush()

    gz = zlib.compressobj(6, zlib.DEFLATED, 31) if opts["gzip"] else None
    framed: list[tuple[float, bytes]] = []
    for t, evs in writes:
        body = b"".join(evs)
        if gz is not None:
            body = gz.compress(body) + gz.flush(zlib.Z_SYNC_FLUSH)
        if body:
            framed.append((t, _chunk(body)))
    if not close:
        tail = gz.flush() if gz is not None else b""
        end = (_chunk(tail) if tail else b"") + b"0\r\n\r\n"
        t_end = framed[-1][0] if framed else ttft
        framed.append((t_end, end))
    # Writes due at the same moment go out as one block (fewer syscalls).
    merged: list[tuple[float, bytes]] = []
    for t, b in framed:
        if merged and merged[-1][0] == t and len(merged[-1][1]) + len(b) <= _WRITE_BLOCK:
            merged[-1] = (t, merged[-1][1] + b)
        else:
            merged.append((t, b))
    ctype = opts["content_type"] or "text/event-stream; charset=utf-8"
    head = [
        _status_line(200),
        f"content-type: {ctype}\r\n".encode(),
        b"cache-control: no-cache\r\n",
        b"transfer-encoding: chunked\r\n",
        b"x-request-id: req_fake\r\n",
    ]
    if gz is not None:
        head.append(b"content-encoding: gzip\r\n")
    return Plan(b"".join(head) + b"\r\n", merged, close)


def _malformed_event(api: str, nl: bytes) -> bytes:
    if api == "anthropic":
        return b"event: content_block_delta" + nl + b'data: {"type": "content_block_delta", "index": 0, "delta": {' + nl + nl
    return b'data: {"id": "chatcmpl-fake", "choices": [{"index": 0, "delta": {"content": "broken' + nl + nl


def _error_event(api: str, error_type: str | None, nl: bytes) -> bytes:
    if api == "anthropic":
        body = {"type": "error", "error": {"type": error_type or "overloaded_error", "message": "Overloaded"}}
        return _event(orjson.dumps(body), "error", nl)
    body = {
        "error": {
            "message": "The server had an error while processing your request. Please retry.",
            "type": error_type or "server_error",
            "code": None,
        }
    }
    return _event(orjson.dumps(body), None, nl)


def render_completion(opts: dict[str, Any], *, api: str, model: str, prompt_tokens: int, max_tokens: int | None) -> bytes:
    n = opts["tokens"]
    n = int(n if n is not None else (max_tokens if max_tokens is not None else 32))
    text = fake_text(n)
    ntools = int(opts["tool_calls"] or 0)
    if api == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        content += [
            {"type": "tool_use", "id": f"toolu_fake{t}", "name": "get_weather", "input": orjson.loads(tool_arguments(t))}
            for t in range(ntools)
        ]
        body: dict[str, Any] = {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": "tool_use" if ntools else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": n},
        }  # fmt: skip
        return json_response(200, body)
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if ntools:
        message["tool_calls"] = [
            {"id": f"call_fake{t}", "type": "function", "function": {"name": "get_weather", "arguments": tool_arguments(t)}}
            for t in range(ntools)
        ]
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": _CREATED, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if ntools else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n},
    }  # fmt: skip
    return json_response(200, body)


def _error_status(opts: dict[str, Any]) -> bytes:
    status = int(opts["fail_status"])
    headers: dict[str, str] = {}
    ra = opts["retry_after"]
    if ra is not None:
        if isinstance(ra, str) and ra.startswith("date:"):
            headers["retry-after"] = email.utils.formatdate(time.time() + float(ra[5:]), usegmt=True)
        else:
            headers["retry-after"] = str(ra)
    if opts["retry_after_ms"] is not None:
        headers["retry-after-ms"] = str(opts["retry_after_ms"])
    kinds = {429: ("rate_limit_error", "Rate limit reached for requests"), 503: ("server_error", "The server is overloaded")}
    kind, message = kinds.get(status, ("invalid_request_error" if status < 500 else "server_error", f"fake error {status}"))
    return json_response(status, {"error": {"message": message, "type": kind, "param": None, "code": None}}, headers)


# -- the server ---------------------------------------------------------------------


class FakeServerCore:
    """The asyncio side: owns the listening socket, connections and counters.

    Runs inside one event loop (a thread of the test process, or a process of
    its own); ``turbosse.testing.FakeLLMServer`` drives it.
    """

    def __init__(self, defaults: dict[str, Any] | None = None, corpus_dir: str | os.PathLike[str] | None = None) -> None:
        self.defaults = merge_options(defaults)
        self.corpus_dir = Path(corpus_dir) if corpus_dir else None
        self.connections: set[_Connection] = set()
        self.connections_total = 0
        self.requests_total = 0
        self.active_responses = 0
        self.requests: list[dict[str, Any]] = []  # the latest requests, for assertions
        self.fault_counts: dict[str, int] = {}
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._server: asyncio.base_events.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(lambda: _Connection(self), host, port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def shutdown(self) -> None:
        """Stop listening and drop every connection (called in the loop)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()

    def stats(self) -> dict[str, Any]:
        return {
            "open_connections": len(self.connections),
            "connections_total": self.connections_total,
            "requests_total": self.requests_total,
            "active_responses": self.active_responses,
        }

    def reset(self) -> None:
        self.fault_counts.clear()
        self.requests.clear()

    # -- request handling (in the loop) --

    def respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[bytes, Plan | None]:
        """The response to one request: raw bytes, or a head + Plan to stream."""
        route = path.partition("?")[0].rstrip("/")
        if method == "GET" and route == "/_fake/stats":
            # not counting the connection and response of this very request
            stats = self.stats()
            stats["open_connections"] -= 1
            stats["active_responses"] -= 1
            return json_response(200, stats), None
        self.requests_total += 1
        if method == "GET" and route in ("/health", "/v1/health"):
            return json_response(200, {"status": "ok"}), None
        if method == "GET" and route in ("/v1/models", "/models"):
            return json_response(200, {"object": "list", "data": [{"id": "gpt-fake", "object": "model"}]}), None
        if route in ("/v1/chat/completions", "/chat/completions"):
            api = "openai"
        elif route in ("/v1/messages", "/messages"):
            api = "anthropic"
        else:
            return json_response(404, {"error": {"message": f"no route {path}", "type": "not_found"}}), None
        if method != "POST":
            return json_response(405, {"error": {"message": "use POST", "type": "invalid_request_error"}}), None
        try:
            req = orjson.loads(body) if body else {}
            if not isinstance(req, dict):
                raise OptionError("the request body must be a JSON object")
            header_opts = orjson.loads(headers["x-fake"]) if "x-fake" in headers else None
            opts = merge_options(self.defaults, req.get("fake"), header_opts)
        except (orjson.JSONDecodeError, OptionError) as exc:
            return json_response(400, {"error": {"message": str(exc), "type": "invalid_request_error"}}), None
        if len(self.requests) >= 1000:
            del self.requests[:500]
        self.requests.append({"method": method, "path": path, "headers": headers, "json": req})

        fault = any(opts[k] is not None for k in _FAULTS)
        if fault and opts["fail_times"] is not None:
            key = str(opts["fail_key"] if opts["fail_key"] is not None else orjson.dumps(opts, option=orjson.OPT_SORT_KEYS))
            seen = self.fault_counts.get(key, 0)
            self.fault_counts[key] = seen + 1
            fault = seen < int(opts["fail_times"])
        if fault and opts["fail_status"] is not None:
            return _error_status(opts), None

        model = str(req.get("model") or "gpt-fake")
        messages = req.get("messages") or []
        prompt_tokens = max(1, len(orjson.dumps(messages)) // 4)
        max_tokens = req.get("max_completion_tokens", req.get("max_tokens"))
        max_tokens = max_tokens if isinstance(max_tokens, int) else None
        try:
            if not req.get("stream"):
                return render_completion(opts, api=api, model=model, prompt_tokens=prompt_tokens, max_tokens=max_tokens), None
            include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
            key = orjson.dumps([api, model, prompt_tokens, include_usage, max_tokens, fault, opts], option=orjson.OPT_SORT_KEYS).decode()
            plan = self._plans.get(key)
            if plan is None:
                plan = render_stream(
                    opts, api=api, model=model, prompt_tokens=prompt_tokens, include_usage=include_usage,
                    max_tokens=max_tokens, fault=fault, corpus_dir=self.corpus_dir,
                )  # fmt: skip
                self._plans[key] = plan
                if len(self._plans) > _PLAN_CACHE_SIZE:
                    self._plans.popitem(last=False)
            else:
                self._plans.move_to_end(key)
        except (OptionError, TypeError, ValueError) as exc:
            return json_response(400, {"error": {"message": str(exc), "type": "invalid_request_error"}}), None
        return plan.head, plan


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, plays Plans with timers."""

    def __init__(self, core: FakeServerCore) -> None:
        self.core = core
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False  # a response is in progress
        self.closed = False
        self.paused = False
        self.plan: Plan | None = None
        self.next_write = 0
        self.start = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.core.connections.add(self)
        self.core.connections_total += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.core.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.busy:
            self.busy = False
            self.core.active_responses -= 1

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.plan is not None and self.timer is None:
            self._play()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next_request()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # request parsing
    def _next_request(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > 65536:
                self._send_and_close(json_response(431, {"error": {"message": "headers too large"}}))
            return
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, path, _version = head[0].split(" ", 2)
        except ValueError:
            self._send_and_close(json_response(400, {"error": {"message": "bad request line"}}))
            return
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        pos = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body_parts = []
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return
                size = int(bytes(buf[pos:eol]).split(b";")[0] or b"0", 16)
                if eol + 2 + size + 2 > len(buf):
                    return
                body_parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
                pos = eol + 2 + size + 2
                if size == 0:
                    break
            body = b"".join(body_parts)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if length > _MAX_REQUEST_BYTES:
                self._send_and_close(json_response(413, {"error": {"message": "request too large"}}))
                return
            if len(buf) < pos + length:
                return
            body = bytes(buf[pos : pos + length])
            pos += length
        del buf[:pos]
        self.keep_alive = headers.get("connection", "").lower() != "close"
        self.busy = True
        self.core.active_responses += 1
        try:
            first, plan = self.core.respond(method, path, headers, body)
        except Exception as exc:  # a bug here must not kill the server
            first, plan = json_response(500, {"error": {"message": f"fake server error: {exc!r}"}}), None
        assert self.transport is not None
        self.transport.write(first)
        if plan is None:
            self._finish(close=False)
            return
        self.plan = plan
        self.next_write = 0
        self.start = self.core.loop.time()  # type: ignore[union-attr]
        self._play()

    def _play(self) -> None:
        """Send every write that is due; arm a timer for the next one."""
        self.timer = None
        plan = self.plan
        if plan is None or self.closed:
            return
        loop = self.core.loop
        assert loop is not None and self.transport is not None
        writes = plan.writes
        now = loop.time()
        while self.next_write < len(writes):
            due, data = writes[self.next_write]
            at = self.start + due
            if at > now:
                self.timer = loop.call_at(at, self._play)
                return
            if self.paused:
                return  # resume_writing() calls us again
            self.transport.write(data)
            self.next_write += 1
        self.plan = None
        self._finish(close=plan.close)

    def _finish(self, close: bool) -> None:
        if self.busy:
            self.busy = False
            self.core.active_responses -= 1
        if close or not self.keep_alive:
            if self.transport is not None:
                self.transport.close()
            return
        if self.buf:
            self._next_request()

    def _send_and_close(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.transport.close()


# -- running it: in a thread, or as a process -------------------------------------


def new_event_loop(use_uvloop: bool) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            pass
    return asyncio.new_event_loop()


def serve_forever(
    host: str,
    port: int,
    *,
    defaults: dict[str, Any] | None = None,
    corpus_dir: str | None = None,
    lifetime: float | None = None,
    use_uvloop: bool = True,
    on_ready: Callable[[int], None] | None = None,
    stop_on_stdin_eof: bool = False,
) -> None:
    """Run a server in this thread until ``lifetime`` seconds pass, stdin closes
    (when asked: the parent of a server process went away) or KeyboardInterrupt."""
    loop = new_event_loop(use_uvloop)
    core = FakeServerCore(defaults, corpus_dir)
    try:
        actual = loop.run_until_complete(core.start(host, port))
        stopped = asyncio.Event()

        def stop() -> None:
            core.shutdown()
            stopped.set()

        if lifetime is not None:
            loop.call_later(lifetime, stop)
        if stop_on_stdin_eof:
            def watch() -> None:
                try:
                    while sys.stdin.buffer.read(4096):
                        pass
                except (OSError, ValueError):
                    pass
                loop.call_soon_threadsafe(stop)

            threading.Thread(target=watch, name="fake-server-stdin", daemon=True).start()
        if threading.current_thread() is threading.main_thread():
            import signal

            for sig in (signal.SIGINT, signal.SIGTERM):
                try:  # Ctrl-C and SIGTERM stop the server from inside the loop
                    loop.add_signal_handler(sig, stop)
                except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - Windows
                    pass
        if on_ready is not None:
            # announced from inside the running loop: uvloop only listens for
            # signals while it runs, so a SIGTERM sent right after "ready"
            # would otherwise be lost
            loop.call_soon(on_ready, actual)
        try:
            loop.run_until_complete(stopped.wait())
        except KeyboardInterrupt:  # pragma: no cover - where signal handlers are unavailable
            core.shutdown()
        else:
            loop.run_until_complete(asyncio.sleep(0.01))  # let aborted transports finish
    finally:
        loop.close()


def _child_main() -> None:
    """Entry point of a server process started by FakeLLMServer(process=True)."""
    config = json.loads(sys.argv[1])

    def ready(port: int) -> None:
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()

    serve_forever(
        config["host"], config["port"], defaults=config["defaults"], corpus_dir=config["corpus_dir"],
        lifetime=config["lifetime"], use_uvloop=config["uvloop"], on_ready=ready, stop_on_stdin_eof=True,
    )  # fmt: skip


if __name__ == "__main__":
    _child_main()
