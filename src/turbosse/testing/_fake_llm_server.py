"""FakeLLMServer: the public handle that starts a fake server in a thread or a process, stops it, and inspects it."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from ._options import OPTION_DEFAULTS
from ._runner import ChildProcess, LoopServer
from ._server import FakeServerCore

__all__ = ["FakeLLMServer"]

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FakeLLMServer:
    """A fake LLM server on loopback; see :mod:`turbosse.testing`.

    :param port: 0 (default) picks a free port.
    :param lifetime: seconds after which the server stops by itself (None: never,
        which only ``turbosse serve`` should use).
    :param process: run in a separate process (for benchmarks) instead of a
        thread of this process.
    :param use_uvloop: use uvloop in a server process when it is installed.
    :param corpus_dir: where ``replay`` looks for relative file names.
    :param options: default per-request options (see :data:`turbosse.testing.OPTIONS`).
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
        self._runner: LoopServer | None = None
        self._thread: threading.Thread | None = None
        self._proc: ChildProcess | None = None

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

    @property
    def pid(self) -> int | None:
        """The server process's id in process mode (to tell its CPU time from
        the client's); None in thread mode or before start."""
        return self._proc.pid if self._proc is not None else None

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
        runner = LoopServer(self.host, self.port, defaults=self.options, corpus_dir=self.corpus_dir, lifetime=self.lifetime)
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                runner.run(lambda _port: ready.set())
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()

        self._runner, self._core = runner, runner.core
        self._thread = threading.Thread(target=run, name="FakeLLMServer", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeLLMServer did not start within 10 s")
        if failure:
            self._thread.join(10)
            self._thread = None
            raise failure[0]
        self.port = runner.port

    def _start_process(self) -> None:
        config = {
            "host": self.host, "port": self.port, "defaults": self.options, "corpus_dir": self.corpus_dir,
            "lifetime": self.lifetime, "uvloop": self.use_uvloop,
        }  # fmt: skip
        self._proc = ChildProcess("turbosse.testing", json.dumps(config))
        line = self._proc.readline(20.0)
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"FakeLLMServer process failed to start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        """Stop the server and drop its connections (idempotent)."""
        if self._thread is not None:
            assert self._runner is not None
            self._runner.stop()
            self._thread.join(10)
            self._thread = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            proc.close()  # the child stops when its stdin closes

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
        assert self._runner is not None
        if threading.current_thread() is self._thread:
            return fn()
        return self._runner.call(fn)

    def __repr__(self) -> str:
        mode = "process" if self.process else "thread"
        return f"<FakeLLMServer {self.url} ({mode})>"
