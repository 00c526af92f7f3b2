"""A fake OpenAI/Anthropic-compatible streaming server for tests and benchmarks.

:class:`FakeLLMServer` is a real HTTP/1.1 server on 127.0.0.1 (a free port by
default). It serves ``POST /v1/chat/completions`` (streaming and not) and
``POST /v1/messages`` (Anthropic, streaming and not), with deterministic token
text (:func:`fake_text`), so a test can assert exactly what a client received.

Every request can choose how the server behaves, through a ``"fake"`` member in
the JSON body (``extra_body={"fake": {...}}`` with the openai SDK, or any extra
parameter with turbosse's clients) or an ``x-fake`` header holding JSON; the
server's constructor sets the defaults. The options, with their defaults, are
in :data:`OPTIONS`:

- ``tokens`` (request ``max_tokens``, else 32), ``tokens_per_second`` (0: as
  fast as the socket takes them), ``ttft`` (seconds before the first event),
  ``events_per_write`` (1), ``crlf`` line endings, ``tool_calls`` (a number of
  parallel calls, after the content), ``usage`` (None: as the request's
  ``stream_options.include_usage`` asks), ``replay`` (a corpus file served
  verbatim), ``gzip`` (Content-Encoding), ``content_type``.
- Faults: ``fail_status`` (e.g. 429 or 503, with ``retry_after`` seconds or
  ``"date:N"`` for an HTTP-date N seconds ahead, and ``retry_after_ms``),
  ``disconnect_after``, ``malformed_after``, ``error_after`` (an in-band error
  event, then the response ends; ``error_type``) and ``stall_after`` (no bytes
  for ``stall`` seconds), each counted in delta events. A fault applies to every
  request, or with ``fail_times=N`` to the first N requests sharing a
  ``fail_key``: "429 twice, then success".

Responses are rendered to bytes once per request shape and cached, and served
from timer callbacks on one event loop, so the server is cheap; for benchmarks
run it in its own process with ``FakeLLMServer(process=True)`` (or
``turbosse serve``) so that its CPU time is not counted against the client.

Every server stops itself: when its ``lifetime`` (seconds, default 600) runs
out, when the context manager exits, and, for a server process, when the parent
process goes away.

Use it as a context manager::

    with FakeLLMServer() as server:
        client = turbosse.ChatClient(base_url=server.base_url, model="gpt-fake")

or, in pytest, add ``pytest_plugins = ["turbosse.testing"]`` to a conftest (or
import :func:`fake_llm_server` into it) and take the ``fake_llm_server``
fixture, one server per test session.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._fake_server import (
    OPTION_DEFAULTS,
    FakeServerCore,
    fake_text,
    fake_token,
    new_event_loop,
    tool_arguments,
)

__all__ = ["OPTIONS", "FakeLLMServer", "fake_llm_server", "fake_text", "fake_token", "tool_arguments"]

#: The per-request options and their defaults (read-only copy).
OPTIONS: dict[str, Any] = dict(OPTION_DEFAULTS)

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FakeLLMServer:
    """A fake LLM server on loopback; see the module docstring.

    :param port: 0 (default) picks a free port.
    :param lifetime: seconds after which the server stops by itself (None: never,
        which only ``turbosse serve`` should use).
    :param process: run in a separate process (for benchmarks) instead of a
        thread of this process.
    :param use_uvloop: use uvloop in a server process when it is installed.
    :param corpus_dir: where ``replay`` looks for relative file names.
    :param options: default per-request options (see :data:`OPTIONS`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifetime: float | None = 600.0,
        process: bool = False,
        use_uvloop: bool = True,
        corpus_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> None:
        if host not in _LOOPBACK:
            raise ValueError(f"FakeLLMServer only listens on loopback, not {host!r}")
        unknown = sorted(set(options) - set(OPTION_DEFAULTS))
        if unknown:
            raise TypeError(f"unknown FakeLLMServer option(s): {', '.join(unknown)}")
        self.host = host
        self.port = port
        self.lifetime = lifetime
        self.process = process
        self.use_uvloop = use_uvloop
        self.corpus_dir = str(corpus_dir) if corpus_dir is not None else None
        self.options = options
        self._core: FakeServerCore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped: asyncio.Event | None = None

    # -- addresses --

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``url + "/v1"``."""
        return self.url + "/v1"

    # -- lifecycle --

    def start(self) -> FakeLLMServer:
        if self._thread is not None or self._proc is not None:
            raise RuntimeError("FakeLLMServer already started")
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        return self

    def _start_thread(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = new_event_loop(False)
            self._loop = loop
            core = FakeServerCore(self.options, self.corpus_dir)
            try:
                self.port = loop.run_until_complete(core.start(self.host, self.port))
                self._core = core
                stopped = self._stopped = asyncio.Event()
                if self.lifetime is not None:
                    loop.call_later(self.lifetime, self._shutdown_in_loop)
                ready.set()
                loop.run_until_complete(stopped.wait())
                loop.run_until_complete(asyncio.sleep(0.01))  # let aborted transports finish
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeLLMServer", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeLLMServer did not start within 10 s")
        if failure:
            raise failure[0]

    def _shutdown_in_loop(self) -> None:
        if self._core is not None:
            self._core.shutdown()
        if self._stopped is not None:
            self._stopped.set()

    def _start_process(self) -> None:
        config = {
            "host": self.host, "port": self.port, "defaults": self.options, "corpus_dir": self.corpus_dir,
            "lifetime": self.lifetime, "uvloop": self.use_uvloop,
        }  # fmt: skip
        env = dict(os.environ)
        # The child must import this same turbosse, wherever it came from.
        pkg_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "turbosse._fake_server", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdout is not None
        line = _readline_with_timeout(self._proc, 20.0)
        if not line.startswith(b"PORT "):
            self.stop()
            raise RuntimeError(f"FakeLLMServer process failed to start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        """Stop the server and drop its connections (idempotent)."""
        if self._thread is not None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(self._shutdown_in_loop)
                except RuntimeError:  # the loop closed meanwhile (lifetime ran out)
                    pass
            self._thread.join(10)
            self._thread = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            try:
                if proc.stdin is not None:
                    proc.stdin.close()  # the child stops when its stdin closes
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection (for tests) --

    def stats(self) -> dict[str, int]:
        """Counters: ``open_connections``, ``connections_total``,
        ``requests_total``, ``active_responses`` (responses still being sent)."""
        if self._core is not None and self._thread is not None:
            stats: dict[str, int] = self._call(self._core.stats)
            return stats
        with urllib.request.urlopen(self.url + "/_fake/stats", timeout=10) as resp:
            remote: dict[str, int] = json.loads(resp.read())
            return remote

    @property
    def open_connections(self) -> int:
        return self.stats()["open_connections"]

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The latest requests received (thread mode only): dicts with
        ``method``, ``path``, ``headers`` (lower-case names) and ``json``."""
        core = self._core
        assert core is not None, "requests are recorded in thread mode only"
        recorded: list[dict[str, Any]] = self._call(lambda: list(core.requests))
        return recorded

    def reset(self) -> None:
        """Forget recorded requests and fault counters (thread mode only)."""
        assert self._core is not None
        self._call(self._core.reset)

    def wait_until(self, predicate: Callable[[dict[str, int]], bool], timeout: float = 5.0) -> dict[str, int]:
        """Poll :meth:`stats` until ``predicate(stats)`` holds; AssertionError
        with the last stats after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; server stats: {stats}")
            time.sleep(0.01)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run fn in the server's loop and return its result."""
        loop = self._loop
        assert loop is not None
        if threading.current_thread() is self._thread:
            return fn()
        done = threading.Event()
        box: list[Any] = []

        def run() -> None:
            box.append(fn())
            done.set()

        loop.call_soon_threadsafe(run)
        if not done.wait(10):
            raise RuntimeError("FakeLLMServer did not answer within 10 s")
        return box[0]

    def __repr__(self) -> str:
        mode = "process" if self.process else "thread"
        return f"<FakeLLMServer {self.url} ({mode})>"


def _readline_with_timeout(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    box: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return box[0] if box else b""


if "pytest" in sys.modules:  # only under pytest: importing it elsewhere costs time
    import pytest

    @pytest.fixture(scope="session")
    def fake_llm_server() -> Iterator[FakeLLMServer]:
        """A FakeLLMServer (thread mode) shared by the test session."""
        with FakeLLMServer(lifetime=1800.0) as server:
            yield server
