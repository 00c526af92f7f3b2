"""The fake server on asyncio: routing requests to rendered responses, and playing them on connections with timers.

It is written on ``asyncio.Protocol`` with timer callbacks rather than streams
and tasks, and every streamed response is rendered to bytes once per distinct
request shape and cached, so that serving a paced token costs one
``transport.write`` and one timer: the server must not be the bottleneck of
the end-to-end benchmark.

A connection answers its requests in order (keep-alive, pipelining). A request
whose head says ``Expect: 100-continue`` gets ``100 Continue`` once the head is
in and its body is not; one whose ``x-fake`` header asks for
``respond_before_body`` is answered at that moment instead, and the connection
closes after it. ``idle_close_ms`` closes a connection left idle that long.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from ._faults import error_status, fault_applies
from ._http1 import Request, RequestReader, json_response
from ._options import OptionError, merge_options, request_max_tokens
from ._render import Plan, render_completion, render_stream

__all__ = ["FakeServerCore", "Reply"]

_PLAN_CACHE_SIZE = 64
_ROUTES = {
    "/v1/chat/completions": "openai", "/chat/completions": "openai",
    "/v1/messages": "anthropic", "/messages": "anthropic",
    "/v1/responses": "responses", "/responses": "responses",
}  # fmt: skip
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Reply(NamedTuple):
    """The answer to a request: ``first`` at once, then ``plan`` played (if
    any); ``idle_close`` (seconds): close the connection when no request
    follows within it; ``close``: close it after this response."""

    first: bytes
    plan: Plan | None = None
    idle_close: float | None = None
    close: bool = False


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
        if not 0 <= port <= 65535:  # the resolver would take 70000 for 4464
            raise ValueError(f"port must be from 0 to 65535, not {port}")
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

    def _idle(self, opts: dict[str, Any] | None = None) -> float | None:
        ms = (opts or self.defaults)["idle_close_ms"]
        return None if ms is None else float(ms) / 1000.0

    def _reply(self, first: bytes, plan: Plan | None = None, opts: dict[str, Any] | None = None) -> Reply:
        return Reply(first, plan, self._idle(opts))

    def before_body(self, head: Request) -> Reply | None:
        """The reply to send before reading the body, when the ``x-fake``
        header asks for ``respond_before_body`` (and its fault applies)."""
        if "x-fake" not in head.headers and not self.defaults["respond_before_body"]:
            return None
        try:
            header_opts = orjson.loads(head.headers["x-fake"]) if "x-fake" in head.headers else None
            opts = merge_options(header_opts, base=self.defaults)
        except (orjson.JSONDecodeError, OptionError):
            return None  # the complete request gets its 400
        if not opts["respond_before_body"] or not fault_applies(opts, self.fault_counts):
            return None
        early = Request(head.method, head.target, head.version, head.headers, b'{"stream": true}')
        return self.respond(early, fault=True)._replace(close=True)

    def respond(self, request: Request, *, fault: bool | None = None) -> Reply:
        """The reply to one request (``fault``: whether its fault applies, None: count it now)."""
        method, path = request.method, request.target
        route = path.partition("?")[0].rstrip("/")
        if method == "GET" and route == "/_fake/stats":
            # not counting the connection and response of this very request
            stats = self.stats()
            stats["open_connections"] -= 1
            stats["active_responses"] -= 1
            return self._reply(json_response(200, stats))
        self.requests_total += 1
        if method == "GET" and route in ("/health", "/v1/health"):
            return self._reply(json_response(200, {"status": "ok"}))
        if method == "GET" and route in ("/v1/models", "/models"):
            return self._reply(json_response(200, {"object": "list", "data": [{"id": "gpt-fake", "object": "model"}]}))
        api = _ROUTES.get(route)
        if api is None:
            return self._reply(json_response(404, {"error": {"message": f"no route {path}", "type": "not_found"}}))
        if method != "POST":
            return self._reply(json_response(405, {"error": {"message": "use POST", "type": "invalid_request_error"}}))
        headers = request.headers
        try:
            req = orjson.loads(request.body) if request.body else {}
            if not isinstance(req, dict):
                raise OptionError("the request body must be a JSON object")
            header_opts = orjson.loads(headers["x-fake"]) if "x-fake" in headers else None
            opts = merge_options(req.get("fake"), header_opts, base=self.defaults)
            max_tokens = request_max_tokens(req)
        except (orjson.JSONDecodeError, OptionError) as exc:
            return self._reply(json_response(400, {"error": {"message": str(exc), "type": "invalid_request_error"}}))
        if isinstance(req.get("fake"), dict) and req["fake"].get("respond_before_body"):
            message = "respond_before_body is read before the body: give it in the x-fake header"
            return self._reply(json_response(400, {"error": {"message": message, "type": "invalid_request_error"}}))
        if len(self.requests) >= 1000:
            del self.requests[:500]
        self.requests.append({"method": method, "path": path, "headers": headers, "json": req})

        if fault is None:
            fault = fault_applies(opts, self.fault_counts)
        if fault and opts["fail_status"] is not None:
            return self._reply(error_status(opts), None, opts)
        if opts["response_body"] is not None:
            return self._reply(_plain_body(opts), None, opts)

        model = str(req.get("model") or "gpt-fake")
        prompt = req.get("messages") or req.get("input") or []
        prompt_tokens = max(1, len(orjson.dumps(prompt)) // 4)
        try:
            if not req.get("stream"):
                return self._reply(render_completion(opts, api=api, model=model, prompt_tokens=prompt_tokens, max_tokens=max_tokens), None, opts)
            include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
            # the server's defaults are fixed: the layers a request gave determine its options
            layers = [req.get("fake"), headers.get("x-fake")]
            key = orjson.dumps([api, model, prompt_tokens, include_usage, max_tokens, fault, layers], option=orjson.OPT_SORT_KEYS).decode()
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
            return self._reply(json_response(400, {"error": {"message": str(exc), "type": "invalid_request_error"}}), None, opts)
        return self._reply(plan.head, plan, opts)


def _plain_body(opts: dict[str, Any]) -> bytes:
    """A 200 response whose body is not an event stream (``response_body``)."""
    body = opts["response_body"]
    if isinstance(body, str):
        payload, ctype = body.encode(), "text/html; charset=utf-8"
    else:
        payload, ctype = orjson.dumps(body), "application/json"
    return json_response(200, payload, {"content-type": opts["content_type"] or ctype})


class _Connection(asyncio.Protocol):
    """One client connection: reads requests, answers them in order, plays Plans with timers."""

    def __init__(self, core: FakeServerCore) -> None:
        self.core = core
        self.transport: asyncio.Transport | None = None
        self.reader = RequestReader()
        self.pending: deque[Request] = deque()
        self.busy = False  # a response is in progress
        self.closed = False
        self.paused = False
        self.plan: Plan | None = None
        self.next_write = 0
        self.start = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.keep_alive = True
        self.idle_close: float | None = None
        self.repeating = False  # the plan's writes are out; its repeat is on
        self.early_for: Request | None = None  # the head last answered before its body

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.core.connections.add(self)
        self.core.connections_total += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.core.connections.discard(self)
        for timer in (self.timer, self.idle_timer):
            if timer is not None:
                timer.cancel()
        self.timer = self.idle_timer = None
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
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.pending.extend(self.reader.feed(data))
        if not self.busy:
            self._next_request()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _next_request(self) -> None:
        assert self.transport is not None
        if not self.pending:
            error = self.reader.error
            if error is not None:  # answered once the requests before it are
                self.transport.write(json_response(error.status, {"error": {"message": error.message}}))
                self.transport.close()
            elif self.reader.waiting is not None and self.reader.waiting is not self.early_for:
                self._before_body(self.reader.waiting)
            return
        request = self.pending.popleft()
        self.keep_alive = request.keep_alive
        early = self.core.before_body(request)
        if early is not None:  # as if its body, here already, were not read
            self._start(lambda: early)
        else:
            self._start(lambda: self.core.respond(request))

    def _before_body(self, head: Request) -> None:
        """A request head whose body has not arrived: answer it now if it
        asks so, else send ``100 Continue`` if it expects one."""
        assert self.transport is not None
        self.early_for = head
        reply = self.core.before_body(head)
        if reply is not None:
            self.keep_alive = False  # its body is never read
            self._start(lambda: reply)
        elif head.headers.get("expect", "").lower() == "100-continue":
            self.transport.write(_CONTINUE)

    def _start(self, answer: Callable[[], Reply]) -> None:
        assert self.transport is not None
        self.busy = True
        self.core.active_responses += 1
        try:
            reply = answer()
        except Exception as exc:  # a bug here must not kill the server
            reply = Reply(json_response(500, {"error": {"message": f"fake server error: {exc!r}"}}))
        if reply.close:
            self.keep_alive = False
        self.idle_close = reply.idle_close
        self.transport.write(reply.first)
        if reply.plan is None:
            self._finish(close=False)
            return
        self.plan = reply.plan
        self.next_write = 0
        self.repeating = False
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
        if plan.repeat is not None:  # forever, one write each interval
            if self.paused:
                return  # resume_writing() calls us again
            interval, data = plan.repeat
            if self.repeating:
                self.transport.write(data)
            self.repeating = True
            self.timer = loop.call_later(interval, self._play)
            return
        if plan.hang:
            return  # nothing more; the response lasts until the connection does
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
        self._next_request()
        if not self.busy and not self.closed and self.idle_close is not None and self.idle_timer is None:
            assert self.core.loop is not None
            self.idle_timer = self.core.loop.call_later(self.idle_close, self._close_idle)

    def _close_idle(self) -> None:
        self.idle_timer = None
        if not self.busy and not self.pending and self.transport is not None:
            self.transport.close()
