"""The fake server on asyncio: routing requests to rendered responses, and playing them on connections with timers.

It is written on ``asyncio.Protocol`` with timer callbacks rather than streams
and tasks, and every streamed response is rendered to bytes once per distinct
request shape and cached, so that serving a paced token costs one
``transport.write`` and one timer: the server must not be the bottleneck of
the end-to-end benchmark.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import orjson

from ._faults import error_status, fault_applies
from ._http1 import Request, RequestReader, json_response
from ._options import OptionError, merge_options
from ._render import Plan, render_completion, render_stream

__all__ = ["FakeServerCore"]

_PLAN_CACHE_SIZE = 64
_ROUTES = {
    "/v1/chat/completions": "openai", "/chat/completions": "openai",
    "/v1/messages": "anthropic", "/messages": "anthropic",
}  # fmt: skip


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

    def respond(self, request: Request) -> tuple[bytes, Plan | None]:
        """The response to one request: raw bytes, or a head + Plan to stream."""
        method, path = request.method, request.target
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
        api = _ROUTES.get(route)
        if api is None:
            return json_response(404, {"error": {"message": f"no route {path}", "type": "not_found"}}), None
        if method != "POST":
            return json_response(405, {"error": {"message": "use POST", "type": "invalid_request_error"}}), None
        headers = request.headers
        try:
            req = orjson.loads(request.body) if request.body else {}
            if not isinstance(req, dict):
                raise OptionError("the request body must be a JSON object")
            header_opts = orjson.loads(headers["x-fake"]) if "x-fake" in headers else None
            opts = merge_options(self.defaults, req.get("fake"), header_opts)
        except (orjson.JSONDecodeError, OptionError) as exc:
            return json_response(400, {"error": {"message": str(exc), "type": "invalid_request_error"}}), None
        if len(self.requests) >= 1000:
            del self.requests[:500]
        self.requests.append({"method": method, "path": path, "headers": headers, "json": req})

        fault = fault_applies(opts, self.fault_counts)
        if fault and opts["fail_status"] is not None:
            return error_status(opts), None

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
            return
        request = self.pending.popleft()
        self.keep_alive = request.keep_alive
        self.busy = True
        self.core.active_responses += 1
        try:
            first, plan = self.core.respond(request)
        except Exception as exc:  # a bug here must not kill the server
            first, plan = json_response(500, {"error": {"message": f"fake server error: {exc!r}"}}), None
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
        self._next_request()
