"""Running things for the fake server: a server on an event loop of its own, and a Python child process driven by lines.

- :class:`LoopServer` runs a :class:`~._server.FakeServerCore` on a new event
  loop in the calling thread (``run``) until ``stop()`` (thread-safe), its
  ``lifetime`` runs out, SIGINT/SIGTERM (main thread only) or, when asked, the
  end of stdin; ``call(fn)`` runs ``fn`` in that loop from another thread.
  ``FakeLLMServer`` runs one in a thread; ``turbosse serve`` and a server
  process (``python -m turbosse.testing CONFIG``) in their main thread.
- :class:`ChildProcess` starts ``python -m MODULE ARGS...`` so that it imports
  this same turbosse, and talks to it in lines: ``send(line)``,
  ``readline(timeout)`` (``""`` when it exited or did not answer in time),
  ``close()`` (end of its stdin, the signal to stop; killed if it does not).
  It serves the fake server's process mode and any worker process that
  announces itself with a readiness line.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._loop import new_event_loop
from ._server import FakeServerCore

__all__ = ["ChildProcess", "LoopServer", "serve_forever"]


class LoopServer:
    """A fake server on an event loop of its own; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        defaults: dict[str, Any] | None = None,
        corpus_dir: str | os.PathLike[str] | None = None,
        lifetime: float | None = None,
        use_uvloop: bool = False,
    ) -> None:
        self.host, self.port, self.lifetime = host, port, lifetime
        self.core = FakeServerCore(defaults, corpus_dir)  # validates the defaults now
        self.loop = new_event_loop(use_uvloop)
        self._stopped: asyncio.Event | None = None

    def run(self, on_ready: Callable[[int], None] | None = None, *, stop_on_stdin_eof: bool = False) -> None:
        """Serve in this thread until stopped; ``on_ready(port)`` is called from
        inside the running loop once it listens. The loop is closed at the end."""
        loop, core = self.loop, self.core
        try:
            self.port = loop.run_until_complete(core.start(self.host, self.port))
            self._stopped = asyncio.Event()
            if self.lifetime is not None:
                loop.call_later(self.lifetime, self._stop_in_loop)
            if stop_on_stdin_eof:
                threading.Thread(target=self._watch_stdin, name="fake-server-stdin", daemon=True).start()
            if threading.current_thread() is threading.main_thread():
                import signal

                for sig in (signal.SIGINT, signal.SIGTERM):
                    try:  # Ctrl-C and SIGTERM stop the server from inside the loop
                        loop.add_signal_handler(sig, self._stop_in_loop)
                    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - Windows
                        pass
            if on_ready is not None:
                # announced from inside the running loop: uvloop only listens for
                # signals while it runs, so a SIGTERM sent right after "ready"
                # would otherwise be lost
                loop.call_soon(on_ready, self.port)
            try:
                loop.run_until_complete(self._stopped.wait())
            except KeyboardInterrupt:  # pragma: no cover - where signal handlers are unavailable
                core.shutdown()
            else:
                loop.run_until_complete(asyncio.sleep(0.01))  # let aborted transports finish
        finally:
            loop.close()

    def _stop_in_loop(self) -> None:
        self.core.shutdown()
        if self._stopped is not None:
            self._stopped.set()

    def _watch_stdin(self) -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        self.stop()

    def stop(self) -> None:
        """Stop serving (from any thread; nothing if it already stopped)."""
        try:
            self.loop.call_soon_threadsafe(self._stop_in_loop)
        except RuntimeError:  # the loop closed meanwhile (lifetime ran out)
            pass

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn`` in the server's loop and return its result."""
        done = threading.Event()
        box: list[Any] = []

        def run() -> None:
            box.append(fn())
            done.set()

        self.loop.call_soon_threadsafe(run)
        if not done.wait(timeout):
            raise RuntimeError(f"the fake server did not answer within {timeout} s")
        return box[0]


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
    (when asked: the parent of a server process went away) or SIGINT/SIGTERM."""
    server = LoopServer(host, port, defaults=defaults, corpus_dir=corpus_dir, lifetime=lifetime, use_uvloop=use_uvloop)
    server.run(on_ready, stop_on_stdin_eof=stop_on_stdin_eof)


class ChildProcess:
    """``python -m module *args`` importing this turbosse, driven by lines; see the module docstring.

    :param capture_stderr: keep the child's stderr (for :meth:`stderr_tail`)
        instead of passing it through.
    """

    def __init__(self, module: str, *args: str, capture_stderr: bool = False) -> None:
        env = dict(os.environ)
        # The child must import this same turbosse, wherever it came from.
        pkg_parent = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
        self._stderr = tempfile.TemporaryFile(mode="w+") if capture_stderr else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env,
        )  # fmt: skip
        self.pid = self.proc.pid
        self._tail = ""  # the stderr tail, kept when the file is closed

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def send(self, line: str) -> None:
        """Write one line (a newline is added) to the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def readline(self, timeout: float) -> str:
        """The child's next stdout line; ``""`` if it exited or sent none within ``timeout`` seconds."""
        box: list[str] = []
        stdout = self.proc.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return box[0] if box else ""

    def stderr_tail(self, lines: int = 3) -> str:
        """The last lines the child wrote to stderr, joined by `` | `` (capture_stderr only)."""
        if self._stderr is None or self._stderr.closed:
            return self._tail
        self._stderr.seek(0)
        return " | ".join(self._stderr.read().strip().splitlines()[-lines:])

    def close(self, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop the child: close its stdin and wait (or kill it at once, or
        when it does not stop within ``timeout``). Idempotent."""
        proc = self.proc
        try:
            if proc.poll() is None:
                if kill:
                    proc.kill()
                else:
                    try:
                        if proc.stdin is not None:
                            proc.stdin.close()  # the child stops at end of input
                        proc.wait(timeout)
                    except (subprocess.TimeoutExpired, OSError):
                        proc.kill()
                proc.wait(timeout)
        finally:
            self._tail = self.stderr_tail()
            for stream in (proc.stdin, proc.stdout, self._stderr):
                if stream is not None and not stream.closed:
                    try:
                        stream.close()
                    except OSError:
                        pass
