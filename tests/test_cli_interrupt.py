"""Ctrl-C ends every command the same way: one line on stderr naming the
command, exit status 130, no traceback. Each command runs in a real
subprocess in a session of its own, and SIGINT goes to its whole process
group, as a terminal's Ctrl-C does (worker and server children included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import turbosse

SRC = str(Path(turbosse.__file__).resolve().parent.parent)
CORPUS = Path(__file__).resolve().parent / "corpus" / "openai__chat-parallel-tool-calls.sse"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")


class Command:
    """A ``python -m turbosse`` subprocess whose output is collected as it arrives."""

    def __init__(self, *args: str, stdin: bool = False) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "turbosse", *args], env=env, start_new_session=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.out, self.err = bytearray(), bytearray()
        self._readers = [threading.Thread(target=self._drain, args=(f, buf), daemon=True)
                         for f, buf in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _drain(f: object, buf: bytearray) -> None:
        read = f.read1  # type: ignore[attr-defined]
        while chunk := read(65536):
            buf += chunk

    def wait_for(self, what: bytes, where: str = "out", timeout: float = 60.0) -> None:
        buf = self.out if where == "out" else self.err
        deadline = time.monotonic() + timeout
        while what not in buf:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise AssertionError(f"never saw {what!r} on std{where}; stdout {bytes(self.out)!r}, stderr {bytes(self.err)!r}")
            time.sleep(0.05)

    def interrupt(self, timeout: float = 60.0) -> tuple[int, str]:
        """Ctrl-C: SIGINT to the process group; the exit status and stderr."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {timeout} s after Ctrl-C; stderr {bytes(self.err)!r}") from None
        for r in self._readers:
            r.join(10)
        return status, self.err.decode("utf-8", "replace")

    def kill(self) -> None:
        """End the process (if it still runs) and close its pipes."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        for r in self._readers:
            r.join(10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None and not f.closed:
                f.close()


def assert_interrupted(command: str, status: int, err: str) -> None:
    assert status == 130, err
    assert err.strip().splitlines()[-1] == f"turbosse {command}: interrupted", err
    assert "Traceback" not in err and "Fatal Python error" not in err, err


def test_parse_interrupted_while_reading_stdin() -> None:
    cmd = Command("parse", "-", stdin=True)
    try:
        assert cmd.proc.stdin is not None
        cmd.proc.stdin.write(CORPUS.read_bytes()[:2000])  # a few events, then the pipe stays open
        cmd.proc.stdin.flush()
        cmd.wait_for(b"\n")
        assert_interrupted("parse", *cmd.interrupt())
    finally:
        cmd.kill()


def test_stream_interrupted_mid_answer() -> None:
    cmd = Command("stream", "--max-tokens", "500", "--fake-rate", "20", "hi")
    try:
        cmd.wait_for(b"Hello")
        status, err = cmd.interrupt()
        assert_interrupted("stream", status, err)
        assert cmd.out.endswith(b"\n")  # the answer so far, ended by a newline
    finally:
        cmd.kill()


def test_serve_interrupted() -> None:
    cmd = Command("serve", "--port", "0")
    try:
        cmd.wait_for(b"Ctrl-C stops it")
        assert_interrupted("serve", *cmd.interrupt())
    finally:
        cmd.kill()


def test_bench_interrupted_mid_round() -> None:
    cmd = Command(
        "bench", "--variants", "turbosse-async,httpx-lines", "--unpaced-tokens", "200000", "--streams", "4",
        "--paced-tokens", "5", "--rate", "100", "--rounds", "2", "--lockstep-rounds", "0",
    )  # fmt: skip
    try:
        cmd.wait_for(b"round 1/2, unpaced", where="err", timeout=120)
        time.sleep(0.5)  # inside a worker's timed run
        assert_interrupted("bench", *cmd.interrupt())
    finally:
        cmd.kill()
